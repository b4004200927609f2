#!/usr/bin/env bash
# The CI lanes, shared by .ci/run and the CI definitions in ci/ (GitHub
# Actions, GitLab CI), so that local CI and theirs run the same commands:
#   normal   make vm && make test   (the README's quick start; the VM
#                                    provider is PROVIDER, default libvirt)
#   debug    make test DEBUG=1 PROVIDER=qemu   (KASAN/lockdep/DEBUG_VM kernel)
# Installs what it needs (root: apt-get), runs the lanes named (default
# both) and ends with the summary of their results, one line
# "N passed, N failed, N skipped". Exit status 0 only if every lane passed.
#   ci/lanes.sh [normal] [debug]
#   ci/lanes.sh --list               the lane names (ci/check.sh uses them)
set -uo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
ALL_LANES=(normal debug)
if [ "${1:-}" = --list ]; then
	echo "${ALL_LANES[*]}"
	exit 0
fi
lanes=("$@")
[ ${#lanes[@]} -gt 0 ] || lanes=("${ALL_LANES[@]}")
for lane in "${lanes[@]}"; do
	[[ " ${ALL_LANES[*]} " == *" $lane "* ]] || {
		echo "unknown lane '$lane' (${ALL_LANES[*]})" >&2
		exit 2
	}
done
start=$(date +%s)
stamp() { echo "[ci] $(($(date +%s) - start)) s: $*"; }

# Only this run's results count (a lane that stops early leaves none).
rm -rf build/results
mkdir -p build/results
stamp "apt-get update and make deps"
apt-get update -qq
make deps

status=0
results=(build/results/host.json)
for lane in "${lanes[@]}"; do
	case $lane in
	normal)
		stamp "make vm && make test (normal kernel, provider ${PROVIDER:-default})"
		make vm && make test
		rc=$?
		make vm-stop >/dev/null 2>&1 || true
		results+=(build/results/guest.json build/results/crash.json build/results/vanilla.json)
		;;
	debug)
		stamp "make test DEBUG=1 PROVIDER=qemu (debug kernel)"
		make test DEBUG=1 PROVIDER=qemu
		rc=$?
		make vm-stop PROVIDER=qemu >/dev/null 2>&1 || true
		results+=(build/results/guest-debug.json build/results/crash-debug.json)
		;;
	esac
	stamp "$lane lane: exit status $rc"
	[ $rc -eq 0 ] || status=1
done

SHOW_LOGS=1 scripts/summary.sh "${results[@]}" || status=1
exit $status

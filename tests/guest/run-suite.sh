#!/bin/sh
# In-guest test runner: runs each test of a suite file, fails a test on
# any new kernel splat in dmesg, and writes results as JSON lines.
# POSIX sh, so it runs both in the Debian guest and in the busybox initramfs.
#
#   run-suite.sh SUITE_FILE RESULTS.json [LOG_DIR]
# SUITE_FILE lines: "name<TAB>command" ('#' comments). Exit code of a test:
# 0 pass, 4 skip (kselftest's KSFT_SKIP), anything else fail.
# Commands see $T (this directory), $PMEM_EXT4 and $PMEM_XFS (DAX mounts;
# defaults /mnt/pmem0 and /mnt/pmem1).
# Records are written by result.py (installed beside this script), the
# testbed's one writer of result records; it needs python3, which the
# Debian guest has. The busybox initramfs has none: there the console
# lines are the results and RESULTS.json stays empty.
set -u
T=$(cd "$(dirname "$0")" && pwd)
export T PMEM_EXT4=${PMEM_EXT4:-/mnt/pmem0} PMEM_XFS=${PMEM_XFS:-/mnt/pmem1}
SUITE=$1
OUT=$2
LOGS=${3:-/var/tmp/daxvm-logs}
TIMEOUT=${TEST_TIMEOUT:-900}
# The testbed's one list of kernel splats (tests/guest/splat.ere).
SPLAT=$(cat "$T/splat.ere") || exit 1
mkdir -p "$LOGS"
: >"$OUT"
pass=0 fail=0 skip=0

if command -v python3 >/dev/null 2>&1; then
	record() { python3 "$T/result.py" add "$OUT" "$@"; }
else
	echo "no python3 here: results only on the console, none in $OUT"
	record() { :; }
fi

grep -v '^#' "$SUITE" | grep -v '^[[:space:]]*$' >"$LOGS/.suite"
while IFS='	' read -r name cmd; do
	log=$LOGS/$name.log
	before=$(dmesg | wc -l)
	start=$(date +%s)
	echo "--- $name"
	timeout "$TIMEOUT" sh -c "$cmd" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(($(date +%s) - start))
	if dmesg | tail -n +"$((before + 1))" | grep -E "$SPLAT" >"$log.splat"; then
		status=fail
		echo "kernel splat during $name:" >>"$log"
		cat "$log.splat" >>"$log"
	elif [ $rc -eq 0 ]; then
		status=pass
	elif [ $rc -eq 4 ]; then
		status=skip
	else
		status=fail
	fi
	rm -f "$log.splat"
	# A passing test may have skipped some of its cases (GoogleTest, TAP):
	# say how many, so that a skip inside a suite is not mistaken for a pass.
	cases=$( (grep -E '^\[  SKIPPED \] [A-Za-z_][A-Za-z0-9_/]*\.' "$log" |
		sed -E 's/^\[  SKIPPED \] ([^ ]+).*/\1/' | sort -u
		grep -E '^ok [0-9]+ .*# SKIP' "$log") | wc -l)
	cases=$((cases + 0))
	note=
	[ "$cases" -eq 0 ] || note=", $cases cases skipped"
	case $status in
	pass) pass=$((pass + 1)) ;;
	skip) skip=$((skip + 1)) ;;
	fail) fail=$((fail + 1)); sed 's/^/    | /' "$log" | tail -n 30 ;;
	esac
	echo "    $status ($secs s, rc $rc$note)"
	if ! record "$name" "$status" rc:="$rc" seconds:="$secs" skipped_cases:="$cases" log="$log"; then
		echo "    could not write the record of $name to $OUT"
		fail=$((fail + 1))
	fi
done <"$LOGS/.suite"
echo "guest: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]

#!/usr/bin/env bash
# The read figure in one quick-loop boot (scripts/qemu.sh boot: the built
# kernel, the busybox initramfs, fresh DAX file systems), no VM image:
#
#   bench/boot-read.sh OUT [daxvm-bench read options]
#   ICOUNT=0 bench/boot-read.sh results/x/read-icount --sizes 4K,1G --trials 3
#
# OUT gets raw/ (one JSON per trial), commands.txt, data.csv, plot.png and
# targets.md (bench/targets.py read). With ICOUNT=N (see scripts/qemu.sh)
# the guest's clock counts its own instructions, so the times leave out
# what QEMU spends on its own (translation, its software TLB) and do not
# depend on the host's load.
source "$(dirname "$0")/../scripts/lib.sh"

[ $# -ge 1 ] || die "usage: boot-read.sh OUT [daxvm-bench read options]"
out=$1
shift
PY=${BENCH_PY:-$PY}
mkdir -p "$out"
rm -rf "$out/raw"
mkdir -p "$out/raw"

accel=$("$TOP/scripts/qemu.sh" accel)
[ -z "${ICOUNT:-}" ] || accel="$accel icount shift=$ICOUNT"
commit=$(cat "$BUILD/kernel/commit" 2>/dev/null || true)
# The raw results leave the guest as base64 on the serial console, between
# markers; printk is silenced first so that no kernel line lands inside.
bench=(DAXVM_ACCEL="$accel" DAXVM_KERNEL_COMMIT="$commit" /tests/daxvm-bench read
	--dir /mnt/pmem0/bench/read --out /tmp/raw "$@")
cmd="sh /tests/quick-mount.sh || exit 1
mkdir -p /mnt/pmem0/bench
env ${bench[*]@Q}; rc=\$?
echo 1 > /proc/sys/kernel/printk
echo === RAW-BEGIN
(cd /tmp/raw && tar cf - . | gzip | base64)
echo === RAW-END
exit \$rc"
# First line plain (targets.py read reads --sizes and --layouts from it).
printf '%s\n' "${bench[*]}" "ICOUNT=${ICOUNT:-} scripts/qemu.sh boot:" "$cmd" >"$out/commands.txt"

log "daxvm-bench read in one boot (${accel}); console: $out/console.txt"
rc=0
# Progress (daxvm-bench's stderr) shows as it comes, the base64 does not.
"$TOP/scripts/qemu.sh" boot "$cmd" | sed -u 's/\r$//' | tee "$out/console.txt" |
	grep --line-buffered -v '^[A-Za-z0-9+/=]*$' >&2 || rc=$?
# Partial results count: whatever the guest sent is unpacked.
sed -n '/^=== RAW-BEGIN$/,/^=== RAW-END$/p' "$out/console.txt" | sed '1d;$d' |
	base64 -d | tar xzf - -C "$out/raw" || die "no raw results in $out/console.txt"
n=$(find "$out/raw" -name '*.json' | wc -l)
[ "$n" -gt 0 ] || die "the guest wrote no results (see $out/console.txt)"
"$PY" "$TOP/bench/collect.py" "$out/raw" -o "$out/data.csv"
"$PY" "$TOP/bench/plot.py" read "$out/data.csv" -o "$out/plot.png"
"$PY" "$TOP/bench/targets.py" read "$out/data.csv" -o "$out/targets.md" >/dev/null
log "$n trials: $out/data.csv, plot.png, targets.md (guest exit status $rc)"
exit $rc

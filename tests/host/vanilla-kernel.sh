#!/usr/bin/env bash
# The series with CONFIG_DAXVM=n (it must behave exactly as vanilla):
# it must build without warnings, boot to a DAX mount, and show no DaxVM
# interface (tests/guest-daxvm/daxvm_vanilla.c). Needs the guest binaries
# of the normal build (make guest-bin) and the quick-loop initramfs.
# Results: build/results/vanilla.json, one line per check.
source "$(dirname "$0")/../../scripts/lib.sh"

RES=$BUILD/results
OUT=$RES/vanilla.json
LOG=$RES/vanilla.log
mkdir -p "$RES"
: >"$OUT"
record() { # NAME STATUS
	result_add "$OUT" "$1" "$2" log="$LOG"
}

log "vanilla kernel: the series with CONFIG_DAXVM=n (log: ${LOG#$TOP/})"
if ! "$TOP/scripts/kernel.sh" build vanilla >"$LOG" 2>&1; then
	record vanilla.build-without-warnings fail
	exit 1
fi
record vanilla.build-without-warnings pass

# One boot: mount like the VM does, then the checks; TAP lines become results.
if "$TOP/scripts/qemu.sh" --vanilla boot \
	'sh /tests/quick-mount.sh && /tests/daxvm_vanilla /mnt/pmem0 pmem0' >>"$LOG" 2>&1; then
	boot=pass
else
	boot=fail
fi
record vanilla.boot-and-checks "$boot"
"$PY" - "$TOP/scripts" "$LOG" "$OUT" <<'PY'
import re, sys
sys.path.insert(0, sys.argv[1])
import result
log, out = sys.argv[2:4]
for line in open(log, errors="replace"):
    m = re.match(r"(not ok|ok) \d+ - (.*)", line.strip())
    if m:
        name = "vanilla." + re.sub(r"[^A-Za-z0-9_.-]+", "-", m.group(2)).strip("-")[:60]
        result.append(out, name, "pass" if m.group(1) == "ok" else "fail", log=log)
sys.exit(any(r["status"] == "fail" for r in result.load(out)))
PY

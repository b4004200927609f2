#!/usr/bin/env bash
# Host tests of the testbed's own error handling: each bad situation must
# stop with a clear message (not a hang or a QEMU backtrace).
#   testbed.sh RESULTS.json
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$1
: >"$OUT"
PY=/usr/bin/python3
WRITER=$TOP/scripts/result.py
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; for p in ${PORT_PID:-} ${VM_PID:-}; do kill "$p" 2>/dev/null; done' EXIT

# Records go through the testbed's one writer: valid JSON whatever DETAIL
# holds (several lines of a failing command's output, quotes, ...).
result() { # NAME STATUS [DETAIL]
	local detail=${3:-}
	"$PY" "$WRITER" add "$OUT" "$1" "$2" ${detail:+detail="$detail"} ||
		echo "ERROR: could not write the record of $1"
	echo "$2 $1${detail:+: $detail}"
}

# expect NAME REGEX CMD...: CMD must fail and print REGEX.
expect() {
	local name=$1 re=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && grep -qE "$re" <<<"$out"; then
		result "$name" pass
	else
		result "$name" fail "rc=$rc, output: $(tail -n 3 <<<"$out")"
	fi
}

# A fake build dir: a "kernel" file so scripts get past their first check.
FAKE=$TMP/build
mkdir -p "$FAKE/kernel/arch/x86/boot" "$FAKE/image"
echo fake >"$FAKE/kernel/arch/x86/boot/bzImage"
echo fake >"$FAKE/image/rootfs.img"
printf 'accel\ntcg\n' >"$FAKE/.accel"
sed -i "1s/.*/$(cat /proc/sys/kernel/random/boot_id)/" "$FAKE/.accel"

expect qemu-missing 'qemu-system-nope not found' \
	env BUILD="$FAKE" QEMU=qemu-system-nope "$TOP/scripts/qemu.sh" --dry-run start

cat >"$TMP/small.yml" <<YML
nvdimms:
  - {name: pmem0, size_mib: 256, fs: ext4, mount: /mnt/pmem0}
YML
truncate -s 128M "$FAKE/pmem0.img"
expect backing-file-too-small 'too small' \
	env BUILD="$FAKE" DAXVM_CONFIG="$TMP/small.yml" "$TOP/scripts/qemu.sh" --dry-run start
truncate -s $((256 * 1024 * 1024 + 4096)) "$FAKE/pmem0.img"
expect backing-file-misaligned 'not 2 MiB aligned' \
	env BUILD="$FAKE" DAXVM_CONFIG="$TMP/small.yml" "$TOP/scripts/qemu.sh" --dry-run start
cat >"$TMP/odd.yml" <<YML
nvdimms:
  - {name: pmem0, size_mib: 100, fs: ext4, mount: /mnt/pmem0}
YML
expect nvdimm-size-not-multiple 'not a multiple of 128 MiB' \
	env BUILD="$FAKE" DAXVM_CONFIG="$TMP/odd.yml" "$TOP/scripts/qemu.sh" --dry-run start

# A port someone else holds: the real start refuses and names the holder
# (by ss, or by fuser where ss is missing); a dry run does not care.
"$PY" -c 'import os,socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], os.getpid(), flush=True); time.sleep(600)' >"$TMP/port" &
PORT_PID=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
read -r PORT HOLDER <"$TMP/port"
cat >"$TMP/port.yml" <<YML
vm_ssh_port: $PORT
nvdimms:
  - {name: pmem0, size_mib: 256, fs: ext4, mount: /mnt/pmem0}
YML
truncate -s 256M "$FAKE/pmem0.img"
expect ssh-port-in-use "port $PORT is already in use by python3 \\(pid $HOLDER\\)" \
	env BUILD="$FAKE" DAXVM_CONFIG="$TMP/port.yml" "$TOP/scripts/qemu.sh" start
mkdir -p "$TMP/no-ss"
printf '#!/bin/sh\nexit 1\n' >"$TMP/no-ss/ss"
chmod +x "$TMP/no-ss/ss"
expect ssh-port-in-use-without-ss "port $PORT is already in use by python3 \\(pid $HOLDER\\)" \
	env PATH="$TMP/no-ss:$PATH" BUILD="$FAKE" DAXVM_CONFIG="$TMP/port.yml" "$TOP/scripts/qemu.sh" start

# dry_run NAME CONFIG DESCRIPTION: `qemu.sh --dry-run start` must succeed
# and print the VM's command line with its ssh forward.
dry_run() {
	local out rc port
	port=$(DAXVM_CONFIG="$2" "$PY" "$TOP/scripts/config.py" vm_ssh_port)
	out=$(env BUILD="$FAKE" DAXVM_CONFIG="$2" "$TOP/scripts/qemu.sh" --dry-run start 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && grep -q -- "hostfwd=tcp:127.0.0.1:$port-:22" <<<"$out" &&
		grep -q -- ' -daemonize ' <<<"$out"; then
		result "$1" pass
	else
		result "$1" fail "$3: rc=$rc, output: $(tail -n 3 <<<"$out")"
	fi
}
dry_run dry-run-port-taken "$TMP/port.yml" "with the port taken"

# A VM of this checkout runs (a stand-in process in its pid file), with the
# same kernel or another one: a dry run neither stops it nor says "already
# running" instead of the command line.
sleep 600 &
VM_PID=$!
mkdir -p "$FAKE/run"
echo "$VM_PID" >"$FAKE/run/qemu.pid"
stat -c '%n %Y' "$FAKE/kernel/arch/x86/boot/bzImage" >"$FAKE/run/vm.kernel"
dry_run dry-run-vm-running "$TMP/port.yml" "with a VM running"
echo "another kernel 0" >"$FAKE/run/vm.kernel"
dry_run dry-run-vm-running-other-kernel "$TMP/port.yml" "with a VM of another kernel running"
if ! kill -0 "$VM_PID" 2>/dev/null; then
	result dry-run-leaves-vm-alone fail "the dry run stopped the running VM (pid $VM_PID)"
else
	result dry-run-leaves-vm-alone pass
fi
kill "$VM_PID" 2>/dev/null
wait "$VM_PID" 2>/dev/null
rm -f "$FAKE/run/qemu.pid" "$FAKE/run/vm.kernel"

# ICOUNT: the instruction-count clock with one vCPU under TCG, refused on KVM.
out=$(env BUILD="$FAKE" DAXVM_CONFIG="$TMP/small.yml" ICOUNT=0 "$TOP/scripts/qemu.sh" --dry-run start 2>&1)
if grep -q -- '-icount shift=0\\,align=off\\,sleep=off ' <<<"$out" && grep -q -- '-smp 1 ' <<<"$out"; then
	result icount-args pass
else
	result icount-args fail "$(tail -c 300 <<<"$out")"
fi
printf '%s\nkvm\n' "$(cat /proc/sys/kernel/random/boot_id)" >"$FAKE/.accel"
expect icount-needs-tcg 'ICOUNT needs TCG' \
	env BUILD="$FAKE" DAXVM_CONFIG="$TMP/small.yml" ICOUNT=0 "$TOP/scripts/qemu.sh" --dry-run start
printf '%s\ntcg\n' "$(cat /proc/sys/kernel/random/boot_id)" >"$FAKE/.accel"

# Two quick-loop boots share the boot NVDIMM files: the second waits.
mkdir -p "$FAKE/run"
echo fake >"$FAKE/initramfs.cpio.gz"
flock "$FAKE/run/boot.lock" sleep 4 &
LOCK_PID=$!
sleep 0.5
expect boot-waits-for-boot 'another quick-loop boot' \
	timeout 3 env BUILD="$FAKE" DAXVM_CONFIG="$TMP/small.yml" "$TOP/scripts/qemu.sh" boot true
wait "$LOCK_PID"

# No disk space: a tiny tmpfs as the build directory.
if mkdir -p "$TMP/full" && mount -t tmpfs -o size=1m tmpfs "$TMP/full" 2>/dev/null; then
	expect no-disk-space 'not enough disk space' \
		env BUILD="$TMP/full" bash -c "source '$TOP/scripts/lib.sh'; need_space '$TMP/full' 3000 'the kernel build'"
	expect no-disk-space-image 'not enough disk space for the guest image' \
		env BUILD="$TMP/full" "$TOP/guest-image/build-image.sh"
	umount "$TMP/full"
else
	result no-disk-space skip "cannot mount a tmpfs here"
fi

# A guest that never answers: the vm role's wait must time out and name the
# console log.
cat >"$TMP/wait.yml" <<YML
- name: Wait for a guest that is not there
  hosts: localhost
  gather_facts: false
  vars:
    vm_state: running
    vm_ssh_port: $(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    vm_boot_timeout: 3
    vm_console_log: /some/console.log
  tasks:
    - name: Wait
      ansible.builtin.include_tasks: $TOP/ansible/roles/vm/tasks/wait.yml
YML
expect guest-timeout 'Console log: /some/console.log' \
	env ANSIBLE_CONFIG="$TOP/ansible/ansible.cfg" ansible-playbook -i localhost, -c local "$TMP/wait.yml"

# A patch that does not apply stops the build and names the patch (on a
# one-file stand-in for the kernel tree: the logic is the same).
mkdir -p "$TMP/kp/config" "$TMP/linux"
cp "$TOP/kernel-patches/BASE" "$TMP/kp/"
(cd "$TMP/linux" && git init -q && printf 'one\ntwo\nthree\n' >Makefile && git add Makefile &&
	git -c user.name=t -c user.email=t@t commit -qm base && git tag daxvm-base)
printf 'From 0 Mon Sep 17 00:00:00 2001\nFrom: t <t@t>\nSubject: [PATCH] bad\n\n---\n Makefile | 1 +\n 1 file changed\n\ndiff --git a/Makefile b/Makefile\n--- a/Makefile\n+++ b/Makefile\n@@ -1,3 +1,4 @@\n no such line\n+x\n no such line\n no such line\n' >"$TMP/kp/0001-bad.patch"
echo 0001-bad.patch >"$TMP/kp/series"
expect bad-patch-named 'does not apply: kernel-patches/0001-bad.patch' \
	env BUILD="$TMP" KERNEL_PATCHES="$TMP/kp" "$TOP/scripts/kernel.sh" prepare

# The result writer: any text makes one valid JSON line (quotes, newlines,
# control characters, NUL from a file, bytes that are not UTF-8), and the
# summary counts what it wrote.
W=$TMP/writer.json
: >"$W"
weird=$(printf 'quote " backslash \\ newline\nsecond line\r\ttab \001\033[31m \377\376 cut \303(')
printf 'nul \000 bell \007 \377 bad, ok \303\251\nlast line' >"$TMP/raw.bin"
ok=1
"$PY" "$WRITER" add "$W" 'name "quoted" \ and more' pass detail="$weird" || ok=0
"$PY" "$WRITER" add "$W" "$(printf 'two\nlines')" fail rc:=3 detail@="$TMP/raw.bin" || ok=0
"$PY" "$WRITER" add "$W" plain skip || ok=0
if "$PY" "$WRITER" add "$W" bad-status passed 2>/dev/null; then ok=0; fi
check=$("$PY" - "$W" <<'PY' 2>&1
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
assert lines[-1] == b"" and len(lines) == 4, f"{len(lines) - 1} lines, want 3"
recs = [json.loads(l.decode("ascii")) for l in lines[:-1]]
want = 'quote " backslash \\ newline\nsecond line\r\ttab \x01\x1b[31m \ufffd\ufffd cut \ufffd('
assert recs[0] == {"name": 'name "quoted" \\ and more', "status": "pass", "detail": want}, recs[0]
assert recs[1]["name"] == "two\nlines" and recs[1]["rc"] == 3, recs[1]
assert recs[1]["detail"] == "nul \x00 bell \x07 \ufffd bad, ok \u00e9\nlast line", recs[1]
assert recs[2] == {"name": "plain", "status": "skip"}, recs[2]
PY
)
sum=$("$TOP/scripts/summary.sh" "$W" 2>&1)
rc=$?
if [ $ok = 1 ] && [ -z "$check" ] && [ $rc -eq 1 ] &&
	[ "$(tail -n 1 <<<"$sum")" = "1 passed, 1 failed, 1 skipped" ]; then
	result result-writer-any-text pass
else
	result result-writer-any-text fail "writer ok=$ok; check: $check; summary rc=$rc: $(tail -n 3 <<<"$sum")"
fi

# A results file with lines that are not records (the half of a record
# split by a raw newline, a bad status, not an object, not UTF-8, not
# JSON): each counts as one failed test, named when the name shows; the
# summary does not crash, and its last line is still the count.
M=$TMP/broken.json
: >"$M"
"$PY" "$WRITER" add "$M" good pass
printf '{"name":"icount-args","status":"fail","detail":"first\nsecond"}\n' >>"$M"
printf '{"name":"bad-status","status":"passed"}\n[1, 2]\n{"name":"x\377","status":"pass"}\ngarbage\n' >>"$M"
sum=$("$TOP/scripts/summary.sh" "$M" 2>&1)
rc=$?
if [ $rc -eq 1 ] && ! grep -q Traceback <<<"$sum" &&
	grep -q '^FAILED broken: icount-args  (malformed record: broken.json line 2: not JSON' <<<"$sum" &&
	grep -q '^FAILED broken: bad-status  (malformed record' <<<"$sum" &&
	[ "$(tail -n 1 <<<"$sum")" = "1 passed, 6 failed, 0 skipped" ]; then
	result summary-malformed-record pass
else
	result summary-malformed-record fail "summary rc=$rc: $(tail -n 8 <<<"$sum")"
fi
# The CI definitions users adopt (ci/) pass actionlint and run exactly the
# lanes of ci/lanes.sh, as .ci/run does; a definition that drifts (a lane
# ci/lanes.sh does not have) is refused.
out=$("$TOP/ci/check.sh" 2>&1)
if [ $? -eq 0 ]; then
	result ci-definitions pass
else
	result ci-definitions fail "$out"
fi
sed 's/LANE: debug/LANE: nightly/' "$TOP/ci/gitlab/daxvm-testbed.gitlab-ci.yml" >"$TMP/gitlab.yml"
expect ci-check-refuses-drift "runs lanes .*nightly" "$TOP/ci/check.sh" "$TOP/ci/github/daxvm-testbed.yml" "$TMP/gitlab.yml"

# The cover letter is the series' own: its "[PATCH 00/N]" counts the
# patches of kernel-patches/series and its shortlog lists their subjects in
# order (make kernel-export writes it; an edited series without an export
# shows here).
out=$("$PY" - "$TOP/kernel-patches" <<'PY' 2>&1
import pathlib, re, sys
kp = pathlib.Path(sys.argv[1])
series = [l for l in (kp / "series").read_text().split() if not l.startswith("#")]
subjects = []
for p in series:
    text = (kp / p).read_text()
    m = re.search(r"^Subject: \[PATCH(?: \d+/\d+)?\] (.*(?:\n [^\n]*)*)", text, re.M)
    subjects.append(" ".join(m.group(1).split()))
letter = (kp / "cover-letter.txt").read_text()
head = re.search(r"^Subject: \[PATCH 0+/(\d+)\]", letter, re.M)
assert head and int(head.group(1)) == len(series), f"cover letter counts {head and head.group(1)}, series has {len(series)}"
short = re.search(r"^\S.* \((\d+)\):\n((?:  .*\n(?:    .*\n)*)+)", letter, re.M)
listed = [" ".join(e.split()) for e in re.split(r"\n(?=  \S)", short.group(2).rstrip("\n"))]
assert listed == subjects, f"shortlog differs from the series at {next(i for i, (a, b) in enumerate(zip(listed + [''] * 99, subjects + [''] * 99)) if a != b) + 1}"
PY
)
if [ $? -eq 0 ]; then
	result kernel-cover-letter-current pass
else
	result kernel-cover-letter-current fail "$out"
fi

# Derived configuration facts (memory arithmetic, the VM's name) are
# expressions in group_vars/all.yml: scripts/config.py (QEMU provider)
# must render them exactly as Ansible does (libvirt provider).
keys="vm_maxmem_mib vm_memory_slots vm_memory_with_nvdimms_mib vm_name testbed_build"
ours=$("$TOP/scripts/config.py" $keys | paste -sd' ')
# The overrides config.py applies too (ansible/local.yml, $DAXVM_CONFIG).
extra=()
[ -f "$TOP/ansible/local.yml" ] && extra+=(-e "@$TOP/ansible/local.yml")
[ -n "${DAXVM_CONFIG:-}" ] && extra+=(-e "@$DAXVM_CONFIG")
theirs=$(cd "$TOP/ansible" && ANSIBLE_CONFIG=$TOP/ansible/ansible.cfg ansible localhost -o -m debug \
	-a "msg='$(for k in $keys; do printf '{{ %s }} ' "$k"; done)'" \
	-e @group_vars/all.yml "${extra[@]}" -e playbook_dir="$TOP/ansible" 2>&1 | sed -n 's/.*"msg": "\(.*\) "}.*/\1/p')
if [ -n "$ours" ] && [ "$ours" = "$theirs" ]; then
	result config-derived-facts-agree pass
else
	result config-derived-facts-agree fail "config.py: '$ours'; ansible: '$theirs'"
fi

# CI keeps only the terminal: with SHOW_LOGS=1 a failing guest test's log
# (a guest path in the record) is shown from the copy fetched next to the
# results, <results>-logs/<name>.log.
G=$TMP/guest.json
: >"$G"
mkdir -p "$TMP/guest-logs"
printf 'not ok 8 - mmap write faults: marker-%s\n' "$$" >"$TMP/guest-logs/daxvm-prezero.log"
"$PY" "$WRITER" add "$G" daxvm-prezero fail log=/var/tmp/daxvm-logs/daxvm-prezero.log
sum=$(SHOW_LOGS=1 "$TOP/scripts/summary.sh" "$G" 2>&1)
if grep -q "^    not ok 8 - mmap write faults: marker-$$" <<<"$sum"; then
	result summary-shows-guest-log pass
else
	result summary-shows-guest-log fail "summary: $(tail -n 5 <<<"$sum")"
fi

# ... and copying such a file (test-host.sh does, for these records) keeps
# every test, as valid records.
C=$TMP/copied.json
if "$PY" "$WRITER" copy --prefix testbed. "$M" "$C" &&
	"$PY" -c 'import json, sys; r = [json.loads(l) for l in open(sys.argv[1])]; sys.exit(len(r) != 7 or r[1]["name"] != "testbed.icount-args" or r[1]["status"] != "fail")' "$C"; then
	result result-copy-malformed pass
else
	result result-copy-malformed fail "$(head -c 600 "$C" 2>&1)"
fi

# CI walks the README's path: the normal lane (which .ci/run runs, see
# ci-definitions) runs the quick start's commands as the README writes them.
quick=$(awk '/^```sh$/ {f = 1; next} /^```$/ {if (f) exit} f' "$TOP/README.md" | sed -e :a -e '$!N; s/\n/ \&\& /; ta')
if [ -n "$quick" ] && sed 's/^[[:space:]]*//' "$TOP/ci/lanes.sh" | grep -qxF -- "$quick"; then
	result ci-runs-readme-quick-start pass
else
	result ci-runs-readme-quick-start fail "no line '$quick' in ci/lanes.sh"
fi

# The crash test's boots are bounded even when the console falls silent:
# a guest that hangs is killed after the timeout and reported as such.
out=$(timeout 60 "$PY" - "$TOP/tests/host/msync-crash.py" <<'PY' 2>&1
import importlib.util, io, sys, time
spec = importlib.util.spec_from_file_location("crash", sys.argv[1])
crash = importlib.util.module_from_spec(spec)
spec.loader.exec_module(crash)
crash.qemu_args = lambda debug, cmd: ["sh", "-c", cmd]
t0 = time.monotonic()
lines, killed, expired = crash.boot(False, "echo booted; exec sleep 120", 5, 2, io.StringIO())
took = time.monotonic() - t0
assert lines == ["booted"] and not killed and expired and took < 20, (lines, killed, expired, took)
lines, killed, expired = crash.boot(False, "echo SYNCED 5; exec sleep 120", 5, 30, io.StringIO())
assert killed and not expired, (lines, killed, expired)
PY
)
rc=$?
if [ $rc -eq 0 ]; then
	result crash-boot-timeout pass
else
	result crash-boot-timeout fail "rc=$rc: $(tail -n 3 <<<"$out")"
fi

#!/usr/bin/env bash
# Host tests of the testbed's own error handling: each bad situation must
# stop with a clear message (not a hang or a QEMU backtrace).
#   testbed.sh RESULTS.json
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$1
: >"$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; [ -n "${PORT_PID:-}" ] && kill "$PORT_PID" 2>/dev/null' EXIT

result() { # NAME STATUS [DETAIL]
	local detail=${3:-}
	detail=${detail//\"/\'}
	printf '{"name":"%s","status":"%s","detail":"%s"}\n' "$1" "$2" "$detail" >>"$OUT"
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
		result "$name" fail "rc=$rc, output: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
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

# A port someone else holds.
python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(600)' >"$TMP/port" &
PORT_PID=$!
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
cat >"$TMP/port.yml" <<YML
vm_ssh_port: $(cat "$TMP/port")
nvdimms:
  - {name: pmem0, size_mib: 256, fs: ext4, mount: /mnt/pmem0}
YML
truncate -s 256M "$FAKE/pmem0.img"
expect ssh-port-in-use "port $(cat "$TMP/port") is already in use" \
	env BUILD="$FAKE" DAXVM_CONFIG="$TMP/port.yml" "$TOP/scripts/qemu.sh" start

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

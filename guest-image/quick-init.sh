#!/bin/busybox sh
# PID 1 of the quick-loop initramfs: set up the NVDIMMs, run /run-cmd.sh
# (packed in by `make boot`), print its exit status and power off.
/bin/busybox --install -s /bin
# The real tools (usr/) win over busybox applets of the same name.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/tests
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mkdir -p /dev/shm && mount -t tmpfs shm /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
echo 8 >/proc/sys/kernel/printk

# Every label-less QEMU NVDIMM comes up as a raw namespace: turn it into fsdax
# once (the info block persists in the backing file) and give it a DAX ext4.
setup_pmem() {
	local ns dev
	for ns in $(ndctl list -N 2>/dev/null | sed -n 's/.*"dev":"\(namespace[0-9.]*\)".*/\1/p'); do
		if ! ndctl list -n "$ns" | grep -q '"mode":"fsdax"'; then
			ndctl create-namespace -f -e "$ns" -m fsdax >/dev/null || echo "quick-init: ndctl failed on $ns"
		fi
	done
}

if [ "$(cat /proc/cmdline | sed -n 's/.*daxvm.setup=\([a-z]*\).*/\1/p')" != none ]; then
	setup_pmem
fi

echo "=== DAXVM-BEGIN"
sh /run-cmd.sh
rc=$?
echo "=== DAXVM-EXIT=$rc"
sync
poweroff -f

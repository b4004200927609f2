#!/bin/sh
# For `make boot`: make fresh file systems on the fsdax namespaces and
# mount them like the VM does (pmem0: ext4, pmem1: xfs, both dax=always).
set -e
mkdir -p /mnt/pmem0 /mnt/pmem1
# Absolute paths: Debian's busybox-static prefers its own applets.
/usr/sbin/mke2fs -q -F -t ext4 /dev/pmem0
mount -o dax=always /dev/pmem0 /mnt/pmem0
if [ -b /dev/pmem1 ]; then
	/usr/sbin/mkfs.xfs -q -f -m reflink=0 /dev/pmem1
	mount -o dax=always /dev/pmem1 /mnt/pmem1
fi

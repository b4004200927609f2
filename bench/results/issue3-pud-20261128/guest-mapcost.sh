sh /tests/quick-mount.sh || exit 1
dd if=/dev/urandom of=/mnt/pmem0/big bs=2M count=512 2>/dev/null; dd if=/dev/urandom of=/mnt/pmem0/small bs=4k count=1 2>/dev/null; sync
grep dirs /proc/fs/daxvm/stats
for t in 0 1; do
/tests/mapcost /mnt/pmem0/small 4096 50 $t
/tests/mapcost /mnt/pmem0/big 1073741824 20 $t
done
grep dirs /proc/fs/daxvm/stats

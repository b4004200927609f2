sh /tests/quick-mount.sh || exit 1
mkdir -p /mnt/pmem0/bench
/tests/daxvm-bench read --dir /mnt/pmem0/bench/read --out /tmp/raw --trials 3 --sizes 4K,1G --orders seq --layouts fresh,frag --budget 4G --variants mmap,daxvm > /tmp/bench.log 2>&1; rc=$?
tail -5 /tmp/bench.log
grep -E "dirs" /proc/fs/daxvm/stats
echo "=== RAW-BEGIN"
cd /tmp/raw && tar cf - . | gzip | base64
echo "=== RAW-END"
exit $rc

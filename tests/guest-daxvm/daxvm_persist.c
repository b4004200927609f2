// SPDX-License-Identifier: GPL-2.0
/*
 * File page tables that outlive the inode and the mount (kernel patches
 * 0018-0021):
 *   daxvm_persist DIR DEVNAME
 * DIR must be the mount point of /dev/DEVNAME: the test remounts it, runs
 * tune2fs and e2fsck on it, and writes to the raw device while unmounted.
 *
 * The tables of a fragmented file must survive the eviction of its inode
 * and a remount: mapped again, the file reads right without a page fault
 * and without a new table. A mount must not trust them when another mount
 * may have changed files since (the mount count changed) or when a table
 * on the device maps memory outside the device, or a table: the file then
 * reads right through tables built anew. The owner of the blocks, /.daxvm-tables,
 * stays immutable. An unmount writes back what was stored through a
 * tracked mapping and never msync'd. Crashes are tested by msync-crash
 * (make test-crash).
 */
#include "daxvm_tables.h"
#include <stdarg.h>

#define SIZE		(16 * MiB)	/* 8 chunks, 8 tables */

/* enum daxvm_restore (include/linux/daxvm.h). */
enum { RESTORE_NONE, RESTORE_DONE, RESTORE_UNCLEAN, RESTORE_STALE,
       RESTORE_INVALID };

static char knob_dir[256], dev[64], path[512], seq_path[512];
static const char *mnt;

static long pool(const char *key)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/daxvm_pool_stats", knob_dir);
	return read_key(p, key);
}

static long kbytes(void)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/daxvm_kbytes_occupied", knob_dir);
	return read_num(p);
}

static long pool_in_use(void)
{
	return pool("blocks") - pool("free");
}

/* Runs a shell command made like printf(); returns its status. */
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Unmounts, runs @between (a shell command on $DEV), mounts again. */
static int remount(const char *between)
{
	return sh("umount %s && DEV=%s && { %s; } && mount -o dax=always %s %s",
		  mnt, dev, between, dev, mnt);
}

/* Maps @file read-only with MAP_DAXVM; its fd in *@fd. */
static unsigned char *map_file(const char *file, unsigned long size, int *fd)
{
	unsigned char *m;

	*fd = open(file, O_RDONLY);
	if (*fd < 0)
		tap_die("open %s", file);
	m = map_daxvm(*fd, size, PROT_READ);
	if (m == MAP_FAILED)
		tap_die("mmap MAP_DAXVM");
	return m;
}

/*
 * Maps the file with MAP_DAXVM: do its data pages read right? *@faults:
 * page faults meanwhile. Holes are not read: the DAX entry a hole's fault
 * leaves in the page cache keeps the inode in memory (drop_caches never
 * removes DAX entries), and evict() needs it gone.
 */
static int map_reads_right(unsigned long size, long *faults)
{
	unsigned long pg;
	int fd, ok = 1;
	unsigned char *m = map_file(path, size, &fd);
	long f0 = minflt();

	for (pg = 0; pg < size / PG; pg++)
		if (!HOLE(pg) && m[pg * PG] != pattern(1, pg * PG))
			ok = 0;
	*faults = minflt() - f0;
	munmap(m, size);
	close(fd);
	return ok;
}

/*
 * Maps the sequentially written file (pattern 2) with MAP_DAXVM and reads
 * it: 1 if right, *@faults meanwhile.
 */
static int map_seq_reads_right(unsigned long size, long *faults)
{
	int fd;
	unsigned char *m = map_file(seq_path, size, &fd);
	long f0 = minflt(), bad = check_pattern(m, 2, 0, size);

	*faults = minflt() - f0;
	munmap(m, size);
	close(fd);
	return bad < 0;
}

/* How many of the file's first @nr chunks sit on a 2 MiB-aligned run. */
static int aligned_chunks(const char *file, int nr)
{
	static unsigned long b[512];
	int fd = open(file, O_RDONLY), c, n = 0, i;

	if (fd < 0)
		tap_die("open %s", file);
	for (c = 0; c < nr; c++) {
		memset(b, 0, sizeof(b));
		chunk_blocks(fd, c, b);
		for (i = 1; i < 512 && b[i] == b[0] + i; i++)
			;
		n += i == 512 && b[0] % 512 == 0;
	}
	close(fd);
	return n;
}

/*
 * Evicts unused inodes, the file's among them (no fd, no mapping); true
 * once one more tree is parked (others may be parked too: the caller
 * checks that the file's tree comes back).
 */
static int parked_more(void *before)
{
	sync();
	if (write_knob("/proc/sys/vm/drop_caches", "2"))
		tap_die("drop_caches");
	return pool("parked") > *(long *)before;
}

static int evict(void)
{
	long before = pool("parked");

	return wait_for(parked_more, &before, WAIT_LIMIT,
			"one more parked tree after sync and drop_caches") >= 0;
}

/*
 * The pfn of the device's block 0: a page of the file, mapped the plain
 * DAX way, minus its block (the file's chunk @chunk blocks are @blk).
 */
static uint64_t device_pfn0(int fd, const unsigned long *blk)
{
	unsigned char *m = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	int pm = open("/proc/self/pagemap", O_RDONLY);
	uint64_t e = 0;

	if (m == MAP_FAILED || pm < 0)
		tap_die("mmap or pagemap");
	(void)*(volatile unsigned char *)m;
	if (pread(pm, &e, 8, (unsigned long)m / PG * 8) != 8 ||
	    !(e & (1ULL << 63)))
		tap_die("pagemap");
	close(pm);
	munmap(m, PG);
	return (e & ((1ULL << 55) - 1)) - blk[0];
}

/*
 * Points entry 0 of the table at block @blk of the device to pfn @pfn.
 * Every chunk of a make_fragmented() file may have the same layout, so
 * which chunk's table it is does not matter.
 */
static int corrupt_table(long blk, uint64_t pfn)
{
	static uint64_t buf[PG / 8] __attribute__((aligned(4096)));
	int fd = open(dev, O_RDWR | O_DIRECT), ok;

	if (fd < 0)
		tap_die("open %s", dev);
	ok = pread(fd, buf, PG, blk * PG) == (ssize_t)PG;
	buf[0] = (buf[0] & ~PTE_PFN_MASK) | pfn * PG;
	ok = ok && pwrite(fd, buf, PG, blk * PG) == (ssize_t)PG;
	close(fd);
	return ok;
}

/*
 * Unmounts (the file's tables are kept), points entry 0 of one of its
 * tables at @pfn, or with @pfn 0 at the table itself (a process could then
 * write its own page table), mounts again: no table may be read back, and
 * the file must read right.
 */
static void kept_table_corrupted(uint64_t pfn, const char *what)
{
	static unsigned long blk[512];
	long on_dev, faults;
	uint64_t pfn0;
	int fd, ok;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		tap_die("open %s", path);
	chunk_blocks(fd, 0, blk);
	pfn0 = device_pfn0(fd, blk);
	close(fd);
	if (sh("umount %s", mnt))
		tap_die("umount");
	on_dev = find_table_on_device(dev, blk);
	ok = on_dev >= 0 && corrupt_table(on_dev, pfn ? pfn : pfn0 + on_dev);
	tap_result(ok, "unmounted, a table of the file is on the device (block %ld): entry 0 now maps %s",
		   on_dev, what);
	if (sh("mount -o dax=always %s %s", dev, mnt))
		tap_die("mount");
	tap_result(pool("restore") == RESTORE_INVALID && kbytes() == 0,
		   "the mount reads back no table (restore %ld, %ld KiB)",
		   pool("restore"), kbytes());
	ok = map_reads_right(SIZE, &faults);
	tap_result(ok, "the file reads right through tables built anew");
}

/*
 * Stores a byte back into the first page of chunks 0 and 1 through a
 * writable MAP_DAXVM mapping, which tracks dirty chunks, and never
 * msyncs: the file still reads right, but two chunks are dirty.
 */
static void dirty_two_chunks(void)
{
	volatile unsigned char *m;
	int fd = open(path, O_RDWR);

	if (fd < 0)
		tap_die("open %s", path);
	m = map_daxvm(fd, SIZE, PROT_READ | PROT_WRITE);
	if (m == MAP_FAILED)
		tap_die("mmap MAP_DAXVM writable");
	m[0] = m[0];
	m[2 * MiB] = m[2 * MiB];
	munmap((void *)m, SIZE);
	close(fd);
}

static void check_owner(void)
{
	char owner[512];
	struct stat st;
	int fd, flags = 0, err, err2;

	snprintf(owner, sizeof(owner), "%s/.daxvm-tables", mnt);
	fd = open(owner, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) || ioctl(fd, FS_IOC_GETFLAGS, &flags))
		tap_die("%s", owner);
	tap_result(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0400 &&
		   st.st_uid == 0 && (flags & FS_IMMUTABLE_FL),
		   "%s is root's, mode 0400, immutable (mode %o, uid %u, flags %#x)",
		   owner, st.st_mode & 07777, st.st_uid, flags);
	flags &= ~FS_IMMUTABLE_FL;
	err = ioctl(fd, FS_IOC_SETFLAGS, &flags) ? errno : 0;
	tap_result(err == EPERM,
		   "root cannot clear its immutable flag (EPERM, got %s)",
		   strerror(err));
	close(fd);
	err = unlink(owner) ? errno : 0;
	err2 = open(owner, O_WRONLY) < 0 ? errno : 0;
	tap_result(err == EPERM && err2 == EPERM,
		   "nor unlink it or open it for writing (%s, %s)",
		   strerror(err), strerror(err2));
}

int main(int argc, char **argv)
{
	long kb, used, faults, unparked, synced;
	unsigned char *m;
	int fd, sig, ok, huge;

	if (argc != 3)
		tap_die("usage: daxvm_persist DIR DEVNAME");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	mnt = argv[1];
	snprintf(knob_dir, sizeof(knob_dir), "/proc/fs/ext4/%s", argv[2]);
	snprintf(dev, sizeof(dev), "/dev/%s", argv[2]);
	snprintf(path, sizeof(path), "%s/daxvm-persist.dat", mnt);
	snprintf(seq_path, sizeof(seq_path), "%s/daxvm-persist-seq.dat", mnt);
	tap_skip_all_if(pool("restore") < 0, "kernel without kept tables");
	catch_faults();
	check_owner();

	/*
	 * Other files on the mount may have tables that are not kept (never
	 * mapped: incomplete): count this file's, and new tables per step.
	 */
	kb = kbytes();
	fd = make_fragmented(path, SIZE);
	close(fd);
	ok = map_reads_right(SIZE, &faults);
	kb = kbytes() - kb;
	tap_result(ok && kb >= 32,
		   "a fragmented 16 MiB file reads right through MAP_DAXVM (%ld KiB of tables)",
		   kb);

	/* The inode leaves memory; its tables stay in the pool. */
	ok = evict();
	tap_result(ok, "an evicted inode's tables are parked (%ld files)",
		   pool("parked"));
	unparked = pool("unparked");
	used = pool_in_use();
	ok = map_reads_right(SIZE, &faults);
	tap_result(ok && faults == 0 && pool("unparked") == unparked + 1 &&
		   pool_in_use() == used,
		   "read in again, it gets them back: reads right, %ld faults, %ld new tables",
		   faults, pool_in_use() - used);

	/* A second file, written 2 MiB at a time: huge chunks where aligned. */
	fd = make_pattern_file(seq_path, 2, SIZE, 2 * MiB);
	if (fsync(fd))
		tap_die("fsync");
	close(fd);
	huge = aligned_chunks(seq_path, SIZE / (2 * MiB));
	ok = map_seq_reads_right(SIZE, &faults);
	tap_result(ok, "a sequentially written file reads right (%d of 8 chunks on aligned runs: huge entries)",
		   huge);

	/*
	 * Remount: the tables come back from the device. The unmount must
	 * write back what was stored through a tracked mapping and never
	 * msync'd: writeback does not visit such an inode, which has no
	 * dirty page-cache entries.
	 */
	dirty_two_chunks();
	synced = daxvm_stat("synced_chunks");
	ok = remount("e2fsck -fn $DEV >/tmp/daxvm-persist-fsck.log 2>&1") == 0;
	synced = daxvm_stat("synced_chunks") - synced;
	tap_result(ok, "e2fsck -fn is clean with tables kept (log /tmp/daxvm-persist-fsck.log)");
	tap_result(synced >= 2,
		   "the unmount wrote back the 2 chunks stored to through a tracked mapping, never msync'd (%ld)",
		   synced);
	tap_result(pool("restore") == RESTORE_DONE && pool("restored") >= 2 &&
		   kbytes() >= kb,
		   "a remount reads the tables back before any mmap (restore %ld, %ld files, %ld KiB, the file's %ld)",
		   pool("restore"), pool("restored"), kbytes(), kb);
	unparked = pool("unparked");
	used = pool_in_use();
	ok = map_reads_right(SIZE, &faults);
	tap_result(ok && faults == 0 && pool("unparked") == unparked + 1 &&
		   pool_in_use() == used,
		   "the file reads right through them: %ld faults, %ld new tables",
		   faults, pool_in_use() - used);
	ok = map_seq_reads_right(SIZE, &faults);
	tap_result(ok && faults == 0 && pool_in_use() == used,
		   "so does the sequential one, its %d huge chunks kept as records: %ld faults, %ld new tables",
		   huge, faults, pool_in_use() - used);
	unlink(seq_path);

	/* They follow the extent tree from there: truncate trims them. */
	if (truncate(path, SIZE / 2))
		tap_die("truncate");
	m = map_file(path, SIZE, &fd);
	sig = try_read(m + SIZE / 2, &(unsigned char){ 0 });
	tap_result(reads_right(m, SIZE / 2) && sig == SIGBUS,
		   "after a truncate the kept tables read right and end at EOF (signal %d)",
		   sig);
	munmap(m, SIZE);
	close(fd);

	/* A mount count that changed: someone else mounted it. */
	close(make_fragmented(path, SIZE));
	ok = remount("T=/usr/sbin/tune2fs; [ -x $T ] || T=tune2fs; $T -C 1000 $DEV >/dev/null") == 0;
	tap_result(ok && pool("restore") == RESTORE_STALE && kbytes() == 0 &&
		   pool("restored") == 0,
		   "after another mount (tune2fs -C) nothing is read back (restore %ld, %ld KiB)",
		   pool("restore"), kbytes());
	ok = map_reads_right(SIZE, &faults);
	tap_result(ok && faults == 0,
		   "the file reads right through tables built anew (%ld faults)",
		   faults);

	/* A kept table that maps memory outside the device, or itself. */
	kept_table_corrupted(1, "pfn 1, outside the device");
	kept_table_corrupted(0, "the table itself");

	unlink(path);
	ok = sh("umount %s && e2fsck -fn %s >/tmp/daxvm-persist-fsck.log 2>&1",
		mnt, dev) == 0;
	tap_result(ok, "e2fsck -fn is clean at the end");
	if (sh("mountpoint -q %s || mount -o dax=always %s %s", mnt, dev, mnt))
		tap_die("mount %s again", dev);
	return tap_finish();
}

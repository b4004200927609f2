// SPDX-License-Identifier: GPL-2.0
/*
 * Block zeroing knobs of an ext4-DAX mount (kernel patches 0008, 0009):
 *   daxvm_prezero DIR DEVNAME
 * DIR must be the mount point of /dev/DEVNAME (the test remounts it).
 *
 * With daxvm_prezero=1 freed blocks are zeroed by a kernel thread, and an
 * allocation that gets such a block skips the synchronous zeroing. The
 * test checks that the thread really zeroes (the freed blocks read as
 * zeroes on the device), that allocations use them, that no allocation
 * ever shows a deleted file's bytes (also while the thread runs), the
 * knobs' input checks, and that a remount forgets the state.
 */
#include "daxvm_util.h"
#include <linux/capability.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#define OLD		0xa5	/* every byte of the deleted files */
#define SIZE		(32 * MiB)
#define MAX_EXT		512
#define MAX_PREALLOC	1024	/* blocks; ext4's group preallocation is 512 */

static char knob_dir[256];
static const char *mnt;

static char *knob(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", knob_dir, name);
	return path;
}

static long stat_of(const char *key)
{
	return read_key(knob("daxvm_prezero_stats"), key);
}

/* Physical extents of @fd, in bytes. */
struct extents {
	unsigned int n;
	unsigned long start[MAX_EXT], len[MAX_EXT];
};

static void get_extents(int fd, struct extents *x)
{
	static struct {
		struct fiemap fm;
		struct fiemap_extent ext[MAX_EXT];
	} f;
	unsigned int i;

	memset(&f, 0, sizeof(f));
	f.fm.fm_length = ~0ULL;
	f.fm.fm_flags = FIEMAP_FLAG_SYNC;
	f.fm.fm_extent_count = MAX_EXT;
	if (ioctl(fd, FS_IOC_FIEMAP, &f))
		tap_die("FIEMAP");
	x->n = f.fm.fm_mapped_extents;
	for (i = 0; i < x->n; i++) {
		x->start[i] = f.ext[i].fe_physical;
		x->len[i] = f.ext[i].fe_length;
	}
}

static int overlaps(const struct extents *x, unsigned long phys)
{
	unsigned int i;

	for (i = 0; i < x->n; i++)
		if (phys >= x->start[i] && phys < x->start[i] + x->len[i])
			return 1;
	return 0;
}

/* A file of @size bytes of OLD, written and committed; returns its extents. */
static void write_old(const char *path, unsigned long size, struct extents *x)
{
	unsigned char *buf = malloc(MiB);
	unsigned long off;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || !buf)
		tap_die("create %s", path);
	memset(buf, OLD, MiB);
	for (off = 0; off < size; off += MiB)
		if (pwrite(fd, buf, MiB, off) != (ssize_t)MiB)
			tap_die("write %s", path);
	fsync(fd);
	if (x)
		get_extents(fd, x);
	close(fd);
	free(buf);
}

/*
 * Delete and commit, so that the blocks are really free: back with the
 * allocator, and with the pre-zeroing thread if it is on.
 */
static void delete(const char *path)
{
	unlink(path);
	fs_commit(mnt);
}

/*
 * A new file of @size bytes allocated one block at a time by a 16-byte
 * write (or a one-byte store through a plain shared mapping) at the start
 * of each page. Returns the pages where any other byte is not zero, and
 * with @x the extents of the new file.
 */
static long fresh_file_dirty_pages(const char *path, unsigned long size,
				   int by_mmap, struct extents *x)
{
	unsigned char *buf = malloc(PG), *m = NULL;
	unsigned long off, i;
	long bad = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || !buf)
		tap_die("create %s", path);
	if (by_mmap) {
		if (ftruncate(fd, size))
			tap_die("ftruncate");
		m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			tap_die("mmap");
		for (off = 0; off < size; off += PG)
			m[off] = 0x11;
		munmap(m, size);
	} else {
		memset(buf, 0x11, 16);
		for (off = 0; off < size; off += PG)
			if (pwrite(fd, buf, 16, off) != 16)
				tap_die("pwrite");
		/* The last page's tail is in the block: read it whole. */
		if (ftruncate(fd, size))
			tap_die("ftruncate");
	}
	if (x)
		get_extents(fd, x);
	for (off = 0; off < size; off += PG) {
		if (pread(fd, buf, PG, off) != (ssize_t)PG)
			tap_die("pread");
		for (i = by_mmap ? 1 : 16; i < PG && !buf[i]; i++)
			;
		bad += i < PG;
	}
	close(fd);
	free(buf);
	return bad;
}

static int pool_holds(void *want)
{
	return stat_of("pending_blocks") == 0 &&
	       stat_of("pool_blocks") >= *(long *)want;
}

/*
 * After a delete(): waits until the thread has zeroed what it freed, i.e.
 * nothing is pending and the pool holds at least @want blocks. Returns
 * the seconds waited, or -1 after WAIT_LIMIT (a TAP comment says so).
 */
static double wait_pool(long want)
{
	char what[128];

	snprintf(what, sizeof(what),
		 "the pool to hold %ld zeroed blocks, none pending", want);
	return wait_for(pool_holds, &want, WAIT_LIMIT, what);
}

/* Do the blocks of @x read as zeroes on the device itself? */
static long nonzero_device_pages(const char *dev, const struct extents *x)
{
	unsigned char *buf;
	unsigned long off;
	unsigned int e, i;
	long bad = 0;
	int fd = open(dev, O_RDONLY | O_DIRECT);

	if (fd < 0 || posix_memalign((void **)&buf, PG, PG))
		tap_die("open %s", dev);
	for (e = 0; e < x->n; e++)
		for (off = 0; off < x->len[e]; off += PG) {
			if (pread(fd, buf, PG, x->start[e] + off) != (ssize_t)PG)
				tap_die("read %s", dev);
			for (i = 0; i < PG && !buf[i]; i++)
				;
			bad += i < PG;
		}
	close(fd);
	free(buf);
	return bad;
}

static void drop_cap_sys_admin(void *arg)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		_exit(3);
	d[0].effective &= ~(1U << CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &h, d))
		_exit(3);
	_exit(write_knob(knob("daxvm_zeroout_blocks"), "0") == EPERM ? 0 : 1);
}

int main(int argc, char **argv)
{
	char old[4096], fresh[4096], dev[300], cmd[1024];
	struct extents xo, xn;
	long before, used, bad, shared, pool;
	int i, rounds;
	double t0;

	tap_usage_if(argc != 3, argv[0], "DIR DEVNAME");
	snprintf(knob_dir, sizeof(knob_dir), "/proc/fs/ext4/%s", argv[2]);
	mnt = argv[1];
	tap_skip_all_if(!daxvm_kernel() || access(knob("daxvm_prezero"), F_OK), "kernel without DaxVM pre-zeroing");
	snprintf(dev, sizeof(dev), "/dev/%s", argv[2]);
	snprintf(old, sizeof(old), "%s/prezero-old", argv[1]);
	snprintf(fresh, sizeof(fresh), "%s/prezero-new", argv[1]);
	tap_plan(13);

	/* Input checks: nothing changes on a bad value. */
	tap_result(write_knob(knob("daxvm_prezero"), "abc") == EINVAL &&
		   write_knob(knob("daxvm_prezero"), "2") == EINVAL &&
		   write_knob(knob("daxvm_prezero_rate_mib"), "0") == EINVAL &&
		   write_knob(knob("daxvm_prezero_rate_mib"), "2000000") == EINVAL &&
		   write_knob(knob("daxvm_zeroout_blocks"), "-1") == EINVAL &&
		   read_num(knob("daxvm_prezero")) == 0 &&
		   read_num(knob("daxvm_prezero_rate_mib")) == 256 &&
		   read_num(knob("daxvm_zeroout_blocks")) == 1,
		   "knobs refuse bad values (EINVAL) and keep their defaults 0, 256, 1");
	tap_result(in_child(drop_cap_sys_admin, NULL) == 0 &&
		   read_num(knob("daxvm_zeroout_blocks")) == 1,
		   "daxvm_zeroout_blocks=0 without CAP_SYS_ADMIN: EPERM");

	/* The thread zeroes freed blocks. */
	if (write_knob(knob("daxvm_prezero_rate_mib"), "4096") ||
	    write_knob(knob("daxvm_prezero"), "1"))
		tap_die("turn pre-zeroing on");
	before = stat_of("zeroed_blocks");
	write_old(old, SIZE, &xo);
	pool = stat_of("pool_blocks");
	delete(old);
	t0 = wait_pool(pool + SIZE / PG);
	tap_result(t0 >= 0 && stat_of("zeroed_blocks") - before >= (long)(SIZE / PG),
		   "the thread zeroed the %lu freed blocks in %.1f s (zeroed %ld, pool %ld, pending %ld)",
		   SIZE / PG, t0, stat_of("zeroed_blocks") - before, stat_of("pool_blocks"),
		   stat_of("pending_blocks"));
	bad = nonzero_device_pages(dev, &xo);
	tap_result(bad == 0, "the deleted file's blocks read as zeroes on %s (%ld not)",
		   dev, bad);

	/* Claiming marks only the allocated blocks: ext4 may preallocate a few. */
	pool = stat_of("pool_blocks");
	bad = fresh_file_dirty_pages(fresh, PG, 0, NULL);
	pool -= stat_of("pool_blocks");
	tap_result(bad == 0 && pool <= MAX_PREALLOC,
		   "a one-block file took %ld pre-zeroed blocks (at most %d)",
		   pool, MAX_PREALLOC);
	pool = stat_of("pool_blocks");
	delete(fresh);
	wait_pool(pool + 1);

	/* Allocations take them and skip zeroing; no old byte shows. */
	used = stat_of("used_blocks");
	bad = fresh_file_dirty_pages(fresh, SIZE, 0, &xn);
	used = stat_of("used_blocks") - used;
	tap_result(bad == 0, "write(): no new block shows old bytes (%ld pages do)", bad);
	tap_result(used >= (long)(SIZE / PG) / 2,
		   "write() allocations used pre-zeroed blocks (%ld of %lu)", used, SIZE / PG);
	/* The mmap case needs the deleted file's blocks zeroed and pooled. */
	pool = stat_of("pool_blocks");
	delete(fresh);
	t0 = wait_pool(pool + SIZE / PG);
	used = stat_of("used_blocks");
	bad = fresh_file_dirty_pages(fresh, SIZE, 1, NULL);
	used = stat_of("used_blocks") - used;
	tap_result(t0 >= 0 && bad == 0 && used > 0,
		   "mmap write faults: no old bytes (%ld pages), pre-zeroed blocks used (%ld; the pool got the deleted file's %lu blocks in %.1f s)",
		   bad, used, SIZE / PG, t0);
	delete(fresh);

	/* Delete and allocate while the thread runs, slowly. */
	write_knob(knob("daxvm_prezero_rate_mib"), "16");
	bad = 0;
	for (i = 0, t0 = now(); now() - t0 < 10; i++) {
		write_old(old, 4 * MiB, NULL);
		delete(old);
		bad += fresh_file_dirty_pages(fresh, 4 * MiB, i & 1, NULL);
		delete(fresh);
	}
	rounds = i;
	tap_result(bad == 0, "%d rounds of delete+allocate racing the thread: %ld pages with old bytes",
		   rounds, bad);
	write_knob(knob("daxvm_prezero_rate_mib"), "256");

	/* Off forgets everything; a remount too. */
	if (write_knob(knob("daxvm_prezero"), "0"))
		tap_die("turn pre-zeroing off");
	tap_result(stat_of("pool_blocks") == 0 && stat_of("pending_blocks") == 0,
		   "daxvm_prezero=0 forgets the pool");
	write_knob(knob("daxvm_prezero"), "1");
	write_old(old, 4 * MiB, NULL);
	pool = stat_of("pool_blocks");
	delete(old);
	/* A pool to forget. */
	t0 = wait_pool(pool + 4 * MiB / PG);
	pool = stat_of("pool_blocks");
	snprintf(cmd, sizeof(cmd), "umount %s && mount -o dax=always %s %s",
		 argv[1], dev, argv[1]);
	if (system(cmd))
		tap_die("remount");
	tap_result(t0 >= 0 && read_num(knob("daxvm_prezero")) == 0 &&
		   stat_of("pool_blocks") == 0,
		   "a remount starts with pre-zeroing off and no pool (%ld blocks before)",
		   pool);

	/* zeroout=0 (root): the documented exposure of old data. */
	write_old(old, SIZE, &xo);
	delete(old);
	if (write_knob(knob("daxvm_zeroout_blocks"), "0"))
		tap_die("daxvm_zeroout_blocks=0");
	bad = fresh_file_dirty_pages(fresh, SIZE, 0, &xn);
	write_knob(knob("daxvm_zeroout_blocks"), "1");
	shared = 0;
	for (i = 0; i < (int)xn.n; i++)
		shared += overlaps(&xo, xn.start[i]);
	delete(fresh);
	if (!shared)
		tap_skip("zeroout=0: the new file got none of the deleted file's blocks");
	else
		tap_result(bad > 0, "daxvm_zeroout_blocks=0 exposes old bytes (%ld pages), as documented",
			   bad);
	bad = fresh_file_dirty_pages(fresh, SIZE, 0, NULL);
	tap_result(bad == 0, "daxvm_zeroout_blocks=1 again: no old bytes (%ld pages)", bad);
	delete(fresh);
	return tap_finish();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Pre-zeroing never hands out a block with old contents:
 *   daxvm_zeroclaim DIR DEVNAME
 * DIR must be the mount point of /dev/DEVNAME (the test remounts it with
 * data=ordered, then data=writeback, and leaves it as it found it:
 * dax=always).
 *
 * An allocation may skip zeroing only for blocks the pre-zeroing thread
 * zeroed and the allocator claimed for it. A claim must die with any free
 * of the block: a block claimed by the table pool, filled with page-table
 * entries and given back (with data=writeback ext4 frees data blocks at
 * once, without the journal-commit path that reports frees) must be
 * zeroed again before a file gets it. With little free space left, each
 * round has the thread zero most of it (xattr blocks, freed as metadata),
 * rebuilds tables into pool blocks, gives them back and lets an
 * unprivileged user allocate files: every byte they did not write must
 * read as zero.
 */
#include "daxvm_util.h"
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>

#define NEW_FILE	(16 * KiB)	/* a table each, for 4 blocks */
#define NEW_FILES	256
#define ROOM_BLOCKS	4096		/* free blocks left beside the filler */
#define XATTR_FILES	3000		/* one xattr block each */
#define FRESH_MAX	(64 * MiB)	/* more than the room left */
#define ROUNDS		3
#define USER		1000

static char knob_dir[256];
static const char *mnt, *dev;

static char *knob(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", knob_dir, name);
	return path;
}

static void remount(const char *data)
{
	char opts[64];

	snprintf(opts, sizeof(opts), "dax=always%s%s", data ? ",data=" : "",
		 data ? data : "");
	if (umount(mnt) || mount(dev, mnt, "ext4", 0, opts))
		tap_die("remount %s with %s", mnt, opts);
}

/* Waits until the thread has zeroed everything freed so far. */
static int wait_zeroed(double limit)
{
	double t0 = now();

	sync();
	while (now() - t0 < limit) {
		if (read_key(knob("daxvm_prezero_stats"), "pending_blocks") == 0 &&
		    read_key(knob("daxvm_prezero_stats"), "pool_blocks") > 0)
			return 1;
		usleep(50000);
		sync();
	}
	return 0;
}

/* Writes 4 KiB pieces of @size in a shuffled order: the file gets tables. */
static void make_table_file(const char *path, unsigned long size)
{
	unsigned long n = size / PG, i, step = 97;
	char buf[PG];
	int fd;

	memset(buf, 0x3c, sizeof(buf));
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (fd < 0)
		tap_die("create %s", path);
	for (i = 0; i < n; i++)
		if (pwrite(fd, buf, PG, ((i * step) % n) * PG) != (ssize_t)PG)
			tap_die("write %s", path);
	close(fd);
}

/*
 * As an unprivileged user: one new file, one byte written per page until
 * the file system is full, so it gets every free block (DAX allocates
 * each and must zero the rest of it). Returns the pages holding any byte
 * it did not write.
 */
static long fresh_file_dirty(int dir, int round)
{
	unsigned char one = 1, *p;
	unsigned long len, off, i;
	char path[64];
	long bad = 0;
	int fd;

	snprintf(path, sizeof(path), "f%d", round);
	fd = openat(dir, path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (fd < 0)
		tap_die("uid %d: create %s", USER, path);
	for (len = 0; len < FRESH_MAX; len += PG)
		if (pwrite(fd, &one, 1, len) != 1)
			break;
	if (len < FRESH_MAX && errno != ENOSPC)
		tap_die("uid %d: write %s", USER, path);
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tap_die("uid %d: mmap %s", USER, path);
	for (off = 0; off < len; off += PG)
		for (i = 1; i < PG; i++)
			if (p[off + i]) {
				bad++;
				break;
			}
	printf("# user %d: wrote %lu pages until the mount was full\n", USER, len / PG);
	munmap(p, len);
	close(fd);
	unlinkat(dir, path, 0);
	return bad;
}

static int user_dir, round_no;

/* The directory is opened by root: its parents need not be searchable. */
static void user_round(void *arg)
{
	long bad;

	(void)arg;
	if (setgid(USER) || setuid(USER))
		tap_die("setuid %d", USER);
	bad = fresh_file_dirty(user_dir, round_no);
	printf("# user %d: %ld pages with bytes it never wrote\n", USER, bad);
	exit(bad == 0 ? 0 : 1);
}

/* Free blocks of the mount, in 4 KiB blocks. */
static unsigned long long free_blocks(void)
{
	struct statvfs sv;

	if (statvfs(mnt, &sv))
		tap_die("statvfs %s", mnt);
	return sv.f_bavail * (sv.f_frsize / PG);
}

/*
 * Files whose only block is an external xattr block: ext4 frees those as
 * metadata, through the journal, so the thread zeroes them in any data
 * mode (with data=writeback it never sees file data freed).
 */
static void xattr_blocks(const char *dir, int n, int create)
{
	static char value[3000];
	char path[600];
	int i, fd;

	memset(value, 0x5a, sizeof(value));
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/x%d", dir, i);
		if (!create) {
			unlink(path);
			continue;
		}
		/* Distinct values: ext4 shares blocks of equal xattrs. */
		memcpy(value, &i, sizeof(i));
		fd = open(path, O_CREAT | O_WRONLY, 0600);
		if (fd < 0 || fsetxattr(fd, "user.zeroclaim", value, sizeof(value), 0))
			tap_die("xattr block for %s", path);
		close(fd);
	}
}

/*
 * One data mode: the table pool takes pre-zeroed blocks (claims them for
 * writes that never come: it writes tables there), gives them back, and a
 * user's new files must get them zeroed. The free space is kept small so
 * that the pool and the user's files have to use the same blocks.
 */
static void run(const char *data)
{
	char path[600], xdir[512];
	long bad_rounds = 0, zeroed = 0, pool = 0;
	unsigned long long room;
	int r, i, fd;

	remount(data);
	snprintf(path, sizeof(path), "%s/zeroclaim-user", mnt);
	mkdir(path, 0700);
	if (chown(path, USER, USER))
		tap_die("chown %s", path);
	user_dir = open(path, O_RDONLY | O_DIRECTORY);
	if (user_dir < 0)
		tap_die("open %s", path);
	snprintf(xdir, sizeof(xdir), "%s/zeroclaim-x", mnt);
	mkdir(xdir, 0700);

	/* Leave little room (the filler's tables stay out of the pool). */
	write_knob(knob("daxvm_tables_in_pmem"), "0");
	snprintf(path, sizeof(path), "%s/zeroclaim-filler", mnt);
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	room = free_blocks();
	if (fd < 0 || room < ROOM_BLOCKS ||
	    fallocate(fd, 0, 0, (room - ROOM_BLOCKS) * PG))
		tap_die("filler leaving %d free blocks", ROOM_BLOCKS);
	close(fd);

	if (write_knob(knob("daxvm_prezero"), "1"))
		tap_die("daxvm_prezero=1");
	write_knob(knob("daxvm_prezero_rate_mib"), "1048576");
	for (r = 0; r < ROUNDS; r++) {
		/* Most of the room freed as metadata and zeroed by the thread. */
		xattr_blocks(xdir, XATTR_FILES, 1);
		xattr_blocks(xdir, XATTR_FILES, 0);
		if (!wait_zeroed(WAIT_LIMIT))
			tap_die("waited %.0f s for the thread to zero the freed xattr blocks",
				WAIT_LIMIT);
		zeroed = read_key(knob("daxvm_prezero_stats"), "pool_blocks");

		/* New files: their tables take pool blocks; then all back. */
		if (write_knob(knob("daxvm_tables_in_pmem"), "1"))
			tap_die("daxvm_tables_in_pmem=1");
		for (i = 0; i < NEW_FILES; i++) {
			snprintf(path, sizeof(path), "%s/zeroclaim-n%d", mnt, i);
			make_table_file(path, NEW_FILE);
		}
		pool = read_key(knob("daxvm_pool_stats"), "blocks");
		for (i = 0; i < NEW_FILES; i++) {
			snprintf(path, sizeof(path), "%s/zeroclaim-n%d", mnt, i);
			unlink(path);
		}
		wait_deferred_frees(WAIT_LIMIT);
		if (write_knob(knob("daxvm_tables_in_pmem"), "0"))
			tap_die("daxvm_tables_in_pmem=0 (pool still in use?)");

		round_no = r;
		if (in_child(user_round, NULL))
			bad_rounds++;
	}
	tap_result(bad_rounds == 0,
		   "data=%s: %d rounds of a table pool (%ld blocks) taken among pre-zeroed blocks (%ld) and given back, then new files of uid %d: %ld rounds with bytes it never wrote",
		   data, ROUNDS, pool, zeroed, USER, bad_rounds);
	write_knob(knob("daxvm_prezero"), "0");
	write_knob(knob("daxvm_tables_in_pmem"), "1");
	close(user_dir);
	snprintf(path, sizeof(path), "%s/zeroclaim-user", mnt);
	rmdir(path);
	rmdir(xdir);
	snprintf(path, sizeof(path), "%s/zeroclaim-filler", mnt);
	unlink(path);
}

int main(int argc, char **argv)
{
	char devpath[256];

	tap_usage_if(argc != 3, argv[0], "DIR DEVNAME");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	mnt = argv[1];
	snprintf(devpath, sizeof(devpath), "/dev/%s", argv[2]);
	dev = devpath;
	snprintf(knob_dir, sizeof(knob_dir), "/proc/fs/ext4/%s", argv[2]);
	if (access(knob("daxvm_prezero"), W_OK)) {
		printf("1..0 # SKIP no daxvm_prezero knob on %s\n", argv[2]);
		return 4;
	}
	tap_plan(2);
	run("ordered");
	run("writeback");
	remount(NULL);
	return tap_finish();
}

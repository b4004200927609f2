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
 * zeroed again before a file gets it. Each round pre-zeroes the free
 * space, fills the pool with tables, gives its blocks back and lets an
 * unprivileged user allocate files: every byte they did not write must
 * read as zero.
 */
#include "daxvm_util.h"
#include <sys/mount.h>

#define OLD_SIZE	(256 * MiB)	/* deleted, so the thread zeroes it */
#define TABLE_FILE	(32 * MiB)	/* shuffled writes: 16 tables each */
#define TABLE_FILES	8
#define FRESH_SIZE	(32 * MiB)
#define FRESH_FILES	8
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
 * As an unprivileged user: new files, one byte written per page by a
 * MAP_SHARED write fault (DAX allocates and must zero the rest). Returns
 * the pages holding any other nonzero byte, or -1 on error.
 */
static long fresh_files_dirty(int round)
{
	char path[512];
	long bad = 0;
	int f, fd;
	unsigned long off, i;
	unsigned char *p;

	for (f = 0; f < FRESH_FILES; f++) {
		snprintf(path, sizeof(path), "%s/zeroclaim-user/f%d.%d", mnt, round, f);
		fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
		if (fd < 0 || ftruncate(fd, FRESH_SIZE))
			return -1;
		p = mmap(NULL, FRESH_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return -1;
		for (off = 0; off < FRESH_SIZE; off += PG)
			p[off] = 1;
		for (off = 0; off < FRESH_SIZE; off += PG)
			for (i = 1; i < PG; i++)
				if (p[off + i]) {
					bad++;
					break;
				}
		munmap(p, FRESH_SIZE);
		close(fd);
		unlink(path);
	}
	return bad;
}

static void user_round(void *arg)
{
	long bad;

	if (setgid(USER) || setuid(USER))
		tap_die("setuid %d", USER);
	bad = fresh_files_dirty(*(int *)arg);
	printf("# user %d: %ld pages with bytes it never wrote\n", USER, bad);
	exit(bad == 0 ? 0 : 1);
}

static void run(const char *data)
{
	char path[512];
	long bad_rounds = 0, pool_max = 0;
	int r, i, fd;

	remount(data);
	snprintf(path, sizeof(path), "%s/zeroclaim-user", mnt);
	mkdir(path, 0700);
	if (chown(path, USER, USER))
		tap_die("chown %s", path);
	if (write_knob(knob("daxvm_prezero"), "1"))
		tap_die("daxvm_prezero=1");
	write_knob(knob("daxvm_prezero_rate_mib"), "1048576");
	for (r = 0; r < ROUNDS; r++) {
		/* Free space pre-zeroed, so the pool's next blocks are claimed. */
		snprintf(path, sizeof(path), "%s/zeroclaim-old", mnt);
		fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
		if (fd < 0)
			tap_die("create %s", path);
		fill_bytes(fd, 0xa5, 0, OLD_SIZE);
		close(fd);
		unlink(path);
		if (!wait_zeroed(120))
			tap_die("waited 120 s for the thread to zero the freed blocks");
		pool_max = read_key(knob("daxvm_prezero_stats"), "pool_blocks");

		/* Tables in pool blocks, then every pool block given back. */
		if (write_knob(knob("daxvm_tables_in_pmem"), "1"))
			tap_die("daxvm_tables_in_pmem=1");
		for (i = 0; i < TABLE_FILES; i++) {
			snprintf(path, sizeof(path), "%s/zeroclaim-t%d", mnt, i);
			make_table_file(path, TABLE_FILE);
		}
		for (i = 0; i < TABLE_FILES; i++) {
			snprintf(path, sizeof(path), "%s/zeroclaim-t%d", mnt, i);
			unlink(path);
		}
		wait_deferred_frees(WAIT_LIMIT);
		if (write_knob(knob("daxvm_tables_in_pmem"), "0"))
			tap_die("daxvm_tables_in_pmem=0 (pool still in use?)");

		if (in_child(user_round, &r))
			bad_rounds++;
		write_knob(knob("daxvm_tables_in_pmem"), "1");
	}
	tap_result(bad_rounds == 0,
		   "data=%s: %d rounds of zeroed free space, table pool filled and given back, new files of uid %d: %ld rounds with old bytes (pool had %ld zero blocks)",
		   data, ROUNDS, USER, bad_rounds, pool_max);
	write_knob(knob("daxvm_prezero"), "0");
	snprintf(path, sizeof(path), "%s/zeroclaim-user", mnt);
	rmdir(path);
}

int main(int argc, char **argv)
{
	char devpath[256];

	if (argc != 3) {
		fprintf(stderr, "usage: %s DIR DEVNAME\n", argv[0]);
		return 2;
	}
	if (!daxvm_kernel()) {
		printf("1..0 # SKIP kernel without DaxVM\n");
		return 4;
	}
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

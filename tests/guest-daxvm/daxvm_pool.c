// SPDX-License-Identifier: GPL-2.0
/*
 * File page tables in PMem (kernel patch 0011):
 *   daxvm_pool DIR DEVNAME
 * DIR must be the mount point of /dev/DEVNAME (the test remounts it and
 * runs e2fsck on it).
 *
 * ext4 keeps the tables in blocks of the DAX device, owned by the file
 * /.daxvm-tables. The test checks that the tables of a fragmented file come from
 * that pool and not from DRAM, that the pool's blocks are taken from the
 * file system's free space, that the device itself holds the file's page
 * table (its entries name the file's blocks, found by FIEMAP), that
 * daxvm_tables_in_pmem=0 moves the tables to DRAM and gives the blocks back,
 * that unlink returns tables to the pool, and that the pool's blocks stay
 * with the file system across a remount, e2fsck clean (daxvm-persist tests
 * the tables kept on them).
 */
#include "daxvm_tables.h"
#include <linux/membarrier.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

#define SIZE		(16 * MiB)	/* 8 chunks, 8 tables */
#define NR_PAGES	(SIZE / PG)

static char knob_dir[256];
static const char *mnt, *devname;

static char *knob(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", knob_dir, name);
	return path;
}

struct pool {
	long blocks, free, dram, kbytes;
	unsigned long long bfree;	/* the file system's free blocks */
};

static void pool_now(struct pool *p)
{
	struct statvfs sv;

	p->blocks = read_key(knob("daxvm_pool_stats"), "blocks");
	p->free = read_key(knob("daxvm_pool_stats"), "free");
	p->dram = read_key(knob("daxvm_pool_stats"), "dram_fallbacks");
	p->kbytes = read_num(knob("daxvm_kbytes_occupied"));
	if (statvfs(mnt, &sv))
		tap_die("statvfs");
	p->bfree = sv.f_bfree;
}

struct settle {
	struct pool *p;
	long in_use;
};

static int pool_back_to(void *arg)
{
	struct settle *s = arg;

	pool_now(s->p);
	return s->p->blocks - s->p->free <= s->in_use;
}

/*
 * Waits until freed tables are back in the pool (they return after an RCU
 * grace period): at most @in_use blocks in use. *@p: the last reading.
 */
static void pool_settle(struct pool *p, long in_use)
{
	struct settle s = { p, in_use };
	char what[96];

	snprintf(what, sizeof(what), "the pool to have at most %ld blocks in use",
		 in_use);
	wait_for(pool_back_to, &s, WAIT_LIMIT, what);
}

/*
 * Waits for an RCU grace period (MEMBARRIER_CMD_GLOBAL is synchronize_rcu()
 * on more than one CPU), then sleeps a moment so that the callbacks it
 * made ready can run.
 */
static void rcu_grace_period(void)
{
	syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
	usleep(10000);
}

static int pool_unchanged(void *arg)
{
	struct pool *p = arg;
	long last;

	pool_now(p);
	last = p->blocks - p->free;
	rcu_grace_period();
	rcu_grace_period();
	pool_now(p);
	return p->blocks - p->free == last;
}

/*
 * Waits until no table is on its way back to the pool: none waits for a
 * process's mmap_lock, and the blocks in use stay the same across two RCU
 * grace periods (frees go back after one). *@p: the last reading.
 */
static void pool_quiet(struct pool *p)
{
	wait_deferred_frees(WAIT_LIMIT);
	wait_for(pool_unchanged, p, WAIT_LIMIT,
		 "the pool's blocks in use to stay the same across RCU grace periods");
}

/*
 * Makes the file anew and maps it with MAP_DAXVM, the pool measured in
 * @before (once quiet) and @after; returns the file and sets *@map.
 */
static int map_new_file(const char *path, unsigned char **map,
			struct pool *before, struct pool *after)
{
	int fd;

	pool_quiet(before);
	fd = make_fragmented(path, SIZE);
	*map = map_daxvm(fd, SIZE, PROT_READ);
	if (*map == MAP_FAILED)
		tap_die("mmap MAP_DAXVM");
	pool_now(after);
	return fd;
}

int main(int argc, char **argv)
{
	static unsigned long blk[512];
	struct pool p0, p1, p2;
	char path[512], cmd[1024], dev[64];
	unsigned char *m;
	long in_use, tables, on_dev;
	int fd, i;

	if (argc != 3)
		tap_die("usage: daxvm_pool DIR DEVNAME");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	mnt = argv[1];
	devname = argv[2];
	snprintf(knob_dir, sizeof(knob_dir), "/proc/fs/ext4/%s", devname);
	snprintf(dev, sizeof(dev), "/dev/%s", devname);
	snprintf(path, sizeof(path), "%s/daxvm-pool.dat", mnt);

	tap_result(read_num(knob("daxvm_tables_in_pmem")) == 1,
		   "daxvm_tables_in_pmem is 1 by default on a DAX device");
	tap_result(write_knob(knob("daxvm_tables_in_pmem"), "2") == EINVAL,
		   "daxvm_tables_in_pmem=2 is EINVAL");

	fd = map_new_file(path, &m, &p0, &p1);
	tables = (p1.kbytes - p0.kbytes) / 4;
	in_use = (p1.blocks - p1.free) - (p0.blocks - p0.free);
	tap_result(tables >= 8 && in_use == tables && p1.dram == p0.dram,
		   "the %ld new tables of a fragmented 16 MiB file are pool blocks (%ld taken, %ld DRAM fallbacks)",
		   tables, in_use, p1.dram - p0.dram);
	tap_result(p0.bfree - p1.bfree >= NR_PAGES - SIZE / (2 * MiB) +
		   (p1.blocks - p0.blocks),
		   "the pool's %ld new blocks come from the file system's free space (%llu blocks used)",
		   p1.blocks - p0.blocks, p0.bfree - p1.bfree);
	tap_result(reads_right(m, SIZE),
		   "the file reads right through tables in PMem");

	chunk_blocks(fd, 0, blk);
	on_dev = find_table_on_device(dev, blk);
	tap_result(on_dev >= 0 && (on_dev < (long)blk[0] || on_dev > (long)blk[510]),
		   "the device holds the file's first PTE table (block %ld)",
		   on_dev);
	munmap(m, SIZE);

	/* Off: tables move to DRAM, the pool's blocks go back. */
	tap_result(write_knob(knob("daxvm_tables_in_pmem"), "0") == 0,
		   "daxvm_tables_in_pmem=0 is accepted");
	pool_now(&p2);
	tap_result(p2.blocks == 0 && p2.bfree >= p1.bfree + p1.blocks,
		   "the pool gave back its %ld blocks", p1.blocks);
	m = map_daxvm(fd, SIZE, PROT_READ);
	if (m == MAP_FAILED)
		tap_die("mmap MAP_DAXVM");
	pool_now(&p2);
	tap_result(reads_right(m, SIZE) && p2.kbytes / 4 >= 8 &&
		   p2.dram - p1.dram >= 8 && p2.blocks == 0,
		   "with it off, %ld tables are rebuilt in DRAM and the file reads right",
		   p2.dram - p1.dram);
	munmap(m, SIZE);
	close(fd);
	tap_result(write_knob(knob("daxvm_tables_in_pmem"), "1") == 0 &&
		   read_num(knob("daxvm_tables_in_pmem")) == 1,
		   "daxvm_tables_in_pmem=1 is accepted");

	/* Tables of an unlinked file go back to the pool. */
	unlink(path);
	fd = map_new_file(path, &m, &p0, &p1);
	in_use = p1.blocks - p1.free;
	tables = (p1.kbytes - p0.kbytes) / 4;
	munmap(m, SIZE);
	close(fd);
	unlink(path);
	pool_settle(&p2, p0.blocks - p0.free);
	tap_result(tables > 0 && in_use - (p0.blocks - p0.free) == tables &&
		   p2.blocks - p2.free == p0.blocks - p0.free,
		   "unlink returns the file's %ld tables to the pool (%ld -> %ld in use)",
		   tables, in_use, p2.blocks - p2.free);

	/* Unmount keeps the pool; e2fsck finds everything in order. */
	pool_now(&p1);
	snprintf(cmd, sizeof(cmd),
		 "umount %s && e2fsck -fn %s >/tmp/daxvm-pool-fsck.log 2>&1",
		 mnt, dev);
	i = system(cmd);
	tap_result(i == 0, "e2fsck -fn is clean after unmount (log /tmp/daxvm-pool-fsck.log)");
	snprintf(cmd, sizeof(cmd), "mountpoint -q %s || mount -o dax=always %s %s",
		 mnt, dev, mnt);
	if (system(cmd))
		tap_die("mount %s again", dev);
	pool_now(&p2);
	/* In use: the tables kept for other files (daxvm-persist). */
	tap_result(p2.blocks == p1.blocks &&
		   p2.blocks - p2.free == p2.kbytes / 4 &&
		   read_num(knob("daxvm_tables_in_pmem")) == 1,
		   "a remount keeps the pool's %ld blocks (%ld hold tables kept for files), tables in PMem on",
		   p1.blocks, p2.blocks - p2.free);
	return tap_finish();
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for tests that look at file page tables kept in PMem (kernel
 * patches 0011, 0018-0020): a fragmented file whose chunks all keep a table,
 * and the search for such a table on the raw device.
 */
#ifndef DAXVM_TABLES_H
#define DAXVM_TABLES_H

#include "daxvm_util.h"
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#define PTE_PRESENT	1UL
#define PTE_PFN_MASK	0x000ffffffffff000UL

/*
 * The last page of each 2 MiB chunk is a hole, so that no chunk can become
 * a huge entry, whatever blocks the allocator picks: every chunk keeps a
 * table.
 */
#define HOLE(pg)	((pg) % 512 == 511)

/* A file of @size bytes written 4 KiB at a time in a shuffled order. */
static inline int make_fragmented(const char *path, unsigned long size)
{
	unsigned long nr = size / PG, i, j, t;
	unsigned int *order = malloc(nr * sizeof(*order));
	unsigned char buf[PG];
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || !order)
		tap_die("create %s", path);
	for (i = 0; i < nr; i++)
		order[i] = i;
	srand(7);
	for (i = nr - 1; i > 0; i--) {
		j = rand() % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < nr; i++) {
		if (HOLE(order[i]))
			continue;
		memset(buf, pattern(1, order[i] * PG), PG);
		if (pwrite(fd, buf, PG, order[i] * PG) != PG)
			tap_die("write %s", path);
	}
	free(order);
	if (ftruncate(fd, size) || fsync(fd))
		tap_die("fsync");
	return fd;
}

/* Do the first @size bytes read as make_fragmented() wrote them? */
static inline int reads_right(const unsigned char *m, unsigned long size)
{
	unsigned long pg;

	for (pg = 0; pg < size / PG; pg++)
		if (m[pg * PG] != (HOLE(pg) ? 0 : pattern(1, pg * PG)))
			return 0;
	return 1;
}

/* Device block of each of the 512 file pages of chunk @chunk, via FIEMAP. */
static inline void chunk_blocks(int fd, unsigned long chunk, unsigned long *blk)
{
	static struct {
		struct fiemap fm;
		struct fiemap_extent ext[512];
	} f;
	unsigned long first = chunk * 512, b, pg;
	unsigned int i;

	memset(&f, 0, sizeof(f));
	f.fm.fm_start = first * PG;
	f.fm.fm_length = 2 * MiB;
	f.fm.fm_flags = FIEMAP_FLAG_SYNC;
	f.fm.fm_extent_count = 512;
	if (ioctl(fd, FS_IOC_FIEMAP, &f))
		tap_die("FIEMAP");
	for (i = 0; i < f.fm.fm_mapped_extents; i++) {
		struct fiemap_extent *e = &f.ext[i];

		for (b = 0; b < e->fe_length / PG; b++) {
			pg = e->fe_logical / PG + b;
			if (pg >= first && pg < first + 512)
				blk[pg - first] = e->fe_physical / PG + b;
		}
	}
}

/*
 * Scans device @dev for a 4 KiB page that is the PTE table of a chunk of a
 * make_fragmented() file whose blocks are @blk: 511 present entries whose
 * pfns differ from each other exactly as the blocks do, and none for the
 * hole. Returns its block or -1.
 */
static inline long find_table_on_device(const char *dev,
					const unsigned long *blk)
{
	/* O_DIRECT wants an aligned buffer. */
	static uint64_t buf[256 * 1024 / 8] __attribute__((aligned(4096)));
	long found = -1, off = 0;
	ssize_t n;
	int fd;

	fd = open(dev, O_RDONLY | O_DIRECT);
	if (fd < 0)
		tap_die("open %s", dev);
	while (found < 0 && (n = pread(fd, buf, sizeof(buf), off)) > 0) {
		long p;

		for (p = 0; p < n / (long)PG && found < 0; p++) {
			const uint64_t *pte = buf + p * (PG / 8);
			uint64_t base = (pte[0] & PTE_PFN_MASK) / PG;
			int i;

			if (!(pte[0] & PTE_PRESENT) || pte[511])
				continue;
			for (i = 1; i < 511; i++)
				if (!(pte[i] & PTE_PRESENT) ||
				    (pte[i] & PTE_PFN_MASK) / PG - base !=
				    blk[i] - blk[0])
					break;
			if (i == 511)
				found = off / PG + p;
		}
		off += n;
	}
	close(fd);
	return found;
}

#endif

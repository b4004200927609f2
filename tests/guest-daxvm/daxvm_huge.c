// SPDX-License-Identifier: GPL-2.0
/*
 * A chunk whose table is completed piece by piece (1 MiB writes or 4 KiB
 * write faults into fallocated space) becomes a huge entry when its blocks are one
 * 2 MiB-aligned run: the table is freed (daxvm_kbytes_occupied drops), a
 * process attached to the old table is detached and gets the chunk back
 * with one fault, and the data is right.
 *
 *   daxvm_huge EXT4_DAX_DIR DEV   (DEV as in /proc/fs/ext4/DEV, e.g. pmem0)
 */
#include "daxvm_util.h"
#include <sys/ioctl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>

#define CHUNK (2 * MiB)
#define NCHUNKS 4
#define SIZE (NCHUNKS * CHUNK)
#define ID 5

static long kbytes(const char *path)
{
	long kb = read_num(path);

	if (kb < 0)
		tap_die("read %s", path);
	return kb;
}

/*
 * Chunks of the file mapped by one physically 2 MiB-aligned run (FIEMAP
 * extents merged where they are contiguous; unwritten ones only if
 * @unwritten): once written, the ones the kernel may make huge entries.
 */
static int aligned_chunks(int fd, int unwritten)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent ext[256];
	} f;
	unsigned long lo = 0, hi = 0, phys = 0;
	unsigned int i;
	int c, n = 0;

	memset(&f, 0, sizeof(f));
	f.fm.fm_length = SIZE;
	f.fm.fm_flags = FIEMAP_FLAG_SYNC;
	f.fm.fm_extent_count = 256;
	if (ioctl(fd, FS_IOC_FIEMAP, &f))
		tap_die("FIEMAP");
	for (c = 0; c < NCHUNKS; c++) {
		unsigned long start = c * CHUNK;

		/* Find the merged run [lo, hi) at physical phys covering start. */
		for (i = 0; i < f.fm.fm_mapped_extents; i++) {
			struct fiemap_extent *e = &f.ext[i];

			if (!unwritten && (e->fe_flags & FIEMAP_EXTENT_UNWRITTEN))
				continue;
			if (hi == e->fe_logical && phys + (hi - lo) == e->fe_physical) {
				hi += e->fe_length;
			} else if (e->fe_logical <= start) {
				lo = e->fe_logical;
				hi = lo + e->fe_length;
				phys = e->fe_physical;
			} else {
				break;
			}
		}
		if (lo <= start && hi >= start + CHUNK &&
		    (phys + start - lo) % CHUNK == 0)
			n++;
		lo = hi = phys = 0;
	}
	return n;
}

/* Writes MiB of pattern ID at @off. */
static void write_piece(int fd, unsigned char *buf, unsigned long off)
{
	unsigned long i;

	for (i = 0; i < MiB; i += PG)
		memset(buf + i, pattern(ID, off + i), PG);
	if (pwrite(fd, buf, MiB, off) != (ssize_t)MiB)
		tap_die("pwrite");
}

int main(int argc, char **argv)
{
	char path[4096], kb_path[512];
	unsigned char *buf, *p, *q;
	long k0, k1, k2, f;
	int fd, c, eligible, tries;

	tap_usage_if(argc != 3, argv[0], "EXT4_DAX_DIR DEV");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	tap_plan(5);
	snprintf(kb_path, sizeof(kb_path), "/proc/fs/ext4/%s/daxvm_kbytes_occupied", argv[2]);
	buf = malloc(MiB);
	if (!buf)
		tap_die("malloc");
	/*
	 * ext4 does not always place the space on 2 MiB boundaries: retry a
	 * few times, keeping the misplaced files so the next one moves on.
	 */
	for (tries = 0;; tries++) {
		snprintf(path, sizeof(path), "%s/daxvm_huge.%d.%d", argv[1], getpid(), tries);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || fallocate(fd, 0, 0, SIZE))
			tap_die("create %s", path);
		if (aligned_chunks(fd, 1) || tries == 3)
			break;	/* the last one is tested anyway */
		close(fd);
	}

	/* First half of every chunk: each chunk gets a half-full table. */
	k0 = kbytes(kb_path);
	for (c = 0; c < NCHUNKS; c++)
		write_piece(fd, buf, c * CHUNK);
	p = map_daxvm(fd, SIZE, PROT_READ);
	if (p == MAP_FAILED)
		tap_die("mmap");
	/* Only the written halves: a fault on the rest would detach. */
	f = minflt();
	for (c = 0; c < NCHUNKS; c++)
		touch(p + c * CHUNK, MiB);
	f = minflt() - f;
	k1 = kbytes(kb_path);
	tap_result(k1 - k0 == NCHUNKS * 4 && f == 0,
		   "half-written chunks have tables (%ld KiB), attached (%ld faults)", k1 - k0, f);

	/*
	 * Second halves complete the tables: half of the chunks by write(),
	 * half by stores through a plain shared mapping (the page-fault path
	 * of the file system builds and promotes there).
	 */
	for (c = 0; c < NCHUNKS / 2; c++)
		write_piece(fd, buf, c * CHUNK + MiB);
	q = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (q == MAP_FAILED)
		tap_die("mmap");
	for (; c < NCHUNKS; c++) {
		unsigned long off;

		for (off = c * CHUNK + MiB; off < (c + 1) * CHUNK; off += PG)
			memset(q + off, pattern(ID, off), PG);
	}
	munmap(q, SIZE);
	/* Promotions in the fault path free their tables a bit later. */
	wait_deferred_frees(WAIT_LIMIT);
	k2 = kbytes(kb_path);
	eligible = aligned_chunks(fd, 0);
	if (eligible)
		tap_result(k2 - k0 == (NCHUNKS - eligible) * 4,
			   "%d of %d chunks are aligned runs, their tables are freed (%ld KiB left)",
			   eligible, NCHUNKS, k2 - k0);
	else
		tap_skip("ext4 placed no chunk on a 2 MiB-aligned run");

	/* The mapping attached to the old tables gets each chunk back with one fault. */
	f = minflt();
	touch(p, SIZE);
	f = minflt() - f;
	tap_result(f <= NCHUNKS && check_pattern(p, ID, 0, SIZE) < 0,
		   "old mapping: %ld faults (at most %d), data right", f, NCHUNKS);

	q = map_daxvm(fd, SIZE, PROT_READ);
	if (q == MAP_FAILED)
		tap_die("mmap");
	f = minflt();
	touch(q, SIZE);
	f = minflt() - f;
	tap_result(f == 0 && check_pattern(q, ID, 0, SIZE) < 0, "new mapping: no faults (%ld), data right", f);
	munmap(q, SIZE);
	munmap(p, SIZE);
	close(fd);
	for (c = 0; c <= tries; c++) {
		snprintf(path, sizeof(path), "%s/daxvm_huge.%d.%d", argv[1], getpid(), c);
		unlink(path);
	}
	tap_result(kbytes(kb_path) == k0, "unlink frees the rest (%ld KiB)", kbytes(kb_path) - k0);
	return tap_finish();
}

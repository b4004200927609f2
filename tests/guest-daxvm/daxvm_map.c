// SPDX-License-Identifier: GPL-2.0
/*
 * MAP_DAXVM behaviour on an ext4-DAX file system: no faults on first
 * touch, mapping cost independent of size, sharing between processes,
 * per-process protection, and one process's munmap/mremap/mprotect/
 * madvise/fork/exit never disturbing another's mapping.
 *
 *   daxvm_map EXT4_DAX_DIR
 */
#include "daxvm_util.h"

static char dir[2048];
static char fpath[4][4096];

static const char *file(int i)
{
	snprintf(fpath[i], sizeof(fpath[i]), "%s/daxvm_map.%d.%d", dir, getpid(), i);
	return fpath[i];
}

/* File 0: 16 MiB written in large pieces (huge entries where aligned). */
#define F0 (16 * MiB)
/* File 1: 8 MiB written 4 KiB at a time, in scrambled order (PTE tables). */
#define F1 (8 * MiB)
/* File 2: the same, 64 MiB, for the cost comparison. */
#define F2 (64 * MiB)

static int make_scrambled(const char *path, unsigned int id, unsigned long size)
{
	unsigned long n = size / PG, i, j;
	unsigned char buf[PG];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		tap_die("create %s", path);
	for (i = 0; i < n; i++) {
		j = (i * 2654435761UL) % n;	/* a permutation: n is a power of 2 */
		memset(buf, pattern(id, j * PG), PG);
		if (pwrite(fd, buf, PG, j * PG) != PG)
			tap_die("write %s", path);
	}
	return fd;
}

static void test_no_faults(int fd, unsigned int id, unsigned long size, const char *what)
{
	unsigned char *p = map_daxvm(fd, size, PROT_READ | PROT_WRITE);
	long before, faults, bad;

	if (p == MAP_FAILED)
		tap_die("mmap");
	before = minflt();
	touch(p, size);
	faults = minflt() - before;
	bad = check_pattern(p, id, 0, size);
	tap_result(faults == 0, "%s: first touch of %lu pages took %ld faults (want 0)",
		   what, size / PG, faults);
	tap_result(bad < 0, "%s: data through MAP_DAXVM matches the file (bad page %ld)",
		   what, bad);
	munmap(p, size);
}

static double time_map(int fd, unsigned long len, int flags, int rounds)
{
	double t0 = now();
	int i;

	for (i = 0; i < rounds; i++) {
		void *p = mmap(NULL, len, PROT_READ, flags, fd, 0);

		if (p == MAP_FAILED)
			tap_die("mmap %lu", len);
		((volatile unsigned char *)p)[0];
		munmap(p, len);
	}
	return (now() - t0) / rounds;
}

static void test_cost(int big, unsigned long bigsize, const char *smallpath)
{
	int small = make_pattern_file(smallpath, 9, PG, PG);
	double ts, tb, tp;

	ts = time_map(small, PG, MAP_SHARED_VALIDATE | MAP_DAXVM, 200);
	tb = time_map(big, bigsize, MAP_SHARED_VALIDATE | MAP_DAXVM, 50);
	tp = time_map(big, bigsize, MAP_SHARED | MAP_POPULATE, 3);
	printf("# mmap+munmap: DaxVM 4 KiB %.1f us, DaxVM %lu MiB %.1f us (x%.1f), "
	       "MAP_POPULATE %lu MiB %.1f us\n", ts * 1e6, bigsize / MiB, tb * 1e6,
	       tb / ts, bigsize / MiB, tp * 1e6);
	tap_result(tb < 64 * ts + 200e-6,
		   "MAP_DAXVM cost of %lu MiB within 64x of 4 KiB (x%.1f)",
		   bigsize / MiB, tb / ts);
	tap_result(tb * 10 < tp, "MAP_DAXVM is >10x cheaper than MAP_POPULATE (x%.1f)",
		   tp / tb);
	close(small);
	unlink(smallpath);
}

struct share_arg {
	int fd;
	int to_child[2], to_parent[2];
};

static void sharer(void *a)
{
	struct share_arg *s = a;
	unsigned char *p = map_daxvm(s->fd, F1, PROT_READ | PROT_WRITE);
	char c;

	if (p == MAP_FAILED)
		_exit(3);
	if (read(s->to_child[0], &c, 1) != 1)
		_exit(4);
	/* Parent wrote 0xa1 at 3 MiB + 17: answer with 0xb2 at 5 MiB + 5. */
	if (p[3 * MiB + 17] != 0xa1)
		_exit(5);
	p[5 * MiB + 5] = 0xb2;
	if (write(s->to_parent[1], "x", 1) != 1)
		_exit(6);
	_exit(0);
}

static void test_sharing(int fd)
{
	unsigned char *p = map_daxvm(fd, F1, PROT_READ | PROT_WRITE);
	struct share_arg s = { .fd = fd };
	int status, ok;
	char c;
	pid_t pid;

	if (p == MAP_FAILED || pipe(s.to_child) || pipe(s.to_parent))
		tap_die("setup");
	fflush(stdout);
	pid = fork();
	if (!pid)
		sharer(&s);
	p[3 * MiB + 17] = 0xa1;
	ok = write(s.to_child[1], "x", 1) == 1 && read(s.to_parent[0], &c, 1) == 1;
	waitpid(pid, &status, 0);
	tap_result(ok && WIFEXITED(status) && !WEXITSTATUS(status) &&
		   p[5 * MiB + 5] == 0xb2,
		   "two processes see each other's writes (child status %#x)", status);
	p[3 * MiB + 17] = pattern(1, 3 * MiB);
	p[5 * MiB + 5] = pattern(1, 5 * MiB);
	munmap(p, F1);
}

static unsigned char *ro_map;

static void write_ro(void *a)
{
	ro_map[(unsigned long)a] = 0x77;
}

static void test_protection(int fd)
{
	unsigned char *p = map_daxvm(fd, F1, PROT_READ);
	unsigned char *w;
	unsigned char v = 0;
	int sig;

	if (p == MAP_FAILED)
		tap_die("mmap");
	touch(p, F1);
	ro_map = p;
	sig = in_child(write_ro, (void *)(4 * MiB + 3));
	tap_result(sig == SIGSEGV, "write to a PROT_READ MAP_DAXVM mapping: SIGSEGV (got %d)", sig);
	tap_result(p[4 * MiB + 3] == pattern(1, 4 * MiB),
		   "the file is unchanged by the refused write");

	/* In-process: mprotect must change the attached PMD entries. */
	catch_faults();
	sig = try_write(p + 4 * MiB + 3, 0x77);
	tap_result(sig == SIGSEGV, "in-process write to PROT_READ: SIGSEGV (got %d)", sig);
	if (mprotect(p, F1, PROT_READ | PROT_WRITE))
		tap_die("mprotect rw");
	sig = try_write(p + 4 * MiB + 3, 0x78);
	tap_result(sig == 0 && p[4 * MiB + 3] == 0x78,
		   "after mprotect(RW) the write succeeds (signal %d)", sig);
	p[4 * MiB + 3] = pattern(1, 4 * MiB);
	if (mprotect(p, F1, PROT_READ))
		tap_die("mprotect ro");
	sig = try_write(p + 4 * MiB + 3, 0x79);
	tap_result(sig == SIGSEGV, "after mprotect(R) the write faults again (got %d)", sig);
	if (mprotect(p, F1, PROT_NONE))
		tap_die("mprotect none");
	sig = try_read(p + 2 * MiB, &v);
	tap_result(sig == SIGSEGV, "after mprotect(NONE) a read faults (got %d)", sig);
	if (mprotect(p, F1, PROT_READ))
		tap_die("mprotect back");
	sig = try_read(p + 2 * MiB, &v);
	tap_result(sig == 0 && v == pattern(1, 2 * MiB), "after mprotect(R) reads work again");
	munmap(p, F1);

	/* A writable mapping next to a read-only one of the same file. */
	p = map_daxvm(fd, F1, PROT_READ);
	w = map_daxvm(fd, F1, PROT_READ | PROT_WRITE);
	if (p == MAP_FAILED || w == MAP_FAILED)
		tap_die("mmap pair");
	touch(p, F1);
	w[6 * MiB] = 0x5e;
	sig = try_write(p + 6 * MiB, 0x5f);
	tap_result(sig == SIGSEGV && p[6 * MiB] == 0x5e,
		   "same file, same process: RW mapping writes, RO mapping faults (sig %d)", sig);
	w[6 * MiB] = pattern(1, 6 * MiB);
	munmap(p, F1);
	munmap(w, F1);
}

/* A child that attaches, then does everything that could hurt the parent. */
static void disturber(void *a)
{
	int fd = (long)a;
	unsigned char *p = map_daxvm(fd, F1, PROT_READ | PROT_WRITE), *q;

	if (p == MAP_FAILED)
		_exit(3);
	touch(p, F1);
	/* Grow the first 2 MiB: the VMA moves, its tables must not. */
	q = mremap(p, 2 * MiB, 4 * MiB, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		_exit(4);
	if (check_pattern(q, 1, 0, 4 * MiB) >= 0)
		_exit(5);
	if (madvise(p + 2 * MiB, 2 * MiB, MADV_DONTNEED))
		_exit(6);
	if (mprotect(p + 4 * MiB + PG, 64 * KiB, PROT_READ))	/* splits a chunk */
		_exit(7);
	if (mprotect(p + 6 * MiB, 2 * MiB, PROT_READ))		/* a whole chunk */
		_exit(8);
	if (munmap(p + 6 * MiB + 3 * PG, PG))			/* punches a chunk */
		_exit(9);
	if (check_pattern(p + 2 * MiB, 1, 2 * MiB, 4 * MiB) >= 0)
		_exit(10);
	if (fork() == 0) {
		touch(p + 2 * MiB, 2 * MiB);
		_exit(0);
	}
	wait(NULL);
	_exit(0);	/* exit unmaps the rest */
}

static void test_isolation(int fd)
{
	unsigned char *p = map_daxvm(fd, F1, PROT_READ | PROT_WRITE);
	long before, faults, bad;
	int sig;

	if (p == MAP_FAILED)
		tap_die("mmap");
	touch(p, F1);
	sig = in_child(disturber, (void *)(long)fd);
	tap_result(sig == 0, "child munmap/mremap/mprotect/madvise/fork/exit succeed (%d)", sig);
	before = minflt();
	bad = check_pattern(p, 1, 0, F1);
	faults = minflt() - before;
	tap_result(bad < 0, "parent's mapping still shows the file (bad page %ld)", bad);
	tap_result(faults == 0, "parent's attached tables were not zapped (%ld faults)", faults);
	tap_result(madvise(p, 2 * MiB, MADV_COLD) != 0 && errno == EINVAL,
		   "MADV_COLD on MAP_DAXVM: EINVAL");
	tap_result(madvise(p, 2 * MiB, MADV_DONTNEED) == 0 &&
		   check_pattern(p, 1, 0, 2 * MiB) < 0,
		   "MADV_DONTNEED detaches, data is back on next touch");
	munmap(p, F1);
}

static unsigned char *tr_map;

static void read_beyond(void *a)
{
	(void)*(volatile unsigned char *)(tr_map + (unsigned long)a);
}

static void test_truncate(int fd)
{
	unsigned char *p = map_daxvm(fd, F1, PROT_READ | PROT_WRITE);
	int sig;

	if (p == MAP_FAILED)
		tap_die("mmap");
	touch(p, F1);
	if (ftruncate(fd, 2 * MiB + 8 * KiB))
		tap_die("truncate");
	tr_map = p;
	sig = in_child(read_beyond, (void *)(5 * MiB));
	tap_result(sig == SIGBUS, "read beyond EOF after truncate: SIGBUS (got %d)", sig);
	sig = in_child(read_beyond, (void *)(2 * MiB + 12 * KiB));
	tap_result(sig == SIGBUS, "read in the truncated part of a chunk: SIGBUS (got %d)", sig);
	{
		unsigned char v;

		sig = try_read(p + 5 * MiB, &v);
		tap_result(sig == SIGBUS,
			   "in-process read beyond EOF of a formerly attached chunk: SIGBUS (got %d)",
			   sig);
	}
	tap_result(check_pattern(p, 1, 0, 2 * MiB + 8 * KiB) < 0,
		   "data below the new EOF intact");
	munmap(p, F1);
}

/*
 * Detaching a shared table must flush every 4 KiB TLB entry of the chunk,
 * not just one per 2 MiB: touch a whole scrambled (table-mapped) chunk,
 * then unmap, truncate or write-protect it and probe a page in the middle.
 */
static void test_stale_tlb(int fd)
{
	unsigned char *p = map_daxvm(fd, 4 * MiB, PROT_READ | PROT_WRITE);
	unsigned char *q, v;
	unsigned long off;
	long dirty = 0;
	int sig;

	if (p == MAP_FAILED)
		tap_die("mmap");
	for (off = 2 * MiB; off < 4 * MiB; off += PG)
		p[off + 100] = pattern(2, off);
	if (mprotect(p, 4 * MiB, PROT_READ))
		tap_die("mprotect");
	sig = try_write(p + 2 * MiB + 300 * PG, 1);
	tap_result(sig == SIGSEGV,
		   "write to a fully touched chunk after mprotect(R): SIGSEGV (got %d)", sig);
	munmap(p, 4 * MiB);

	/* Writable TLB entries: stores must not reach the file after munmap. */
	p = map_daxvm(fd, 4 * MiB, PROT_READ | PROT_WRITE);
	if (p == MAP_FAILED)
		tap_die("mmap");
	for (off = 2 * MiB; off < 4 * MiB; off += PG)
		p[off + 100] = pattern(2, off);
	munmap(p, 4 * MiB);
	q = mmap(p, 4 * MiB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (q != p)
		tap_die("anonymous mmap at the old address");
	for (off = 0; off < 4 * MiB; off += PG) {
		dirty += q[off + 100] != 0;
		q[off + 100] = 0xee;
	}
	for (off = 2 * MiB; off < 4 * MiB; off += PG) {
		if (pread(fd, &v, 1, off + 100) != 1)
			tap_die("pread");
		dirty += v != pattern(2, off);
	}
	tap_result(dirty == 0,
		   "anonymous memory at a just unmapped MAP_DAXVM address is its own (%ld pages are not)",
		   dirty);
	munmap(q, 4 * MiB);

	p = map_daxvm(fd, 4 * MiB, PROT_READ);
	if (p == MAP_FAILED)
		tap_die("mmap");
	touch(p + 2 * MiB, 2 * MiB);
	if (ftruncate(fd, 2 * MiB))
		tap_die("truncate");
	sig = try_read(p + 2 * MiB + 300 * PG, &v);
	tap_result(sig == SIGBUS,
		   "read in a fully touched chunk after truncate: SIGBUS (got %d)", sig);
	munmap(p, 4 * MiB);
}

/*
 * A VMA can shrink by a merge instead of a split: mprotect() of its last
 * page to the protection of the next VMA moves the boundary between them.
 * The chunk around the new boundary must not stay attached (nor point at
 * the empty table): the range freed later belongs to whatever is mapped
 * there next, which would otherwise fill the file's or the empty table.
 */
static void test_merge_shrink(int fd)
{
	unsigned char *p = map_daxvm(fd, 4 * MiB, PROT_READ), *a, *q, v = 0;
	long bad;
	int sig;

	if (p == MAP_FAILED)
		tap_die("mmap");
	if ((unsigned long)p % (2 * MiB))
		tap_die("mmap: %p is not 2 MiB aligned", p);
	/* Two VMAs, [0, 2M) read-only with its chunk attached, [2M, 4M) not. */
	if (mprotect(p + 2 * MiB, 2 * MiB, PROT_READ | PROT_WRITE))
		tap_die("mprotect");
	touch(p, 2 * MiB);
	/* The chunk now points at the empty table, as after any unmap. */
	if (madvise(p, 2 * MiB, MADV_DONTNEED))
		tap_die("madvise");
	/* The merge: the first VMA shrinks by a page, the second grows. */
	if (mprotect(p + 2 * MiB - PG, PG, PROT_READ | PROT_WRITE))
		tap_die("mprotect");
	if (munmap(p + 2 * MiB - PG, 2 * MiB + PG))
		tap_die("munmap");
	a = mmap(p + 2 * MiB - PG, PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (a != p + 2 * MiB - PG)
		tap_die("anonymous mmap at the freed page");
	a[0] = 0xa5;
	bad = check_pattern(p, 1, 0, 2 * MiB - PG);
	tap_result(bad < 0 && a[0] == 0xa5,
		   "a VMA shrunk by a merge still reads the file, the page it gave up is anonymous (bad page %ld)",
		   bad);

	/* Another mapping's detached chunk must not see the anonymous page. */
	q = map_daxvm(fd, 2 * MiB, PROT_READ);
	if (q == MAP_FAILED)
		tap_die("mmap");
	if (madvise(q, 2 * MiB, MADV_DONTNEED))
		tap_die("madvise");
	sig = try_read(q + 2 * MiB - PG, &v);
	tap_result(sig == 0 && v == pattern(1, 2 * MiB - PG),
		   "a detached chunk elsewhere reads the file there, not that page (%#x, file %#x, signal %d)",
		   v, pattern(1, 2 * MiB - PG), sig);
	munmap(q, 2 * MiB);
	munmap(a, PG);
	munmap(p, 2 * MiB - PG);
}

int main(int argc, char **argv)
{
	int f0, f1, f2;

	tap_usage_if(argc != 2, argv[0], "EXT4_DAX_DIR");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	tap_plan(31);
	f0 = make_pattern_file(file(0), 0, F0, 4 * MiB);
	f1 = make_scrambled(file(1), 1, F1);

	test_no_faults(f0, 0, F0, "file written in 4 MiB pieces");
	test_no_faults(f1, 1, F1, "file written 4 KiB at a time, scrambled");
	f2 = make_scrambled(file(2), 2, F2);
	test_cost(f2, F2, file(3));
	close(f2);
	unlink(fpath[2]);
	test_sharing(f1);
	test_protection(f1);
	test_isolation(f1);
	test_merge_shrink(f1);
	test_no_faults(f1, 1, F1, "after the other tests");
	test_truncate(f1);
	f2 = make_scrambled(file(2), 2, 4 * MiB);
	test_stale_tlb(f2);
	close(f2);
	unlink(fpath[2]);

	close(f0);
	close(f1);
	unlink(fpath[0]);
	unlink(fpath[1]);
	return tap_finish();
}

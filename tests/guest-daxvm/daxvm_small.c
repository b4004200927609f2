// SPDX-License-Identifier: GPL-2.0
/*
 * MAP_DAXVM on pages no whole chunk covers: small files (below 2 MiB) and
 * the head and tail of larger mappings. mmap() fills them from the file's
 * tables (read-only), so first reads take no fault; writes, holes, EOF,
 * truncate and hole punching behave as with ordinary DAX faults.
 *
 *   daxvm_small EXT4_DAX_DIR
 */
#include "daxvm_util.h"

static char dir[2048];

static const char *path(const char *name)
{
	static char p[4096];

	snprintf(p, sizeof(p), "%s/daxvm_small.%d.%s", dir, getpid(), name);
	return p;
}

/* @size bytes of pattern @id written 4 KiB at a time, last page first. */
static int make_backwards(const char *name, unsigned int id, unsigned long size)
{
	unsigned char buf[PG];
	unsigned long i;
	int fd = open(path(name), O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		tap_die("create %s", name);
	for (i = size / PG; i-- > 0;) {
		memset(buf, pattern(id, i * PG), PG);
		if (pwrite(fd, buf, PG, i * PG) != PG)
			tap_die("write %s", name);
	}
	return fd;
}

/*
 * Map @len at file offset @off read-only and read every page: no fault,
 * @want_filled pages filled by mmap, the file's data.
 */
static void check_read(int fd, unsigned int id, unsigned long off,
		       unsigned long len, long want_filled, const char *what)
{
	long before = daxvm_stat("ptes_prefilled"), faults, bad;
	unsigned char *p = mmap(NULL, len, PROT_READ,
				MAP_SHARED_VALIDATE | MAP_DAXVM, fd, off);
	long filled = daxvm_stat("ptes_prefilled") - before;

	if (p == MAP_FAILED)
		tap_die("mmap %s", what);
	faults = minflt();
	touch(p, len);
	faults = minflt() - faults;
	bad = check_pattern(p, id, off, len);
	tap_result(faults == 0 && filled == want_filled && bad < 0,
		   "%s: %ld faults reading %lu pages (want 0), %ld filled at mmap (want %ld), bad page %ld",
		   what, faults, len / PG, filled, want_filled, bad);
	munmap(p, len);
}

static void test_small_files(void)
{
	/* 2 MiB: one whole chunk, attached rather than filled. */
	static const unsigned long sizes[] = { 4 * KiB, 64 * KiB, 1 * MiB, 2 * MiB };
	char name[32], what[64];
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int fd;

		snprintf(name, sizeof(name), "s%u", i);
		fd = make_backwards(name, 10 + i, sizes[i]);
		snprintf(what, sizeof(what), "%lu KiB file", sizes[i] / KiB);
		check_read(fd, 10 + i, 0, sizes[i],
			   sizes[i] < 2 * MiB ? sizes[i] / PG : 0, what);
		close(fd);
		unlink(path(name));
	}
}

/*
 * 4.5 MiB at file offset 1 MiB (the address agrees modulo 2 MiB): a 1 MiB
 * head, one chunk, a 1.5 MiB tail.
 */
static void test_head_tail(void)
{
	int fd = make_backwards("ht", 20, 6 * MiB);

	check_read(fd, 20, 1 * MiB, 4 * MiB + 512 * KiB, (MiB + 1536 * KiB) / PG,
		   "4.5 MiB at offset 1 MiB");
	check_read(fd, 20, 12 * KiB, 40 * KiB, 10, "40 KiB at offset 12 KiB");
	close(fd);
	unlink(path("ht"));
}

/* A hole faults (and reads zeroes); pages beyond EOF raise SIGBUS. */
static void test_hole_and_eof(void)
{
	int fd = make_backwards("hole", 30, 64 * KiB), sig;
	unsigned char *p, v;
	long faults;

	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 5 * PG, PG))
		tap_die("punch");
	p = mmap(NULL, 80 * KiB, PROT_READ, MAP_SHARED_VALIDATE | MAP_DAXVM, fd, 0);
	if (p == MAP_FAILED)
		tap_die("mmap");
	faults = minflt();
	touch(p, 64 * KiB);
	faults = minflt() - faults;
	tap_result(faults == 1 && p[5 * PG] == 0 && p[5 * PG + PG - 1] == 0 &&
		   check_pattern(p, 30, 0, 5 * PG) < 0 &&
		   check_pattern(p + 6 * PG, 30, 6 * PG, 10 * PG) < 0,
		   "a hole faults once and reads zero, the rest reads the file (%ld faults)",
		   faults);
	sig = try_read(p + 64 * KiB, &v);
	tap_result(sig == SIGBUS, "the page after EOF: SIGBUS (got %d)", sig);
	munmap(p, 80 * KiB);
	close(fd);
	unlink(path("hole"));
}

/*
 * Writes through filled pages fault (the file system records them dirty)
 * and reach the file; a read-only mapping cannot write at all.
 */
static void test_writes(void)
{
	int fd = make_backwards("w", 40, 64 * KiB), ro, sig;
	unsigned char *p, *q, v;
	long faults;

	p = map_daxvm(fd, 64 * KiB, PROT_READ | PROT_WRITE);
	if (p == MAP_FAILED)
		tap_die("mmap");
	faults = minflt();
	touch(p, 64 * KiB);
	p[3 * PG] = 0xee;
	p[3 * PG + 1] = 0xef;
	faults = minflt() - faults;
	tap_result(faults == 1, "reads take no fault, the first write to a page one (%ld)",
		   faults);
	v = 0;
	if (msync(p, 64 * KiB, MS_SYNC) || pread(fd, &v, 1, 3 * PG) != 1)
		tap_die("msync or pread");
	tap_result(v == 0xee, "the write reached the file (%#x)", v);
	munmap(p, 64 * KiB);

	ro = open(path("w"), O_RDONLY);
	if (ro < 0)
		tap_die("open");
	q = map_daxvm(ro, 64 * KiB, PROT_READ);
	if (q == MAP_FAILED)
		tap_die("mmap ro");
	touch(q, 64 * KiB);
	sig = try_write(q + 2 * PG, 1);
	tap_result(sig == SIGSEGV && q[2 * PG] == pattern(40, 2 * PG),
		   "a read-only mapping of filled pages cannot write: SIGSEGV (got %d)", sig);
	tap_result(mmap(NULL, 64 * KiB, PROT_READ | PROT_WRITE,
			MAP_SHARED_VALIDATE | MAP_DAXVM, ro, 0) == MAP_FAILED &&
		   errno == EACCES, "an O_RDONLY fd gets no writable shared mapping (EACCES)");
	munmap(q, 64 * KiB);
	close(ro);
	close(fd);
	unlink(path("w"));
}

/*
 * Truncate and hole punching unmap filled pages before their blocks are
 * freed: a mapping made before reads SIGBUS or zeroes, never the blocks
 * another file got meanwhile.
 */
static void test_truncate_punch(void)
{
	int fd = make_backwards("t", 50, 64 * KiB), other, sig;
	unsigned char *p, v;

	p = mmap(NULL, 64 * KiB, PROT_READ, MAP_SHARED_VALIDATE | MAP_DAXVM, fd, 0);
	if (p == MAP_FAILED)
		tap_die("mmap");
	touch(p, 64 * KiB);
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 * PG, 2 * PG))
		tap_die("punch");
	if (ftruncate(fd, 8 * PG))
		tap_die("truncate");
	other = make_backwards("t2", 51, 1 * MiB);
	sig = try_read(p + 2 * PG, &v);
	tap_result(sig == 0 && v == 0 && p[3 * PG + 7] == 0,
		   "a punched page reads zero (signal %d, %#x)", sig, v);
	sig = try_read(p + 9 * PG, &v);
	tap_result(sig == SIGBUS, "a truncated page: SIGBUS, not another file's block (got %d)",
		   sig);
	tap_result(check_pattern(p, 50, 0, 2 * PG) < 0 &&
		   check_pattern(p + 4 * PG, 50, 4 * PG, 4 * PG) < 0,
		   "pages kept by truncate and punch read the file");
	munmap(p, 64 * KiB);
	close(other);
	close(fd);
	unlink(path("t"));
	unlink(path("t2"));
}

int main(int argc, char **argv)
{
	tap_usage_if(argc != 2, argv[0], "EXT4_DAX_DIR");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	tap_skip_all_if(daxvm_stat("ptes_prefilled") < 0, "kernel without filled heads and tails");
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	catch_faults();
	tap_plan(15);
	test_small_files();
	test_head_tail();
	test_hole_and_eof();
	test_writes();
	test_truncate_punch();
	return tap_finish();
}

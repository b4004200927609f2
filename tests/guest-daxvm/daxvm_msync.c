// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty tracking of MAP_DAXVM mappings (kernel patch 0007):
 *
 *   daxvm_msync test DIR          fault and write-back counts, nosync modes
 *   daxvm_msync writer DIR SEED   crash test: write and msync region after
 *                                 region, print "SYNCED k" after each msync
 *   daxvm_msync verify DIR SEED K crash test: regions 0..K hold their data
 *
 * A tracked mapping attaches chunks write-protected: the first write to each
 * 2 MiB chunk faults once and marks it dirty; msync/fsync write back exactly
 * the dirty chunks (counted in /proc/fs/daxvm/stats) and protect them again.
 */
#include "daxvm_util.h"
#include <sys/uio.h>

#define FILE_SIZE	(8 * MiB)
#define CHUNK		(2 * MiB)
#define KNOB		"/proc/fs/daxvm/daxvm_msync"

struct stats {
	long dirty_faults, synced_chunks, synced_pages;
};

static struct stats read_stats(void)
{
	struct stats s = {
		.dirty_faults = daxvm_stat("dirty_faults"),
		.synced_chunks = daxvm_stat("synced_chunks"),
		.synced_pages = daxvm_stat("synced_pages"),
	};

	return s;
}

/* Writes one byte per page of [p, p + len); returns the page faults taken. */
static long write_pages(unsigned char *p, unsigned long len, unsigned char v)
{
	long before = minflt();
	unsigned long off;

	for (off = 0; off < len; off += PG)
		p[off] = v;
	return minflt() - before;
}

static long synced_chunks_by(int (*sync)(void *, int), void *arg, int fd)
{
	struct stats before = read_stats();

	if (sync(arg, fd))
		tap_die("sync");
	return read_stats().synced_chunks - before.synced_chunks;
}

static unsigned long sync_len;

static int do_msync(void *p, int fd)
{
	return msync(p, sync_len, MS_SYNC);
}

static int do_fsync(void *p, int fd)
{
	return fsync(fd);
}

/* An untracked mapping: writes take no faults, msync writes back nothing. */
static void check_untracked(unsigned char *m, int fd, unsigned char v,
			    const char *what)
{
	long faults = write_pages(m, FILE_SIZE, v);

	tap_result(faults == 0 && synced_chunks_by(do_msync, m, fd) == 0,
		   "%s: writes take no faults (%ld), msync writes back nothing",
		   what, faults);
	munmap(m, FILE_SIZE);
}

static int run_test(const char *dir)
{
	char path[4096], other[4096];
	unsigned char *m, *m2, *buf;
	struct stats before, after;
	long faults;
	int fd, fd2, sig;

	tap_plan(20);
	snprintf(path, sizeof(path), "%s/daxvm-msync", dir);
	snprintf(other, sizeof(other), "%s/daxvm-msync-src", dir);
	fd = make_pattern_file(path, 1, FILE_SIZE, MiB);
	m = map_daxvm(fd, FILE_SIZE, PROT_READ | PROT_WRITE);
	if (m == MAP_FAILED)
		tap_die("MAP_DAXVM");
	catch_faults();

	faults = minflt();
	touch(m, FILE_SIZE);
	tap_result(minflt() - faults == 0,
		   "reads of a tracked mapping take no faults (%ld)",
		   minflt() - faults);

	before = read_stats();
	faults = write_pages(m, PG, 'a') + write_pages(m + 2 * CHUNK, PG, 'c');
	after = read_stats();
	tap_result(faults == 2 && after.dirty_faults - before.dirty_faults == 2,
		   "first writes to two chunks: 2 faults (%ld), 2 chunks dirtied (%ld)",
		   faults, after.dirty_faults - before.dirty_faults);
	faults = write_pages(m, CHUNK, 'A') + write_pages(m + 2 * CHUNK, CHUNK, 'C');
	tap_result(faults == 0, "further writes to dirty chunks take no faults (%ld)",
		   faults);

	sync_len = FILE_SIZE;
	before = read_stats();
	if (msync(m, FILE_SIZE, MS_SYNC))
		tap_die("msync");
	after = read_stats();
	tap_result(after.synced_chunks - before.synced_chunks == 2 &&
		   after.synced_pages - before.synced_pages == 2 * CHUNK / PG,
		   "msync writes back exactly the 2 dirty chunks (%ld chunks, %ld pages)",
		   after.synced_chunks - before.synced_chunks,
		   after.synced_pages - before.synced_pages);
	tap_result(synced_chunks_by(do_msync, m, fd) == 0,
		   "a second msync has nothing to write back");
	faults = write_pages(m, PG, 'b');
	tap_result(faults == 1, "msync protected the chunk again: a write faults once (%ld)",
		   faults);

	/* A second mapping: fsync protects the chunk in both. */
	m2 = map_daxvm(fd, FILE_SIZE, PROT_READ | PROT_WRITE);
	if (m2 == MAP_FAILED)
		tap_die("second MAP_DAXVM");
	faults = write_pages(m + 3 * CHUNK, PG, 'd') + write_pages(m2 + 3 * CHUNK, PG, 'e');
	tap_result(faults == 2, "each mapping faults once on its first write (%ld)", faults);
	tap_result(synced_chunks_by(do_fsync, NULL, fd) == 2,
		   "fsync writes back the dirty chunks of both mappings");
	faults = write_pages(m + 3 * CHUNK, PG, 'f') + write_pages(m2 + 3 * CHUNK, PG, 'g');
	tap_result(faults == 2, "fsync protected the chunk in both mappings (%ld faults)",
		   faults);
	fsync(fd);

	/* msync of a range writes back only the chunks in it. */
	write_pages(m, PG, 'h');
	write_pages(m + 3 * CHUNK, PG, 'i');
	before = read_stats();
	if (msync(m, CHUNK, MS_SYNC))
		tap_die("msync range");
	after = read_stats();
	tap_result(after.synced_chunks - before.synced_chunks == 1,
		   "msync of one chunk writes back that chunk only (%ld)",
		   after.synced_chunks - before.synced_chunks);
	tap_result(synced_chunks_by(do_msync, m, fd) == 1,
		   "the other dirty chunk stays dirty until its own msync");

	/* Kernel writes: copy_to_user (read()) and GUP (process_vm_writev). */
	fd2 = make_pattern_file(other, 2, CHUNK, CHUNK);
	if (pread(fd2, m + CHUNK, PG, 0) != (ssize_t)PG)
		tap_die("read into the mapping");
	tap_result(synced_chunks_by(do_msync, m, fd) == 1 && m[CHUNK] == pattern(2, 0),
		   "read() into a tracked chunk dirties it");
	{
		char src[64] = "written through process_vm_writev";
		struct iovec local = { src, sizeof(src) };
		struct iovec remote = { m + 2 * CHUNK + PG, sizeof(src) };

		if (process_vm_writev(getpid(), &local, 1, &remote, 1, 0) != sizeof(src))
			tap_die("process_vm_writev");
		tap_result(synced_chunks_by(do_msync, m, fd) == 1 &&
			   !memcmp(m + 2 * CHUNK + PG, src, sizeof(src)),
			   "a GUP write (process_vm_writev) dirties the chunk");
	}
	close(fd2);
	unlink(other);

	/* Permissions still come first. */
	munmap(m2, FILE_SIZE);
	m2 = map_daxvm(fd, FILE_SIZE, PROT_READ);
	sig = try_write(m2 + CHUNK, 1);
	tap_result(sig == SIGSEGV, "a PROT_READ mapping still cannot write (signal %d)", sig);
	if (mprotect(m2, FILE_SIZE, PROT_READ | PROT_WRITE))
		tap_die("mprotect");
	faults = write_pages(m2 + CHUNK, PG, 'j');
	tap_result(faults == 1 && synced_chunks_by(do_msync, m2, fd) == 1,
		   "after mprotect(PROT_WRITE) the first write faults once and dirties (%ld)",
		   faults);
	munmap(m2, FILE_SIZE);

	/* No tracking: MAP_NO_MSYNC, and the knob. */
	m2 = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE,
		  MAP_SHARED_VALIDATE | MAP_DAXVM | MAP_NO_MSYNC, fd, 0);
	if (m2 == MAP_FAILED)
		tap_die("MAP_NO_MSYNC");
	check_untracked(m2, fd, 'k', "MAP_NO_MSYNC");

	tap_result(write_knob(KNOB, "abc") == EINVAL && write_knob(KNOB, "2") == EINVAL &&
		   read_num(KNOB) == 1,
		   "daxvm_msync refuses non-numbers and 2 (EINVAL), stays 1");
	if (write_knob(KNOB, "0"))
		tap_die("daxvm_msync=0");
	m2 = map_daxvm(fd, FILE_SIZE, PROT_READ | PROT_WRITE);
	write_knob(KNOB, "1");
	if (m2 == MAP_FAILED)
		tap_die("MAP_DAXVM with daxvm_msync=0");
	check_untracked(m2, fd, 'l', "daxvm_msync=0");

	errno = 0;
	m2 = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE,
		  MAP_SHARED_VALIDATE | MAP_NO_MSYNC, fd, 0);
	tap_result(m2 == MAP_FAILED && errno == EINVAL,
		   "MAP_NO_MSYNC without MAP_DAXVM: EINVAL (errno %d)", errno);

	/* What every mapping wrote is what the file holds. */
	buf = malloc(FILE_SIZE);
	if (!buf || pread(fd, buf, FILE_SIZE, 0) != (ssize_t)FILE_SIZE)
		tap_die("pread");
	{
		unsigned long off;

		for (off = 0; off < FILE_SIZE && buf[off] == m[off]; off++)
			;
		tap_result(off == FILE_SIZE && buf[0] == 'l' && buf[FILE_SIZE - PG] == 'l',
			   "read() sees every write made through the mappings (first difference at %lu of %lu: %#x vs %#x)",
			   off, FILE_SIZE, off < FILE_SIZE ? buf[off] : 0,
			   off < FILE_SIZE ? m[off] : 0);
	}
	free(buf);
	munmap(m, FILE_SIZE);
	close(fd);
	unlink(path);
	return tap_finish();
}

/* Crash test: region k holds bytes crash_byte(seed, k, off). */
#define REGION		(512 * KiB)
#define REGIONS		64

static unsigned char crash_byte(unsigned long seed, unsigned long k,
				unsigned long off)
{
	return (unsigned char)((seed * 2654435761UL + k * 40503UL + off / 64) >> 3) | 1;
}

static int run_writer(const char *dir, unsigned long seed)
{
	char path[4096];
	unsigned long k, off;
	unsigned char *m;
	int fd;

	snprintf(path, sizeof(path), "%s/daxvm-msync-crash", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || fallocate(fd, 0, 0, REGION * REGIONS))
		tap_die("create %s", path);
	/* Written blocks (not unwritten extents) get file tables. */
	m = calloc(1, MiB);
	for (off = 0; off < REGION * REGIONS; off += MiB)
		if (pwrite(fd, m, MiB, off) != (ssize_t)MiB)
			tap_die("zero %s", path);
	free(m);
	if (fsync(fd))
		tap_die("fsync");
	m = map_daxvm(fd, REGION * REGIONS, PROT_READ | PROT_WRITE);
	if (m == MAP_FAILED)
		tap_die("MAP_DAXVM");
	printf("WRITER-READY\n");
	fflush(stdout);
	for (k = 0; k < REGIONS; k++) {
		unsigned char *r = m + k * REGION;

		for (off = 0; off < REGION; off += 64)
			memset(r + off, crash_byte(seed, k, off), 64);
		if (msync(r, REGION, MS_SYNC))
			tap_die("msync");
		printf("SYNCED %lu\n", k);
		fflush(stdout);
	}
	for (;;)
		pause();
}

static int run_verify(const char *dir, unsigned long seed, long last)
{
	char path[4096];
	unsigned char *buf = malloc(REGION);
	unsigned long off = 0;
	long k;
	int fd;

	snprintf(path, sizeof(path), "%s/daxvm-msync-crash", dir);
	fd = open(path, O_RDONLY);
	if (fd < 0 || !buf)
		tap_die("open %s", path);
	tap_plan(1);
	for (k = 0; k <= last; k++) {
		if (pread(fd, buf, REGION, k * REGION) != (ssize_t)REGION)
			break;
		for (off = 0; off < REGION; off++)
			if (buf[off] != crash_byte(seed, k, off))
				break;
		if (off < REGION)
			break;
	}
	tap_result(k > last, "regions 0..%ld msync'd before the crash are intact%s",
		   last, k > last ? "" : " (first bad region below)");
	if (k <= last)
		printf("# region %ld differs at byte %lu\n", k, off);
	close(fd);
	free(buf);
	return tap_finish();
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s test DIR | writer DIR SEED | verify DIR SEED K\n",
			argv[0]);
		return 2;
	}
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	if (!strcmp(argv[1], "writer") && argc == 4)
		return run_writer(argv[2], strtoul(argv[3], NULL, 0));
	if (!strcmp(argv[1], "verify") && argc == 5)
		return run_verify(argv[2], strtoul(argv[3], NULL, 0), atol(argv[4]));
	tap_skip_all_if(access("/proc/fs/daxvm/stats", R_OK), "kernel without DaxVM dirty tracking");
	return run_test(argv[2]);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Walkers of a process's page tables vs shared tables detached and freed
 * by a truncate (kernel patches 0015-0017):
 *   daxvm_walk EXT4_DAX_DIR SECONDS
 *
 * smaps, pagemap, mincore and GUP (process_vm_readv) walk a process's
 * tables holding its mmap_lock for read; 6.1 frees page tables only under
 * mmap_lock held for write and never makes a table entry none under them,
 * so they trust a PMD entry they read (and read it twice). A shared table
 * is detached and freed by whoever trims the file: DaxVM must detach to a
 * table, not to none (before 0016 the stress below oopsed in mincore), and
 * defer the free while a process that could have it attached holds its
 * mmap_lock.
 *
 *  1. While a thread keeps the mmap_lock held for read (populating an
 *     anonymous mapping), a punched chunk's table is not freed at once
 *     (/proc/fs/daxvm/stats tables_deferred grows) and is freed once the
 *     lock is free (tables_waiting back to 0).
 *  2. Stress: walker threads run over a MAP_DAXVM mapping while a child
 *     punches and refills its chunks, and other files take the freed
 *     blocks. The file's bytes are below 0x80, the other files' above: a
 *     byte >= 0x80 read through the mapping or process_vm_readv() is a
 *     freed block reached through a stale table. A splat fails the suite.
 */
#include "daxvm_util.h"
#include <pthread.h>
#include <sys/uio.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define NCHUNK	8
#define FSIZE	(NCHUNK * 2 * MiB)
#define HALF	(1 * MiB)	/* written part of each chunk: a table */
#define ANON	(64 * MiB)

static char apath[4096], bpath[4096];
static unsigned char *map;
static volatile int stop;
static long walks, bad, vm_errors;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static void count(long *what)
{
	pthread_mutex_lock(&count_lock);
	(*what)++;
	pthread_mutex_unlock(&count_lock);
}

/* Writes the first half of chunk @c with its byte, c + 1 (< 0x80). */
static void fill_chunk(int fd, unsigned int c)
{
	fill_bytes(fd, c + 1, c * 2 * MiB, HALF);
}

static void punch_chunk(int fd, unsigned int c)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      c * 2 * MiB, 2 * MiB))
		tap_die("punch chunk %u", c);
}

static int good_byte(unsigned int c, unsigned char v)
{
	return v == 0 || v == c + 1;
}

static void *map_file(int fd, void *at)
{
	void *p = mmap(at, FSIZE, PROT_READ,
		       MAP_SHARED_VALIDATE | MAP_DAXVM | (at ? MAP_FIXED : 0),
		       fd, 0);

	if (p == MAP_FAILED)
		tap_die("mmap MAP_DAXVM");
	return p;
}

/* Keeps this process's mmap_lock held for read most of the time. */
static void *locker(void *arg)
{
	unsigned char *anon = mmap(NULL, ANON, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)arg;
	if (anon == MAP_FAILED)
		tap_die("mmap anon");
	while (!stop) {
		madvise(anon, ANON, MADV_POPULATE_WRITE);
		madvise(anon, ANON, MADV_DONTNEED);
	}
	munmap(anon, ANON);
	return NULL;
}

static void check_deferral(int fd)
{
	long d0 = daxvm_stat("tables_deferred"), d1 = d0;
	pthread_t t;
	double took, t0;
	int tries;

	stop = 0;
	if (pthread_create(&t, NULL, locker, NULL))
		tap_die("pthread_create");
	/* Until a punch meets the lock held: bounded by time, not tries. */
	t0 = now();
	for (tries = 0; d1 == d0 && now() - t0 < WAIT_LIMIT; tries++) {
		usleep(20000);
		touch(map, FSIZE);	/* attach (first half of each chunk) */
		punch_chunk(fd, 0);
		d1 = daxvm_stat("tables_deferred");
		fill_chunk(fd, 0);
	}
	tap_result(d1 > d0,
		   "a table punched while the mmap_lock is held waits (%ld deferred, %d tries in %.1f s)",
		   d1 - d0, tries, now() - t0);
	stop = 1;
	pthread_join(t, NULL);
	took = wait_deferred_frees(WAIT_LIMIT);
	tap_result(took >= 0, "deferred tables are freed once the lock is free (%.2f s)",
		   took);
	tap_result(map[0] == 1 && map[HALF] == 0,
		   "the refilled chunk reads its bytes through the mapping (%u %u)",
		   map[0], map[HALF]);
}

/* Child: punch a chunk, let another file take its blocks, refill it. */
static void churn(double secs)
{
	double end = now() + secs;
	unsigned int round = 0;
	int a = open(apath, O_RDWR), b;

	if (a < 0)
		_exit(3);
	while (now() < end) {
		unsigned int c = round++ % NCHUNK;

		punch_chunk(a, c);
		fsync(a);	/* commit, so the freed blocks can be reused */
		b = open(bpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (b < 0)
			_exit(4);
		fill_bytes(b, 0x80 | (round & 0x7f), 0, 2 * MiB);
		close(b);
		fill_chunk(a, c);
	}
	_exit(0);
}

/* Reads one byte per chunk; remaps now and then to attach again. */
static void *reader(void *arg)
{
	int fd = *(int *)arg;
	unsigned int i = 0, c;

	while (!stop) {
		for (c = 0; c < NCHUNK; c++)
			if (!good_byte(c, map[c * 2 * MiB]))
				count(&bad);
		/* A hole faults on a private table: map afresh to attach. */
		if (++i % 16 == 0)
			map_file(fd, map);
	}
	return NULL;
}

/* GUP on this process's tables, as a debugger or an O_DIRECT would. */
static void *vm_reader(void *arg)
{
	unsigned char buf[64];
	unsigned int c = 0;

	(void)arg;
	while (!stop) {
		struct iovec local = { buf, sizeof(buf) };
		struct iovec remote = { map + c * 2 * MiB, sizeof(buf) };
		unsigned int i;

		if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) !=
		    (ssize_t)sizeof(buf)) {
			count(&vm_errors);
			continue;
		}
		for (i = 0; i < sizeof(buf); i++)
			if (!good_byte(c, buf[i]))
				count(&bad);
		c = (c + 1) % NCHUNK;
	}
	return NULL;
}

static void read_all(const char *path, unsigned long off, unsigned long len)
{
	static __thread char buf[64 * KiB];
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return;
	if (len) {
		if (pread(fd, buf, len, off) < 0)
			count(&vm_errors);
	} else {
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	}
	close(fd);
}

/* smaps, pagemap and mincore, in turn. */
static void *walker(void *arg)
{
	unsigned char vec[FSIZE / PG];

	(void)arg;
	while (!stop) {
		read_all("/proc/self/smaps", 0, 0);
		read_all("/proc/self/pagemap", (unsigned long)map / PG * 8,
			 FSIZE / PG * 8);
		if (mincore(map, FSIZE, vec))
			count(&vm_errors);
		count(&walks);
	}
	return NULL;
}

static void stress(int fd, double secs)
{
	pthread_t t[4];
	void *(*fn[4])(void *) = { reader, vm_reader, walker, walker };
	long d0 = daxvm_stat("tables_deferred");
	int i, status;
	double took;
	pid_t pid;

	stop = 0;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_die("fork");
	if (!pid)
		churn(secs);
	for (i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, fn[i], &fd))
			tap_die("pthread_create");
	waitpid(pid, &status, 0);
	stop = 1;
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	tap_result(WIFEXITED(status) && !WEXITSTATUS(status),
		   "the punch/refill child ran to its end (status %#x)", status);
	tap_result(walks > 0, "walkers ran (%ld rounds of smaps, pagemap, mincore)",
		   walks);
	tap_result(!bad && !vm_errors,
		   "no other file's byte through the mapping or GUP (%ld bad, %ld errors)",
		   bad, vm_errors);
	took = wait_deferred_frees(WAIT_LIMIT);
	tap_result(took >= 0, "no table left waiting (%ld deferred during the run)",
		   daxvm_stat("tables_deferred") - d0);
}

int main(int argc, char **argv)
{
	double secs;
	unsigned int c;
	int fd;

	if (argc != 3)
		tap_die("usage: daxvm_walk EXT4_DAX_DIR SECONDS");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	secs = atof(argv[2]);
	tap_plan(7);
	snprintf(apath, sizeof(apath), "%s/daxvm-walk-a.dat", argv[1]);
	snprintf(bpath, sizeof(bpath), "%s/daxvm-walk-b.dat", argv[1]);
	fd = open(apath, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, FSIZE))
		tap_die("create %s", apath);
	for (c = 0; c < NCHUNK; c++)
		fill_chunk(fd, c);
	map = map_file(fd, NULL);

	check_deferral(fd);
	stress(fd, secs);

	munmap(map, FSIZE);
	close(fd);
	unlink(apath);
	unlink(bpath);
	return tap_finish();
}

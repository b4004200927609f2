/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the DaxVM guest tests. */
#ifndef DAXVM_UTIL_H
#define DAXVM_UTIL_H

#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/daxvm.h>
#include "tap.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif

#define KiB 1024UL
#define MiB (1024UL * 1024)
#define PG 4096UL

static inline int daxvm_kernel(void)
{
	return access("/proc/fs/daxvm/version", R_OK) == 0;
}

/* The number in a one-line /proc file; -1 if unreadable, -2 if malformed. */
static inline long read_num(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || buf[n - 1] != '\n')
		return -2;
	return atol(buf);
}

/* The value of @key in a "key value" lines file (stats); -1 if absent. */
static inline long read_key(const char *path, const char *key)
{
	char k[64];
	long v, ret = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		tap_die("open %s", path);
	while (fscanf(f, "%63s %ld", k, &v) == 2)
		if (!strcmp(k, key))
			ret = v;
	fclose(f);
	return ret;
}

/* A counter of /proc/fs/daxvm/stats; -1 if the kernel has no such key. */
static inline long daxvm_stat(const char *key)
{
	return read_key("/proc/fs/daxvm/stats", key);
}

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * How long a test waits for a state it needs (a journal commit reported,
 * the pre-zeroing thread done, a deferred free): far more than a healthy
 * kernel takes even under TCG on a loaded host, so that only a state that
 * never comes fails a test, never a slow machine.
 */
#define WAIT_LIMIT	120.0

/*
 * Polls @cond(@arg) every 10 ms until it holds. Returns the seconds that
 * took, or -1 after @limit seconds, saying in a TAP comment what it
 * waited for (@what).
 */
static inline double wait_for(int (*cond)(void *), void *arg, double limit,
			      const char *what)
{
	double t0 = now();

	while (!cond(arg)) {
		if (now() - t0 > limit) {
			printf("# gave up after %.0f s waiting for %s\n", limit,
			       what);
			fflush(stdout);
			return -1;
		}
		usleep(10000);
	}
	return now() - t0;
}

static inline int no_table_waiting(void *arg)
{
	(void)arg;
	return daxvm_stat("tables_waiting") <= 0;
}

/*
 * Waits until no detached table waits for a process's mmap_lock (kernel
 * patch 0015: a table freed while its process holds the lock, e.g. during
 * a page fault, is freed a little later). Returns the seconds it took, -1
 * after @limit seconds, -2 on a kernel without the counter.
 */
static inline double wait_deferred_frees(double limit)
{
	if (daxvm_stat("tables_waiting") < 0)
		return -2;
	return wait_for(no_table_waiting, NULL, limit,
			"no table waiting to be freed (tables_waiting 0)");
}

/*
 * Commits the journal of the file system that holds directory @dir and
 * waits until the commit's callbacks have run. ext4 gives freed blocks
 * back (to its allocator, and to DaxVM's pre-zeroing) only in the commit
 * callback, and syncfs() may return before that callback ran: jbd2 counts
 * a commit as done (and no longer waits for it) just before it runs the
 * callbacks. It commits one transaction at a time, callbacks included, so
 * committing a second transaction after the first is the barrier.
 */
static inline void fs_commit(const char *dir)
{
	char path[4200];
	int i, fd;

	snprintf(path, sizeof(path), "%s/.daxvm-commit.%d", dir, (int)getpid());
	for (i = 0; i < 2; i++) {
		fd = open(dir, O_RDONLY | O_DIRECTORY);
		if (fd < 0 || syncfs(fd))
			tap_die("syncfs %s", dir);
		close(fd);
		if (i)
			break;
		/* Something for the second transaction to hold. */
		fd = open(path, O_WRONLY | O_CREAT, 0644);
		if (fd < 0)
			tap_die("create %s", path);
		close(fd);
		unlink(path);
	}
}

/* Writes @size bytes of @byte at @off, in pieces of at most 256 KiB. */
static inline void fill_bytes(int fd, unsigned char byte, unsigned long off,
			      unsigned long size)
{
	static unsigned char buf[256 * KiB];
	unsigned long done, n;

	memset(buf, byte, sizeof(buf));
	for (done = 0; done < size; done += n) {
		n = size - done < sizeof(buf) ? size - done : sizeof(buf);
		if (pwrite(fd, buf, n, off + done) != (ssize_t)n)
			tap_die("pwrite");
	}
}

/* Writes @s to a knob file; returns 0 or the errno of open/write. */
static inline int write_knob(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : errno;
}

/* Sets a numeric knob, or bails out. */
static inline void set_knob_num(const char *path, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", v);
	if (write_knob(path, buf))
		tap_die("set %s", path);
}

/* Does /proc/self/maps have a mapping that starts at @addr? */
static inline int mapped_at(void *addr)
{
	char line[512];
	unsigned long start;
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		tap_die("open maps");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-", &start) == 1 &&
		    start == (unsigned long)addr)
			found = 1;
	fclose(f);
	return found;
}

static inline long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

/* The byte at file offset @off of file number @id. */
static inline unsigned char pattern(unsigned int id, unsigned long off)
{
	return (unsigned char)(id * 131 + (off / PG) * 7 + 1);
}

/* Writes @size bytes of pattern @id in @chunk-sized write() calls. */
static inline int make_pattern_file(const char *path, unsigned int id,
				    unsigned long size, unsigned long chunk)
{
	unsigned char *buf = malloc(chunk);
	unsigned long off, i;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || !buf)
		tap_die("create %s", path);
	for (off = 0; off < size; off += chunk) {
		for (i = 0; i < chunk; i += PG)
			memset(buf + i, pattern(id, off + i), PG);
		if (pwrite(fd, buf, chunk, off) != (ssize_t)chunk)
			tap_die("write %s", path);
	}
	free(buf);
	return fd;
}

static inline void *map_daxvm(int fd, unsigned long len, int prot)
{
	return mmap(NULL, len, prot, MAP_SHARED_VALIDATE | MAP_DAXVM, fd, 0);
}

/* First page of [p, p + len) whose bytes differ from pattern @id, or -1. */
static inline long check_pattern(const unsigned char *p, unsigned int id,
				 unsigned long base, unsigned long len)
{
	unsigned long off;

	for (off = 0; off < len; off += PG)
		if (p[off] != pattern(id, base + off) ||
		    p[off + PG - 1] != pattern(id, base + off))
			return off / PG;
	return -1;
}

/* Touch one byte per page (read); returns a checksum. */
static inline unsigned long touch(const volatile unsigned char *p,
				  unsigned long len)
{
	unsigned long off, sum = 0;

	for (off = 0; off < len; off += PG)
		sum += p[off];
	return sum;
}

/* Run @fn in a child; returns its signal number, or 0 on exit(0), -1 else. */
static inline int in_child(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_die("fork");
	if (!pid) {
		/* The parent's handlers would longjmp into its stack frame. */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		fn(arg);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		return WTERMSIG(status);
	return WEXITSTATUS(status) ? -1 : 0;
}

static sigjmp_buf fault_jmp;
static volatile int fault_sig;

static inline void fault_handler(int sig)
{
	fault_sig = sig;
	siglongjmp(fault_jmp, 1);
}

static inline void catch_faults(void)
{
	struct sigaction sa = { .sa_handler = fault_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* Write one byte; returns 0 or the signal it raised. */
static inline int try_write(volatile unsigned char *p, unsigned char v)
{
	fault_sig = 0;
	if (!sigsetjmp(fault_jmp, 1))
		*p = v;
	return fault_sig;
}

/* Read one byte into *v; returns 0 or the signal it raised. */
static inline int try_read(volatile unsigned char *p, unsigned char *v)
{
	fault_sig = 0;
	if (!sigsetjmp(fault_jmp, 1))
		*v = *p;
	return fault_sig;
}

#endif

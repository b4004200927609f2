// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD shim: run an unmodified program with MAP_DAXVM. Every
 * MAP_SHARED mapping of a regular file is first tried as
 * MAP_SHARED_VALIDATE | MAP_DAXVM; where the kernel refuses (not DAX, not
 * ext4, no DaxVM) the original call is made unchanged. Used to drive
 * stress-ng's mmap stressors through attached file tables. Calls the
 * kernel refuses stay as they were: stock kernels refuse MAP_FIXED_NOREPLACE
 * with MAP_SHARED_VALIDATE (it is not in LEGACY_MAP_MASK), for example.
 *
 *   DAXVM_PRELOAD_STATS=FILE  at exit of the first process, append
 *                             "attached N fallback M" (all its forked
 *                             children included) to FILE
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/daxvm.h>

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

static mmap_fn real_mmap;
/*
 * In a shared page: forked children (stress-ng's workers) count into it
 * and leave with _exit(), so only the first process reports.
 */
static struct {
	unsigned long attached, fallback;
} *stats, no_stats;
static pid_t first_pid;

static void report(void)
{
	const char *path = getenv("DAXVM_PRELOAD_STATS");
	int fd;

	if (!path || getpid() != first_pid)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0)
		return;
	dprintf(fd, "attached %lu fallback %lu\n", stats->attached, stats->fallback);
	close(fd);
}

__attribute__((constructor)) static void init(void)
{
	if (real_mmap)
		return;
	real_mmap = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
	stats = real_mmap(NULL, sizeof(*stats), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (stats == MAP_FAILED)
		stats = &no_stats;
	first_pid = getpid();
	atexit(report);
}

static void *daxvm_mmap(void *addr, size_t len, int prot, int flags, int fd,
			off_t off)
{
	struct stat st;
	void *p;
	int saved = errno;

	if (!real_mmap)
		init();
	if (fd < 0 || (flags & MAP_TYPE) != MAP_SHARED ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return real_mmap(addr, len, prot, flags, fd, off);
	p = real_mmap(addr, len, prot,
		      (flags & ~MAP_TYPE) | MAP_SHARED_VALIDATE | MAP_DAXVM,
		      fd, off);
	if (p != MAP_FAILED) {
		__atomic_add_fetch(&stats->attached, 1, __ATOMIC_RELAXED);
		return p;
	}
	/* Refused as DaxVM: behave exactly like the unmodified call. */
	errno = saved;
	__atomic_add_fetch(&stats->fallback, 1, __ATOMIC_RELAXED);
	return real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return daxvm_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return daxvm_mmap(addr, len, prot, flags, fd, off);
}

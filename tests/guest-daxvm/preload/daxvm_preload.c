// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD shim: run an unmodified program with MAP_DAXVM. Every
 * MAP_SHARED mapping of a regular file is first tried as
 * MAP_SHARED_VALIDATE | MAP_DAXVM; where the kernel refuses (not DAX, not
 * ext4, no DaxVM) the original call is made unchanged. Used to drive
 * stress-ng's mmap stressors through attached file tables.
 *
 *   DAXVM_PRELOAD_STATS=FILE  at exit, append "attached N fallback M" to FILE
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
static unsigned long n_attached, n_fallback;

static void report(void)
{
	const char *path = getenv("DAXVM_PRELOAD_STATS");
	int fd;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd < 0)
		return;
	dprintf(fd, "attached %lu fallback %lu\n", n_attached, n_fallback);
	close(fd);
}

__attribute__((constructor)) static void init(void)
{
	real_mmap = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
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
		__atomic_add_fetch(&n_attached, 1, __ATOMIC_RELAXED);
		return p;
	}
	/* Refused as DaxVM: behave exactly like the unmodified call. */
	errno = saved;
	__atomic_add_fetch(&n_fallback, 1, __ATOMIC_RELAXED);
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

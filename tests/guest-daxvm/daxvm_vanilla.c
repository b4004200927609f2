// SPDX-License-Identifier: GPL-2.0
/*
 * The series built with CONFIG_DAXVM=n must behave as the unpatched 6.1
 * kernel at every interface DaxVM adds:
 *
 *   daxvm_vanilla EXT4_DAX_DIR DEVNAME
 *
 * no /proc/fs/daxvm and no daxvm_* knobs; the DaxVM mmap flags are unknown
 * bits (EOPNOTSUPP with MAP_SHARED_VALIDATE, ignored with MAP_SHARED, so
 * the first touch faults as usual); MAP_SYNC still works on DAX; the
 * daxvm_flush_zombies syscall is ENOSYS.
 * Skips (exit 4) on a kernel with DaxVM.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/daxvm.h>
#include "tap.h"

#define LEN (4UL << 20)

/* errno of mmap(@flags) on @fd, 0 if it succeeded (and is unmapped again). */
static int mmap_errno(int fd, int flags)
{
	void *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, LEN);
	return 0;
}

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* Files named daxvm* in @dir. */
static int daxvm_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "daxvm", 5);
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	char path[4096], knobs[512];
	volatile char *p;
	long before, faults;
	int fd, e1, e2, e3;
	unsigned long off;

	tap_usage_if(argc != 3, argv[0], "EXT4_DAX_DIR DEVNAME");
	tap_skip_all_if(access("/proc/fs/daxvm", F_OK) == 0, "kernel with DaxVM");
	tap_plan(6);
	snprintf(knobs, sizeof(knobs), "/proc/fs/ext4/%s", argv[2]);
	tap_result(daxvm_entries(knobs) == 0, "no daxvm_* knobs in %s, no /proc/fs/daxvm", knobs);

	snprintf(path, sizeof(path), "%s/daxvm_vanilla.%d", argv[1], getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || fallocate(fd, 0, 0, LEN))
		tap_die("create %s", path);

	e1 = mmap_errno(fd, MAP_SHARED_VALIDATE | MAP_DAXVM);
	e2 = mmap_errno(fd, MAP_SHARED_VALIDATE | MAP_DAXVM | MAP_NO_MSYNC);
	e3 = mmap_errno(fd, MAP_SHARED_VALIDATE | MAP_DAXVM_BATCHING);
	tap_result(e1 == EOPNOTSUPP && e2 == EOPNOTSUPP && e3 == EOPNOTSUPP,
		   "MAP_SHARED_VALIDATE with DaxVM flags: unknown bits, EOPNOTSUPP (%s, %s, %s)",
		   strerror(e1), strerror(e2), strerror(e3));
	tap_result(mmap_errno(fd, MAP_SHARED_VALIDATE | MAP_SYNC) == 0,
		   "MAP_SYNC still works on the DAX file");

	/* Ignored without validation: a plain DAX mapping that faults. */
	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_DAXVM, fd, 0);
	tap_result(p != MAP_FAILED, "MAP_SHARED | MAP_DAXVM: the flag is ignored, mmap succeeds");
	if (p == MAP_FAILED)
		tap_die("mmap");
	before = minor_faults();
	for (off = 0; off < LEN; off += 4096)
		p[off] = 1;
	faults = minor_faults() - before;
	tap_result(faults > 0, "its first touch takes page faults as usual (%ld for %lu pages)",
		   faults, LEN / 4096);
	munmap((void *)p, LEN);
	close(fd);
	unlink(path);

	/* errno read first: argument evaluation order is unspecified. */
	e1 = syscall(__NR_daxvm_flush_zombies, 0) == -1 ? errno : 0;
	tap_result(e1 == ENOSYS, "daxvm_flush_zombies(2): ENOSYS (%s)", strerror(e1));
	return tap_finish();
}

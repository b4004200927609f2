// SPDX-License-Identifier: GPL-2.0
/*
 * MAP_DAXVM flag handling: which mmap() calls must succeed and which must
 * fail with which errno.
 *
 *   daxvm_flags EXT4_DAX_DIR XFS_DAX_DIR NON_DAX_DIR
 *
 * Skips (exit 4) on a kernel without DaxVM (no /proc/fs/daxvm/version).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/daxvm.h>
#include "tap.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif

#define LEN (4UL << 20)
#define UNKNOWN_FLAG 0x2000000	/* free in 6.1 and not used by DaxVM */

static char path[3][4096];

static int make_file(int i, const char *dir, int oflags)
{
	int fd;

	snprintf(path[i], sizeof(path[i]), "%s/daxvm_flags.%d.%d", dir, getpid(), i);
	fd = open(path[i], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		tap_die("open %s", path[i]);
	if (ftruncate(fd, LEN))
		tap_die("ftruncate %s", path[i]);
	if (oflags != O_RDWR) {
		close(fd);
		fd = open(path[i], oflags);
		if (fd < 0)
			tap_die("reopen %s", path[i]);
	}
	return fd;
}

/* Returns 0 if the mmap succeeded (and unmaps it), else errno. */
static int try_map(int fd, int prot, int flags)
{
	void *p = mmap(NULL, LEN, prot, flags, fd, 0);

	if (p == MAP_FAILED)
		return errno;
	if (prot & PROT_WRITE)
		memset(p, 0x5a, 4096);
	if ((prot & PROT_READ) && ((volatile char *)p)[LEN - 1] != 0)
		return -1;
	munmap(p, LEN);
	return 0;
}

static int check_version(void)
{
	char buf[32] = "";
	FILE *f = fopen("/proc/fs/daxvm/version", "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return atoi(buf) == DAXVM_UAPI_VERSION && strchr(buf, '\n') ? 0 : 1;
}

int main(int argc, char **argv)
{
	int ext4, xfs, other, ro, e;

	tap_usage_if(argc != 4, argv[0], "EXT4_DAX_DIR XFS_DAX_DIR NON_DAX_DIR");
	tap_skip_all_if(check_version() < 0, "no /proc/fs/daxvm/version: kernel without DaxVM");
	tap_plan(11);
	tap_result(check_version() == 0, "/proc/fs/daxvm/version is \"%d\\n\"",
		   DAXVM_UAPI_VERSION);

	ext4 = make_file(0, argv[1], O_RDWR);
	xfs = make_file(1, argv[2], O_RDWR);
	other = make_file(2, argv[3], O_RDWR);

	e = try_map(ext4, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DAXVM);
	tap_result(e == 0, "MAP_SHARED_VALIDATE|MAP_DAXVM on ext4-DAX works (errno %d)", e);
	e = try_map(ext4, PROT_READ, MAP_SHARED_VALIDATE | MAP_DAXVM);
	tap_result(e == 0, "PROT_READ MAP_DAXVM on ext4-DAX works (errno %d)", e);
	e = try_map(ext4, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_DAXVM);
	tap_result(e == 0, "plain MAP_SHARED ignores MAP_DAXVM (errno %d)", e);
	e = try_map(ext4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_DAXVM);
	tap_result(e == EINVAL, "MAP_PRIVATE|MAP_DAXVM fails with EINVAL (errno %d)", e);
	e = try_map(-1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_DAXVM);
	tap_result(e == EINVAL, "anonymous MAP_PRIVATE|MAP_DAXVM fails with EINVAL (errno %d)", e);
	e = try_map(other, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DAXVM);
	tap_result(e == EOPNOTSUPP, "MAP_DAXVM on non-DAX %s fails with EOPNOTSUPP (errno %d)",
		   argv[3], e);
	e = try_map(xfs, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DAXVM);
	tap_result(e == EOPNOTSUPP, "MAP_DAXVM on xfs-DAX fails with EOPNOTSUPP (errno %d)", e);
	e = try_map(ext4, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | UNKNOWN_FLAG);
	tap_result(e == EOPNOTSUPP, "unknown flag %#x with MAP_SHARED_VALIDATE: EOPNOTSUPP (errno %d)",
		   UNKNOWN_FLAG, e);

	ro = make_file(0, argv[1], O_RDONLY);
	e = try_map(ro, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_DAXVM);
	tap_result(e == EACCES, "writable MAP_DAXVM of an O_RDONLY fd fails with EACCES (errno %d)", e);
	e = try_map(ro, PROT_READ, MAP_SHARED_VALIDATE | MAP_DAXVM);
	tap_result(e == 0, "read-only MAP_DAXVM of an O_RDONLY fd works (errno %d)", e);

	close(ro);
	close(ext4);
	close(xfs);
	close(other);
	for (e = 0; e < 3; e++)
		unlink(path[e]);
	return tap_finish();
}

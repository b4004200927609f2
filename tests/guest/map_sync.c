// SPDX-License-Identifier: GPL-2.0
/*
 * MAP_SYNC is the stock kernel's proof that a mapping is real DAX: it must
 * succeed on a file of a DAX mount and fail with EOPNOTSUPP elsewhere.
 *
 *   map_sync DAX_DIR NON_DAX_DIR
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "tap.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

static int try_map_sync(const char *dir, int *err)
{
	char path[4096];
	void *p;
	int fd;

	snprintf(path, sizeof(path), "%s/map_sync.%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		tap_die("open %s", path);
	if (ftruncate(fd, 2 << 20))
		tap_die("ftruncate %s", path);
	p = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE,
		 MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	*err = p == MAP_FAILED ? errno : 0;
	if (p != MAP_FAILED) {
		/* A write fault on a MAP_SYNC mapping must work too. */
		memset(p, 0xa5, 4096);
		munmap(p, 2 << 20);
	}
	close(fd);
	unlink(path);
	return p != MAP_FAILED;
}

int main(int argc, char **argv)
{
	int ok, err = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s DAX_DIR NON_DAX_DIR\n", argv[0]);
		return 2;
	}
	tap_plan(2);
	ok = try_map_sync(argv[1], &err);
	tap_result(ok, "MAP_SYNC on %s succeeds (errno %d)", argv[1], err);
	try_map_sync(argv[2], &err);
	tap_result(err == EOPNOTSUPP, "MAP_SYNC on %s fails with EOPNOTSUPP (errno %d)",
		   argv[2], err);
	return tap_finish();
}

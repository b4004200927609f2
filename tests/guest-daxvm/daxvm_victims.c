// SPDX-License-Identifier: GPL-2.0
/*
 * Maps files that a fuzzer is changing, again and again:
 *   daxvm_victims DIR SECONDS
 *
 * Every regular file in DIR is mapped MAP_DAXVM read-only and read page by
 * page (SIGBUS where the fuzzer truncated it meanwhile is expected), so
 * attach, fill and detach meet the fuzzer's truncates, fallocates, writes
 * and remaps of the same files. It checks nothing of the data (the fuzzer
 * writes random bytes); the suite runner fails the test on any kernel
 * splat. Exits 1 if no mapping was ever made.
 */
#include "daxvm_util.h"
#include <dirent.h>

static long map_one(int dfd, const char *name)
{
	unsigned long off, len;
	unsigned char v, *p;
	struct stat st;
	long pages = 0;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		close(fd);
		return -1;
	}
	len = st.st_size < (off_t)(64 * MiB) ? st.st_size : 64 * MiB;
	p = map_daxvm(fd, len, PROT_READ);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	for (off = 0; off < len; off += PG) {
		if (try_read(p + off, &v))
			break;	/* truncated under us: SIGBUS */
		pages++;
	}
	munmap(p, len);
	return pages;
}

int main(int argc, char **argv)
{
	long maps = 0, pages = 0, n;
	struct dirent *de;
	double t0;
	DIR *d;

	tap_usage_if(argc != 3, argv[0], "DIR SECONDS");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	catch_faults();
	tap_plan(1);
	for (t0 = now(); now() - t0 < atof(argv[2]);) {
		d = opendir(argv[1]);
		if (!d)
			tap_die("opendir %s", argv[1]);
		while ((de = readdir(d))) {
			n = map_one(dirfd(d), de->d_name);
			if (n >= 0) {
				maps++;
				pages += n;
			}
		}
		closedir(d);
	}
	tap_result(maps > 0, "%ld MAP_DAXVM mappings of the fuzzer's files, %ld pages read",
		   maps, pages);
	return tap_finish();
}

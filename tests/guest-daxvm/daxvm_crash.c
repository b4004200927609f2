// SPDX-License-Identifier: GPL-2.0
/*
 * Crash consistency of the file tables: a churn of allocations, MAP_DAXVM
 * writes, truncates and punched holes is cut off by killing the VM; after
 * the reboot every file must read the same through MAP_DAXVM as through
 * read() (the tables match the extent tree) and e2fsck must be clean (the
 * daxvm-fsck test).
 *
 *   daxvm_crash churn DIR SECONDS   run until killed (or SECONDS elapse)
 *   daxvm_crash verify DIR          compare every file in DIR
 */
#include "daxvm_util.h"
#include <dirent.h>
#include <linux/falloc.h>

#define NFILES 8
#define MAXSIZE (24 * MiB)

static unsigned long rnd(unsigned long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* One random operation on @fd; every path keeps the file valid. */
static void churn_op(int fd, unsigned long *s, unsigned char *buf)
{
	struct stat st;
	unsigned long off, len, size;
	unsigned char *p;

	if (fstat(fd, &st))
		tap_die("fstat");
	size = st.st_size;
	off = rnd(s) % MAXSIZE & ~(PG - 1);
	len = (rnd(s) % (2 * MiB) + PG) & ~(PG - 1);
	switch (rnd(s) % 6) {
	case 0: /* append or write at a random offset: allocates */
	case 1:
		memset(buf, rnd(s), len);
		if (pwrite(fd, buf, len, off) != (ssize_t)len)
			tap_die("pwrite");
		break;
	case 2: /* write through the attached tables */
		if (size < PG)
			break;
		p = map_daxvm(fd, size, PROT_READ | PROT_WRITE);
		if (p == MAP_FAILED)
			tap_die("mmap MAP_DAXVM");
		off %= size & ~(PG - 1);
		len = len < size - off ? len : size - off;
		memset(p + off, rnd(s), len);
		if (rnd(s) % 4 == 0 && msync(p, size, MS_SYNC))
			tap_die("msync");
		munmap(p, size);
		break;
	case 3: /* shrink */
		if (ftruncate(fd, size ? rnd(s) % size : 0))
			tap_die("ftruncate");
		break;
	case 4:
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
			tap_die("punch");
		break;
	case 5:
		if (fallocate(fd, 0, off, len) || fdatasync(fd))
			tap_die("fallocate");
		break;
	}
}

static int churn(const char *dir, int secs)
{
	unsigned long seed = getpid() * 2654435761UL + 1;
	unsigned char *buf = malloc(3 * MiB);
	char path[4096];
	int fds[NFILES], i;
	double end = now() + secs;
	unsigned long ops = 0;

	if (!buf || (mkdir(dir, 0755) && errno != EEXIST))
		tap_die("mkdir %s", dir);
	for (i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		fds[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fds[i] < 0)
			tap_die("create %s", path);
	}
	snprintf(path, sizeof(path), "%s/.started", dir);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	sync();
	while (now() < end) {
		churn_op(fds[rnd(&seed) % NFILES], &seed, buf);
		ops++;
	}
	printf("churn: %lu operations, not killed within %d s\n", ops, secs);
	return 0;
}

static int verify(const char *dir)
{
	char path[4096];
	unsigned long files = 0, bytes = 0, bad = 0, off, n;
	unsigned char *buf = malloc(MiB);
	struct dirent *de;
	struct stat st;
	DIR *d;

	tap_plan(2);
	snprintf(path, sizeof(path), "%s/.started", dir);
	if (!buf || access(path, F_OK))
		tap_die("%s: no churn ran before this boot", dir);
	d = opendir(dir);
	if (!d)
		tap_die("opendir %s", dir);
	while ((de = readdir(d))) {
		unsigned char *p;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0 || fstat(fd, &st))
			tap_die("open %s", path);
		files++;
		if (!st.st_size) {
			close(fd);
			continue;
		}
		p = map_daxvm(fd, st.st_size, PROT_READ);
		if (p == MAP_FAILED)
			tap_die("mmap MAP_DAXVM %s", path);
		for (off = 0; off < (unsigned long)st.st_size; off += n) {
			n = st.st_size - off < MiB ? st.st_size - off : MiB;
			if (pread(fd, buf, n, off) != (ssize_t)n)
				tap_die("pread %s", path);
			if (memcmp(buf, p + off, n)) {
				printf("# %s: MAP_DAXVM and read() differ in [%lu, %lu)\n",
				       path, off, off + n);
				bad++;
			}
		}
		bytes += st.st_size;
		munmap(p, st.st_size);
		close(fd);
	}
	closedir(d);
	tap_result(files == NFILES, "%lu files survived the crash (want %d)", files, NFILES);
	tap_result(!bad, "MAP_DAXVM matches read() over %lu bytes (%lu MiB ranges differ)",
		   bytes, bad);
	return tap_finish();
}

int main(int argc, char **argv)
{
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	if (argc == 4 && !strcmp(argv[1], "churn"))
		return churn(argv[2], atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "verify"))
		return verify(argv[2]);
	fprintf(stderr, "usage: %s churn DIR SECONDS | verify DIR\n", argv[0]);
	return 2;
}

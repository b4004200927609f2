/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A plain program for libdaxvm-preload.so's tests: it knows nothing of
 * DaxVM and checks that every mmap it makes behaves as without the shim.
 *   usage: preload_probe FILE STEP...
 * FILE must hold at least 8 KiB. Steps:
 *   shared N   map FILE MAP_SHARED read/write N times: data as read(),
 *              a write through the mapping seen by pread(), errno kept
 *              (forked children write their own bytes)
 *   shared64   the same once through mmap64()
 *   validate   once with MAP_SHARED_VALIDATE
 *   private    map FILE MAP_PRIVATE (not counted by the shim)
 *   anon       shared and private anonymous mappings, /dev/zero shared
 *   errno      failing calls keep their errno: bad fd EBADF, PROT_WRITE
 *              on a read-only fd EACCES, unaligned offset EINVAL
 *   fork N     N children each run "shared 1" and leave by _exit
 *   chdir DIR  chdir (the stats file must stay where it was named)
 * Prints "probe ok" and exits 0, or names the first failure and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE 8192

static const char *file;

static void fail(const char *what)
{
	fprintf(stderr, "probe: %s (errno %d: %s)\n", what, errno, strerror(errno));
	exit(1);
}

/*
 * Bytes [SLOTS, 2 * SLOTS) are written through the mappings, one per
 * process (slot), so that concurrent children do not see each other's
 * writes in what they compare.
 */
#define SLOTS 64

static void map_shared(int use64, int type, int slot)
{
	unsigned char want[SIZE], got;
	unsigned char *p;
	int fd = open(file, O_RDWR);
	int at = SLOTS + slot % SLOTS;

	if (fd < 0)
		fail("open");
	if (pread(fd, want, SIZE, 0) != SIZE)
		fail("pread");
	errno = EDOM;
	p = use64 ? mmap64(NULL, SIZE, PROT_READ | PROT_WRITE, type, fd, 0)
		  : mmap(NULL, SIZE, PROT_READ | PROT_WRITE, type, fd, 0);
	if (p == MAP_FAILED)
		fail("mmap shared");
	if (errno != EDOM)
		fail("errno changed by a successful mmap");
	if (memcmp(p, want, SLOTS) != 0 || memcmp(p + 2 * SLOTS, want + 2 * SLOTS, SIZE - 2 * SLOTS) != 0)
		fail("mapping differs from read()");
	p[at] = (unsigned char)(want[at] + 1);
	if (pread(fd, &got, 1, at) != 1 || got != (unsigned char)(want[at] + 1))
		fail("write through the mapping not seen by pread()");
	if (munmap(p, SIZE) != 0)
		fail("munmap");
	close(fd);
}

static void map_private(void)
{
	int fd = open(file, O_RDONLY);
	void *p;

	if (fd < 0)
		fail("open");
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		fail("mmap private");
	((char *)p)[0] ^= 1; /* copy on write: the file keeps its byte */
	munmap(p, SIZE);
	close(fd);
}

static void map_anon(void)
{
	void *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	void *q = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int zero = open("/dev/zero", O_RDWR);
	void *z;

	if (p == MAP_FAILED || q == MAP_FAILED)
		fail("mmap anonymous");
	if (zero < 0)
		fail("open /dev/zero");
	z = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
	if (z == MAP_FAILED)
		fail("mmap /dev/zero");
	munmap(p, SIZE);
	munmap(q, SIZE);
	munmap(z, SIZE);
	close(zero);
}

static void expect_errno(void *p, int want, const char *what)
{
	if (p != MAP_FAILED || errno != want) {
		fprintf(stderr, "probe: %s: got %s errno %d (%s), want errno %d (%s)\n", what,
			p == MAP_FAILED ? "MAP_FAILED" : "a mapping", errno, strerror(errno),
			want, strerror(want));
		exit(1);
	}
}

static void failing_calls(void)
{
	int fd = open(file, O_RDONLY);
	int bad = dup(0);

	if (fd < 0 || bad < 0)
		fail("open");
	close(bad);
	errno = 0;
	expect_errno(mmap(NULL, SIZE, PROT_READ, MAP_SHARED, bad, 0), EBADF, "closed fd");
	errno = 0;
	expect_errno(mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES,
		     "PROT_WRITE on a read-only fd");
	errno = 0;
	expect_errno(mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 100), EINVAL, "unaligned offset");
	close(fd);
}

static void fork_children(int n)
{
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			fail("fork");
		if (pid == 0) {
			map_shared(0, MAP_SHARED, i + 1);
			_exit(0);
		}
	}
	for (int i = 0; i < n; i++) {
		int status;

		if (wait(&status) < 0)
			fail("wait");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "probe: a child failed\n");
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: preload_probe FILE STEP...\n");
		return 2;
	}
	file = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *s = argv[i];
		const char *arg = i + 1 < argc ? argv[i + 1] : "1";

		if (strcmp(s, "shared") == 0) {
			for (int n = atoi(arg); n > 0; n--)
				map_shared(0, MAP_SHARED, 0);
			i++;
		} else if (strcmp(s, "shared64") == 0) {
			map_shared(1, MAP_SHARED, 0);
		} else if (strcmp(s, "validate") == 0) {
			map_shared(0, MAP_SHARED_VALIDATE, 0);
		} else if (strcmp(s, "private") == 0) {
			map_private();
		} else if (strcmp(s, "anon") == 0) {
			map_anon();
		} else if (strcmp(s, "errno") == 0) {
			failing_calls();
		} else if (strcmp(s, "fork") == 0) {
			fork_children(atoi(arg));
			i++;
		} else if (strcmp(s, "chdir") == 0) {
			if (chdir(arg) != 0)
				fail("chdir");
			i++;
		} else {
			fprintf(stderr, "probe: unknown step %s\n", s);
			return 2;
		}
	}
	puts("probe ok");
	return 0;
}

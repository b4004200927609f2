// SPDX-License-Identifier: GPL-2.0
/*
 * Truncate/punch-hole security race: processes read a MAP_DAXVM mapping of
 * file A while another process keeps truncating/punching A, writing other
 * files (which reuse A's freed blocks) and rewriting A. Bytes of A are in
 * 0x00..0x7f, bytes of the other files in 0x80..0xff: a byte >= 0x80 seen
 * through A's mapping is a freed-and-reused block reached through a stale
 * table.
 *
 *   daxvm_race EXT4_DAX_DIR [SECONDS]
 */
#include <sys/syscall.h>
#include "daxvm_util.h"

#define ASIZE (4 * MiB)

static char apath[4096], bpath[4096];

static void churn(double secs)
{
	double end = now() + secs;
	unsigned int round = 0;
	int a = open(apath, O_RDWR), b;

	if (a < 0)
		_exit(3);
	while (now() < end) {
		round++;
		if (round & 1) {
			if (ftruncate(a, 0))
				_exit(4);
		} else {
			if (fallocate(a, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      (round % 4) * MiB / 2, 2 * MiB))
				_exit(5);
		}
		fsync(a);	/* commit, so the freed blocks can be reused */
		b = open(bpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (b < 0)
			_exit(6);
		fill_bytes(b, 0x80 | (round & 0x7f), 0, ASIZE);
		close(b);
		unlink(bpath);
		fill_bytes(a, 1 + (round % 0x7e), 0, ASIZE);
	}
	close(a);
	_exit(0);
}

/* Reads A through MAP_DAXVM; exit status: 0 ok, 1 leak seen, 2 nothing read. */
static void reader(double secs, int remap)
{
	double end = now() + secs;
	unsigned long reads = 0, sigbus = 0, off;
	int fd = open(apath, O_RDONLY);
	unsigned char *p = map_daxvm(fd, ASIZE, PROT_READ), v;
	unsigned int seed = getpid();

	if (fd < 0 || p == MAP_FAILED)
		_exit(3);
	catch_faults();
	while (now() < end) {
		off = (rand_r(&seed) % (ASIZE / PG)) * PG + rand_r(&seed) % PG;
		if (try_read(p + off, &v)) {
			sigbus++;
			continue;
		}
		reads++;
		if (v & 0x80) {
			printf("# leak: byte %#x at offset %#lx\n", v, off);
			_exit(1);
		}
		if (remap && !(reads % 4096)) {
			munmap(p, ASIZE);
			p = map_daxvm(fd, ASIZE, PROT_READ);
			if (p == MAP_FAILED)
				_exit(3);
		}
	}
	printf("# reader %d: %lu reads, %lu SIGBUS\n", getpid(), reads, sigbus);
	fflush(stdout);
	_exit(reads ? 0 : 2);
}

int main(int argc, char **argv)
{
	double secs = argc > 2 ? atof(argv[2]) : 5;
	int status[3], i, fd;
	pid_t pid[3];

	tap_usage_if(argc < 2, argv[0], "EXT4_DAX_DIR [SECONDS]");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	snprintf(apath, sizeof(apath), "%s/daxvm_race.a.%d", argv[1], getpid());
	snprintf(bpath, sizeof(bpath), "%s/daxvm_race.b.%d", argv[1], getpid());
	tap_plan(3);
	fd = open(apath, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		tap_die("create");
	fill_bytes(fd, 1, 0, ASIZE);
	fsync(fd);
	fflush(stdout);
	for (i = 0; i < 3; i++) {
		pid[i] = fork();
		if (!pid[i]) {
			if (i == 0)
				churn(secs);
			reader(secs, i == 2);
		}
	}
	for (i = 0; i < 3; i++)
		waitpid(pid[i], &status[i], 0);
	tap_result(WIFEXITED(status[0]) && !WEXITSTATUS(status[0]),
		   "truncate/punch/reuse loop ran (status %#x)", status[0]);
	tap_result(WIFEXITED(status[1]) && !WEXITSTATUS(status[1]),
		   "long-lived MAP_DAXVM reader never saw another file's data (status %#x)",
		   status[1]);
	tap_result(WIFEXITED(status[2]) && !WEXITSTATUS(status[2]),
		   "remapping MAP_DAXVM reader never saw another file's data (status %#x)",
		   status[2]);
	close(fd);
	unlink(apath);
	return tap_finish();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * A fault never puts a private table into a shared directory:
 *   daxvm_pudrace DIR ROUNDS
 * DIR must be an ext4-DAX mount with 1 GiB free.
 *
 * A read-only MAP_DAXVM mapping of a whole GiB takes the file's directory
 * (a PMD page shared by every process) with one PUD entry. A fork child
 * starts with that entry empty; two of its threads touch two chunks of
 * the GiB at once. One attaches the directory; the other must then go
 * through it, not allocate a PMD slot inside it and install its own PTE
 * table there (every process would read through that table, which no
 * trim ever reaches, and the child's page-table count would leak: the
 * kernel reports "non-zero pgtables_bytes" when it exits). Afterwards a
 * page of the second chunk is punched and its block reused by a secret:
 * no process may read the secret through the directory.
 */
#include "daxvm_util.h"
#include <pthread.h>
#include <stdatomic.h>

#define GiB		(1024 * MiB)
#define ID		11
#define SECRET		0x6b

static unsigned char *map;
static atomic_int go;
static unsigned long offs[2] = { 100 * MiB, 600 * MiB + 3 * PG };

static void *toucher(void *arg)
{
	unsigned long off = *(unsigned long *)arg;

	while (!atomic_load(&go))
		;
	return (void *)(unsigned long)*(volatile unsigned char *)(map + off);
}

static void child_race(void *arg)
{
	pthread_t t[2];
	int i;

	(void)arg;
	for (i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, toucher, &offs[i]))
			_exit(2);
	atomic_store(&go, 1);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

static long kernel_reports(const char *what)
{
	char cmd[256];
	FILE *f;
	long n = -1;

	snprintf(cmd, sizeof(cmd), "dmesg | grep -c '%s'", what);
	f = popen(cmd, "r");
	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

int main(int argc, char **argv)
{
	long rounds, r, failed = 0, leaks0, leaks, secret = 0;
	char path[512], spath[512];
	unsigned char v;
	int fd, sfd, i;

	tap_usage_if(argc != 3, argv[0], "DIR ROUNDS");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	rounds = atol(argv[2]);
	snprintf(path, sizeof(path), "%s/daxvm_pudrace.%d", argv[1], getpid());
	fd = make_pattern_file(path, ID, GiB, 2 * MiB);
	map = mmap(NULL, GiB, PROT_READ, MAP_SHARED_VALIDATE | MAP_DAXVM, fd, 0);
	if (map == MAP_FAILED)
		tap_die("mmap 1 GiB MAP_DAXVM");
	tap_plan(2);
	leaks0 = kernel_reports("non-zero pgtables_bytes");
	for (r = 0; r < rounds; r++)
		if (in_child(child_race, NULL))
			failed++;
	leaks = kernel_reports("non-zero pgtables_bytes");
	tap_result(!failed && leaks == leaks0,
		   "%ld fork children raced two first touches in one GiB: %ld failed, %ld page-table leaks reported",
		   rounds, failed, leaks - leaks0);

	/* The chunk of the second touch: punch a page, reuse its block. */
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offs[1], PG))
		tap_die("punch");
	for (i = 0; i < 16; i++) {
		snprintf(spath, sizeof(spath), "%s/pudrace-secret.%d", argv[1], i);
		sfd = open(spath, O_CREAT | O_TRUNC | O_RDWR, 0600);
		if (sfd < 0)
			tap_die("create %s", spath);
		fill_bytes(sfd, SECRET, 0, 64 * KiB);
		close(sfd);
	}
	catch_faults();
	for (r = 0; r < rounds; r++) {
		if (try_read(map + offs[1], &v) == 0 && v == SECRET)
			secret++;
		munmap(map, GiB);
		map = mmap(NULL, GiB, PROT_READ, MAP_SHARED_VALIDATE | MAP_DAXVM, fd, 0);
		if (map == MAP_FAILED)
			tap_die("mmap again");
	}
	tap_result(secret == 0, "the punched page never reads another file's secret (%ld times)",
		   secret);
	for (i = 0; i < 16; i++) {
		snprintf(spath, sizeof(spath), "%s/pudrace-secret.%d", argv[1], i);
		unlink(spath);
	}
	munmap(map, GiB);
	close(fd);
	unlink(path);
	return tap_finish();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * A page reference taken through a PUD directory never outlives the block:
 *   daxvm_pudpin DIR SECONDS
 * DIR must be an ext4-DAX mount with 1 GiB and a little more free.
 *
 * A read-only MAP_DAXVM mapping of a whole GiB reaches the file's tables
 * through one PUD entry (the file's directory). vmsplice() takes
 * references to mapped pages (GUP-fast, through that directory) and puts
 * them in a pipe. A hole punch must wait until such references are gone
 * before the block is freed, also for a reference taken while the punch
 * detaches the directory. One thread splices the same page again and
 * again and reads it back from the pipe a moment later; another punches
 * the whole 2 MiB chunk of that page (its table leaves the tree, so the
 * directory is dropped), writes a secret into new files (so the freed
 * blocks are reused at once) and writes the chunk back. The pipe must only ever show the
 * file's byte or zeroes, never the secret.
 */
#include "daxvm_util.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sys/uio.h>

#define GiB		(1024 * MiB)
#define ID		7
#define SECRET		0x5e
#define SECRET_FILES	8
#define SECRET_SIZE	(256 * KiB)
#define CHUNK		(2 * MiB)

static char dir[512];
static int fd;
static unsigned char *map;
static unsigned long target;	/* file offset of the page raced for */
static double seconds;
static atomic_int stop;
static atomic_long splices, secrets_seen, wrong_seen, punches;

static void *splicer(void *arg)
{
	unsigned char buf[PG];
	struct iovec iov;
	int p[2];
	ssize_t n;
	long i;

	(void)arg;
	if (pipe(p))
		tap_die("pipe");
	while (!atomic_load(&stop)) {
		iov.iov_base = map + target;
		iov.iov_len = PG;
		if (vmsplice(p[1], &iov, 1, 0) != (ssize_t)PG)
			continue;	/* a hole: nothing to pin */
		atomic_fetch_add(&splices, 1);
		/* Hold the reference while the other thread punches. */
		usleep(200);
		n = read(p[0], buf, PG);
		for (i = 0; i < n; i++) {
			if (buf[i] == SECRET) {
				atomic_fetch_add(&secrets_seen, 1);
				break;
			}
			if (buf[i] && buf[i] != pattern(ID, target)) {
				atomic_fetch_add(&wrong_seen, 1);
				break;
			}
		}
	}
	close(p[0]);
	close(p[1]);
	return NULL;
}

static unsigned long base;	/* the chunk of @target */
static atomic_int punched;

static void write_secrets(int round);

/* Punches the chunk and reuses its blocks, then says so. */
static void *punch_and_reuse(void *arg)
{
	(void)arg;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, base,
		      CHUNK))
		tap_die("punch");
	write_secrets(0);
	atomic_store(&punched, 1);
	return NULL;
}

/*
 * A reference held in a pipe across the whole punch: the punch must wait
 * for it (as for any DAX mapping), and the pipe must read the file's byte.
 */
static void held_pin(void)
{
	unsigned char buf[PG];
	struct iovec iov = { map + target, PG };
	int p[2], waited;
	pthread_t t;
	double t0;

	if (pipe(p) || vmsplice(p[1], &iov, 1, 0) != (ssize_t)PG)
		tap_die("vmsplice the page");
	if (pthread_create(&t, NULL, punch_and_reuse, NULL))
		tap_die("pthread_create");
	for (t0 = now(); now() - t0 < 2 && !atomic_load(&punched);)
		usleep(10000);
	waited = !atomic_load(&punched);
	if (read(p[0], buf, PG) != (ssize_t)PG)
		tap_die("read the pipe");
	pthread_join(t, NULL);
	tap_result(waited && buf[0] == pattern(ID, target) && buf[PG - 1] == buf[0],
		   "a pin held in a pipe: the punch %s for it, the pipe read 0x%02x (file 0x%02x, secret 0x%02x)",
		   waited ? "waited" : "did not wait", buf[0], pattern(ID, target), SECRET);
	close(p[0]);
	close(p[1]);
}

static void write_secrets(int round)
{
	char path[600];
	int i, sfd;

	for (i = 0; i < SECRET_FILES; i++) {
		snprintf(path, sizeof(path), "%s/pudpin-secret.%d", dir, i);
		sfd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
		if (sfd < 0)
			tap_die("create %s", path);
		fill_bytes(sfd, SECRET, 0, SECRET_SIZE);
		close(sfd);
		if (round & 1)
			unlink(path);
	}
}

int main(int argc, char **argv)
{
	unsigned char *chunk = malloc(CHUNK);
	unsigned long off;
	char path[600];
	pthread_t t;
	double t0;
	int round;

	tap_usage_if(argc != 3, argv[0], "DIR SECONDS");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	seconds = atof(argv[2]);
	snprintf(path, sizeof(path), "%s/daxvm_pudpin.%d", dir, getpid());
	fd = make_pattern_file(path, ID, GiB, 2 * MiB);
	map = mmap(NULL, GiB, PROT_READ, MAP_SHARED_VALIDATE | MAP_DAXVM, fd, 0);
	if (map == MAP_FAILED)
		tap_die("mmap 1 GiB MAP_DAXVM");
	/* A page whose byte is neither zero nor the secret. */
	for (target = 300 * MiB + 5 * PG;
	     pattern(ID, target) == SECRET || !pattern(ID, target);
	     target += PG)
		;
	base = target & ~(CHUNK - 1);
	if (!chunk)
		tap_die("malloc");
	for (off = 0; off < CHUNK; off += PG)
		memset(chunk + off, pattern(ID, base + off), PG);
	tap_plan(3);
	tap_result((map[target] == pattern(ID, target)),
		   "1 GiB mapped read-only, the page at %lu MiB reads right", target / MiB);

	held_pin();
	if (pwrite(fd, chunk, CHUNK, base) != (ssize_t)CHUNK)
		tap_die("rewrite the chunk");
	(void)*(volatile unsigned char *)(map + target);

	if (pthread_create(&t, NULL, splicer, NULL))
		tap_die("pthread_create");
	for (t0 = now(), round = 0; now() - t0 < seconds; round++) {
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      base, CHUNK))
			tap_die("punch");
		atomic_fetch_add(&punches, 1);
		write_secrets(round);
		if (pwrite(fd, chunk, CHUNK, base) != (ssize_t)CHUNK)
			tap_die("rewrite the chunk");
		/* The next vmsplice attaches the directory again. */
		(void)*(volatile unsigned char *)(map + target);
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	tap_result(atomic_load(&secrets_seen) == 0 && atomic_load(&wrong_seen) == 0,
		   "%ld punches and block reuses raced %ld vmsplice pins through the directory: the pipe showed the secret %ld times, other wrong bytes %ld times",
		   atomic_load(&punches), atomic_load(&splices),
		   atomic_load(&secrets_seen), atomic_load(&wrong_seen));
	munmap(map, GiB);
	free(chunk);
	close(fd);
	unlink(path);
	for (round = 0; round < SECRET_FILES; round++) {
		snprintf(path, sizeof(path), "%s/pudpin-secret.%d", dir, round);
		unlink(path);
	}
	return tap_finish();
}

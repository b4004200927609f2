// SPDX-License-Identifier: GPL-2.0
/*
 * A write through a tracked MAP_DAXVM mapping is a write to the file
 * (kernel patch 0007):
 *   daxvm_freeze DIR
 * DIR must be the mount point of an ext4-DAX file system (it is frozen
 * for a moment).
 *
 * The first store to a chunk updates mtime and ctime, as a DAX write fault
 * does (stat before and after a store and msync). No store reaches a
 * frozen file system: after FIFREEZE, a store to a chunk this process had
 * already made writable and a store to a chunk it never wrote both wait
 * until FITHAW.
 */
#include "daxvm_util.h"
#include <pthread.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

#define SIZE	(8 * MiB)

static int newer(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

static unsigned char *map;
static volatile int done[2];
static volatile pid_t tid[2];

static void *store(void *arg)
{
	long i = (long)arg;

	tid[i] = gettid();
	/* Chunk 0: written before the freeze; chunk 3: never written. */
	map[i ? 3 * 2 * MiB + 5 * PG : 7 * PG] = 0x77;
	done[i] = 1;
	return NULL;
}

/* Is thread @t of this process asleep (S or D)? */
static int asleep(pid_t t)
{
	char path[64], buf[512], *p;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)t);
	f = fopen(path, "r");
	if (!f)
		return 0;
	ok = fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
	     (p[2] == 'S' || p[2] == 'D');
	fclose(f);
	return ok;
}

/* Bit i: thread i has not stored and sleeps. */
static int blocked_stores(void)
{
	int i, b = 0;

	for (i = 0; i < 2; i++)
		if (!done[i] && tid[i] && asleep(tid[i]))
			b |= 1 << i;
	return b;
}

/* Has each thread stored, or gone to sleep trying? */
static int stores_settled(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 2; i++)
		if (!done[i] && !(blocked_stores() & (1 << i)))
			return 0;
	return 1;
}

/* Has the coarse clock (file timestamps) passed @t? */
static int clock_past(void *t)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	return newer(&now, t);
}

int main(int argc, char **argv)
{
	char path[4096];
	struct stat st0, st1;
	pthread_t t[2];
	int fd, dfd, i, blocked;

	tap_usage_if(argc != 2, argv[0], "DIR");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	tap_plan(4);
	snprintf(path, sizeof(path), "%s/daxvm-freeze.%d", argv[1], getpid());
	fd = make_pattern_file(path, 9, SIZE, 2 * MiB);
	if (fsync(fd))
		tap_die("fsync");
	map = map_daxvm(fd, SIZE, PROT_READ | PROT_WRITE);
	if (map == MAP_FAILED)
		tap_die("mmap");
	touch(map, SIZE);

	/* mtime/ctime: a store to a clean chunk, then msync. */
	if (fstat(fd, &st0))
		tap_die("fstat");
	/* A store now gets a later timestamp than the file has. */
	if (wait_for(clock_past, &st0.st_mtim, WAIT_LIMIT,
		     "the clock to pass the file's mtime") < 0)
		tap_die("the coarse clock stands still");
	map[2 * MiB + 3 * PG] = 0x55;
	if (msync(map, SIZE, MS_SYNC))
		tap_die("msync");
	if (fstat(fd, &st1))
		tap_die("fstat");
	tap_result(newer(&st1.st_mtim, &st0.st_mtim),
		   "a store through the mapping updated mtime (%ld.%09ld -> %ld.%09ld)",
		   (long)st0.st_mtim.tv_sec, st0.st_mtim.tv_nsec,
		   (long)st1.st_mtim.tv_sec, st1.st_mtim.tv_nsec);
	tap_result(newer(&st1.st_ctim, &st0.st_ctim),
		   "... and ctime (%ld.%09ld -> %ld.%09ld)",
		   (long)st0.st_ctim.tv_sec, st0.st_ctim.tv_nsec,
		   (long)st1.st_ctim.tv_sec, st1.st_ctim.tv_nsec);

	/* Chunk 0 writable in this process, not msync'd. */
	map[PG] = 0x66;
	dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		tap_die("open %s", argv[1]);
	if (ioctl(dfd, FIFREEZE, 0))
		tap_die("FIFREEZE");
	for (i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, store, (void *)(long)i))
			tap_die("pthread_create");
	/*
	 * Wait until each thread has stored or sleeps in its store (it may
	 * take long to get there on a loaded host); a store that waits for
	 * FITHAW still sleeps half a second later.
	 */
	blocked = 0;
	if (wait_for(stores_settled, NULL, WAIT_LIMIT,
		     "both threads to store or to sleep in their store") >= 0) {
		blocked = 3;
		for (i = 0; i < 50 && blocked; i++) {
			usleep(10000);
			blocked &= blocked_stores();
		}
	}
	if (ioctl(dfd, FITHAW, 0))
		tap_die("FITHAW");
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	tap_result(blocked & 1,
		   "a store to a chunk written before FIFREEZE waited for FITHAW");
	tap_result(blocked & 2,
		   "a store to a chunk never written waited for FITHAW");
	munmap(map, SIZE);
	close(fd);
	close(dfd);
	unlink(path);
	return tap_finish();
}

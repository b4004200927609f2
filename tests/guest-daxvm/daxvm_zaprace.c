// SPDX-License-Identifier: GPL-2.0
/*
 * Unmapping never edits a file's shared table:
 *   daxvm_zaprace DIR SECONDS
 *
 * MADV_DONTNEED zaps under mmap_lock held for read, so a page fault of
 * another thread of the same process may attach the file's table to a
 * PMD entry the zap has just found empty. If the zap then goes on to
 * clear PTEs through that entry, it clears them in the table every
 * process shares. An observer process keeps the file attached and reads
 * every page again and again: it must never fault (an entry gone from the
 * shared table faults) and must always read the file's bytes. The racing
 * process maps the file anew each round (PROT_NONE, then PROT_READ: the
 * PMD entries start empty and the first touch attaches), with one thread touching each chunk and one
 * zapping the whole mapping. Boot with preempt=full and two vCPUs to
 * widen the window.
 */
#include "daxvm_util.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define SIZE	(8 * MiB)
#define ID	29

static int fd;
static double seconds;
static atomic_int stop, busy;
static _Atomic(unsigned char *) cur;

static void *toucher(void *arg)
{
	unsigned long off;
	unsigned char *p;

	(void)arg;
	while (!atomic_load(&stop)) {
		/* busy, then cur: the racer clears cur, then waits for !busy. */
		atomic_store(&busy, 1);
		p = atomic_load(&cur);
		if (p)
			for (off = 0; off < SIZE; off += 2 * MiB)
				(void)*(volatile unsigned char *)(p + off + PG);
		atomic_store(&busy, 0);
	}
	return NULL;
}

/* Maps, races a toucher against MADV_DONTNEED, unmaps; round after round. */
static void racer(void *arg)
{
	pthread_t t;
	double t0 = now();
	unsigned char *p;
	long rounds = 0;
	int i;

	(void)arg;
	if (pthread_create(&t, NULL, toucher, NULL))
		tap_die("pthread_create");
	while (now() - t0 < seconds) {
		/* PROT_NONE attaches nothing: the PMD entries stay empty. */
		p = mmap(NULL, SIZE, PROT_NONE, MAP_SHARED_VALIDATE | MAP_DAXVM, fd, 0);
		if (p == MAP_FAILED || mprotect(p, SIZE, PROT_READ))
			tap_die("mmap MAP_DAXVM PROT_NONE, mprotect PROT_READ");
		atomic_store(&cur, p);
		/* The window is open until the first attach of each chunk. */
		for (i = 0; i < 3; i++)
			madvise(p, SIZE, MADV_DONTNEED);
		atomic_store(&cur, NULL);
		while (atomic_load(&busy))
			sched_yield();
		munmap(p, SIZE);
		rounds++;
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("# racer: %ld rounds\n", rounds);
	exit(0);
}

int main(int argc, char **argv)
{
	char path[512];
	long f0, faults = 0, bad = -1, passes = 0, b;
	const unsigned char *obs;
	unsigned long off;
	int status;
	pid_t pid;

	tap_usage_if(argc != 3, argv[0], "DIR SECONDS");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	seconds = atof(argv[2]);
	snprintf(path, sizeof(path), "%s/daxvm_zaprace.%d", argv[1], getpid());
	fd = make_pattern_file(path, ID, SIZE, 2 * MiB);
	tap_plan(3);

	obs = map_daxvm(fd, SIZE, PROT_READ);
	touch(obs, SIZE);
	f0 = minflt();
	(void)touch(obs, SIZE);
	tap_result(minflt() == f0, "observer: the file is attached (%ld faults reading it again)",
		   minflt() - f0);

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_die("fork");
	if (!pid) {
		racer(NULL);
		_exit(0);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		f0 = minflt();
		for (off = 0; off < SIZE; off += PG)
			(void)*(volatile const unsigned char *)(obs + off);
		faults += minflt() - f0;
		b = check_pattern(obs, ID, 0, SIZE);
		if (b >= 0 && bad < 0)
			bad = b;
		passes++;
		usleep(1000);
	}
	tap_result(WIFEXITED(status) && WEXITSTATUS(status) == 0, "racer ran and exited cleanly");
	tap_result(faults == 0 && bad < 0,
		   "observer: %ld passes over the file while another process raced DONTNEED against attach: %ld faults (entries lost from the shared table), first wrong byte at %ld",
		   passes, faults, bad);
	munmap((void *)obs, SIZE);
	close(fd);
	unlink(path);
	return tap_finish();
}

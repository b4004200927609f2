// SPDX-License-Identifier: GPL-2.0
/*
 * Page references taken through attached tables hold off block freeing
 * (kernel patch 0012):
 *   daxvm_pin DIR
 *
 * vmsplice() puts a reference to a mapped page into a pipe. Truncating the
 * file must wait until the pipe lets go, as ext4 waits for such pages of
 * ordinary DAX mappings; otherwise the block could go to another file while
 * the pipe still reads it. Checked for a MAP_DAXVM mapping of a 2 MiB chunk
 * with a table and of a huge chunk, with the mapping still there, as for a
 * plain DAX mapping (the behaviour to match), and after munmap(), where
 * DaxVM still finds the page through the file's tables. 6.1's DAX alone
 * gives up on a file nobody maps; with the tables built for every DAX file
 * the wait covers a plain mapping too, reported only.
 */
#include "daxvm_util.h"
#include <sys/syscall.h>
#include <sys/uio.h>

#define SIZE	(4 * MiB)
#define PIN_OFF	(2 * MiB + 8 * PG)	/* in the second chunk */

/* A file whose first chunk is written in 4 KiB pieces, out of order. */
static int make_file(const char *path, int huge)
{
	unsigned char *buf = malloc(2 * MiB);
	unsigned long off;
	int fd;

	if (huge)
		return make_pattern_file(path, 3, SIZE, 2 * MiB);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || !buf)
		tap_die("create %s", path);
	for (off = SIZE; off > 0; off -= PG) {
		memset(buf, pattern(3, off - PG), PG);
		if (pwrite(fd, buf, PG, off - PG) != (ssize_t)PG)
			tap_die("write %s", path);
	}
	free(buf);
	return fd;
}

/* Is @pid asleep inside system call @nr? (/proc/PID/syscall and stat) */
static int asleep_in(pid_t pid, long nr)
{
	char path[64], buf[512], *p;
	long got;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	/* "NR args...", or "running" while it runs. */
	ok = fscanf(f, "%ld", &got) == 1 && got == nr;
	fclose(f);
	if (!ok)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	ok = fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
	     (p[2] == 'S' || p[2] == 'D');
	fclose(f);
	return ok;
}

struct truncator {
	pid_t pid;
	int status, exited;
};

/* Has the child finished, or does it sleep in ftruncate()? */
static int truncate_settled(void *arg)
{
	struct truncator *t = arg;

	if (!t->exited && waitpid(t->pid, &t->status, WNOHANG) == t->pid)
		t->exited = 1;
	return t->exited || asleep_in(t->pid, SYS_ftruncate);
}

/*
 * Pins one page of @path through a mapping made with @flags, unmaps it,
 * truncates in a child, and reports whether the truncate waited for the
 * pipe and whether the pipe still read the file's bytes.
 */
static int pin_and_truncate(const char *dir, int flags, int huge,
			    int unmap_first, const char *what)
{
	char path[512], got[PG];
	struct iovec iov;
	unsigned char *m;
	struct truncator t = { 0 };
	int p[2], fd, status, waited, ok, i;
	double took;
	long faults;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/daxvm-pin.dat", dir);
	fd = make_file(path, huge);
	if (fsync(fd))
		tap_die("fsync");
	m = mmap(NULL, SIZE, PROT_READ, flags, fd, 0);
	if (m == MAP_FAILED)
		tap_die("mmap %s", what);
	faults = minflt();
	touch(m + 2 * MiB, 2 * MiB);
	faults = minflt() - faults;
	if (pipe(p))
		tap_die("pipe");
	iov.iov_base = m + PIN_OFF;
	iov.iov_len = PG;
	if (vmsplice(p[1], &iov, 1, 0) != (ssize_t)PG)
		tap_die("vmsplice");
	if (unmap_first)
		munmap(m, SIZE);

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_die("fork");
	if (!pid) {
		/* Free the blocks, then take them again for other bytes. */
		int fd2;
		char other[512];

		if (ftruncate(fd, 0))
			_exit(1);
		snprintf(other, sizeof(other), "%s/daxvm-pin-other.dat", dir);
		fd2 = make_pattern_file(other, 9, SIZE, 2 * MiB);
		close(fd2);
		_exit(0);
	}
	/*
	 * Wait until the child has got to the truncate (it may take long on
	 * a loaded host): it waits for the pipe if it sleeps in ftruncate()
	 * and is still there, not finished, half a second later.
	 */
	t.pid = pid;
	took = wait_for(truncate_settled, &t, WAIT_LIMIT,
			"the child to finish or to sleep in ftruncate()");
	waited = took >= 0 && !t.exited;
	for (i = 0; i < 50 && waited; i++) {
		usleep(10000);
		waited = truncate_settled(&t) && !t.exited;
	}
	if (read(p[0], got, PG) != PG)
		tap_die("read pipe");
	if (!t.exited)
		waitpid(pid, &t.status, 0);
	status = t.status;
	if (!unmap_first)
		munmap(m, SIZE);
	ok = (!(flags & MAP_DAXVM) || faults == 0) && waited &&
	     got[0] == (char)pattern(3, PIN_OFF) &&
	     got[PG - 1] == (char)pattern(3, PIN_OFF) &&
	     WIFEXITED(status) && !WEXITSTATUS(status);
	printf("# %s (%ld faults on touch): truncate %s (%s after %.2f s) for the page in a pipe, which reads %s\n",
	       what, faults, waited ? "waited" : "did not wait",
	       t.exited ? "child finished" : "child asleep in ftruncate", took,
	       got[0] == (char)pattern(3, PIN_OFF) ? "the file's bytes" : "other bytes");
	close(p[0]);
	close(p[1]);
	close(fd);
	unlink(path);
	snprintf(path, sizeof(path), "%s/daxvm-pin-other.dat", dir);
	unlink(path);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		tap_die("usage: daxvm_pin DIR");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	tap_result(pin_and_truncate(argv[1], MAP_SHARED, 0, 0, "plain DAX"),
		   "plain DAX mapping: truncate waits for a page held by a pipe");
	tap_result(pin_and_truncate(argv[1], MAP_SHARED_VALIDATE | MAP_DAXVM,
				    0, 0, "MAP_DAXVM table"),
		   "MAP_DAXVM, chunk with a table: truncate waits for a page held by a pipe");
	tap_result(pin_and_truncate(argv[1], MAP_SHARED_VALIDATE | MAP_DAXVM,
				    1, 0, "MAP_DAXVM 2 MiB writes"),
		   "MAP_DAXVM, chunk written in 2 MiB (huge if ext4 aligned it): truncate waits");
	tap_result(pin_and_truncate(argv[1], MAP_SHARED_VALIDATE | MAP_DAXVM,
				    0, 1, "MAP_DAXVM table, unmapped"),
		   "MAP_DAXVM, after munmap: truncate still waits for the pipe");
	pin_and_truncate(argv[1], MAP_SHARED, 0, 1, "plain DAX, unmapped (report only)");
	return tap_finish();
}

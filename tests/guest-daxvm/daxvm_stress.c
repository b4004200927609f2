// SPDX-License-Identifier: GPL-2.0
/*
 * MAP_DAXVM mapping churn (the initramfs has no stress-ng): processes map
 * a shared file at random offsets and lengths, touch and verify it, and
 * split, move, reprotect, advise, fork and unmap the mappings, while one
 * process punches and refills a second file. Half of the mappings are
 * MAP_DAXVM_BATCHING (where the kernel has it), so zombies of both files
 * meet every one of these operations. Any wrong byte fails; the suite
 * runner fails the test on any kernel splat.
 *
 *   daxvm_stress EXT4_DAX_DIR [SECONDS] [PROCS]
 */
#include "daxvm_util.h"

#define FSIZE (32 * MiB)

static char path[2][4096];

static int verify(unsigned char *p, unsigned long off, unsigned long len)
{
	return check_pattern(p, 5, off, len) < 0;
}

/* Batched munmaps so far (-1 before uapi version 2). */
static long zombies_made(void)
{
	return daxvm_stat("zombies_made");
}

/* MAP_DAXVM_BATCHING on kernels that have it (uapi version 2). */
static int batching;

/* Half of the mappings are batched: their munmap leaves a zombie. */
static int map_flags(unsigned int *seed)
{
	int flags = MAP_SHARED_VALIDATE | MAP_DAXVM;

	if (batching && rand_r(seed) % 2)
		flags |= MAP_DAXVM_BATCHING;
	return flags;
}

static void worker(double secs, unsigned int seed)
{
	double end = now() + secs;
	int fd = open(path[0], O_RDWR), fd2 = open(path[1], O_RDWR);
	unsigned long ops = 0;

	if (fd < 0 || fd2 < 0)
		_exit(3);
	while (now() < end) {
		unsigned long off = (rand_r(&seed) % (FSIZE / PG / 2)) * PG;
		unsigned long len = (1 + rand_r(&seed) % (FSIZE / PG / 2)) * PG;
		unsigned char *p, *q;
		unsigned long cut;

		if (rand_r(&seed) % 2)	/* 2 MiB-aligned offset: attachable */
			off &= ~(2 * MiB - 1);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, map_flags(&seed),
			 fd, off);
		if (p == MAP_FAILED)
			_exit(4);
		if (!verify(p, off, len))
			_exit(5);
		cut = (rand_r(&seed) % (len / PG)) * PG;
		switch (rand_r(&seed) % 6) {
		case 0:
			if (mprotect(p + cut, len - cut, PROT_READ) ||
			    !verify(p, off, len))
				_exit(6);
			break;
		case 1:
			if (madvise(p, len, MADV_DONTNEED) || !verify(p, off, len))
				_exit(7);
			break;
		case 2:
			if (cut && munmap(p + cut, len - cut))
				_exit(8);
			if (cut)
				len = cut;
			if (!verify(p, off, len))
				_exit(9);
			break;
		case 3:
			q = mremap(p, len, len + 2 * MiB, MREMAP_MAYMOVE);
			if (q == MAP_FAILED)
				_exit(10);
			p = q;
			if (!verify(p, off, len))
				_exit(11);
			munmap(p + len, 2 * MiB);
			break;
		case 4:
			if (fork() == 0)
				_exit(verify(p, off, len) ? 0 : 1);
			else {
				int st;

				wait(&st);
				if (!WIFEXITED(st) || WEXITSTATUS(st))
					_exit(12);
			}
			break;
		default: {
			/* The other file: punch and refill, through a mapping. */
			unsigned char *r = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE,
						map_flags(&seed), fd2, 0);

			if (r == MAP_FAILED)
				_exit(13);
			if (fallocate(fd2, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      cut % (2 * MiB), 2 * MiB))
				_exit(14);
			memset(r, 0x3c, 4 * MiB);
			if (r[4 * MiB - 1] != 0x3c)
				_exit(15);
			munmap(r, 4 * MiB);
		}
		}
		munmap(p, len);
		ops++;
	}
	printf("# worker %d: %lu rounds\n", getpid(), ops);
	fflush(stdout);
	_exit(0);
}

int main(int argc, char **argv)
{
	double secs = argc > 2 ? atof(argv[2]) : 10;
	int procs = argc > 3 ? atoi(argv[3]) : 4, i, st, ok = 1, fd;
	long made;

	tap_usage_if(argc < 2, argv[0], "EXT4_DAX_DIR [SECONDS] [PROCS]");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	snprintf(path[0], sizeof(path[0]), "%s/daxvm_stress.%d", argv[1], getpid());
	snprintf(path[1], sizeof(path[1]), "%s/daxvm_stress2.%d", argv[1], getpid());
	batching = read_num("/proc/fs/daxvm/version") >= 2;
	made = zombies_made();
	tap_plan(1);
	close(make_pattern_file(path[0], 5, FSIZE, 1 * MiB));
	fd = make_pattern_file(path[1], 6, 4 * MiB, 1 * MiB);
	fflush(stdout);
	for (i = 0; i < procs; i++)
		if (fork() == 0)
			worker(secs, 1234 + i);
	for (i = 0; i < procs; i++) {
		wait(&st);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			printf("# a worker failed with status %#x\n", st);
			ok = 0;
		}
	}
	made = zombies_made() - made;
	if (batching && made <= 0)
		ok = 0;
	tap_result(ok, "%d processes, %.0f s of MAP_DAXVM churn, data always right (%ld batched munmaps)",
		   procs, secs, made);
	close(fd);
	unlink(path[0]);
	unlink(path[1]);
	return tap_finish();
}

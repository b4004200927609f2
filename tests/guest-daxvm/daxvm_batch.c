// SPDX-License-Identifier: GPL-2.0
/*
 * Batched munmap of MAP_DAXVM_BATCHING mappings (kernel patch 0010):
 *
 *   daxvm_batch DIR
 *
 * munmap() of such a mapping leaves a zombie (an inaccessible VMA that
 * keeps the range reserved) until the batch is flushed: past
 * vm.zombie_max_pages pages, by daxvm_flush_zombies(2), or by any unmap
 * that overlaps a zombie. Checks the flag rules, the zombie's behaviour,
 * the limit, that truncate never leaves a zombie a path to freed blocks,
 * and that batching sends fewer TLB shootdowns.
 */
#include "daxvm_util.h"
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>

#ifndef __NR_daxvm_flush_zombies
#define __NR_daxvm_flush_zombies 451
#endif

#define LIMIT_KNOB	"/proc/sys/vm/zombie_max_pages"
#define FILE_SIZE	(4 * MiB)
#define BATCH_FLAGS	(MAP_SHARED_VALIDATE | MAP_DAXVM | MAP_DAXVM_BATCHING)

static const char *dir;

static long flush_zombies(unsigned int flags)
{
	return syscall(__NR_daxvm_flush_zombies, flags);
}

static unsigned char *map_batched(int fd, unsigned long len)
{
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				BATCH_FLAGS, fd, 0);

	if (p == MAP_FAILED)
		tap_die("mmap MAP_DAXVM_BATCHING");
	return p;
}

static void check_flag_rules(int fd)
{
	void *p;

	p = mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_DAXVM_BATCHING,
		 fd, 0);
	tap_result(p == MAP_FAILED && errno == EINVAL,
		   "MAP_DAXVM_BATCHING without MAP_DAXVM: EINVAL");
	if (p != MAP_FAILED)
		munmap(p, PG);

	/* Plain MAP_SHARED drops the flag: munmap() unmaps at once. */
	set_knob_num(LIMIT_KNOB, 1000);
	p = mmap(NULL, PG, PROT_READ, MAP_SHARED | MAP_DAXVM |
		 MAP_DAXVM_BATCHING, fd, 0);
	if (p == MAP_FAILED)
		tap_die("mmap MAP_SHARED");
	munmap(p, PG);
	tap_result(!mapped_at(p), "plain MAP_SHARED: no batching");
}

static void child_checks_maps(void *addr)
{
	_exit(mapped_at(addr) ? 1 : 0);
}

static void check_zombie(int fd)
{
	long made = daxvm_stat("zombies_made");
	long flushes = daxvm_stat("zombie_flushes");
	unsigned char *p, *q, v;
	int ok, sig, e[4];

	set_knob_num(LIMIT_KNOB, 100000);
	p = map_batched(fd, FILE_SIZE);
	touch(p, FILE_SIZE);
	tap_result(munmap(p, FILE_SIZE) == 0 && mapped_at(p) &&
		   daxvm_stat("zombies_made") == made + 1,
		   "munmap leaves a zombie at the unmapped range");

	q = mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_FIXED_NOREPLACE, -1, 0);
	ok = q == MAP_FAILED && errno == EEXIST;
	if (q != MAP_FAILED)
		munmap(q, PG);
	q = mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ok = ok && q != MAP_FAILED && q != p;
	if (q != MAP_FAILED)
		munmap(q, PG);
	tap_result(ok, "the zombie's range is not handed out again");

	e[0] = mprotect(p, PG, PROT_READ) ? errno : 0;
	e[1] = madvise(p, PG, MADV_DONTNEED) ? errno : 0;
	e[2] = msync(p, PG, MS_SYNC) ? errno : 0;
	e[3] = mremap(p, PG, 2 * PG, MREMAP_MAYMOVE) == MAP_FAILED ? errno : 0;
	/* Each call flushes the batch first and finds the range unmapped. */
	tap_result(e[0] == ENOMEM && e[1] == ENOMEM && e[2] == ENOMEM &&
		   e[3] == EFAULT && !mapped_at(p),
		   "on a zombie mprotect/madvise/msync: ENOMEM (%d %d %d), mremap: EFAULT (%d); the batch is gone",
		   e[0], e[1], e[2], e[3]);

	p = map_batched(fd, FILE_SIZE);
	touch(p, FILE_SIZE);
	if (munmap(p, FILE_SIZE) || !mapped_at(p))
		tap_die("munmap left no zombie");
	flushes = daxvm_stat("zombie_flushes");

	tap_result(in_child(child_checks_maps, p) == 0,
		   "fork does not copy a zombie");

	ok = flush_zombies(1) == -1 && errno == EINVAL && mapped_at(p);
	tap_result(ok, "daxvm_flush_zombies(1): EINVAL, nothing flushed");
	ok = flush_zombies(0) == 0 && !mapped_at(p) &&
	     daxvm_stat("zombie_flushes") == flushes + 1;
	tap_result(ok, "daxvm_flush_zombies(0) unmaps the zombie");
	catch_faults();
	sig = try_read(p, &v);
	tap_result(sig == SIGSEGV, "the flushed range faults (signal %d)", sig);
}

/* One-page mappings until the batch goes: how many zombies it held. */
static void check_limit(int fd)
{
	unsigned char *p[5];
	int i, held = 0, ok;

	set_knob_num(LIMIT_KNOB, 4);
	for (i = 0; i < 5; i++) {
		p[i] = map_batched(fd, PG);
		p[i][0] = i;
		munmap(p[i], PG);
	}
	/* Four pages are within the limit, the fifth flushed all five. */
	for (i = 0; i < 5; i++)
		held += mapped_at(p[i]);
	ok = held == 0;
	set_knob_num(LIMIT_KNOB, 4);
	for (i = 0; i < 4; i++) {
		p[i] = map_batched(fd, PG);
		munmap(p[i], PG);
	}
	for (i = 0; i < 4; i++)
		ok = ok && mapped_at(p[i]);
	tap_result(ok, "vm.zombie_max_pages=4: four zombies held, a fifth flushes all");

	/* MAP_FIXED over a zombie flushes the batch, then maps. */
	p[4] = mmap(p[0], PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ok = p[4] == p[0];
	if (ok)
		p[4][0] = 1;
	for (i = 1; i < 4; i++)
		ok = ok && !mapped_at(p[i]);
	tap_result(ok, "MAP_FIXED over a zombie flushes the batch");
	munmap(p[4], PG);

	set_knob_num(LIMIT_KNOB, 0);
	p[0] = map_batched(fd, PG);
	munmap(p[0], PG);
	tap_result(!mapped_at(p[0]), "vm.zombie_max_pages=0: no batching");
}

static void check_knob(void)
{
	long before;

	set_knob_num(LIMIT_KNOB, 17);
	before = read_num(LIMIT_KNOB);
	tap_result(before == 17 && write_knob(LIMIT_KNOB, "abc\n") == EINVAL &&
		   read_num(LIMIT_KNOB) == 17,
		   "vm.zombie_max_pages rejects a non-number (EINVAL, unchanged)");
}

/*
 * Truncate while a zombie still maps the file: its entries must go before
 * the blocks are freed, so that another file's data written to the reused
 * blocks can never be read through the zombie.
 */
static void check_truncate(void)
{
	char path[256], other[256];
	unsigned char *p, v = 0;
	int fd, fd2, sig;

	snprintf(path, sizeof(path), "%s/batch-trunc", dir);
	snprintf(other, sizeof(other), "%s/batch-other", dir);
	set_knob_num(LIMIT_KNOB, 100000);
	fd = make_pattern_file(path, 3, FILE_SIZE, 2 * MiB);
	p = map_batched(fd, FILE_SIZE);
	touch(p, FILE_SIZE);
	munmap(p, FILE_SIZE);
	if (ftruncate(fd, 0))
		tap_die("ftruncate");
	fd2 = make_pattern_file(other, 9, FILE_SIZE, 2 * MiB);
	fsync(fd2);
	catch_faults();
	sig = try_read(p + FILE_SIZE / 2, &v);
	tap_result(sig == SIGSEGV,
		   "truncate under a zombie: reading it faults (signal %d, byte %#x)",
		   sig, v);
	flush_zombies(0);
	close(fd2);
	close(fd);
	unlink(other);
	unlink(path);
}

static volatile int spin_stop, spin_cpu = -1;

static void *spin(void *arg)
{
	while (!spin_stop)
		spin_cpu = sched_getcpu();
	return NULL;
}

static int spinning_on(void *cpu)
{
	return spin_cpu == *(int *)cpu;
}

/* Sum of the "TLB shootdowns" row of /proc/interrupts. */
static long tlb_shootdowns(void)
{
	char line[4096], *s, *end;
	long sum = -1, n;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		s = line;
		while (*s == ' ')
			s++;
		if (strncmp(s, "TLB:", 4))
			continue;
		sum = 0;
		for (s += 4; (n = strtol(s, &end, 10)), end != s; s = end)
			sum += n;
	}
	fclose(f);
	return sum;
}

/* Map, touch, unmap @n times; the TLB shootdowns that cost. */
static long shootdowns_of(int fd, int flags, int n)
{
	long before = tlb_shootdowns();
	unsigned char *p;
	int i;

	for (i = 0; i < n; i++) {
		p = mmap(NULL, PG, PROT_READ, flags, fd, 0);
		if (p == MAP_FAILED)
			tap_die("mmap");
		touch(p, PG);
		munmap(p, PG);
	}
	flush_zombies(0);
	return tlb_shootdowns() - before;
}

static void check_shootdowns(int fd)
{
	long plain = 0, batched;
	cpu_set_t all, one;
	pthread_attr_t attr;
	int cpus[2], n = 0, c, tries;
	pthread_t t;

	if (sched_getaffinity(0, sizeof(all), &all))
		tap_die("sched_getaffinity");
	for (c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &all))
			cpus[n++] = c;
	if (n < 2 || tlb_shootdowns() < 0) {
		tap_skip("needs two CPUs and a TLB row in /proc/interrupts");
		return;
	}
	set_knob_num(LIMIT_KNOB, 33);
	/*
	 * A second thread spinning on the other CPU makes every flush an
	 * IPI: this thread on one CPU, the spinner pinned to the other, and
	 * no measuring before it runs there.
	 */
	CPU_ZERO(&one);
	CPU_SET(cpus[0], &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		tap_die("sched_setaffinity");
	CPU_ZERO(&one);
	CPU_SET(cpus[1], &one);
	if (pthread_attr_init(&attr) ||
	    pthread_attr_setaffinity_np(&attr, sizeof(one), &one) ||
	    pthread_create(&t, &attr, spin, NULL))
		tap_die("pthread_create");
	if (wait_for(spinning_on, &cpus[1], WAIT_LIMIT,
		     "the spinner thread to run on the other CPU") < 0) {
		spin_stop = 1;
		pthread_join(t, NULL);
		sched_setaffinity(0, sizeof(all), &all);
		tap_result(0, "200 unmaps with a thread on the other CPU: it never ran there");
		return;
	}
	/*
	 * A flush sends an IPI only while the spinner runs on the other CPU;
	 * a kernel thread may take that CPU for a moment, so measure the
	 * baseline again before concluding anything.
	 */
	for (tries = 0; tries < 3; tries++) {
		plain = shootdowns_of(fd, MAP_SHARED_VALIDATE | MAP_DAXVM, 200);
		if (plain >= 100)
			break;
		printf("# baseline counted only %ld shootdowns, measuring again\n",
		       plain);
	}
	batched = shootdowns_of(fd, BATCH_FLAGS, 200);
	spin_stop = 1;
	pthread_join(t, NULL);
	sched_setaffinity(0, sizeof(all), &all);
	tap_result(plain >= 100 && batched * 4 <= plain,
		   "200 unmaps with a thread on the other CPU: %ld TLB shootdowns, %ld batched",
		   plain, batched);
}

int main(int argc, char **argv)
{
	char path[256];
	long old_limit;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	if (!daxvm_kernel() || access(LIMIT_KNOB, R_OK)) {
		printf("1..0 # SKIP kernel without DaxVM batching\n");
		return 4;
	}
	dir = argv[1];
	tap_plan(15);
	old_limit = read_num(LIMIT_KNOB);
	snprintf(path, sizeof(path), "%s/batch-file", dir);
	fd = make_pattern_file(path, 1, FILE_SIZE, 2 * MiB);

	check_flag_rules(fd);
	check_zombie(fd);
	check_limit(fd);
	check_knob();
	check_truncate();
	check_shootdowns(fd);

	set_knob_num(LIMIT_KNOB, old_limit);
	close(fd);
	unlink(path);
	return tap_finish();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Zombies of batched munmap (kernel patch 0010) are unmapped memory:
 *
 *   daxvm_zombies DIR
 *
 * munmap() of a MAP_DAXVM_BATCHING mapping leaves a zombie until its
 * batch is flushed. Every system call that takes an address range must
 * answer on a zombie exactly what it answers on an unmapped range; the
 * zombies must never make an unrelated mmap() fail by filling
 * vm.max_map_count; unlinking, truncating or renaming over a file whose
 * only mappings are zombies gives its blocks back at once; and
 * vm.zombie_max_pages refuses anything but one number from 0 to
 * 4294967295 (EINVAL, value unchanged).
 */
#include "daxvm_util.h"
#include <sys/ioctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/userfaultfd.h>

#ifndef __NR_daxvm_flush_zombies
#define __NR_daxvm_flush_zombies 451
#endif
#ifndef SYS_set_mempolicy_home_node
#define SYS_set_mempolicy_home_node 450
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define MPOL_BIND_	2
#define MPOL_F_ADDR_	2

#define LIMIT_KNOB	"/proc/sys/vm/zombie_max_pages"
#define MAP_COUNT_KNOB	"/proc/sys/vm/max_map_count"
#define BIG_FILE	(64 * MiB)
#define BATCH_FLAGS	(MAP_SHARED_VALIDATE | MAP_DAXVM | MAP_DAXVM_BATCHING)

static const char *dir;
static int zfd = -1, uffd = -1, pidfd = -1;

static long flush_zombies(void)
{
	return syscall(__NR_daxvm_flush_zombies, 0);
}

static int maps_lines(void)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		tap_die("open maps");
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/* A fresh zombie of two pages of file @fd. */
static unsigned char *zombie(int fd)
{
	unsigned char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
				BATCH_FLAGS, fd, 0);

	if (p == MAP_FAILED)
		tap_die("mmap MAP_DAXVM_BATCHING");
	touch(p, 2 * PG);
	if (munmap(p, 2 * PG) || !mapped_at(p))
		tap_die("munmap left no zombie");
	return p;
}

/* A page with nothing mapped, between two PROT_NONE pages. */
static unsigned char *hole(void)
{
	unsigned char *p = mmap(NULL, 3 * PG, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || munmap(p + PG, PG))
		tap_die("make a hole");
	return p + PG;
}

static void unhole(unsigned char *h)
{
	munmap(h - PG, 3 * PG);
}

/* The system calls: each returns 0 or its errno on one page at @p. */
#define RET(x)	((x) < 0 ? errno : 0)

static int op_mlock(void *p, long a)
{
	return RET(mlock(p, PG));
}

static int op_mlock2(void *p, long a)
{
	return RET(syscall(SYS_mlock2, p, PG, a));
}

static int op_munlock(void *p, long a)
{
	return RET(munlock(p, PG));
}

static int op_mincore(void *p, long a)
{
	unsigned char v;

	return RET(mincore(p, PG, &v));
}

static int op_madvise(void *p, long a)
{
	return RET(madvise(p, PG, a));
}

static int op_process_madvise(void *p, long a)
{
	struct iovec iov = { .iov_base = p, .iov_len = PG };

	return RET(syscall(SYS_process_madvise, pidfd, &iov, 1, a, 0));
}

static int op_mprotect(void *p, long a)
{
	return RET(mprotect(p, PG, a));
}

static int op_pkey_mprotect(void *p, long a)
{
	return RET(syscall(SYS_pkey_mprotect, p, PG, a, -1));
}

static int op_msync(void *p, long a)
{
	return RET(msync(p, PG, a));
}

static int op_mremap(void *p, long a)
{
	void *q = mremap(p, PG, 2 * PG, MREMAP_MAYMOVE);

	if (q == MAP_FAILED)
		return errno;
	munmap(q, 2 * PG);
	return 0;
}

static int op_get_mempolicy(void *p, long a)
{
	int mode;

	return RET(syscall(SYS_get_mempolicy, &mode, NULL, 0, p, MPOL_F_ADDR_));
}

static int op_mbind(void *p, long a)
{
	unsigned long mask = 1;

	return RET(syscall(SYS_mbind, p, PG, MPOL_BIND_, &mask, 64, 0));
}

static int op_home_node(void *p, long a)
{
	return RET(syscall(SYS_set_mempolicy_home_node, p, PG, 0, 0));
}

static int op_remap_file_pages(void *p, long a)
{
	return RET(syscall(SYS_remap_file_pages, p, PG, 0, 0, 0));
}

static int op_uffd_register(void *p, long a)
{
	struct uffdio_register r = {
		.range = { .start = (unsigned long)p, .len = PG },
		.mode = a,
	};

	return RET(ioctl(uffd, UFFDIO_REGISTER, &r));
}

static int op_uffd_unregister(void *p, long a)
{
	struct uffdio_range r = { .start = (unsigned long)p, .len = PG };

	return RET(ioctl(uffd, UFFDIO_UNREGISTER, &r));
}

static const struct op {
	const char *name;
	int (*fn)(void *p, long a);
	long a;
} ops[] = {
	{ "mlock", op_mlock, 0 },
	{ "mlock2(0)", op_mlock2, 0 },
	{ "mlock2(MLOCK_ONFAULT)", op_mlock2, MLOCK_ONFAULT },
	{ "munlock", op_munlock, 0 },
	{ "mincore", op_mincore, 0 },
	{ "madvise(MADV_NORMAL)", op_madvise, MADV_NORMAL },
	{ "madvise(MADV_RANDOM)", op_madvise, MADV_RANDOM },
	{ "madvise(MADV_SEQUENTIAL)", op_madvise, MADV_SEQUENTIAL },
	{ "madvise(MADV_WILLNEED)", op_madvise, MADV_WILLNEED },
	{ "madvise(MADV_DONTNEED)", op_madvise, MADV_DONTNEED },
	{ "madvise(MADV_FREE)", op_madvise, MADV_FREE },
	{ "madvise(MADV_REMOVE)", op_madvise, MADV_REMOVE },
	{ "madvise(MADV_DONTFORK)", op_madvise, MADV_DONTFORK },
	{ "madvise(MADV_DOFORK)", op_madvise, MADV_DOFORK },
	{ "madvise(MADV_DONTDUMP)", op_madvise, MADV_DONTDUMP },
	{ "madvise(MADV_DODUMP)", op_madvise, MADV_DODUMP },
	{ "madvise(MADV_MERGEABLE)", op_madvise, MADV_MERGEABLE },
	{ "madvise(MADV_HUGEPAGE)", op_madvise, MADV_HUGEPAGE },
	{ "madvise(MADV_NOHUGEPAGE)", op_madvise, MADV_NOHUGEPAGE },
	{ "madvise(MADV_COLD)", op_madvise, MADV_COLD },
	{ "madvise(MADV_PAGEOUT)", op_madvise, MADV_PAGEOUT },
	{ "madvise(MADV_POPULATE_READ)", op_madvise, MADV_POPULATE_READ },
	{ "madvise(MADV_POPULATE_WRITE)", op_madvise, MADV_POPULATE_WRITE },
	{ "process_madvise(MADV_COLD)", op_process_madvise, MADV_COLD },
	{ "process_madvise(MADV_WILLNEED)", op_process_madvise, MADV_WILLNEED },
	{ "mprotect(PROT_READ)", op_mprotect, PROT_READ },
	{ "pkey_mprotect(PROT_READ, -1)", op_pkey_mprotect, PROT_READ },
	{ "msync(MS_SYNC)", op_msync, MS_SYNC },
	{ "mremap", op_mremap, 0 },
	{ "get_mempolicy(MPOL_F_ADDR)", op_get_mempolicy, 0 },
	{ "mbind(MPOL_BIND)", op_mbind, 0 },
	{ "set_mempolicy_home_node", op_home_node, 0 },
	{ "remap_file_pages", op_remap_file_pages, 0 },
	{ "UFFDIO_REGISTER(MISSING)", op_uffd_register,
	  UFFDIO_REGISTER_MODE_MISSING },
	{ "UFFDIO_REGISTER(WP)", op_uffd_register, UFFDIO_REGISTER_MODE_WP },
	{ "UFFDIO_UNREGISTER", op_uffd_unregister, 0 },
};
#define NR_OPS	((int)(sizeof(ops) / sizeof(ops[0])))

static void open_helpers(void)
{
	struct uffdio_api api = { .api = UFFD_API };

	pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd >= 0 && ioctl(uffd, UFFDIO_API, &api)) {
		close(uffd);
		uffd = -1;
	}
	printf("# pidfd %d, userfaultfd %d\n", pidfd, uffd);
}

/* Each call on a fresh zombie answers what it answers on a hole. */
static void check_syscalls(void)
{
	unsigned char *h, *z;
	int i, eh, ez;

	set_knob_num(LIMIT_KNOB, 1000000);
	for (i = 0; i < NR_OPS; i++) {
		h = hole();
		eh = ops[i].fn(h, ops[i].a);
		unhole(h);
		z = zombie(zfd);
		ez = ops[i].fn(z, ops[i].a);
		tap_result(ez == eh, "%s on a zombie: %s (%d), unmapped: %s (%d)",
			   ops[i].name, ez ? strerror(ez) : "success", ez,
			   eh ? strerror(eh) : "success", eh);
		flush_zombies();
	}
}

/* Calls on ranges next to a zombie leave it be (the batch goes on). */
static void check_neighbour(void)
{
	unsigned char *z, *m;
	int ok;

	z = zombie(zfd);
	m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		tap_die("mmap");
	m[0] = 1;
	ok = madvise(m, 4 * PG, MADV_DONTNEED) == 0 &&
	     mprotect(m + PG, PG, PROT_READ) == 0 &&
	     mlock(m, PG) == 0 && munlock(m, PG) == 0 && mapped_at(z);
	tap_result(ok, "madvise/mprotect/mlock of another mapping keep the zombie");
	munmap(m, 4 * PG);
	flush_zombies();
}

/*
 * With vm.max_map_count a little above what the process uses, map and
 * unmap one batched page many times: zombies must never make an mmap(),
 * or a split, fail.
 */
static void check_map_count(void)
{
	long old = read_num(MAP_COUNT_KNOB), made = daxvm_stat("zombies_made");
	int i, n = 400, failed = -1, err = 0, ok;
	unsigned char *p, *a;

	set_knob_num(MAP_COUNT_KNOB, maps_lines() + 300);
	for (i = 0; i < n; i++) {
		p = mmap(NULL, PG, PROT_READ, BATCH_FLAGS, zfd, 0);
		if (p == MAP_FAILED) {
			failed = i;
			err = errno;
			break;
		}
		touch(p, PG);
		munmap(p, PG);
	}
	tap_result(failed < 0, "%d batched map+munmap with max_map_count = used + 300: %s at %d (%s)",
		   n, failed < 0 ? "no failure" : "mmap failed", failed,
		   strerror(err));
	a = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ok = a != MAP_FAILED;
	err = ok ? 0 : errno;
	tap_result(ok, "then an ordinary mmap: %s", ok ? "mapped" : strerror(err));
	ok = ok && mprotect(a + PG, PG, PROT_READ) == 0;
	tap_result(ok, "and a split of it (mprotect of its middle page)");
	if (a != MAP_FAILED)
		munmap(a, 3 * PG);
	tap_result(daxvm_stat("zombies_made") - made >= n / 2,
		   "batching went on: %ld zombies made",
		   daxvm_stat("zombies_made") - made);
	flush_zombies();
	set_knob_num(MAP_COUNT_KNOB, old);
}

static long long free_bytes(void)
{
	struct statvfs s;

	fs_commit(dir);
	if (statvfs(dir, &s))
		tap_die("statvfs");
	return (long long)s.f_bavail * s.f_frsize;
}

/* A file of BIG_FILE bytes whose only mapping is now a zombie. */
static int zombie_file(const char *path)
{
	unsigned char *p;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		tap_die("create %s", path);
	fill_bytes(fd, 0x5a, 0, BIG_FILE);
	fsync(fd);
	p = mmap(NULL, BIG_FILE, PROT_READ | PROT_WRITE, BATCH_FLAGS, fd, 0);
	if (p == MAP_FAILED)
		tap_die("mmap %s", path);
	touch(p, BIG_FILE);
	if (munmap(p, BIG_FILE) || !mapped_at(p))
		tap_die("munmap left no zombie");
	return fd;
}

static void check_blocks(void)
{
	char path[256], other[256];
	long long before, after;
	int fd;

	set_knob_num(LIMIT_KNOB, 1000000);
	snprintf(path, sizeof(path), "%s/zombie-file", dir);
	snprintf(other, sizeof(other), "%s/zombie-other", dir);

	close(zombie_file(path));
	before = free_bytes();
	if (unlink(path))
		tap_die("unlink");
	after = free_bytes();
	tap_result(after - before >= (long long)(BIG_FILE - 4 * MiB),
		   "unlink of a file mapped only by a zombie frees its blocks: %lld KiB back",
		   (after - before) / 1024);
	flush_zombies();

	fd = zombie_file(path);
	before = free_bytes();
	if (ftruncate(fd, 0))
		tap_die("ftruncate");
	after = free_bytes();
	tap_result(after - before >= (long long)(BIG_FILE - 4 * MiB),
		   "truncate of a file mapped only by a zombie frees its blocks: %lld KiB back",
		   (after - before) / 1024);
	close(fd);
	flush_zombies();

	close(zombie_file(path));
	close(open(other, O_RDWR | O_CREAT | O_TRUNC, 0644));
	before = free_bytes();
	if (rename(other, path))
		tap_die("rename");
	after = free_bytes();
	tap_result(after - before >= (long long)(BIG_FILE - 4 * MiB),
		   "rename over a file mapped only by a zombie frees its blocks: %lld KiB back",
		   (after - before) / 1024);
	flush_zombies();
	unlink(path);
}

/* Writes @s with exactly @len bytes; 0 or the errno. */
static int write_raw(const char *s, size_t len)
{
	int fd = open(LIMIT_KNOB, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return errno;
	n = write(fd, s, len);
	close(fd);
	return n == (ssize_t)len ? 0 : errno;
}

static void check_knob(void)
{
	static const char *bad[] = {
		"", "\n", " \n", "4294967296\n", "4294967297\n",
		"18446744073709551617\n", "-1\n", "12abc\n", "5 6\n", "0x10\n",
		"+5\n", "99999999999999999999999999999999\n",
	};
	char longstr[5000];
	int i, e;
	long v;

	set_knob_num(LIMIT_KNOB, 17);
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		e = write_raw(bad[i], strlen(bad[i]));
		v = read_num(LIMIT_KNOB);
		tap_result(e == EINVAL && v == 17,
			   "vm.zombie_max_pages \"%.*s\": %s, value %ld",
			   (int)strcspn(bad[i], "\n"), bad[i],
			   e ? strerror(e) : "accepted", v);
	}
	memset(longstr, 'x', sizeof(longstr) - 2);
	longstr[sizeof(longstr) - 2] = '\n';
	longstr[sizeof(longstr) - 1] = '\0';
	e = write_raw(longstr, strlen(longstr));
	v = read_num(LIMIT_KNOB);
	tap_result(e == EINVAL && v == 17,
		   "vm.zombie_max_pages long non-numeric string: %s, value %ld",
		   e ? strerror(e) : "accepted", v);
	e = write_raw("4294967295\n", 11);
	v = read_num(LIMIT_KNOB);
	tap_result(e == 0 && v == 4294967295L,
		   "vm.zombie_max_pages 4294967295 (the maximum) accepted: %ld", v);
	e = write_raw("0", 1);
	v = read_num(LIMIT_KNOB);
	tap_result(e == 0 && v == 0,
		   "vm.zombie_max_pages 0 (no newline) accepted: %ld", v);
}

int main(int argc, char **argv)
{
	char path[256];
	long old_limit;

	tap_usage_if(argc != 2, argv[0], "EXT4_DAX_DIR");
	tap_skip_all_if(!daxvm_kernel() || access(LIMIT_KNOB, R_OK),
			"kernel without DaxVM batching");
	dir = argv[1];
	tap_plan(NR_OPS + 1 + 4 + 3 + 15);
	old_limit = read_num(LIMIT_KNOB);
	snprintf(path, sizeof(path), "%s/zombies-file", dir);
	zfd = make_pattern_file(path, 1, 2 * MiB, 2 * MiB);
	open_helpers();

	check_syscalls();
	check_neighbour();
	check_map_count();
	check_blocks();
	check_knob();

	flush_zombies();
	set_knob_num(LIMIT_KNOB, old_limit);
	close(zfd);
	unlink(path);
	return tap_finish();
}

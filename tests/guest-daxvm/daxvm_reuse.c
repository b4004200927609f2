// SPDX-License-Identifier: GPL-2.0
/*
 * No mapping reaches blocks a file gave up (kernel patch 0005):
 *   daxvm_reuse DIR DEVNAME [CASE...]
 * DIR must be the ext4 mount point of /dev/DEVNAME, mounted dax=always
 * (the move-ext-donor case remounts it dax=inode and back).
 *
 * Every ext4 operation that frees a file's blocks or moves them to another
 * file must drop the file tables' entries for them first, or be refused.
 * Each case maps a victim file with MAP_DAXVM (owned by uid 1000) and
 * touches every page, fills the file system so that only the blocks the
 * operation gives up are free, runs the operation, commits the journal,
 * and writes root-only (0600) "secret" files until ENOSPC: they reuse the
 * freed blocks. Then a child running as uid 1000 reads every page of the
 * old mapping (inherited: fault-time attach) and of a new MAP_DAXVM
 * mapping, and the parent reads its own old mapping (attached at mmap).
 * Below EOF a page must read what read() reads, beyond EOF it must raise
 * SIGBUS or read zeroes; a page of a secret file is a failure. The child
 * then stores into every page of both mappings; the secret files must
 * keep their bytes.
 *
 * Cases: truncate punch collapse insert zero (extent-mapped regressions),
 * migrate-truncate migrate-punch (chattr -e, freeing through the
 * indirect-block code, chattr +e), swap-boot (EXT4_IOC_SWAP_BOOT), move-ext-orig
 * (EXT4_IOC_MOVE_EXT of a mapped DAX file), move-ext-donor (a DAX donor
 * with a non-DAX original under dax=inode). A refused operation passes.
 */
#include "daxvm_util.h"
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#define USER_ID		1000
#define BIG		(8 * MiB)
#define SMALL		(48 * KiB)	/* 12 blocks: ext4_ind_migrate()'s limit */
#define SLACK_BLOCKS	256		/* left free besides the freed blocks */
#define NR_SECRETS	4096

#ifndef EXT4_IOC_MIGRATE
#define EXT4_IOC_MIGRATE	_IO('f', 9)
#endif
#ifndef EXT4_IOC_MOVE_EXT
#define EXT4_IOC_MOVE_EXT	_IOWR('f', 15, struct move_extent)
#endif
#ifndef EXT4_IOC_SWAP_BOOT
#define EXT4_IOC_SWAP_BOOT	_IO('f', 17)
#endif

struct move_extent {
	uint32_t reserved;
	uint32_t donor_fd;
	uint64_t orig_start;
	uint64_t donor_start;
	uint64_t len;
	uint64_t moved_len;
};

static const char *mnt, *devname;
static char other_path[1024];	/* the second file of an operation */
static int other_fd;
static char dir[512];		/* DIR/daxvm-reuse: the DAX directory */
static int nr_secrets;
static const char secret_mark[8] = "DXSECRET";

static const char *path(const char *name)
{
	static char p[4][1024];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static int is_secret(const unsigned char *pg)
{
	return !memcmp(pg, secret_mark, 8) &&
	       !memcmp(pg + PG - 8, secret_mark, 8);
}

static int is_zero(const unsigned char *pg)
{
	unsigned long i;

	for (i = 0; i < PG; i++)
		if (pg[i])
			return 0;
	return 1;
}

/* Freed blocks go back to the allocator in the commit's callback. */
static void commit(void)
{
	fs_commit(mnt);
}

/* fallocate()s a filler so that about SLACK_BLOCKS blocks stay free. */
static void fill_fs(void)
{
	struct statvfs sv;
	long long left;
	int fd;

	commit();
	if (statvfs(mnt, &sv))
		tap_die("statvfs");
	left = (long long)sv.f_bfree - SLACK_BLOCKS;
	fd = open(path("filler"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		tap_die("create filler");
	/* Several pieces: the allocator may not find one run of that size. */
	while (left > 0) {
		long long n = left > 32768 ? 32768 : left;
		struct stat st;

		if (fstat(fd, &st))
			tap_die("fstat");
		if (fallocate(fd, 0, st.st_size, n * PG)) {
			if (errno != ENOSPC)
				tap_die("fallocate filler");
			break;
		}
		left -= n;
	}
	close(fd);
}

/* Root-only files of secret pages until ENOSPC (or NR_SECRETS files). */
static void write_secrets(void)
{
	unsigned char pg[PG];
	unsigned long i;
	int fd;

	for (i = 0; i < PG; i += 8)
		memcpy(pg + i, secret_mark, 8);
	commit();
	for (nr_secrets = 0; nr_secrets < NR_SECRETS; nr_secrets++) {
		char name[64];
		unsigned long off;

		snprintf(name, sizeof(name), "secret.%d", nr_secrets);
		fd = open(path(name), O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0) {
			if (errno == ENOSPC)
				break;
			tap_die("create secret");
		}
		for (off = 0; off < 256 * KiB; off += PG)
			if (pwrite(fd, pg, PG, off) != PG)
				break;
		fsync(fd);
		close(fd);
		if (off < 256 * KiB) {
			nr_secrets++;
			break;
		}
	}
}

/* Pages of the secret files that lost their bytes. */
static long check_secrets(void)
{
	unsigned char pg[PG];
	long bad = 0;
	int i, fd;

	for (i = 0; i < nr_secrets; i++) {
		char name[64];
		off_t off;

		snprintf(name, sizeof(name), "secret.%d", i);
		fd = open(path(name), O_RDONLY);
		if (fd < 0)
			tap_die("open secret");
		for (off = 0; pread(fd, pg, PG, off) == PG; off += PG)
			if (!is_secret(pg))
				bad++;
		close(fd);
	}
	return bad;
}

static void cleanup(void)
{
	char name[64];
	int i;

	for (i = 0; i < nr_secrets; i++) {
		snprintf(name, sizeof(name), "secret.%d", i);
		unlink(path(name));
	}
	nr_secrets = 0;
	unlink(path("filler"));
	unlink(path("victim"));
	commit();
}

/* The victim: uid 1000's file of @size bytes of pattern 5, in one write. */
static int make_victim(const char *p, unsigned long size)
{
	int fd = make_pattern_file(p, 5, size, size);

	if (fchown(fd, USER_ID, USER_ID) || fchmod(fd, 0644))
		tap_die("chown victim");
	fsync(fd);
	return fd;
}

/* What the views are checked against: the file's bytes by read(). */
static unsigned char *expect;
static unsigned long expect_size;	/* i_size after the operation */

static void read_expect(int fd, unsigned long len)
{
	struct stat st;

	if (fstat(fd, &st))
		tap_die("fstat");
	expect_size = st.st_size;
	free(expect);
	expect = calloc(1, len);
	if (!expect || pread(fd, expect, len, 0) < 0)
		tap_die("read victim");
}

static int read_page(const unsigned char *p, unsigned char *out)
{
	fault_sig = 0;
	if (!sigsetjmp(fault_jmp, 1))
		memcpy(out, p, PG);
	return fault_sig;
}

struct verdict {
	long secret, stale, sigbus;
};

/* Compares every page of a view of the victim with the expectation. */
static void check_view(const unsigned char *m, unsigned long len,
		       struct verdict *v)
{
	unsigned char pg[PG];
	unsigned long off;

	memset(v, 0, sizeof(*v));
	for (off = 0; off < len; off += PG) {
		int sig = read_page(m + off, pg);

		if (sig) {
			if (off < expect_size)
				v->stale++;	/* below EOF: must read */
			v->sigbus++;
			continue;
		}
		if (is_secret(pg))
			v->secret++;
		else if (off < expect_size ? memcmp(pg, expect + off, PG) :
			 !is_zero(pg))
			v->stale++;
	}
}

static void store_all(unsigned char *m, unsigned long len)
{
	unsigned long off;

	for (off = 0; off < len; off += PG)
		try_write(m + off + 100, 0x5a);
}

struct child_arg {
	unsigned char *old;
	unsigned long len;
	int pipe, fd;
};

/* uid 1000: the inherited old mapping and a new one; results to the pipe. */
static void attacker(void *a)
{
	struct child_arg *ca = a;
	struct verdict v[2];
	unsigned char *m;
	int fd;

	catch_faults();
	if (setgroups(0, NULL) || setgid(USER_ID) || setuid(USER_ID))
		_exit(3);
	check_view(ca->old, ca->len, &v[0]);
	/* The owner's descriptor (opened by the parent before the fork). */
	fd = ca->fd;
	m = map_daxvm(fd, ca->len, PROT_READ | PROT_WRITE);
	if (m == MAP_FAILED) {
		/* Reported as -errno of the mmap. */
		v[1].secret = v[1].sigbus = 0;
		v[1].stale = -errno;
	} else {
		check_view(m, ca->len, &v[1]);
	}
	if (write(ca->pipe, v, sizeof(v)) != sizeof(v))
		_exit(3);
	store_all(ca->old, ca->len);
	if (m != MAP_FAILED)
		store_all(m, ca->len);
	_exit(0);
}

typedef int (*op_fn)(int fd, unsigned long *len);

/*
 * Runs one case: @op gets the victim's descriptor and returns 0 if it ran,
 * 1 if the kernel refused it (a pass), -1 to skip (with errno reported).
 */
static void run_case(const char *name, unsigned long size, op_fn op)
{
	struct verdict own, kid[2];
	/* A whole chunk at least: a small file's table gets attached too. */
	unsigned long len = size < 2 * MiB ? 2 * MiB : size;
	unsigned long maplen = len;
	struct child_arg ca;
	unsigned char *m;
	int fd, r, p[2], sig;
	long bad;

	fd = make_victim(path("victim"), size);
	/* The operations' second file, before the file system is full. */
	other_fd = make_pattern_file(other_path, 6, size, size);
	fsync(other_fd);
	m = map_daxvm(fd, len, PROT_READ | PROT_WRITE);
	if (m == MAP_FAILED)
		tap_die("%s: mmap", name);
	touch(m, size);
	fill_fs();
	r = op(fd, &len);
	if (r < 0) {
		char why[128];

		snprintf(why, sizeof(why), "%s: operation failed (errno %d: %s)",
			 name, errno, strerror(errno));
		tap_skip(why);
		goto out;
	}
	if (r > 0) {
		tap_result(1, "%s: refused (errno %d: %s)", name, errno,
			   strerror(errno));
		goto out;
	}
	write_secrets();
	read_expect(fd, len);
	check_view(m, len, &own);

	if (pipe(p))
		tap_die("pipe");
	ca.old = m;
	ca.len = len;
	ca.pipe = p[1];
	ca.fd = fd;
	sig = in_child(attacker, &ca);
	close(p[1]);
	if (read(p[0], kid, sizeof(kid)) != sizeof(kid))
		tap_die("%s: attacker reported nothing (status %d)", name, sig);
	close(p[0]);
	bad = check_secrets();

	tap_result(!own.secret && !own.stale,
		   "%s: old mapping: %ld secret pages, %ld stale (of %lu, %ld SIGBUS; %d secret files)",
		   name, own.secret, own.stale, len / PG, own.sigbus, nr_secrets);
	tap_result(!kid[0].secret && !kid[0].stale,
		   "%s: old mapping in a uid %d child: %ld secret pages, %ld stale (%ld SIGBUS)",
		   name, USER_ID, kid[0].secret, kid[0].stale, kid[0].sigbus);
	tap_result(!kid[1].secret && !kid[1].stale,
		   "%s: new MAP_DAXVM mapping by uid %d: %ld secret pages, %ld stale (%ld SIGBUS)",
		   name, USER_ID, kid[1].secret, kid[1].stale, kid[1].sigbus);
	tap_result(!bad && !sig, "%s: stores through both mappings left the secret files alone (%ld pages changed, child status %d)",
		   name, bad, sig);
out:
	munmap(m, maplen);
	close(fd);
	close(other_fd);
	unlink(other_path);
	cleanup();
}

/* Each operation; *len may grow to cover what the case wants checked. */

static int op_truncate(int fd, unsigned long *len)
{
	/* Cut to 3 MiB + 12 KiB, then the owner extends it again. */
	if (ftruncate(fd, 3 * MiB + 3 * PG) || ftruncate(fd, *len))
		return -1;
	return 0;
}

static int op_punch(int fd, unsigned long *len)
{
	return fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			 MiB + 2 * PG, 4 * MiB) ? -1 : 0;
}

static int op_collapse(int fd, unsigned long *len)
{
	if (fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, MiB + PG, 3 * MiB))
		return -1;
	/* The blocks of the file's end are freed: extend it again. */
	return ftruncate(fd, *len) ? -1 : 0;
}

static int op_insert(int fd, unsigned long *len)
{
	return fallocate(fd, FALLOC_FL_INSERT_RANGE, MiB + PG, 2 * MiB) ?
	       -1 : 0;
}

static int op_zero(int fd, unsigned long *len)
{
	return fallocate(fd, FALLOC_FL_ZERO_RANGE, 512 * KiB + PG,
			 3 * MiB) ? -1 : 0;
}

/* chattr -e: the extent-mapped file becomes indirect-mapped. */
static int to_indirect(int fd)
{
	int flags;

	if (ioctl(fd, FS_IOC_GETFLAGS, &flags))
		return -1;
	flags &= ~FS_EXTENT_FL;
	if (ioctl(fd, FS_IOC_SETFLAGS, &flags))
		return errno == EOPNOTSUPP || errno == EINVAL ? 1 : -1;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) || (flags & FS_EXTENT_FL))
		return -1;
	return 0;
}

/* chattr +e: back to extents, so that new mappings use the tables. */
static int to_extents(int fd)
{
	return ioctl(fd, EXT4_IOC_MIGRATE) ? -1 : 0;
}

static int op_migrate_truncate(int fd, unsigned long *len)
{
	int r = to_indirect(fd);

	if (r)
		return r;
	if (ftruncate(fd, PG) || ftruncate(fd, SMALL))
		return -1;
	return to_extents(fd);
}

static int op_migrate_punch(int fd, unsigned long *len)
{
	int r = to_indirect(fd);

	if (r)
		return r;
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, PG,
		      SMALL - PG))
		return -1;
	return to_extents(fd);
}

static int op_swap_boot(int fd, unsigned long *len)
{
	/* The victim's blocks go to the boot loader inode... */
	if (ioctl(fd, EXT4_IOC_SWAP_BOOT))
		return errno == EOPNOTSUPP || errno == EINVAL ? 1 : -1;
	/* ... then to another file, which frees them. */
	if (ioctl(other_fd, EXT4_IOC_SWAP_BOOT) || ftruncate(other_fd, 0))
		return -1;
	/* The owner extends the victim to its old size. */
	return ftruncate(fd, *len) ? -1 : 0;
}

static int move_ext(int orig, int donor, unsigned long len)
{
	struct move_extent me = {
		.donor_fd = donor,
		.len = len / PG,
	};

	if (ioctl(orig, EXT4_IOC_MOVE_EXT, &me))
		return errno == EOPNOTSUPP || errno == EINVAL ? 1 : -1;
	return 0;
}

/* The mapped DAX victim is the original; the donor gets its blocks. */
static int op_move_ext_orig(int fd, unsigned long *len)
{
	int r = move_ext(fd, other_fd, *len);

	if (!r && ftruncate(other_fd, 0))
		r = -1;
	return r;
}

/* dax=inode: the victim is DAX (its directory's flag), the original not. */
static int op_move_ext_donor(int fd, unsigned long *len)
{
	int r = move_ext(other_fd, fd, *len);

	if (!r && ftruncate(other_fd, 0))
		r = -1;
	return r;
}

static void remount(const char *how)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "umount %s && mount -o %s /dev/%s %s",
		 mnt, how, devname, mnt);
	if (system(cmd))
		tap_die("remount %s", how);
}

static void case_move_ext_donor(void)
{
	struct fsxattr fsx;
	int dfd, fd;

	remount("dax=inode");
	/* A user may set the DAX flag on a directory of their own. */
	mkdir(dir, 0755);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || ioctl(dfd, FS_IOC_FSGETXATTR, &fsx))
		tap_die("FS_IOC_FSGETXATTR");
	fsx.fsx_xflags |= FS_XFLAG_DAX;
	if (ioctl(dfd, FS_IOC_FSSETXATTR, &fsx))
		tap_die("FS_IOC_FSSETXATTR");
	close(dfd);
	snprintf(other_path, sizeof(other_path), "%s/daxvm-reuse-plain", mnt);
	fd = open(other_path, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ioctl(fd, FS_IOC_FSGETXATTR, &fsx))
		tap_die("create %s", other_path);
	close(fd);
	if (fsx.fsx_xflags & FS_XFLAG_DAX)
		tap_die("%s is DAX under dax=inode", other_path);
	fd = open(path("victim"), O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ioctl(fd, FS_IOC_FSGETXATTR, &fsx))
		tap_die("create victim");
	close(fd);
	if (!(fsx.fsx_xflags & FS_XFLAG_DAX))
		tap_die("the victim did not inherit the DAX flag");
	run_case("move-ext-donor", 4 * MiB, op_move_ext_donor);
	unlink(other_path);
	rmdir(dir);
	remount("dax=always");
	mkdir(dir, 0755);
	snprintf(other_path, sizeof(other_path), "%s/other", dir);
}

static const struct {
	const char *name;
	unsigned long size;
	op_fn op;
} cases[] = {
	{ "truncate", BIG, op_truncate },
	{ "punch", BIG, op_punch },
	{ "collapse", BIG, op_collapse },
	{ "insert", BIG, op_insert },
	{ "zero", BIG, op_zero },
	{ "migrate-truncate", SMALL, op_migrate_truncate },
	{ "migrate-punch", SMALL, op_migrate_punch },
	{ "swap-boot", BIG, op_swap_boot },
	{ "move-ext-orig", 4 * MiB, op_move_ext_orig },
};

static int wanted(int argc, char **argv, const char *name)
{
	int i;

	if (argc <= 3)
		return 1;
	for (i = 3; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int i;

	tap_usage_if(argc < 3, argv[0], "DIR DEVNAME [CASE...]");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	tap_skip_all_if(geteuid(), "needs root");
	mnt = argv[1];
	devname = argv[2];
	snprintf(dir, sizeof(dir), "%s/daxvm-reuse", mnt);
	snprintf(other_path, sizeof(other_path), "%s/other", dir);
	mkdir(dir, 0755);
	setvbuf(stdout, NULL, _IOLBF, 0);
	catch_faults();
	printf("TAP version 13\n");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (wanted(argc, argv, cases[i].name)) {
			printf("# case %s\n", cases[i].name);
			run_case(cases[i].name, cases[i].size, cases[i].op);
		}
	if (wanted(argc, argv, "move-ext-donor")) {
		printf("# case move-ext-donor\n");
		case_move_ext_donor();
	}
	rmdir(dir);
	printf("1..%d\n", tap_n);
	return tap_finish();
}

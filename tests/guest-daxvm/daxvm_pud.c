// SPDX-License-Identifier: GPL-2.0
/*
 * PUD-level attachment (kernel patch 0022): a read-only MAP_DAXVM mapping
 * of a whole GiB of a file takes the file's directory (a PMD page of the
 * file) with one PUD entry, so mmap() and munmap() cost the same at 1 GiB
 * as at 2 MiB.
 *   daxvm_pud DIR DEVNAME
 * DIR must be the ext4-DAX mount of /dev/DEVNAME with 1 GiB free. The
 * device is read with O_DIRECT, never written.
 *
 * The directory must never grant a write (mprotect, GUP for writing), and
 * no one may reach freed blocks through it (hole punching, truncate).
 */
#include "daxvm_util.h"

#define GiB		(1024 * MiB)
#define ID		3	/* pattern of the file */

static char path[512], dev[64];

static unsigned char *map_ro(int fd)
{
	unsigned char *m = mmap(NULL, GiB, PROT_READ,
				MAP_SHARED_VALIDATE | MAP_DAXVM, fd, 0);

	if (m == MAP_FAILED)
		tap_die("mmap 1 GiB MAP_DAXVM");
	return m;
}

/* The first page of the mapping that does not read right, or -1. */
static long first_bad(const unsigned char *m, unsigned long len, long *faults)
{
	long f0 = minflt(), bad = check_pattern(m, ID, 0, len);

	*faults = minflt() - f0;
	return bad;
}

static void child_reads(void *arg)
{
	long faults, bad = first_bad(arg, GiB, &faults);

	/* One fault attaches the directory (fork copies no DaxVM entry). */
	_exit(bad < 0 && faults <= 1 ? 0 : 1);
}

/* O_DIRECT read of the device into @buf: GUP for writing. */
static int direct_read_into(void *buf)
{
	int fd = open(dev, O_RDONLY | O_DIRECT), err;

	if (fd < 0)
		tap_die("open %s O_DIRECT", dev);
	err = pread(fd, buf, 64 * KiB, 0) < 0 ? errno : 0;
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	long dirs0, att, faults, bad, dropped;
	unsigned char *m, *m2, v = 0, *anon, page[PG];
	int fd, sig, err, err2;

	if (argc != 3)
		tap_die("usage: daxvm_pud DIR DEVNAME");
	tap_skip_all_if(!daxvm_kernel() || daxvm_stat("dirs_attached") < 0, "kernel without PUD-level attachment");
	snprintf(path, sizeof(path), "%s/daxvm-pud.dat", argv[1]);
	snprintf(dev, sizeof(dev), "/dev/%s", argv[2]);
	tap_plan(12);
	catch_faults();
	dirs0 = daxvm_stat("dirs");

	/*
	 * 1 GiB written 2 MiB at a time: huge entries where the blocks are
	 * aligned. One page rewritten elsewhere after a punch makes its
	 * chunk a table: the directory holds both kinds.
	 */
	fd = make_pattern_file(path, ID, GiB, 2 * MiB);
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      4 * MiB + 8 * KiB, PG))
		tap_die("punch");
	memset(page, pattern(ID, 4 * MiB + 8 * KiB), PG);
	if (pwrite(fd, page, PG, 4 * MiB + 8 * KiB) != PG || fsync(fd))
		tap_die("rewrite");

	att = daxvm_stat("dirs_attached");
	m = map_ro(fd);
	tap_result((unsigned long)m % GiB == 0 &&
		   daxvm_stat("dirs_attached") == att + 1 &&
		   daxvm_stat("dirs") == dirs0 + 1,
		   "a read-only 1 GiB mapping is 1 GiB aligned (%p) and takes one directory (%ld attached, %ld built)",
		   m, daxvm_stat("dirs_attached") - att, daxvm_stat("dirs") - dirs0);
	bad = first_bad(m, GiB, &faults);
	tap_result(bad < 0 && faults == 0,
		   "it reads right with no page fault (bad page %ld, %ld faults)",
		   bad, faults);

	/* A second mapping and a fork child share the built directory. */
	att = daxvm_stat("dirs_attached");
	m2 = map_ro(fd);
	bad = first_bad(m2, GiB, &faults);
	tap_result(bad < 0 && faults == 0 && daxvm_stat("dirs") == dirs0 + 1 &&
		   daxvm_stat("dirs_attached") == att + 1,
		   "a second mapping attaches the same directory: reads right, %ld faults, %ld built",
		   faults, daxvm_stat("dirs") - dirs0);
	munmap(m2, GiB);
	sig = in_child(child_reads, m);
	tap_result(sig == 0, "a fork child reads it right after one fault (%d)",
		   sig);

	/* GUP for writing (O_DIRECT read into it) must not pass the entries. */
	anon = mmap(NULL, 64 * KiB, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	err = direct_read_into(anon);
	err2 = direct_read_into(m + 64 * MiB);
	bad = check_pattern(m + 64 * MiB, ID, 64 * MiB, 64 * KiB);
	tap_result(err == 0 && err2 == EFAULT && bad < 0,
		   "an O_DIRECT read into the read-only mapping fails with EFAULT (%s; into anonymous memory: %s), the file is intact",
		   strerror(err2), strerror(err));
	munmap(anon, 64 * KiB);

	/* mprotect() detaches: writes go through a private table. */
	close(fd);
	fd = open(path, O_RDWR);
	if (fd < 0)
		tap_die("open O_RDWR");
	m2 = mmap(NULL, GiB, PROT_READ, MAP_SHARED_VALIDATE | MAP_DAXVM, fd, 0);
	if (m2 == MAP_FAILED || mprotect(m2, GiB, PROT_READ | PROT_WRITE))
		tap_die("mmap, mprotect");
	m2[300 * MiB] = 0x42;
	if (pread(fd, &v, 1, 300 * MiB) != 1)
		tap_die("pread");
	tap_result(v == 0x42 && m[300 * MiB] == 0x42,
		   "after mprotect(PROT_WRITE) a store reaches the file and the read-only mapping (%#x)",
		   v);
	m2[300 * MiB] = pattern(ID, 300 * MiB);
	if (mprotect(m2, GiB, PROT_READ))
		tap_die("mprotect");
	sig = try_write(m2 + 301 * MiB, 1);
	tap_result(sig == SIGSEGV,
		   "mprotect(PROT_READ) again: a store faults (signal %d)", sig);

	/* munmap() of one page splits the VMA: the rest stays right. */
	if (munmap(m2 + 500 * MiB, PG))
		tap_die("munmap");
	bad = check_pattern(m2, ID, 0, 500 * MiB);
	if (bad < 0)
		bad = check_pattern(m2 + 500 * MiB + PG, ID, 500 * MiB + PG,
				    GiB - 500 * MiB - PG);
	tap_result(bad < 0, "a page unmapped inside the GiB: the rest reads right (bad page %ld)",
		   bad);
	munmap(m2, 500 * MiB);
	munmap(m2 + 500 * MiB + PG, GiB - 500 * MiB - PG);

	/* Freed blocks: a punched page reads zeros, truncate gives SIGBUS. */
	touch(m, GiB);
	dropped = daxvm_stat("dirs_dropped");
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      200 * MiB + 12 * KiB, PG))
		tap_die("punch");
	sig = try_read(m + 200 * MiB + 12 * KiB, &v);
	bad = check_pattern(m + 200 * MiB + 16 * KiB, ID, 200 * MiB + 16 * KiB,
			    MiB);
	tap_result(sig == 0 && v == 0 && bad < 0,
		   "a hole punched under the mapping reads 0, its neighbours right (directories dropped: %ld)",
		   daxvm_stat("dirs_dropped") - dropped);
	touch(m, GiB / 2);
	if (ftruncate(fd, GiB / 2))
		tap_die("truncate");
	sig = try_read(m + GiB / 2 + 4 * MiB, &v);
	bad = check_pattern(m, ID, 0, 200 * MiB);
	tap_result(sig == SIGBUS && bad < 0,
		   "after a truncate to 512 MiB: SIGBUS beyond (signal %d), right below (bad page %ld)",
		   sig, bad);
	munmap(m, GiB);
	close(fd);

	/* Directories go with the inode. */
	unlink(path);
	sync();
	wait_deferred_frees(WAIT_LIMIT);
	tap_result(daxvm_stat("dirs") == dirs0,
		   "after unlink every directory is freed (%ld left over)",
		   daxvm_stat("dirs") - dirs0);
	tap_result(daxvm_stat("tables_waiting") == 0,
		   "no dropped directory or table waits to be freed (%ld)",
		   daxvm_stat("tables_waiting"));
	return tap_finish();
}

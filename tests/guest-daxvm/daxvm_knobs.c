// SPDX-License-Identifier: GPL-2.0
/*
 * The per-mount DaxVM knobs of ext4: daxvm_page_tables_on (0/1, anything
 * else EINVAL) and daxvm_kbytes_occupied (KiB of file tables).
 *
 *   daxvm_knobs EXT4_DAX_DIR DEV   (DEV as in /proc/fs/ext4/DEV, e.g. pmem0)
 */
#include "daxvm_util.h"

static char on_path[512], kb_path[512];

static long faults_of_touch(int fd, unsigned long size, long *bad)
{
	unsigned char *p = map_daxvm(fd, size, PROT_READ);
	long before;

	if (p == MAP_FAILED)
		tap_die("mmap");
	before = minflt();
	touch(p, size);
	before = minflt() - before;
	*bad = check_pattern(p, 3, 0, size);
	munmap(p, size);
	return before;
}

int main(int argc, char **argv)
{
	char path[4096], path2[4096];
	long k0, k1, k2, f, bad;
	int fd, e;

	tap_usage_if(argc != 3, argv[0], "EXT4_DAX_DIR DEV");
	tap_skip_all_if(!daxvm_kernel(), "kernel without DaxVM");
	snprintf(on_path, sizeof(on_path), "/proc/fs/ext4/%s/daxvm_page_tables_on", argv[2]);
	snprintf(kb_path, sizeof(kb_path), "/proc/fs/ext4/%s/daxvm_kbytes_occupied", argv[2]);
	snprintf(path, sizeof(path), "%s/daxvm_knobs.%d", argv[1], getpid());
	snprintf(path2, sizeof(path2), "%s/daxvm_knobs2.%d", argv[1], getpid());
	tap_plan(12);

	tap_result(read_num(on_path) == 1, "daxvm_page_tables_on defaults to 1");
	e = write_knob(on_path, "2\n");
	tap_result(e == EINVAL, "writing 2 fails with EINVAL (errno %d)", e);
	e = write_knob(on_path, "yes\n");
	tap_result(e == EINVAL && read_num(on_path) == 1,
		   "writing garbage fails with EINVAL and changes nothing (errno %d)", e);
	e = write_knob(kb_path, "0\n");
	tap_result(e != 0, "daxvm_kbytes_occupied is read-only (errno %d)", e);

	k0 = read_num(kb_path);
	fd = make_pattern_file(path, 3, 8 * MiB, 64 * KiB);
	k1 = read_num(kb_path);
	tap_result(k0 >= 0 && k1 > k0, "writing 8 MiB in 64 KiB pieces adds tables (%ld -> %ld KiB)",
		   k0, k1);
	f = faults_of_touch(fd, 8 * MiB, &bad);
	tap_result(f == 0 && bad < 0, "knob on: no faults (%ld), data right (%ld)", f, bad);

	e = write_knob(on_path, "0\n");
	tap_result(e == 0 && read_num(on_path) == 0 && read_num(kb_path) == 0,
		   "knob 0 deletes all tables (errno %d, %ld KiB)", e, read_num(kb_path));
	f = faults_of_touch(fd, 8 * MiB, &bad);
	tap_result(f > 0 && bad < 0, "knob off: MAP_DAXVM falls back to faults (%ld), data right (%ld)",
		   f, bad);
	close(make_pattern_file(path2, 3, 2 * MiB, 64 * KiB));
	tap_result(read_num(kb_path) == 0, "knob off: writes build no tables");

	e = write_knob(on_path, "1\n");
	f = faults_of_touch(fd, 8 * MiB, &bad);
	tap_result(e == 0 && f == 0 && bad < 0,
		   "knob 1 again: mmap rebuilds the tables, no faults (%ld)", f);
	close(fd);
	unlink(path);
	unlink(path2);
	k0 = read_num(kb_path);
	fd = make_pattern_file(path, 3, 8 * MiB, 64 * KiB);
	k1 = read_num(kb_path);
	close(fd);
	unlink(path);
	k2 = read_num(kb_path);
	tap_result(k1 > k0, "writes add tables again (%ld -> %ld KiB)", k0, k1);
	tap_result(k2 == k0, "unlink frees them (%ld KiB)", k2);
	return tap_finish();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Data written through a DAX mapping and msync'd must survive a restart of
 * the VM (the NVDIMM backing file keeps it).
 *
 *   persist write FILE TOKEN   fill 8 MiB with a pattern seeded by TOKEN, msync
 *   persist check FILE TOKEN   verify every byte
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include "tap.h"

#define LEN (8UL << 20)

static uint64_t pattern(uint64_t seed, size_t i)
{
	uint64_t x = seed ^ (i * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 29);
}

int main(int argc, char **argv)
{
	int write_mode, fd;
	uint64_t seed, *p;
	size_t i, bad = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: %s write|check FILE TOKEN\n", argv[0]);
		return 2;
	}
	write_mode = !strcmp(argv[1], "write");
	seed = strtoull(argv[3], NULL, 0);
	tap_plan(1);
	fd = open(argv[2], write_mode ? O_RDWR | O_CREAT | O_TRUNC : O_RDONLY, 0600);
	if (fd < 0)
		tap_die("open %s", argv[2]);
	if (write_mode && ftruncate(fd, LEN))
		tap_die("ftruncate");
	p = mmap(NULL, LEN, write_mode ? PROT_READ | PROT_WRITE : PROT_READ,
		 MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tap_die("mmap");
	if (write_mode) {
		for (i = 0; i < LEN / 8; i++)
			p[i] = pattern(seed, i);
		tap_result(msync(p, LEN, MS_SYNC) == 0 && fsync(fd) == 0,
			   "wrote and msync'd %lu MiB to %s", LEN >> 20, argv[2]);
	} else {
		for (i = 0; i < LEN / 8; i++)
			bad += p[i] != pattern(seed, i);
		tap_result(bad == 0, "%s holds the pattern after restart (%zu bad words)",
			   argv[2], bad);
	}
	munmap(p, LEN);
	close(fd);
	return tap_finish();
}

#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/daxvm.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* mapcost FILE SIZE_BYTES LOOPS TOUCH(0/1) */
int main(int argc, char **argv)
{
	unsigned long size = strtoul(argv[2], NULL, 0), off;
	int loops = atoi(argv[3]), touch = atoi(argv[4]), i;
	double tm = 0, tu = 0, t;
	volatile unsigned long sum = 0;
	int fd = open(argv[1], O_RDONLY);

	if (fd < 0)
		return perror("open"), 1;
	for (i = 0; i < loops + 1; i++) {
		t = now();
		unsigned char *p = mmap(NULL, size, PROT_READ, MAP_SHARED_VALIDATE | MAP_DAXVM, fd, 0);
		double d = now() - t;
		if (p == MAP_FAILED)
			return perror("mmap"), 1;
		if (touch)
			for (off = 0; off < size; off += 4096)
				sum += p[off];
		t = now();
		munmap(p, size);
		if (i) { tm += d; tu += now() - t; }
	}
	printf("%s %lu KiB touch=%d: mmap %.1f us, munmap %.1f us\n", argv[1], size >> 10, touch, tm / loops * 1e6, tu / loops * 1e6);
	return 0;
}

#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
	const char *path = argv[1];
	unsigned long size = strtoul(argv[2], NULL, 0) << 20;
	int loops = atoi(argv[3]), flags = MAP_SHARED_VALIDATE | (argc > 4 ? MAP_DAXVM : 0);
	double tm = 0, tu = 0, t;
	int fd = open(path, O_RDWR | O_CREAT, 0644), i;

	if (fd < 0 || fallocate(fd, 0, 0, size))
		return perror("file"), 1;
	fsync(fd);
	for (i = 0; i < loops; i++) {
		t = now();
		char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
		tm += now() - t;
		if (p == MAP_FAILED)
			return perror("mmap"), 1;
		t = now();
		munmap(p, size);
		tu += now() - t;
	}
	printf("size %lu MiB %s: mmap %.1f us, munmap %.1f us\n", size >> 20,
	       argc > 4 ? "MAP_DAXVM" : "plain", tm / loops * 1e6, tu / loops * 1e6);
	return 0;
}

/* Exercises <daxvm/daxvm.h> from ISO C (compiled with -pedantic). Each
 * function returns 0 on success or the line number of the failed check. */
#include <errno.h>
#include <string.h>

#include <daxvm/daxvm.h>

#include "c_api_check.h"

#define CHECK(cond) \
	do { \
		if (!(cond)) \
			return __LINE__; \
	} while (0)

int c_map_read_sync(const char *path, const char *expect, size_t len)
{
	struct daxvm_map_opts o;
	daxvm_mapping *m = NULL;
	memset(&o, 0, sizeof o);
	o.flags = DAXVM_OPT_WRITE | DAXVM_OPT_DAXVM | DAXVM_OPT_FALLBACK;
	CHECK(daxvm_map(path, &o, &m) == 0);
	CHECK(m != NULL);
	CHECK(daxvm_mapping_size(m) == len);
	CHECK(memcmp(daxvm_mapping_addr(m), expect, len) == 0);
	CHECK(daxvm_mapping_fallback(m) != DAXVM_FALLBACK_NONE ||
	      daxvm_probe_kernel() > 0);
	((char *)daxvm_mapping_addr(m))[0] = 'C';
	CHECK(daxvm_sync(m, 0, 0) == 0);
	CHECK(daxvm_sync(m, 1, 1) == 0);
	CHECK(daxvm_sync(m, len + 1, 0) == -EINVAL);
	CHECK(daxvm_unmap(&m) == 0);
	CHECK(m == NULL); /* cleared: a second unmap is an error, not a double free */
	CHECK(daxvm_unmap(&m) == -EINVAL);
	return 0;
}

int c_errors(const char *empty_file, const char *regular_file)
{
	struct daxvm_map_opts o;
	daxvm_mapping *m = NULL;
	memset(&o, 0, sizeof o);
	CHECK(daxvm_map("/nonexistent/x", NULL, &m) == -ENOENT);
	CHECK(m == NULL);
	CHECK(daxvm_map(empty_file, NULL, &m) == -DAXVM_EEMPTY);
	o.offset = 1;
	CHECK(daxvm_map(regular_file, &o, &m) == -DAXVM_EALIGN);
	o.offset = 0;
	o.length = 1u << 30;
	CHECK(daxvm_map(regular_file, &o, &m) == -DAXVM_ERANGE);
	o.length = 0;
	o.flags = DAXVM_OPT_SYNC;
	CHECK(daxvm_map(regular_file, &o, &m) == -DAXVM_ENOTDAX);
	o.flags = 0x8000; /* unknown option bit */
	CHECK(daxvm_map(regular_file, &o, &m) == -EINVAL);
	o.flags = DAXVM_OPT_BATCHING; /* a DaxVM option without DAXVM */
	CHECK(daxvm_map(regular_file, &o, &m) == -EINVAL);
	o.flags = DAXVM_OPT_PRIVATE | DAXVM_OPT_SYNC; /* the kernel refuses it */
	CHECK(daxvm_map(regular_file, &o, &m) == -EINVAL);
	CHECK(m == NULL);
	CHECK(daxvm_map(NULL, NULL, &m) == -EINVAL);
	CHECK(daxvm_map(regular_file, NULL, NULL) == -EINVAL);
	CHECK(daxvm_unmap(NULL) == -EINVAL);
	CHECK(daxvm_unmap(&m) == -EINVAL);
	CHECK(daxvm_probe_dax(regular_file) == 0);
	CHECK(daxvm_probe_map_sync(regular_file) == 0);
	CHECK(daxvm_probe_dax("/nonexistent/x") == -ENOENT);
	CHECK(strcmp(daxvm_strerror(-DAXVM_ENOKERNEL), "kernel lacks DaxVM") == 0);
	CHECK(strcmp(daxvm_strerror(-ENOENT), "No such file or directory") == 0);
	CHECK(strcmp(daxvm_strerror(-DAXVM_ENOFSSUP),
		     "the file's DAX file system does not support DaxVM") == 0);
	return 0;
}

int c_no_kernel(void)
{
	CHECK(daxvm_probe_kernel() == -DAXVM_ENOKERNEL);
	CHECK(daxvm_migrate_tables(0, DAXVM_MIGRATE_TO_DRAM) == -DAXVM_ENOKERNEL);
	CHECK(daxvm_flush_zombies(0) == -DAXVM_ENOKERNEL);
	return 0;
}

int c_knobs(void)
{
	uint64_t v = 99;
	CHECK(daxvm_probe_kernel() == DAXVM_UAPI_VERSION);
	CHECK(daxvm_knob_get(DAXVM_KNOB_ZOMBIE_MAX_PAGES, NULL, &v) == 0);
	CHECK(v == 33);
	CHECK(daxvm_knob_set(DAXVM_KNOB_PAGE_TABLES_ON, "pmem0", 1) == 0);
	CHECK(daxvm_knob_get(DAXVM_KNOB_PAGE_TABLES_ON, "pmem0", &v) == 0);
	CHECK(v == 1);
	CHECK(daxvm_knob_set(DAXVM_KNOB_PAGE_TABLES_ON, "pmem0", 2) == -DAXVM_EBADKNOB);
	CHECK(daxvm_knob_set(DAXVM_KNOB_KBYTES_OCCUPIED, "pmem0", 1) == -DAXVM_EKNOBRO);
	CHECK(daxvm_knob_get(DAXVM_KNOB_PREZERO, "pmem0", &v) == -DAXVM_ENOKNOB);
	CHECK(daxvm_knob_get(DAXVM_KNOB_TABLES_IN_PMEM, "pmem0", &v) == -DAXVM_ENOKNOB);
	CHECK(daxvm_knob_get(DAXVM_KNOB_PAGE_TABLES_ON, "nope", &v) == -ENODEV);
	CHECK(daxvm_knob_get(DAXVM_KNOB_PAGE_TABLES_ON, NULL, &v) == -EINVAL);
	CHECK(daxvm_knob_get((enum daxvm_knob)42, NULL, &v) == -EINVAL);
	CHECK(daxvm_knob_get(DAXVM_KNOB_MSYNC, NULL, NULL) == -EINVAL);
	return 0;
}

int c_device(const char *path)
{
	char small[2];
	char buf[64];
	int rc = daxvm_device_for_path(path, buf, sizeof buf);
	CHECK(rc == 0 || rc == -ENODEV);
	if (rc == 0 && strlen(buf) >= sizeof small)
		CHECK(daxvm_device_for_path(path, small, sizeof small) == -ERANGE);
	CHECK(daxvm_device_for_path("/nonexistent/x", buf, sizeof buf) == -ENOENT);
	return 0;
}

/* The contract constants are usable in C constant expressions. */
typedef char flags_are_distinct[(MAP_DAXVM | MAP_DAXVM_BATCHING | MAP_DAXVM_EPHEMERAL |
				 MAP_NO_MSYNC) == (MAP_DAXVM + MAP_DAXVM_BATCHING +
				 MAP_DAXVM_EPHEMERAL + MAP_NO_MSYNC) ? 1 : -1];
#if defined(__x86_64__)
typedef char syscall_numbers[__NR_daxvm_flush_zombies == 451 ? 1 : -1];
#endif

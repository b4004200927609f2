/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daxvm.h - C interface of the DaxVM user library.
 *
 * Carries the kernel contract (mmap flags, syscall numbers, uapi version)
 * and a small C API. Every function returns 0 (or a non-negative value
 * where documented) on success and a negative error number on failure:
 * either -errno or -DAXVM_E* (library conditions, above the errno range).
 * No function raises a C++ exception.
 */
#ifndef DAXVM_DAXVM_H
#define DAXVM_DAXVM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- Kernel contract: must equal include/uapi/linux/daxvm.h ---------- */
/* (tests/uapi_patch_test.cpp checks these against the kernel patch.) */
#ifndef DAXVM_UAPI_VERSION
#define DAXVM_UAPI_VERSION 2 /* 2: MAP_DAXVM_BATCHING, daxvm_flush_zombies */
#endif
#ifndef MAP_DAXVM
#define MAP_DAXVM 0x0400000 /* attach the file's prebuilt page tables at mmap */
#endif
#ifndef MAP_DAXVM_BATCHING
#define MAP_DAXVM_BATCHING 0x0200000 /* munmap defers and batches TLB flushes */
#endif
#ifndef MAP_DAXVM_EPHEMERAL
#define MAP_DAXVM_EPHEMERAL 0x0800000 /* per-process ephemeral heap */
#endif
#ifndef MAP_NO_MSYNC
#define MAP_NO_MSYNC 0x1000000 /* no kernel dirty tracking; app flushes */
#endif
#ifndef DAXVM_MIGRATE_TO_DRAM
#define DAXVM_MIGRATE_TO_DRAM 0x1 /* flag for daxvm_migrate_tables */
#endif

/* Syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl of the series).
 * Later mainline kernels reuse 451 (cachestat), so never call it without
 * the /proc/fs/daxvm/version probe (>= 2); the library's wrappers do that.
 * daxvm_migrate_tables has no number yet: no kernel patch adds it. */
#if defined(__x86_64__)
#ifndef __NR_daxvm_flush_zombies
#define __NR_daxvm_flush_zombies 451
#endif
#endif

/* ---- Library error numbers (returned negated) ----------------------- */
#define DAXVM_EBASE 5000             /* above Linux MAX_ERRNO (4095) */
#define DAXVM_ENOKERNEL (DAXVM_EBASE + 1) /* kernel lacks DaxVM */
#define DAXVM_ENOTDAX (DAXVM_EBASE + 2)   /* file not on a DAX mount */
#define DAXVM_EEMPTY (DAXVM_EBASE + 3)    /* zero-length file */
#define DAXVM_EALIGN (DAXVM_EBASE + 4)    /* offset not page aligned */
#define DAXVM_ERANGE (DAXVM_EBASE + 5)    /* range beyond end of file */
#define DAXVM_ENOKNOB (DAXVM_EBASE + 6)   /* knob file missing */
#define DAXVM_EBADKNOB (DAXVM_EBASE + 7)  /* knob content unparsable */
#define DAXVM_EKNOBRO (DAXVM_EBASE + 8)   /* knob is read-only */
#define DAXVM_EOPTION (DAXVM_EBASE + 9)   /* DaxVM lacks a requested option */
#define DAXVM_ENOFSSUP (DAXVM_EBASE + 10) /* DAX file, file system lacks DaxVM */

#ifdef __cplusplus
#define DAXVM_NOEXCEPT noexcept /* the implementation catches everything */
extern "C" {
#else
#define DAXVM_NOEXCEPT
#endif

/* ---- Mapping -------------------------------------------------------- */
/* Mapping options, or-ed into daxvm_map_opts.flags. BATCHING, EPHEMERAL
 * and NO_MSYNC are options of a MAP_DAXVM mapping: they need DAXVM (else
 * -EINVAL), and PRIVATE excludes DAXVM and SYNC (-EINVAL). The C++ API's
 * daxvm::map_flags has the same values. */
enum daxvm_opt {
	DAXVM_OPT_NONE = 0,
	DAXVM_OPT_WRITE = 0x001,     /* PROT_READ|PROT_WRITE, else read-only */
	DAXVM_OPT_DAXVM = 0x002,     /* MAP_DAXVM */
	DAXVM_OPT_BATCHING = 0x004,  /* MAP_DAXVM_BATCHING (needs DAXVM) */
	DAXVM_OPT_EPHEMERAL = 0x008, /* MAP_DAXVM_EPHEMERAL (needs DAXVM) */
	DAXVM_OPT_POPULATE = 0x010,  /* MAP_POPULATE */
	DAXVM_OPT_SYNC = 0x020,      /* MAP_SYNC */
	DAXVM_OPT_NO_MSYNC = 0x040,  /* MAP_NO_MSYNC (needs DAXVM) */
	DAXVM_OPT_PRIVATE = 0x080,   /* MAP_PRIVATE instead of MAP_SHARED_VALIDATE */
	DAXVM_OPT_FALLBACK = 0x100,  /* drop unsupported flags instead of failing */
	DAXVM_OPT_ALL = 0x1ff
};

struct daxvm_map_opts {
	unsigned int flags; /* enum daxvm_opt bits */
	uint64_t offset;    /* file offset, page aligned */
	size_t length;      /* 0 = up to end of file */
};

/* Why flags were dropped under DAXVM_OPT_FALLBACK. */
enum daxvm_fallback_reason {
	DAXVM_FALLBACK_NONE = 0,
	DAXVM_FALLBACK_NO_KERNEL = 1, /* kernel lacks DaxVM */
	DAXVM_FALLBACK_NOT_DAX = 2,   /* file is not on a DAX mount */
	DAXVM_FALLBACK_OPTION = 3,    /* DaxVM lacks an option: mapped without it */
	DAXVM_FALLBACK_NO_FS = 4,     /* DAX file, file system lacks DaxVM */
};

typedef struct daxvm_mapping daxvm_mapping;

/* opts may be NULL (whole file, read-only, no DaxVM flags). */
int daxvm_map(const char *path, const struct daxvm_map_opts *opts,
	      daxvm_mapping **out) DAXVM_NOEXCEPT;
/* The fd is not taken over; it may be closed after the call. */
int daxvm_map_fd(int fd, const struct daxvm_map_opts *opts,
		 daxvm_mapping **out) DAXVM_NOEXCEPT;
void *daxvm_mapping_addr(const daxvm_mapping *m) DAXVM_NOEXCEPT;
size_t daxvm_mapping_size(const daxvm_mapping *m) DAXVM_NOEXCEPT;
/* DAXVM_FALLBACK_NONE for NULL. */
enum daxvm_fallback_reason daxvm_mapping_fallback(const daxvm_mapping *m) DAXVM_NOEXCEPT;
/* Make [offset, offset+length) of the mapping durable; length 0 = from
 * offset to the end. */
int daxvm_sync(daxvm_mapping *m, size_t offset, size_t length) DAXVM_NOEXCEPT;
/* Unmaps and frees *m (always freed, even on error) and sets *m to NULL,
 * so a second call gives -EINVAL instead of a double free. No msync. */
int daxvm_unmap(daxvm_mapping **m) DAXVM_NOEXCEPT;

/* ---- Probe ----------------------------------------------------------- */
/* Returns the uapi version (>0, /proc/fs/daxvm/version) or -DAXVM_ENOKERNEL. */
int daxvm_probe_kernel(void) DAXVM_NOEXCEPT;
/* Returns 1 if the file is on a DAX mount, 0 if not, negative on error. */
int daxvm_probe_dax(const char *path) DAXVM_NOEXCEPT;
/* Returns 1 if MAP_SYNC works for the file, 0 if not, negative on error. */
int daxvm_probe_map_sync(const char *path) DAXVM_NOEXCEPT;

/* ---- Knobs ----------------------------------------------------------- */
enum daxvm_knob {
	DAXVM_KNOB_PAGE_TABLES_ON = 0,  /* per mount, rw 0/1 */
	DAXVM_KNOB_KBYTES_OCCUPIED = 1, /* per mount, ro */
	DAXVM_KNOB_ZEROOUT_BLOCKS = 2,  /* per mount, rw 0/1 */
	DAXVM_KNOB_PREZERO = 3,         /* per mount, rw 0/1 */
	DAXVM_KNOB_PREZEROED_BLOCKS = 4,/* per mount, ro */
	DAXVM_KNOB_MSYNC = 5,           /* global, rw 0/1 */
	DAXVM_KNOB_ZOMBIE_MAX_PAGES = 6,/* global, rw number */
	DAXVM_KNOB_TABLES_IN_PMEM = 7,  /* per mount, rw 0/1 */
};

/* dev: block device name (e.g. "pmem0"); ignored for global knobs. */
int daxvm_knob_get(enum daxvm_knob knob, const char *dev,
		   uint64_t *value) DAXVM_NOEXCEPT;
int daxvm_knob_set(enum daxvm_knob knob, const char *dev,
		   uint64_t value) DAXVM_NOEXCEPT;
/* Block device name of the file system holding path, e.g. "pmem0". */
int daxvm_device_for_path(const char *path, char *buf, size_t buflen) DAXVM_NOEXCEPT;

/* ---- Syscalls (probe first; -DAXVM_ENOKERNEL without DaxVM, ---------- */
/* -DAXVM_EOPTION if this DaxVM lacks the call, else -errno)              */
int daxvm_migrate_tables(pid_t pid, unsigned int flags) DAXVM_NOEXCEPT;
int daxvm_flush_zombies(unsigned int flags) DAXVM_NOEXCEPT;

/* Message for a value returned by this API (negative or positive). */
const char *daxvm_strerror(int err) DAXVM_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* DAXVM_DAXVM_H */


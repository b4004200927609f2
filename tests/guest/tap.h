/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal TAP helpers for the in-guest tests (the shape of kselftest.h,
 * without depending on a kernel tree at build time).
 */
#ifndef DAXVM_TAP_H
#define DAXVM_TAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void tap_plan(int n)
{
	printf("TAP version 13\n1..%d\n", n);
}

static inline void tap_result(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		tap_failed++;
}

static inline void tap_skip(const char *why)
{
	printf("ok %d # SKIP %s\n", ++tap_n, why);
	fflush(stdout);
}

static inline int tap_finish(void)
{
	return tap_failed ? 1 : 0;
}

/* Exit 2 (usage error) with "usage: PROG ARGS" if @bad. */
static inline void tap_usage_if(int bad, const char *prog, const char *args)
{
	if (!bad)
		return;
	fprintf(stderr, "usage: %s %s\n", prog, args);
	exit(2);
}

/* Skip the whole test (exit 4, kselftest's KSFT_SKIP) if @skip. */
static inline void tap_skip_all_if(int skip, const char *why)
{
	if (!skip)
		return;
	printf("1..0 # SKIP %s\n", why);
	exit(4);
}

#define tap_die(...) do { printf("Bail out! "); printf(__VA_ARGS__); \
	printf(" (errno %d: %s)\n", errno, strerror(errno)); exit(2); } while (0)

#endif

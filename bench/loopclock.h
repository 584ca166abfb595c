/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The timing helpers of the syscall loops (openloop, sysloop): a
 * monotonic clock in ns, a comparison for qsort() of per-chunk times and
 * a positive count from the command line (exit 2 if it is not one).
 */
#ifndef LOOPCLOCK_H
#define LOOPCLOCK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static inline long parse_pos(const char *prog, const char *s,
			     const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0) {
		fprintf(stderr, "%s: bad %s: %s\n", prog, what, s);
		exit(2);
	}
	return v;
}

#endif

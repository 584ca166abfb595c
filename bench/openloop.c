// SPDX-License-Identifier: GPL-2.0
/*
 * openloop: single-threaded loop of open() on a missing path.
 *
 *   openloop [-n CALLS] [-c CHUNKS] [-w WARMUP] [-C CPU] [PATH]
 *
 * Opens PATH (default: a unique missing path under /tmp) CALLS times
 * (default 200000), split into CHUNKS chunks (default 100). Each chunk is
 * timed with CLOCK_MONOTONIC; the result is the median over chunks of the
 * ns per call. WARMUP extra calls (default 0) are made first on the same
 * path and are included in "opens" (every call is an openat syscall the
 * tracer sees) but not in the timing. -C pins the loop to one CPU.
 *
 * Output (one line, key=value):
 *   median_ns=123.4 mean_ns=125.0 min_ns=120.1 calls=200000 opens=200000 errors=200000 path=/tmp/...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "loopclock.h"

int main(int argc, char **argv)
{
	long calls = 200000, chunks = 100, warmup = 0, opens = 0, errors = 0;
	int cpu = -1;
	char defpath[128];
	const char *path;
	double *per;
	int opt;

	while ((opt = getopt(argc, argv, "n:c:w:C:h")) != -1) {
		switch (opt) {
		case 'n': calls = parse_pos("openloop", optarg, "call count"); break;
		case 'c': chunks = parse_pos("openloop", optarg, "chunk count"); break;
		case 'w': warmup = atol(optarg); break;
		case 'C': cpu = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: openloop [-n CALLS] [-c CHUNKS] [-w WARMUP] [-C CPU] [PATH]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind < argc) {
		path = argv[optind];
	} else {
		snprintf(defpath, sizeof(defpath), "/tmp/openloop-missing-%d-%lld",
			 (int)getpid(), now_ns());
		path = defpath;
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("openloop: sched_setaffinity");
			return 1;
		}
	}
	if (chunks > calls)
		chunks = calls;
	per = calloc(chunks, sizeof(*per));
	if (!per)
		return 1;

	for (long i = 0; i < warmup; i++) {
		int fd = open(path, O_RDONLY);

		opens++;
		if (fd >= 0)
			close(fd);
		else
			errors++;
	}

	long done = 0;
	for (long c = 0; c < chunks; c++) {
		long n = calls / chunks + (c < calls % chunks ? 1 : 0);
		long long t0 = now_ns();

		for (long i = 0; i < n; i++) {
			int fd = open(path, O_RDONLY);

			if (fd >= 0) {
				close(fd);
			} else {
				errors++;
			}
		}
		per[c] = (double)(now_ns() - t0) / n;
		opens += n;
		done += n;
	}

	double sum = 0;
	for (long c = 0; c < chunks; c++)
		sum += per[c];
	qsort(per, chunks, sizeof(*per), cmp_double);
	double med = chunks % 2 ? per[chunks / 2]
				: (per[chunks / 2 - 1] + per[chunks / 2]) / 2;

	printf("median_ns=%.1f mean_ns=%.1f min_ns=%.1f calls=%ld opens=%ld errors=%ld path=%s\n",
	       med, sum / chunks, per[0], done, opens, errors, path);
	free(per);
	return 0;
}

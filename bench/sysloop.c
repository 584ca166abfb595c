// SPDX-License-Identifier: GPL-2.0
/*
 * sysloop: what one system call costs, for tracers that hook the syscall
 * path: a single-threaded loop of read() of 64 bytes from /dev/zero (a
 * call that HTTP tracing must look at, on a file that is no socket) or
 * getppid() (a call it must let pass).
 *
 *   sysloop [-n CALLS] [-c CHUNKS] read|getppid
 *
 * Prints one line: median_ns=N (median over CHUNKS timed chunks of the ns
 * per call) min_ns=N calls=N.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "loopclock.h"

int main(int argc, char **argv)
{
	long calls = 400000, chunks = 40;
	char buf[64];
	double *per;
	int opt, fd, use_read;

	while ((opt = getopt(argc, argv, "n:c:h")) != -1) {
		switch (opt) {
		case 'n': calls = parse_pos("sysloop", optarg, "call count"); break;
		case 'c': chunks = parse_pos("sysloop", optarg, "chunk count"); break;
		default: goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	use_read = !strcmp(argv[optind], "read");
	if (!use_read && strcmp(argv[optind], "getppid"))
		goto usage;
	fd = open("/dev/zero", O_RDONLY);
	if (fd < 0) {
		perror("sysloop: /dev/zero");
		return 1;
	}
	if (chunks > calls)
		chunks = calls;
	per = calloc(chunks, sizeof(*per));
	if (!per)
		return 1;
	for (long c = 0; c < chunks; c++) {
		long n = calls / chunks;
		long long t0 = now_ns();

		for (long i = 0; i < n; i++) {
			if (use_read)
				(void)!read(fd, buf, sizeof(buf));
			else
				getppid();
		}
		per[c] = (double)(now_ns() - t0) / n;
	}
	qsort(per, chunks, sizeof(*per), cmp_double);
	printf("median_ns=%.1f min_ns=%.1f calls=%ld\n", per[chunks / 2],
	       per[0], calls / chunks * chunks);
	free(per);
	return 0;
usage:
	fprintf(stderr, "usage: sysloop [-n CALLS] [-c CHUNKS] read|getppid\n");
	return 2;
}

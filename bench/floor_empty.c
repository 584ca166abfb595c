// SPDX-License-Identifier: GPL-2.0
/*
 * floor_empty: attach an empty BPF program to syscalls/sys_enter_openat and
 * wait for SIGINT/SIGTERM. Prints "floor_empty: ready" on stdout (flushed)
 * once attached.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "floor_empty.skel.h"

static volatile sig_atomic_t stop;

static void on_sig(int sig)
{
	(void)sig;
	stop = 1;
}

static int log_fn(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	return lvl == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_sig };
	struct floor_empty_bpf *skel;
	int err;

	libbpf_set_print(log_fn);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	skel = floor_empty_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "floor_empty: open/load failed: %s\n", strerror(errno));
		return 1;
	}
	err = floor_empty_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "floor_empty: attach failed: %s\n", strerror(-err));
		floor_empty_bpf__destroy(skel);
		return 1;
	}
	printf("floor_empty: ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	floor_empty_bpf__destroy(skel);
	printf("floor_empty: detached\n");
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * floor_empty [openat|sock]: attach an empty BPF program to
 * syscalls/sys_enter_openat (the default), or empty programs to the
 * socket layer's send and receive tracepoints, and wait for SIGINT/SIGTERM. Prints "floor_empty: ready" on stdout (flushed)
 * once attached.
 */
#include <errno.h>
#include <stdbool.h>
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

int main(int argc, char **argv)
{
	bool sock = argc > 1 && !strcmp(argv[1], "sock");
	struct sigaction sa = { .sa_handler = on_sig };
	struct floor_empty_bpf *skel;
	int err;

	libbpf_set_print(log_fn);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (argc > 1 && !sock && strcmp(argv[1], "openat")) {
		fprintf(stderr, "usage: floor_empty [openat|sock]\n");
		return 2;
	}
	skel = floor_empty_bpf__open();
	if (skel) {
		bpf_program__set_autoload(skel->progs.floor_empty, !sock);
		bpf_program__set_autoload(skel->progs.floor_sock_recv, sock);
		bpf_program__set_autoload(skel->progs.floor_sock_send, sock);
		if (floor_empty_bpf__load(skel)) {
			floor_empty_bpf__destroy(skel);
			skel = NULL;
		}
	}
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

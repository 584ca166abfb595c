// SPDX-License-Identifier: GPL-2.0
/*
 * http_costs: prints what each step of `loupe http`'s kernel framing costs
 * on this machine, in ns, the median of several runs of one BPF program
 * (http_costs.bpf.c) under BPF_PROG_TEST_RUN: a figure per step with no
 * workload around it, to set against the throughput loss that
 * http_overhead.py measures under load. As root; builds need the loupe
 * tree's headers (bench/Makefile).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/types.h>
#include "event.h"
#include "netsock.h"
#include "http.h"
#include "http_costs.h"
#include "http_costs.skel.h"

#define RUNS 9

/* What wrk sends, and what Debian's nginx answers for a static file. */
static const char request[] =
	"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:41234\r\n\r\n";
static const char response[] =
	"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
	"Date: Sat, 05 Dec 2026 06:45:36 GMT\r\nContent-Type: text/html\r\n"
	"Content-Length: 612\r\n"
	"Last-Modified: Sat, 05 Dec 2026 06:45:30 GMT\r\n"
	"Connection: keep-alive\r\nETag: \"6931f3ca-264\"\r\n"
	"Accept-Ranges: bytes\r\n\r\n";

struct step {
	const char *name;
	size_t off;
};

#define STEP(f, name) { name, offsetof(struct costs, f) }
static const struct step steps[] = {
	STEP(scan, "head scan"),
	STEP(read_user_stack, "bpf_probe_read_user 64 B to the stack"),
	STEP(read_user_percpu, "bpf_probe_read_user 64 B to a per-CPU value"),
	STEP(read_user_array, "bpf_probe_read_user 64 B to an array value"),
	STEP(read_user_256, "bpf_probe_read_user 256 B to a per-CPU value"),
	STEP(read_user_str, "bpf_probe_read_user_str 64 B to the stack"),
	STEP(read_kernel, "bpf_probe_read_kernel 64 B to the stack"),
	STEP(clock_boot, "bpf_ktime_get_boot_ns"),
	STEP(clock_mono, "bpf_ktime_get_ns"),
	STEP(task_btf, "bpf_get_current_task_btf"),
	STEP(pid_tgid, "bpf_get_current_pid_tgid"),
	STEP(comm, "bpf_get_current_comm"),
	STEP(cgroup_id, "bpf_get_current_cgroup_id"),
	STEP(lookup_hit, "conns lookup (LRU hash, hit)"),
	STEP(ring_reserve, "ring reserve + discard (record size)"),
	STEP(ring_query, "bpf_ringbuf_query"),
};

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* Runs the program RUNS times on head; medians into out, per step. */
static int measure(struct http_costs_bpf *skel, const char *head,
		   double *out)
{
	static char user_buf[512];

	memset(user_buf, 'x', sizeof(user_buf) - 1);
	int fd = bpf_program__fd(skel->progs.http_costs);
	__u64 got[sizeof(steps) / sizeof(steps[0])][RUNS];
	struct costs *c = &skel->data_costs->costs;
	size_t i;

	memset(c->sample, 0, sizeof(c->sample));
	memcpy(c->sample, head, strlen(head));
	c->sample_len = strlen(head);
	c->user_buf = (__u64)(unsigned long)user_buf;
	for (int r = 0; r < RUNS; r++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts);

		if (bpf_prog_test_run_opts(fd, &opts) || opts.retval) {
			fprintf(stderr, "http_costs: test run failed: %s\n",
				strerror(errno));
			return -1;
		}
		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
			got[i][r] = *(__u64 *)((char *)c + steps[i].off);
	}
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		qsort(got[i], RUNS, sizeof(__u64), cmp_u64);
		out[i] = got[i][RUNS / 2] / (double)HTTP_COSTS_ROUNDS;
	}
	return 0;
}

int main(void)
{
	double req[sizeof(steps) / sizeof(steps[0])];
	double resp[sizeof(steps) / sizeof(steps[0])];
	struct http_costs_bpf *skel = http_costs_bpf__open_and_load();
	size_t i;

	if (!skel) {
		fprintf(stderr, "http_costs: load failed: %s (run as root)\n",
			strerror(errno));
		return 1;
	}
	if (measure(skel, request, req) || measure(skel, response, resp)) {
		http_costs_bpf__destroy(skel);
		return 1;
	}
	printf("| step (ns, median of %d runs of %.0f) | |\n|---|---|\n",
	       RUNS, (double)HTTP_COSTS_ROUNDS);
	printf("| head scan, wrk's request (%zu B) | %.1f |\n",
	       strlen(request), req[0]);
	printf("| head scan, nginx's response head (%zu B) | %.1f |\n",
	       strlen(response), resp[0]);
	for (i = 1; i < sizeof(steps) / sizeof(steps[0]); i++)
		printf("| %s | %.1f |\n", steps[i].name, resp[i]);
	http_costs_bpf__destroy(skel);
	return 0;
}

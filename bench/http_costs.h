/* What http_costs.c hands http_costs.bpf.c, and the times it gets back. */
#ifndef HTTP_COSTS_H
#define HTTP_COSTS_H

#define HTTP_COSTS_SAMPLE 544	/* HEAD_BUF of http.bpf.c */
#define HTTP_COSTS_ROUNDS 1000	/* times each step runs in one run */

struct costs {
	char sample[HTTP_COSTS_SAMPLE];	/* a head to scan */
	__u64 sample_len;
	__u64 user_buf;		/* 512 bytes of the caller's memory */
	__u64 scan, read_user_stack, read_user_percpu, read_user_array,
	      read_user_256, read_user_str, read_kernel, clock_boot,
	      clock_mono, task_btf, pid_tgid, comm, cgroup_id, lookup_hit,
	      ring_reserve, ring_query;
};

#endif

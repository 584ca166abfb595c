// SPDX-License-Identifier: GPL-2.0
/*
 * http_costs, kernel side: what each step of `loupe http`'s kernel framing
 * costs on this machine, timed inside one BPF program run by
 * BPF_PROG_TEST_RUN (no workload, no scheduler, little noise from other
 * tasks): the head scan on a request and a response, reads of user and
 * kernel memory, the clock, the helpers and map operations the socket
 * programs make per call. It includes http.bpf.c itself, so the scan timed
 * is the one loupe runs.
 */
#include "http.bpf.c"
#include "http_costs.h"

#define ROUNDS HTTP_COSTS_ROUNDS

_Static_assert(sizeof(((struct costs *)0)->sample) == HEAD_BUF,
	       "http_costs.h's sample is a head buffer");

/* Filled in by user space before load; the times come back here. */
struct costs costs SEC(".data.costs");

#define TIME(field, body)						\
	do {								\
		__u64 t0 = bpf_ktime_get_ns();				\
		for (int i = 0; i < ROUNDS; i++) {			\
			body;						\
		}							\
		costs.field = bpf_ktime_get_ns() - t0;			\
	} while (0)

SEC("syscall")
int http_costs(void *ctx)
{
	__u32 zero = 0;
	struct head_buf *hb = bpf_map_lookup_elem(&heads, &zero);
	struct conn *cz = bpf_map_lookup_elem(&conn_zero, &zero);
	const void *user_buf = (const void *)costs.user_buf;
	__u64 n = costs.sample_len;
	char stack[64];

	if (!hb || !cz)
		return 1;
	for (int i = 0; i < HEAD_BUF / 8; i++)
		((__u64 *)hb->buf)[i] = ((__u64 *)costs.sample)[i];
	for (__u64 k = 0; k < 8; k++)
		bpf_map_update_elem(&conns, &k, cz, BPF_ANY);

	TIME(scan, head_scan(hb, n));
	TIME(read_user_stack, {
		bpf_probe_read_user(stack, sizeof(stack), user_buf);
		barrier_var(stack[0]);
	});
	TIME(read_user_percpu, bpf_probe_read_user(hb->buf + 256, 64, user_buf));
	TIME(read_user_array, bpf_probe_read_user(&cz->x, 64, user_buf));
	TIME(read_user_256, bpf_probe_read_user(hb->buf + 256, 256, user_buf));
	TIME(read_user_str, {
		bpf_probe_read_user_str(stack, sizeof(stack), user_buf);
		barrier_var(stack[0]);
	});
	TIME(read_kernel, {
		bpf_probe_read_kernel(stack, sizeof(stack), hb->buf);
		barrier_var(stack[0]);
	});
	TIME(clock_boot, {
		__u64 t = bpf_ktime_get_boot_ns();

		barrier_var(t);
	});
	TIME(clock_mono, {
		__u64 t = bpf_ktime_get_ns();

		barrier_var(t);
	});
	TIME(task_btf, {
		struct task_struct *t = bpf_get_current_task_btf();

		barrier_var(t);
	});
	TIME(pid_tgid, {
		__u64 id = bpf_get_current_pid_tgid();

		barrier_var(id);
	});
	TIME(comm, {
		bpf_get_current_comm(stack, 16);
		barrier_var(stack[0]);
	});
	TIME(cgroup_id, {
		__u64 id = bpf_get_current_cgroup_id();

		barrier_var(id);
	});
	TIME(lookup_hit, {
		__u64 k = i & 7;
		struct conn *c = bpf_map_lookup_elem(&conns, &k);

		barrier_var(c);
	});
	TIME(ring_reserve, {
		struct http_xchg_event *e;

		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e)
			bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
	});
	TIME(ring_query, {
		__u64 q = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

		barrier_var(q);
	});
	for (__u64 k = 0; k < 8; k++)
		bpf_map_delete_elem(&conns, &k);
	return 0;
}

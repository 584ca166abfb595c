/*
 * runqslower, kernel side: one event per task that waited on a run queue
 * longer than a threshold, from its wakeup (or preemption while runnable)
 * to being switched in. The hooks and their order match runqlat's; the
 * BTF and raw tracepoints give the waiting task's full identity, the
 * classic tracepoint only its thread id and comm.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "sched.bpf.h"
#include "runqslower.h"

const volatile __u64 min_us = 10000;
const volatile __u32 target_tid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} queued_at SEC(".maps");

static __always_inline void enqueue(__u32 tid, __u32 tgid)
{
	__u64 ts;

	if (!tid || !filter_tgid_ok(tgid) || (target_tid && tid != target_tid))
		return;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&queued_at, &tid, &ts, BPF_ANY);
}

/* The wait of thread tid, in microseconds, if it is worth an event. */
static __always_inline bool waited(__u32 tid, __u64 *delta_us)
{
	__u64 *tsp, delta;

	tsp = bpf_map_lookup_elem(&queued_at, &tid);
	if (!tsp)
		return false;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&queued_at, &tid);
	if ((__s64)delta < 0)
		return false;
	*delta_us = delta / 1000;
	return *delta_us >= min_us;
}

/* The previous task is the current one in every variant. */
static __always_inline void fill_prev(struct runqslower_event *e)
{
	__u64 id = bpf_get_current_pid_tgid();

	e->prev_pid = id >> 32;
	e->prev_tid = (__u32)id;
	bpf_get_current_comm(e->prev_comm, sizeof(e->prev_comm));
}

static __always_inline void task_enqueue(struct task_struct *t)
{
	enqueue(BPF_CORE_READ(t, pid), BPF_CORE_READ(t, tgid));
}

static __always_inline void task_switch(bool preempt, struct task_struct *prev,
					struct task_struct *next)
{
	struct runqslower_event *e;
	__u64 delta_us;

	if (preempt || task_state(prev) == 0)
		task_enqueue(prev);
	if (!waited(BPF_CORE_READ(next, pid), &delta_us))
		return;
	e = event_reserve(sizeof(*e));
	if (!e)
		return;
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.cgroup_id = BPF_CORE_READ(next, cgroups, dfl_cgrp, kn, id);
	e->hdr.pid = BPF_CORE_READ(next, tgid);
	e->hdr.tid = BPF_CORE_READ(next, pid);
	e->hdr.ppid = BPF_CORE_READ(next, real_parent, tgid);
	e->hdr.uid = BPF_CORE_READ(next, cred, uid.val);
	BPF_CORE_READ_STR_INTO(&e->hdr.comm, next, comm);
	e->delta_us = delta_us;
	fill_prev(e);
	event_submit(e);
}

SCHED_RUNQ_PROGRAMS(enqueue, task_switch)

SEC("tracepoint/sched/sched_switch")
int switch_tp(struct trace_event_raw_sched_switch *ctx)
{
	struct runqslower_event *e;
	__u64 delta_us;
	__u32 next = ctx->next_pid;

	tgid_cache_current();
	if (!(ctx->prev_state & 0xff))
		enqueue(ctx->prev_pid, bpf_get_current_pid_tgid() >> 32);
	if (!waited(next, &delta_us))
		return 0;
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	/* Only the thread id and comm of the next task are known here. */
	__builtin_memset(&e->hdr, 0, sizeof(e->hdr));
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.pid = tgid_cache_lookup(next).tgid;
	e->hdr.tid = next;
	bpf_probe_read_kernel_str(e->hdr.comm, sizeof(e->hdr.comm),
				  ctx->next_comm);
	e->delta_us = delta_us;
	fill_prev(e);
	event_submit(e);
	return 0;
}

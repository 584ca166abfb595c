/*
 * runqlat, kernel side: the time a task waits on a run queue, from its
 * wakeup (or from being preempted while still runnable) until it is
 * switched in, folded into log2 histograms in a map. Hooks, cheapest
 * first: BTF tracepoints, raw tracepoints (both read the tasks through
 * CO-RE), then the classic sched tracepoints, which carry thread ids only.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "sched.bpf.h"

const volatile bool in_ms = false;
const volatile bool per_process = false;
const volatile bool per_thread = false;
const volatile bool per_pidns = false;

/* When each runnable thread was queued. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} queued_at SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct hist_task);
} hists SEC(".maps");

static const struct hist_task empty_hist;

static __always_inline void enqueue(__u32 tid, __u32 tgid)
{
	__u64 ts;

	/* The idle task is never queued. */
	if (!tid || !filter_tgid_ok(tgid))
		return;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&queued_at, &tid, &ts, BPF_ANY);
}

/* The thread tid is switched in: account its wait. comm is a kernel address. */
static __always_inline void run(__u32 tid, __u32 tgid, __u32 pidns,
				const void *comm)
{
	struct hist_task *h;
	__u64 *tsp, delta;
	__u32 key, slot;

	tsp = bpf_map_lookup_elem(&queued_at, &tid);
	if (!tsp)
		return;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&queued_at, &tid);
	if ((__s64)delta < 0)
		return;
	delta /= in_ms ? 1000000 : 1000;
	key = per_process ? tgid : per_thread ? tid : per_pidns ? pidns : 0;
	h = bpf_map_lookup_elem(&hists, &key);
	if (!h) {
		bpf_map_update_elem(&hists, &key, &empty_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &key);
		if (!h)
			return;
		bpf_probe_read_kernel_str(h->comm, sizeof(h->comm), comm);
	}
	slot = hist_slot(delta);
	if (slot >= HIST_TASK_SLOTS)
		slot = HIST_TASK_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
}

static __always_inline void task_enqueue(struct task_struct *t)
{
	enqueue(BPF_CORE_READ(t, pid), BPF_CORE_READ(t, tgid));
}

static __always_inline void task_switch(bool preempt, struct task_struct *prev,
					struct task_struct *next)
{
	struct task_struct *named = per_process ?
		BPF_CORE_READ(next, group_leader) : next;

	/* A task leaving the CPU while still runnable waits again. */
	if (preempt || task_state(prev) == 0)
		task_enqueue(prev);
	/* Per process, the histogram is named after the main thread. */
	run(BPF_CORE_READ(next, pid), BPF_CORE_READ(next, tgid),
	    per_pidns ? task_pidns(next) : 0, named->comm);
}

SCHED_RUNQ_PROGRAMS(enqueue, task_switch)

SEC("tracepoint/sched/sched_switch")
int switch_tp(struct trace_event_raw_sched_switch *ctx)
{
	struct task_ids next;

	/* The previous task is current here; remember its ids. */
	tgid_cache_current();
	/* Preempted tasks are reported with no sleep bits set. */
	if (!(ctx->prev_state & 0xff))
		enqueue(ctx->prev_pid, bpf_get_current_pid_tgid() >> 32);
	next = tgid_cache_lookup(ctx->next_pid);
	run(ctx->next_pid, next.tgid, next.pidns, ctx->next_comm);
	return 0;
}

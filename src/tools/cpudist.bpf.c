/*
 * cpudist, kernel side: at each context switch, the time the previous
 * task spent on the CPU (or, with -O, the time the next task spent off
 * it), folded into log2 histograms in a map. Hooks, cheapest first: the
 * BTF and raw sched_switch tracepoints (tasks read through CO-RE), then
 * the classic one.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "sched.bpf.h"

const volatile bool in_ms = false;
const volatile bool per_process = false;
const volatile bool per_thread = false;
const volatile bool offcpu = false;

/* When each thread went on (or, with -O, off) the CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} since SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct hist_task);
} hists SEC(".maps");

static const struct hist_task empty_hist;

static __always_inline void stamp(__u32 tid, __u32 tgid, __u64 now)
{
	/* The idle task is not a task anyone waits for. */
	if (!tid || !filter_tgid_ok(tgid))
		return;
	bpf_map_update_elem(&since, &tid, &now, BPF_ANY);
}

/* comm is a kernel address of the task's name. */
static __always_inline void account(__u32 tid, __u32 tgid, const void *comm,
				    __u64 now)
{
	struct hist_task *h;
	__u64 *tsp, delta;
	__u32 key, slot;

	tsp = bpf_map_lookup_elem(&since, &tid);
	if (!tsp)
		return;
	delta = now - *tsp;
	bpf_map_delete_elem(&since, &tid);
	if ((__s64)delta < 0)
		return;
	delta /= in_ms ? 1000000 : 1000;
	key = per_process ? tgid : per_thread ? tid : 0;
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

static __always_inline void task_switch(struct task_struct *prev,
					struct task_struct *next)
{
	/* The measured task names its histogram (its process's with -P). */
	struct task_struct *t = offcpu ? next : prev;
	struct task_struct *named = per_process ?
		BPF_CORE_READ(t, group_leader) : t;
	__u64 now = bpf_ktime_get_ns();

	if (offcpu) {
		stamp(BPF_CORE_READ(prev, pid), BPF_CORE_READ(prev, tgid), now);
		account(BPF_CORE_READ(next, pid), BPF_CORE_READ(next, tgid),
			named->comm, now);
	} else {
		account(BPF_CORE_READ(prev, pid), BPF_CORE_READ(prev, tgid),
			named->comm, now);
		stamp(BPF_CORE_READ(next, pid), BPF_CORE_READ(next, tgid), now);
	}
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_btf, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	task_switch(prev, next);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	task_switch(prev, next);
	return 0;
}

SEC("tracepoint/sched/sched_switch")
int switch_tp(struct trace_event_raw_sched_switch *ctx)
{
	__u32 prev_tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 next = ctx->next_pid;
	__u64 now = bpf_ktime_get_ns();

	/* The previous task is current here; remember its ids. */
	tgid_cache_current();
	if (offcpu) {
		stamp(ctx->prev_pid, prev_tgid, now);
		account(next, tgid_cache_lookup(next).tgid, ctx->next_comm,
			now);
	} else {
		account(ctx->prev_pid, prev_tgid, ctx->prev_comm, now);
		stamp(next, tgid_cache_lookup(next).tgid, now);
	}
	return 0;
}

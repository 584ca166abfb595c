/*
 * offcputime, kernel side: at each context switch the thread switched out
 * (the current one) has its stacks and the time recorded; when it is
 * switched in again the time it spent off CPU is added, in nanoseconds,
 * to the count of those stacks. The BTF and raw tracepoints give both
 * tasks; the classic tracepoint gives the same through its fields.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "sched.bpf.h"
#include "stacks.bpf.h"
#include "offcputime.h"

#define PF_KTHREAD	0x00200000
#define TASK_DEAD	0x00000080
#define EXIT_MASK	0x00000030	/* EXIT_DEAD | EXIT_ZOMBIE */

const volatile __u64 min_ns = 1000;
const volatile __u64 max_ns = ~0ULL;
const volatile bool user_threads_only = false;
const volatile bool kernel_threads_only = false;
/*
 * --state, as BCC's: -1 every thread; 0 only threads switched out while
 * runnable (preempted); else threads whose state has one of these bits
 * (1 TASK_INTERRUPTIBLE, 2 TASK_UNINTERRUPTIBLE, ...).
 */
const volatile long state_filter = -1;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OFFCPU_MAX_BLOCKED);
	__type(key, __u32);
	__type(value, struct offcpu_start);
} start SEC(".maps");

/*
 * The current task is leaving the CPU. A dying task never comes back:
 * recording it would only leave a stale entry behind.
 */
static __always_inline void switch_out(void *ctx, bool dying)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct offcpu_start st = {};
	bool kthread;

	if (!tid || dying || !filter_current_ok())
		return;
	kthread = BPF_CORE_READ(t, flags) & PF_KTHREAD;
	if ((user_threads_only && kthread) ||
	    (kernel_threads_only && !kthread))
		return;
	/* The task's own state: the tracepoint's prev_state is a report. */
	if (state_filter >= 0 &&
	    (state_filter ? !(task_state(t) & state_filter) : task_state(t)))
		return;
	st.ts_ns = bpf_ktime_get_ns();
	stacks_key_current(ctx, &st.key);
	/* Announced first: user space reads the mappings before the walk. */
	stacks_announce(st.key.pid);
	if (stacks_copies(st.key.pid))
		st.copied = stacks_copy_user(ctx, &st.key, st.ts_ns);
	if (bpf_map_update_elem(&start, &tid, &st, BPF_ANY))
		stacks_stat(STACKS_START_FULL);
}

/* A copied thread is back: user space adds the time to its walked stack. */
static __always_inline void copied_done(__u32 tid, __u64 ts_ns, __u64 delta)
{
	struct stacks_done d = { .tid = tid, .ts_ns = ts_ns, .value = delta };

	event_output(&d, sizeof(d));
}

static __always_inline void switch_in(__u32 tid)
{
	struct offcpu_start *st = bpf_map_lookup_elem(&start, &tid);
	__u64 delta;

	if (!st)
		return;
	delta = bpf_ktime_get_ns() - st->ts_ns;
	if ((__s64)delta >= 0 && delta >= min_ns && delta <= max_ns) {
		if (st->copied)
			copied_done(tid, st->ts_ns, delta);
		else
			stacks_add(&st->key, delta);
	}
	bpf_map_delete_elem(&start, &tid);
}

static __always_inline bool task_dying(struct task_struct *t)
{
	return (task_state(t) & TASK_DEAD) || BPF_CORE_READ(t, exit_state);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_btf, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	switch_out(ctx, task_dying(prev));
	switch_in(BPF_CORE_READ(next, pid));
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	switch_out(ctx, task_dying(prev));
	switch_in(BPF_CORE_READ(next, pid));
	return 0;
}

SEC("tracepoint/sched/sched_switch")
int switch_tp(struct trace_event_raw_sched_switch *ctx)
{
	switch_out(ctx, ctx->prev_state & EXIT_MASK);
	switch_in(ctx->next_pid);
	return 0;
}

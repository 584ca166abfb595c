/*
 * Kernel side: whether a program runs while its CPU serves a softirq, on
 * behalf of whatever task the softirq happened to interrupt (swapper,
 * ksoftirqd, any process), so that an event there names no task.
 *
 * The preempt count would say so directly, but on x86 it is a per-CPU
 * variable, which a BPF program reaches only through its kallsyms entry,
 * and data symbols are not in kallsyms without CONFIG_KALLSYMS_ALL (the
 * development kernel has none). So the tool also attaches the
 * irq:softirq_entry and irq:softirq_exit tracepoints, which bracket every
 * softirq handler whoever runs it (irq exit, local_bh_enable(),
 * ksoftirqd, PREEMPT_RT threads), and calls context_softirq_entry() and
 * context_softirq_exit() from them.
 * Include after vmlinux.h and loupe.bpf.h.
 */
#ifndef LOUPE_CONTEXT_BPF_H
#define LOUPE_CONTEXT_BPF_H

/*
 * Per CPU: the task a softirq handler is running on, 0 between handlers.
 * Handlers do not nest on a CPU. Keeping the task rather than a flag keeps
 * PREEMPT_RT right, where the thread serving softirqs can be preempted by
 * an unrelated task on the same CPU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} softirq_task SEC(".maps");

static __always_inline void context_softirq_entry(void)
{
	__u32 zero = 0;
	__u64 *task = bpf_map_lookup_elem(&softirq_task, &zero);

	if (task)
		*task = bpf_get_current_task();
}

static __always_inline void context_softirq_exit(void)
{
	__u32 zero = 0;
	__u64 *task = bpf_map_lookup_elem(&softirq_task, &zero);

	if (task)
		*task = 0;
}

/* enum event_context of the running program. */
static __always_inline __u32 context_current(void)
{
	__u32 zero = 0;
	__u64 *task = bpf_map_lookup_elem(&softirq_task, &zero);

	if (task && *task && *task == bpf_get_current_task())
		return EVENT_CTX_SOFTIRQ;
	return EVENT_CTX_TASK;
}

/*
 * The header of an event that can happen in a softirq: there it holds the
 * time only (no pid, comm, cgroup), as the current task has nothing to do
 * with the event. Returns the context for the event to carry.
 */
static __always_inline __u32 context_fill_hdr(struct event_hdr *h)
{
	__u32 ctx = context_current();

	if (ctx == EVENT_CTX_TASK) {
		event_fill_hdr(h);
		return ctx;
	}
	__builtin_memset(h, 0, sizeof(*h));
	h->ts_ns = bpf_ktime_get_boot_ns();
	return ctx;
}

#endif

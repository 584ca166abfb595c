/*
 * Kernel-side helpers of the scheduler tools (runqlat, runqslower,
 * cpudist): reading a task's identity and state with CO-RE, and the tid ->
 * tgid cache their classic-tracepoint variants need, because those
 * tracepoints carry only a thread id for tasks other than the current one.
 * Include after loupe.bpf.h.
 */
#ifndef LOUPE_SCHED_BPF_H
#define LOUPE_SCHED_BPF_H

/* Before 5.14 the state field was called "state". */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

/* Inode number of the task's pid namespace (as in /proc/PID/ns/pid). */
static __always_inline __u32 task_pidns(struct task_struct *t)
{
	return BPF_CORE_READ(t, nsproxy, pid_ns_for_children, ns.inum);
}

/*
 * Thread group and pid namespace of the threads seen on a CPU so far. The
 * classic sched_switch tracepoint runs in the previous task, so its ids
 * are known there; a woken or next task is looked up here. A thread not
 * run since the tool started counts as its own thread group.
 */
struct task_ids {
	__u32 tgid;
	__u32 pidns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct task_ids);
} tgid_cache SEC(".maps");

static __always_inline void tgid_cache_current(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct task_ids *old, ids = { .tgid = id >> 32 };

	old = bpf_map_lookup_elem(&tgid_cache, &tid);
	if (old && old->tgid == ids.tgid)
		return;
	ids.pidns = task_pidns(t);
	bpf_map_update_elem(&tgid_cache, &tid, &ids, BPF_ANY);
}

static __always_inline struct task_ids tgid_cache_lookup(__u32 tid)
{
	struct task_ids *ids = bpf_map_lookup_elem(&tgid_cache, &tid);
	struct task_ids none = { .tgid = tid };

	return ids ? *ids : none;
}

/*
 * The programs that see a task become runnable or switched in, for the
 * run-queue tools (runqlat, runqslower), on BTF, raw and classic
 * tracepoints: enqueue(tid, tgid) for a woken task, task_switch(preempt,
 * prev, next) for a switch. The classic sched_switch, whose arguments
 * differ, is the tool's own.
 */
#define SCHED_WAKEUP_BTF(sec, name, enqueue)				\
SEC(sec)								\
int BPF_PROG(name, struct task_struct *p)				\
{									\
	enqueue(BPF_CORE_READ(p, pid), BPF_CORE_READ(p, tgid));		\
	return 0;							\
}

#define SCHED_WAKEUP_TP(sec, name, enqueue)				\
SEC(sec)								\
int name(struct trace_event_raw_sched_wakeup_template *ctx)		\
{									\
	enqueue(ctx->pid, tgid_cache_lookup(ctx->pid).tgid);		\
	return 0;							\
}

#define SCHED_SWITCH_BTF(sec, name, task_switch)			\
SEC(sec)								\
int BPF_PROG(name, bool preempt, struct task_struct *prev,		\
	     struct task_struct *next)					\
{									\
	task_switch(preempt, prev, next);				\
	return 0;							\
}

#define SCHED_RUNQ_PROGRAMS(enqueue, task_switch)			\
SCHED_WAKEUP_BTF("tp_btf/sched_wakeup", wakeup_btf, enqueue)		\
SCHED_WAKEUP_BTF("tp_btf/sched_wakeup_new", wakeup_new_btf, enqueue)	\
SCHED_SWITCH_BTF("tp_btf/sched_switch", switch_btf, task_switch)	\
SCHED_WAKEUP_BTF("raw_tp/sched_wakeup", wakeup_raw, enqueue)		\
SCHED_WAKEUP_BTF("raw_tp/sched_wakeup_new", wakeup_new_raw, enqueue)	\
SCHED_SWITCH_BTF("raw_tp/sched_switch", switch_raw, task_switch)	\
SCHED_WAKEUP_TP("tracepoint/sched/sched_wakeup", wakeup_tp, enqueue)	\
SCHED_WAKEUP_TP("tracepoint/sched/sched_wakeup_new", wakeup_new_tp,	\
		enqueue)

#endif

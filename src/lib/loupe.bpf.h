/*
 * Kernel-side runtime every tool includes: the event ring buffer, the
 * in-kernel loss counter, the common pid/comm/cgroup filters and the
 * event header filler. Include after vmlinux.h.
 */
#ifndef LOUPE_BPF_H
#define LOUPE_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "event.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before load (session.c finds it by name). */
const volatile struct loupe_filter filter = {};

/* Size is set by user space from --buffer-size. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/* Events dropped because the ring was full, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost_events, &zero);

	/* atomic: a preempted program can share its CPU's slot */
	if (n)
		__sync_fetch_and_add(n, 1);
}

/*
 * Ring position (bytes ever produced) before which no further wakeup is
 * sent; shared by the object's CPUs, a race costs one wakeup more.
 */
__u64 wakeup_pos = 0;

/*
 * Waking the reader for every event costs more than producing it, so the
 * reader is woken only past a backlog; otherwise its timer drains the ring.
 * A wakeup is a self-IPI (several microseconds in a VM), and the reader
 * needs a while to run and drain: once sent, the next one waits until
 * another backlog's worth has been produced, instead of every event above
 * the mark sending its own until the reader catches up.
 */
static __always_inline __u64 submit_flags(void)
{
	__u64 pos;

	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) <=
	    filter.wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	pos = bpf_ringbuf_query(&events, BPF_RB_PROD_POS);
	if (pos < wakeup_pos)
		return BPF_RB_NO_WAKEUP;
	wakeup_pos = pos + filter.wakeup_bytes;
	return BPF_RB_FORCE_WAKEUP;
}

static __always_inline void *event_reserve(__u64 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e)
		count_lost();
	return e;
}

static __always_inline void event_submit(void *e)
{
	bpf_ringbuf_submit(e, submit_flags());
}

/* Copy a prepared record into the ring; size must be verifier-bounded. */
static __always_inline void event_output(void *data, __u64 size)
{
	if (bpf_ringbuf_output(&events, data, size, submit_flags()))
		count_lost();
}

/* Histogram slot of a value: floor(log2(v)), 0 for 0 (see hist.h). */
static __always_inline __u32 hist_slot(__u64 v)
{
	__u32 slot = 0;

	if (v >> 32) {
		v >>= 32;
		slot += 32;
	}
	if (v >> 16) {
		v >>= 16;
		slot += 16;
	}
	if (v >> 8) {
		v >>= 8;
		slot += 8;
	}
	if (v >> 4) {
		v >>= 4;
		slot += 4;
	}
	if (v >> 2) {
		v >>= 2;
		slot += 2;
	}
	if (v >> 1)
		slot += 1;
	return slot;
}

static __always_inline bool filter_comm_ok(const char *comm)
{
	if (!filter.use_comm)
		return true;
	for (int i = 0; i < TASK_COMM_LEN; i++) {
		if (comm[i] != filter.comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

static __always_inline bool filter_pid_ok(__u32 tgid)
{
	if (filter.pid && filter.pid != tgid)
		return false;
	if (filter.exclude_pid && filter.exclude_pid == tgid)
		return false;
	if (filter.use_cgroup &&
	    !bpf_current_task_under_cgroup(&cgroup_filter, 0))
		return false;
	return true;
}

/*
 * The -p filter (and the excluded process) for a task that is not the
 * current one (a woken task, the next task of a context switch); cgroup
 * and comm filters do not apply.
 */
static __always_inline bool filter_tgid_ok(__u32 tgid)
{
	if (filter.exclude_pid && filter.exclude_pid == tgid)
		return false;
	return !filter.pid || filter.pid == tgid;
}

/*
 * Pid, cgroup and comm filters for the current task, whose
 * bpf_get_current_pid_tgid() the caller already has (a helper call costs
 * tens of ns on kernels whose returns go through a mitigation thunk).
 */
static __always_inline bool filter_current_id_ok(__u64 id)
{
	char comm[TASK_COMM_LEN];

	if (!filter_pid_ok(id >> 32))
		return false;
	if (filter.use_comm) {
		bpf_get_current_comm(comm, sizeof(comm));
		return filter_comm_ok(comm);
	}
	return true;
}

/* Pid, cgroup and comm filters for the current task. */
static __always_inline bool filter_current_ok(void)
{
	return filter_current_id_ok(bpf_get_current_pid_tgid());
}

/*
 * Copies an array field of a classic tracepoint's record (addresses,
 * names). A plain copy in two branches (IPv4, IPv6) lets clang merge them
 * into loads through a moved context pointer, which the verifier refuses
 * ("dereference of modified ctx ptr"); a probe read takes the address as
 * a value.
 */
static __always_inline void tp_copy(void *dst, const void *src, __u32 size)
{
	bpf_probe_read_kernel(dst, size, src);
}

/* The number of the syscall the task is in, from its saved user registers. */
static __always_inline long regs_syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ(regs, syscallno);
#else
	return -1;	/* not known here: use the classic tracepoint */
#endif
}

/* The same through a BTF pointer (tp_btf): a load, not a helper call. */
static __always_inline long regs_syscall_nr_btf(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	return regs->syscallno;
#else
	return -1;
#endif
}

static __always_inline void event_fill_hdr(struct event_hdr *h)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();

	h->ts_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/*
 * The same header through the task's BTF pointer: direct loads instead of
 * probe-read helper calls, for hot paths of programs that already need a
 * 5.11+ kernel (bpf_get_current_task_btf()); id is the task's
 * bpf_get_current_pid_tgid().
 */
static __always_inline void event_fill_hdr_btf_id(struct event_hdr *h,
						  struct task_struct *task,
						  __u64 id)
{
	/* The clock read costs as much as the comm copy. */
	h->ts_ns = filter.header_untimed ? 0 : bpf_ktime_get_boot_ns();
	h->pid = id >> 32;
	h->tid = (__u32)id;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	if (filter.header_lite) {
		h->cgroup_id = 0;
		h->ppid = 0;
		h->uid = 0;
		return;
	}
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->ppid = task->real_parent->tgid;
	h->uid = (__u32)bpf_get_current_uid_gid();
}

/* The same, for a caller without the task's pid_tgid at hand. */
static __always_inline void event_fill_hdr_btf(struct event_hdr *h,
					       struct task_struct *task)
{
	event_fill_hdr_btf_id(h, task, bpf_get_current_pid_tgid());
}

#endif

/*
 * Types shared by the kernel and user halves of every tool: the header each
 * event starts with, and the filter settings placed in .rodata before load.
 */
#ifndef LOUPE_EVENT_H
#define LOUPE_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TASK_COMM_LEN 16

/* Identity of the task an event belongs to, captured in the kernel. */
struct event_hdr {
	__u64 ts_ns;		/* CLOCK_BOOTTIME; user space converts */
	__u64 cgroup_id;	/* cgroup v2 id */
	__u32 pid;		/* thread group id */
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	char comm[TASK_COMM_LEN];
};

/*
 * Where an event's program ran. While a CPU serves a softirq (a timer, a
 * received packet) the current task is merely whichever one it
 * interrupted, so such an event names no task (context.bpf.h).
 */
enum event_context {
	EVENT_CTX_TASK,		/* a task's own context (a syscall, ...) */
	EVENT_CTX_SOFTIRQ,	/* serving a softirq */
};

/* Filters applied in the kernel; zero/empty means "off". */
struct loupe_filter {
	__u32 pid;
	__u32 use_cgroup;	/* cgroup_filter map slot 0 holds the cgroup */
	__u32 use_comm;
	__u32 failed_only;
	char comm[TASK_COMM_LEN];
	__u64 wakeup_bytes;	/* wake the reader past this backlog */
	/* Only pid, tid, comm, time: a table that shows no more sets it. */
	__u32 header_lite;
	/* No time either (ts_ns is 0): a table without a TIME column. */
	__u32 header_untimed;
	/* A process whose activity is never counted (the overview's own). */
	__u32 exclude_pid;
};

/*
 * A log2 histogram kept in a hash map per key (0, a pid, a tid, a pid
 * namespace) with the name of the task last counted; printed by
 * hist_print_task_map().
 */
#define HIST_TASK_SLOTS 32	/* up to 2^32 units */

struct hist_task {
	__u32 slots[HIST_TASK_SLOTS];
	char comm[TASK_COMM_LEN];
};

#endif

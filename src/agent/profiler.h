/*
 * The agent's continuous profiler, both halves: the key the kernel counts
 * CPU samples and off-CPU time under, and (user side) the profiler that
 * drains those counts each second into a bounded history and answers the
 * /debug/pprof requests from it.
 */
#ifndef LOUPE_AGENT_PROFILER_H
#define LOUPE_AGENT_PROFILER_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "stacks.h"

#define PROF_MAX_DEPTH		127	/* the kernel's PERF_MAX_STACK_DEPTH */
#define PROF_STACKS		8192	/* stack map entries */
#define PROF_MAX_KEYS		8192	/* distinct keys per second */
#define PROF_MAX_BLOCKED	16384	/* threads off CPU at once (LRU) */
#define PROF_COMM_LEN		16
/* --unwind auto: processes whose choice (fp or a copy) is kept */
#define PROF_UNWIND_PIDS	8192
/* a stack id when the stack map refused the stack (a hash collision) */
#define PROF_STACK_LOST		(-2)

struct prof_key {
	__u32 tgid;
	__u32 pad;
	__u64 cgroup;
	__s32 user_stack;	/* a stack id, -1: none, PROF_STACK_LOST */
	__s32 kernel_stack;
	char comm[PROF_COMM_LEN];
};

/* Per key: samples (CPU) or switches back in (off-CPU), and nanoseconds. */
struct prof_value {
	__u64 count;
	__u64 ns;
};

/* A thread off CPU: since when, in which epoch, with which stacks. */
struct offcpu_start {
	__u64 ts_ns;
	__u32 epoch;
	__u32 pad;
	struct prof_key key;
};

/*
 * --unwind dwarf|auto: off-CPU blocks of at least this long have their
 * user stack copied (when the thread returns from its system call);
 * shorter ones keep the kernel's frame-pointer walk.
 */
#define PROF_OFFCPU_COPY_MIN_NS	1000000ULL
/* processes off-CPU requests with pid= wait for at once, at most */
#define PROF_OFFCPU_SCOPE	1024
/* threads whose last copied user state is remembered (LRU) */
#define PROF_OFFCPU_COPIED	1024

/* A thread back from a long block, waiting to return to user mode. */
struct offcpu_wait {
	struct prof_key key;	/* the frame-pointer walk, the fallback */
	__u64 count, ns;
	__u64 last_ns;		/* when time was last added */
	__u32 epoch;
	__u32 pad;
};

/* The user state a thread's last off-CPU copy was made in. */
struct offcpu_copied {
	__u64 ip, sp, bp;
	__u32 epoch, tgid;
};

enum prof_copy_type {
	PROF_COPY_CPU,		/* a CPU sample: walk, count 1 */
	PROF_COPY_OFFCPU,	/* off-CPU time: walk, count count and ns */
	/*
	 * off-CPU time of thread tid in the same user state as its last
	 * copy (same ip, sp, bp): counted under that copy's walk; only the
	 * head is sent
	 */
	PROF_COPY_AGAIN,
};

struct prof_copy_head {
	__u32 type;		/* enum prof_copy_type */
	__u32 tid;
	__u64 count, ns;
	/* user_stack: the frame-pointer walk's id (off-CPU) or -1 */
	struct prof_key key;
};

/*
 * --unwind dwarf|auto: a sample whose user stack is walked in user space
 * (ucopy.bpf.h), sent through the copies ring instead of counted.
 */
struct prof_copy {
	struct prof_copy_head h;
	__u32 size;		/* bytes of stack copied from regs[7] up */
	__u32 pad;
	__u64 regs[STACKS_NREGS];
	__u8 stack[STACKS_COPY_MAX];
};

/* What the kernel side could not count (a per-CPU array). */
enum prof_stat {
	PROF_STAT_NO_STACK,	/* a stack could not be recorded */
	PROF_STAT_FULL,		/* the counts map had no room */
	PROF_NSTATS,
};

#ifndef __VMLINUX_H__
#include <stdbool.h>
#include <stdint.h>

struct http_request;
struct profiler;

/*
 * Loads and attaches (privileged: before the agent drops its
 * capabilities), sampling at hz on every CPU: NULL after a message.
 */
struct profiler *profiler_start(unsigned int hz, bool demangle,
				enum stacks_unwind unwind);
/*
 * --inline: frames name the functions inlined there too (inlines.h), as
 * pprof's several Lines per Location, "_[i]" frames in the flame graph.
 * Before profiler_serve(): 0 or an exit status after a message.
 */
int profiler_set_inline(struct profiler *p);
/* Starts the thread that drains the kernel's counts: 0 or exit status. */
int profiler_serve(struct profiler *p);
/* Answers what waits with 503 and refuses new requests; the thread ends. */
void profiler_close_requests(struct profiler *p);
/* profiler_close_requests(), then detaches and frees (p may be NULL). */
void profiler_stop(struct profiler *p);
/* The HTTP routes' start calls (ctx: the profiler). */
void profiler_cpu_request(void *ctx, struct http_request *r);
void profiler_offcpu_request(void *ctx, struct http_request *r);
/* The last seconds (default 30) as a flame graph, answered at once. */
void profiler_flame_request(void *ctx, struct http_request *r);
/* A process or a cgroup the profiler sampled (profiler_each_target). */
struct profiler_target {
	uint32_t pid;		/* 0: a cgroup */
	const char *comm;	/* a process's command name */
	const char *cgroup;	/* the cgroup's (a process's) v2 path, or NULL */
	const char *container;	/* the process's container, or NULL */
	uint64_t samples;
};
/*
 * Calls fn for each process sampled in the last seconds, most samples
 * first, then for each cgroup of theirs and each ancestor but "/" (its
 * samples and its descendants'), by path; at most 256 of each. fn runs
 * with the profiler locked: it must not call the profiler.
 */
void profiler_each_target(struct profiler *p, unsigned int seconds,
			  void (*fn)(void *ctx,
				     const struct profiler_target *t),
			  void *ctx);
/* Samples dropped so far (full maps, stacks lost, per-second caps). */
uint64_t profiler_dropped(struct profiler *p);
#endif

#endif

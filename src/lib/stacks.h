/*
 * The stack-sampling tools (profile, offcputime), both halves: the key the
 * kernel aggregates counts under, its statistics, and (user side) the
 * printers of BCC's multi-line stacks, folded lines and JSON records.
 */
#ifndef LOUPE_STACKS_H
#define LOUPE_STACKS_H

#include "event.h"

#define STACKS_MAX_DEPTH	127	/* the kernel's PERF_MAX_STACK_DEPTH */
#define STACKS_STORAGE		16384	/* stack map entries, like BCC */
#define STACKS_MAX_KEYS		40960	/* distinct (task, stacks) counted */
#define STACKS_MAX_PIDS		8192	/* processes announced per second */

/*
 * A stack id, or: STACK_ID_NONE when that half was not collected or has
 * no frames (a sample in user mode has no kernel part, a kernel thread no
 * user part); another negative value is the errno of a stack the kernel
 * could not record (a full or colliding stack map).
 */
#define STACK_ID_NONE		(-1)

struct stack_key {
	__u32 pid;		/* thread group id */
	__s32 user_stack_id;
	__s32 kernel_stack_id;
	char comm[TASK_COMM_LEN];
};

/* Counters of what could not be counted (a per-CPU array). */
enum stacks_stat {
	STACKS_MISSED_USER,	/* user stack not recorded */
	STACKS_MISSED_KERNEL,	/* kernel stack not recorded */
	STACKS_COUNTS_FULL,	/* the counts map had no room for a key */
	STACKS_START_FULL,	/* offcputime: too many threads blocked */
	STACKS_NSTATS,
};

/* Sent on a process's first sample so user space reads its mappings. */
struct stacks_pid_event {
	__u32 pid;
	__u32 pad;
};

/*
 * --unwind dwarf: the kernel copies this much of the user stack (from the
 * stack pointer up) with the user registers, and user space walks it with
 * the binaries' CFI, as perf's --call-graph dwarf does (perf: 8 KB).
 */
#define STACKS_COPY_MAX		16384

/* The ring of --unwind dwarf: 512 of the largest samples. */
#define STACKS_COPY_RING	(8UL << 20)

/* The user registers of a sample, in the DWARF x86-64 numbering 0-16. */
#define STACKS_NREGS		17

/*
 * A sample whose user stack is walked in user space: the counting is
 * done there too. The three records of the ring (stacks_pid_event,
 * stacks_done, stacks_sample) are told apart by their sizes.
 */
struct stacks_sample {
	__u32 pid;		/* thread group id */
	__u32 tid;
	__s32 kernel_stack_id;
	__u32 size;		/* bytes of stack copied from regs[7] up */
	char comm[TASK_COMM_LEN];
	__u64 regs[STACKS_NREGS];	/* rax rdx rcx rbx rsi rdi rbp rsp
					 * r8-r15 rip */
	__u64 ts_ns;		/* offcputime: when the thread left the CPU */
	__u8 stack[STACKS_COPY_MAX];
};

/*
 * offcputime --unwind dwarf: the time off CPU is known only when the
 * thread comes back, after its copy was sent; this follows it. ts_ns is
 * the copy's, so a copy that was lost matches no older one.
 */
struct stacks_done {
	__u32 tid;
	__u32 pad;
	__u64 ts_ns;
	__u64 value;		/* nanoseconds off CPU */
};

#ifndef __VMLINUX_H__
#include <stdbool.h>
#include <stdio.h>
#include "out.h"
#include "syms.h"

struct session;

/* One symbolized half of a stack, leaf first. */
struct stacks_half {
	const struct syms_frame *frames;
	int n;
	bool missed;		/* the kernel could not record it */
};

/*
 * A kernel stack taken from a tracepoint starts in the machinery that ran
 * the BPF program (bpf_prog_*, __bpf_trace_*, __traceiter_*); those
 * frames say nothing about the traced task. Every reader of such stacks
 * drops its leading frames for which this is true.
 */
bool stacks_tracing_frame(const struct syms_frame *f);

/*
 * Appends a folded line: "comm;user frames root first;kernel frames_[k]
 * count\n"; JIT frames get "_[j]", unresolved ones read "[unknown]".
 */
void stacks_fold(struct out_buf *b, const char *comm,
		 const struct stacks_half *user,
		 const struct stacks_half *kernel, unsigned long long count);

/*
 * --svg FILE: the folded output is captured in memory while the tool
 * prints, then drawn as a flame graph (stacks_tool_prepare() begins it,
 * stacks_tool_cleanup() draws it).
 */
struct stacks_svg {
	const char *path;
	const char *title;
	const char *palette;
	const char *count_name;
	char *text;
	size_t len;
	FILE *mem;
};

/*
 * A stack-counting tool (profile, offcputime): its objects name their maps
 * alike (stackmap, counts, stack_stats, seen_pids), and the halves,
 * --folded, --svg and --stack-storage-size mean the same in both. The
 * tool fills the flags and the constants; the rest is run-time state.
 * Its on_event, on_interval, attached, finish and cleanup are the
 * stacks_tool_* functions below (an attached step of its own ends with
 * stacks_tool_attached()); its prepare sets its own .rodata, writes the
 * banner and then calls stacks_tool_prepare().
 */
/* How user stacks are walked (--unwind). */
enum stacks_unwind {
	STACKS_UNWIND_FP,	/* frame pointers, in the kernel */
	STACKS_UNWIND_DWARF,	/* CFI, in user space (unwind.h) */
	STACKS_UNWIND_AUTO,	/* per process, by its executable */
};

struct ustacks;
struct upending;
struct unwinder;
struct inlines;

struct stacks_tool {
	bool user_only, kernel_only;	/* halves; neither: both */
	bool copy_waits;	/* a copy's count comes in a stacks_done */
	enum stacks_unwind unwind;
	struct unwinder *unwinder;
	struct ustacks *ustacks;	/* stacks counted in user space */
	struct upending *pending;	/* copy_waits: walked, not counted */
	bool folded;
	bool no_demangle;		/* --no-demangle */
	bool inline_frames;		/* --inline */
	struct inlines *inlines;
	unsigned long storage;		/* stack map entries */
	struct stacks_svg svg;		/* .path set by --svg */
	const char *unit;		/* "samples", "us" */
	unsigned long long divisor;	/* map value / divisor = count */
	struct bpf_object *obj;
	struct syms_cache *syms;
	char banner[160];
	struct out_col columns[2];
	long long pid_cpu_start;	/* -p's CPU time once attached, or -1 */
};

/* --no-demangle, in every tool that shows user stacks. */
#define STACKS_NO_DEMANGLE_OPT						\
	{ "no-demangle", 0, NULL,					\
	  "C++ and Rust names as mangled in the symbol table" }

/* --unwind, in every tool that walks user stacks (stacks_parse_unwind). */
#define STACKS_UNWIND_OPT						\
	{ "unwind", 0, "fp|dwarf|auto",					\
	  "walk user stacks by frame pointers (default), by CFI, or "	\
	  "by CFI where the executable has no frame pointers" }

/* --inline, in every tool that shows user stacks (src/lib/inlines.h). */
#define STACKS_INLINE_OPT						\
	{ "inline", 0, NULL,						\
	  "functions inlined at user frames, from DWARF, as frames "	\
	  "of their own" }

/*
 * The stack flags both tools take, rows that end a tool's opts table: the
 * tool hands the index-th of them to stacks_tool_opt() (0 or EXIT_USAGE).
 */
#define STACKS_TOOL_OPTS						\
	{ "user-stacks-only", 'U', NULL, "user stacks only" },		\
	{ "kernel-stacks-only", 'K', NULL, "kernel stacks only" },	\
	{ "folded", 'f', NULL,						\
	  "one folded line per stack (for flame graphs)" },		\
	{ "stack-storage-size", 0, "N",					\
	  "stack map entries (default 16384)" },			\
	{ "svg", 0, "FILE", "write a flame graph to FILE" },		\
	STACKS_NO_DEMANGLE_OPT,						\
	STACKS_UNWIND_OPT,						\
	STACKS_INLINE_OPT
int stacks_tool_opt(struct stacks_tool *t, int index, const char *arg);
/* --unwind's argument: 0 or EXIT_USAGE with a message. */
int stacks_parse_unwind(const char *arg, enum stacks_unwind *out);
/* The mode named fp, dwarf or auto (false: none), and a mode's name. */
bool stacks_unwind_of_name(const char *name, enum stacks_unwind *out);
const char *stacks_unwind_name(enum stacks_unwind u);
/* The flag combinations both tools refuse: 0 or EXIT_USAGE. */
int stacks_tool_check(const struct session *s, const struct stacks_tool *t);
int stacks_tool_prepare(struct session *s, struct stacks_tool *t,
			struct bpf_object *obj);
int stacks_tool_on_event(struct session *s, const void *data, size_t size);
int stacks_tool_on_tick(struct session *s);
/*
 * Notes -p's CPU time once sampling starts: a run that counts nothing
 * then says how long that process ran (a busy process starved by others
 * for the whole run is never sampled). The tool's attached step, or a
 * call at the end of it.
 */
int stacks_tool_attached(struct session *s, void *skel);
int stacks_tool_finish(struct session *s, void *skel);
int stacks_tool_cleanup(struct session *s, int err);
#endif

#endif

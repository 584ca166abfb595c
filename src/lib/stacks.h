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

#ifndef __VMLINUX_H__
#include <stdbool.h>
#include <stdio.h>
#include "out.h"
#include "session.h"
#include "syms.h"

/* One symbolized half of a stack, leaf first. */
struct stacks_half {
	const struct syms_frame *frames;
	int n;
	bool missed;		/* the kernel could not record it */
};

/*
 * Appends a folded line: "comm;user frames root first;kernel frames_[k]
 * count\n"; JIT frames get "_[j]", unresolved ones read "[unknown]".
 */
void stacks_fold(struct out_buf *b, const char *comm,
		 const struct stacks_half *user,
		 const struct stacks_half *kernel, unsigned long long count);

struct stacks_report {
	const char *unit;	/* "samples", "us" */
	unsigned long long divisor;	/* map value / divisor = count */
	bool folded;
	bool user, kernel;	/* halves collected */
	int counts_fd, stackmap_fd, stats_fd;
	struct syms_cache *syms;
};

/* Prints every counted stack, least frequent first, then the losses. */
int stacks_print(struct session *s, const struct stacks_report *r);

/* The ring-buffer callback: captures the announced process's mappings. */
int stacks_on_pid(struct syms_cache *c, const void *data, size_t size);

/* Forgets the announced pids: their next sample announces them again. */
void stacks_rearm(int seen_fd);

/*
 * --svg FILE: the folded output is captured in memory while the tool
 * prints, then drawn as a flame graph. svg_begin before session_start();
 * svg_end after session_stop(); both return 0 or an exit status.
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

int stacks_svg_begin(struct session *s, struct stacks_svg *svg);
int stacks_svg_end(struct stacks_svg *svg, bool ok);

/* The flags both stack tools take, and what they say. */
struct stacks_conf {
	bool user_only, kernel_only;	/* -U, -K */
	bool folded;			/* -f */
	const char *svg;		/* --svg FILE */
	unsigned long storage;		/* --stack-storage-size */
};

enum {
	STACKS_OPT_USER,
	STACKS_OPT_KERNEL,
	STACKS_OPT_FOLDED,
	STACKS_OPT_STORAGE,
	STACKS_OPT_SVG,
	STACKS_NOPTS,
};

/* Their rows in a tool's option table, from index first on. */
#define STACKS_TOOL_OPTS(first)						\
	[(first) + STACKS_OPT_USER] = { "user-stacks-only", 'U', NULL,	\
					"user stacks only" },		\
	[(first) + STACKS_OPT_KERNEL] = { "kernel-stacks-only", 'K', NULL, \
					  "kernel stacks only" },	\
	[(first) + STACKS_OPT_FOLDED] = { "folded", 'f', NULL,		\
		"one folded line per stack (for flame graphs)" },	\
	[(first) + STACKS_OPT_STORAGE] = { "stack-storage-size", 0, "N", \
		"stack map entries (default 16384)" },			\
	[(first) + STACKS_OPT_SVG] = { "svg", 0, "FILE",		\
				       "write a flame graph to FILE" }

/* index: STACKS_OPT_*; 0 or EXIT_USAGE. */
int stacks_parse_opt(struct stacks_conf *c, int index, const char *arg);
/* The combinations refused; 0 or EXIT_USAGE. */
int stacks_check_conf(const struct session *s, const struct stacks_conf *c);

/*
 * A stack tool's run once its object is open and set up: the stack map
 * sized, --svg's capture, start, attach (profile's perf events, or
 * NULL), the loop, the report of r (its maps are found by name) and the
 * teardown. Returns an exit status.
 */
int stacks_run(struct session *s, struct stacks_conf *c,
	       struct bpf_object *obj, const struct out_col *banner,
	       session_event_fn on_event, int (*attach)(struct session *s),
	       struct stacks_report *r, struct stacks_svg *svg);
#endif

#endif

/*
 * What a tool is to the rest of loupe: one row of the tool table, which
 * each tool joins itself (TOOL_REGISTER). `loupe list`, `loupe TOOL
 * --help` and the option parser are generated from it; session_run()
 * drives its BPF skeleton through the callbacks.
 */
#ifndef LOUPE_TOOL_H
#define LOUPE_TOOL_H

#include <stddef.h>
#include "hook.h"
#include "out.h"

struct session;
struct bpf_object;
struct bpf_object_skeleton;

/* Common flags a tool honours. */
enum {
	OPT_PID		= 1 << 0,
	OPT_NAME	= 1 << 1,
	OPT_CGROUP	= 1 << 2,
	OPT_DURATION	= 1 << 3,
	OPT_INTERVAL	= 1 << 4,
	OPT_JSON	= 1 << 5,
	OPT_TIMESTAMP	= 1 << 6,
	OPT_FAILED	= 1 << 7,
	OPT_BUFFER	= 1 << 8,
	OPT_RAW_SYSCALLS = 1 << 9,
	/* rows are tasks' events: --containers adds a CONTAINER column */
	OPT_CONTAINERS	= 1 << 10,
};

#define OPT_SNOOP (OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION | \
		   OPT_JSON | OPT_TIMESTAMP | OPT_BUFFER | OPT_CONTAINERS)

/* A tool-specific flag; arrays end with an entry whose name is NULL. */
struct tool_opt {
	const char *name;	/* long name without dashes */
	int short_name;		/* 0 if none */
	const char *arg;	/* argument name, NULL for a switch */
	const char *help;
};

struct tool {
	const char *name;
	const char *summary;
	const char *examples;	/* lines of "loupe TOOL ...  # what" */
	unsigned int common;	/* OPT_* honoured */
	const char *failed_help;	/* what -x means here */
	const struct tool_opt *opts;
	/* Receives a tool flag by its index in opts; 0 or EXIT_USAGE. */
	int (*parse_opt)(int index, const char *arg);
	/*
	 * Positional arguments (e.g. fsslower's MIN_MS), NULL if the tool
	 * takes none; each is handed over in order: 0 or EXIT_USAGE.
	 */
	const char *args_usage;	/* shown after [flags], e.g. "[MIN_MS]" */
	int (*parse_arg)(int index, const char *arg);
	const struct hook_probe *probes;
	/* The BPF object; NULL for a tool with its own run (below). */
	const struct tool_skel *skel;
	/*
	 * What the session starts with; prepare() may change them in the
	 * session (s->columns, s->on_event, s->on_interval).
	 */
	const struct out_col *columns;
	/* Top tools: the header goes above each interval's table. */
	bool header_per_interval;
	int (*on_event)(struct session *s, const void *data, size_t size);
	int (*on_interval)(struct session *s);
	/*
	 * session_run() calls these, all optional, in this order:
	 * prepare() after the object is opened and the common filter set,
	 * before load (rodata, map sizes, session fields; TOOL_DONE ends
	 * the run at once with EXIT_OK); attached() once every program is
	 * attached (map fds, perf events); finish() after a loop that ended
	 * well, before teardown (a final report); cleanup() last on every
	 * path once the object is open, after it is destroyed: it frees
	 * the tool's state and returns the run's exit status, err or its
	 * own failure. All but cleanup() return 0 or an exit status.
	 */
	int (*prepare)(struct session *s, void *skel);
	int (*attached)(struct session *s, void *skel);
	int (*finish)(struct session *s, void *skel);
	int (*cleanup)(struct session *s, int err);
	/* A tool whose flow is its own (no skeleton): does everything. */
	int (*run)(struct session *s);
};

/* From prepare(): nothing to load (syscount --list); exit status 0. */
#define TOOL_DONE	(-1)

/*
 * A bpftool skeleton seen from generic code: every generated struct
 * NAME_bpf starts with these two members.
 */
struct tool_skel_head {
	struct bpf_object_skeleton *skeleton;
	struct bpf_object *obj;
};

struct tool_skel {
	void *(*open)(void);
	void (*destroy)(void *skel);
	const void *(*elf_bytes)(size_t *size);
};

/*
 * Defines NAME_skel, the struct tool_skel of the skeleton NAME.skel.h
 * generated (NAME_bpf__open() and friends): `.skel = &NAME_skel`.
 */
#define TOOL_SKEL(name)							\
	static void *name##_skel_open(void)				\
	{								\
		return name##_bpf__open();				\
	}								\
	static void name##_skel_destroy(void *skel)			\
	{								\
		name##_bpf__destroy(skel);				\
	}								\
	_Static_assert(offsetof(struct name##_bpf, skeleton) == 0 &&	\
		       offsetof(struct name##_bpf, obj) ==		\
		       offsetof(struct tool_skel_head, obj),		\
		       #name "_bpf does not start like a skeleton");	\
	static const struct tool_skel name##_skel = {			\
		.open = name##_skel_open,				\
		.destroy = name##_skel_destroy,				\
		.elf_bytes = name##_bpf__elf_bytes,			\
	}

/*
 * Puts a tool into the table: a pointer to it in the loupe_tools section,
 * which the linker gathers from every object (__start_loupe_tools ..
 * __stop_loupe_tools). Adding a tool touches no central file.
 */
#define TOOL_REGISTER(t)						\
	static const struct tool *const t##_entry			\
	__attribute__((used, section("loupe_tools"),			\
		       aligned(sizeof(void *)))) = &(t)

/* The table, sorted by name (src/main.c); ends with NULL. */
const struct tool *const *tool_table(void);
const struct tool *tool_find(const char *name);

#endif

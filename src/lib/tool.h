/*
 * What a tool is to the rest of loupe: one row of the tool table in
 * src/main.c. `loupe list`, `loupe TOOL --help` and the option parser are
 * generated from it.
 */
#ifndef LOUPE_TOOL_H
#define LOUPE_TOOL_H

#include <stddef.h>
#include "hook.h"

struct session;

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
};

#define OPT_SNOOP (OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION | \
		   OPT_JSON | OPT_TIMESTAMP | OPT_BUFFER)

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
	const char *args;	/* positional arguments in usage, or NULL */
	/* Receives the index-th positional argument; 0 or EXIT_USAGE. */
	int (*parse_arg)(int index, const char *arg);
	const struct hook_probe *probes;
	const void *(*elf_bytes)(size_t *size);
	int (*run)(struct session *s);
};

extern const struct tool *const tools[];

#endif

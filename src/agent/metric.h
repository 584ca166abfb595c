/*
 * A metric program: one trace program and the maps of it the agent
 * exports, each as one metric family. Custom metrics (the config file)
 * and built-in metrics (builtin.c) are both described this way, so one
 * path compiles, loads, attaches and reads them all.
 */
#ifndef LOUPE_AGENT_METRIC_H
#define LOUPE_AGENT_METRIC_H

#include <stdbool.h>
#include <stddef.h>
#include "expo.h"

/* What a metric's values are measured in; exported in base units. */
enum metric_unit {
	UNIT_NONE,
	UNIT_NANOSECONDS,
	UNIT_MICROSECONDS,
	UNIT_MILLISECONDS,
	UNIT_SECONDS,
	UNIT_BYTES,
};

/*
 * How one element of a map key becomes a label value. LABEL_AUTO is what
 * `loupe trace` prints for the element (integers in decimal, strings as
 * they are); the others translate an integer the kernel gives into the
 * name a person reads (labels.c).
 */
enum label_kind {
	LABEL_AUTO,
	LABEL_SYSCALL,	/* syscall number of this architecture: "openat" */
	LABEL_ERRNO,	/* positive errno: "ENOENT" */
	LABEL_DISK,	/* dev_t as block tracepoints give it: "sda" */
	LABEL_BLOCK_OP,	/* first rwbs character: "read", "write", ... */
	LABEL_CGROUP,	/* cgroup v2 id: its path under the v2 mount */
	LABEL_SOFTIRQ,	/* softirq vector: "timer", "net_rx", ... */
	LABEL_KINDS,
};

struct metric_label {
	const char *name;
	enum label_kind kind;
};

/* One map of the program, exported as one family. */
struct metric_export {
	const char *map;	/* "@" or "@name", as in the program */
	const char *name;	/* the family, e.g. "loupe_execs_total" */
	const char *help;
	/* one per element of the map's key, in the key's order */
	struct metric_label labels[EXPO_MAX_LABELS];
	int nlabels;
	enum metric_unit unit;	/* of the values the map holds */
};

#define METRIC_MAX_EXPORTS	8

struct metric_program {
	const char *id;		/* built-in: its --metrics name; custom: name */
	const char *program;	/* trace language text */
	struct metric_export exports[METRIC_MAX_EXPORTS];
	int nexports;
	/* where it was written, for messages: the config file and line of
	 * the program's text, or NULL for a built-in */
	const char *file;
	int line, col;
};

/* labels.c: the label value of one key element of the given kind. */
void labels_format_int(enum label_kind kind, long long v, char *buf,
		       size_t len);
const char *labels_kind_name(enum label_kind kind);

#endif

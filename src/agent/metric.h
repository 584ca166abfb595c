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
	/* cgroup v2 id: its container's name (else its 12-digit id), its
	 * Kubernetes pod and namespace; "" on the host (container.c) */
	LABEL_CONTAINER,
	LABEL_POD,
	LABEL_NAMESPACE,
	LABEL_KINDS,
};

struct metric_label {
	const char *name;
	enum label_kind kind;
	/* reads the key element of the label before it instead of the next
	 * one: one cgroup id gives container, pod and namespace */
	bool same_key;
};

/* One map of the program, exported as one family. */
struct metric_export {
	const char *map;	/* "@" or "@name", as in the program */
	const char *name;	/* the family, e.g. "loupe_execs_total" */
	const char *help;
	/* one per element of the map's key, in the key's order, and those
	 * of the same element (same_key) after it */
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

/*
 * metric.c, the engine: compiles metric programs with LRU maps, loads and
 * attaches them, and at scrape time reads the exported maps into their
 * families. The strings of the metric_programs given must outlive the
 * set made of them.
 */
struct trace_prog;

/* Where metric_check() found a problem. */
enum metric_fault {
	METRIC_FAULT_PROGRAM,	/* at line, col of the program's text */
	METRIC_FAULT_MAP,	/* the export's map is not in the program */
	METRIC_FAULT_LABELS,	/* the export's labels do not fit its key */
};

struct metric_error {
	enum metric_fault at;
	int export;		/* index of the export it is about */
	int line, col;		/* METRIC_FAULT_PROGRAM */
	char msg[256];
};

/*
 * After trace_check() of mp->program into p: whether every export is a
 * map with a Prometheus form (and the program only fills maps). 0, or -1
 * with e filled.
 */
int metric_check(struct trace_prog *p, const struct metric_program *mp,
		 struct metric_error *e);
/* The map names of p, as "@a, @b" (for messages). */
void metric_map_names(struct trace_prog *p, char *buf, size_t len);

/* The agent's metrics about metric programs, which every set feeds. */
struct metric_self {
	struct expo_family *attached;	/* {metric, probe, hook} */
	struct expo_family *skipped;	/* {metric}: recursion misses */
	struct expo_family *run_seconds; /* {metric}: bpf_stats only */
	struct expo_family *runs;	/* {metric}: bpf_stats only */
	struct expo_family *map_bytes;	/* {metric}: its maps' memlock */
};

int metric_self_add(struct expo_registry *r, struct metric_self *self,
		    char *err, size_t errlen);
/* Forgets the series of self (each scrape, before the sets refresh). */
void metric_self_clear(struct metric_self *self);

/*
 * One parse of the kernel's BTF (about 70 ms and 6 MB) lent to every
 * program compiled at start-up or a reload, instead of one per compile:
 * lend it before trace_check(), take it back before trace_prog_free(),
 * and release it once the programs are attached.
 */
void metric_btf_lend(struct trace_prog *p);
void metric_btf_take_back(struct trace_prog *p);
void metric_btf_release(void);

struct metric_set;

/* The multiplier from a unit to its base unit (1 for none). */
double metric_unit_scale(enum metric_unit unit);

/*
 * Compiles, loads and attaches progs; an exported map keeps at most
 * about max_series keys (LRU). NULL with "ID: message" in err and
 * *status EXIT_USAGE (a program is wrong) or EXIT_RUNTIME (the system
 * refused); nothing stays attached then.
 */
struct metric_set *metric_set_start(const struct metric_program *progs,
				    int n, size_t max_series, char *err,
				    size_t errlen, int *status);
/*
 * Registers the set's families in r: 0, or -errno with err (a name
 * clash) and none of them registered.
 */
int metric_set_publish(struct metric_set *s, struct expo_registry *r,
		       char *err, size_t errlen);
void metric_set_unpublish(struct metric_set *s);
/* Scrape time: every exported map read into its family; self series. */
void metric_set_refresh(struct metric_set *s, struct metric_self *self);
/*
 * The self series of a program that is not attached (its hooks missing
 * on this kernel): attached 0, hook "none", for its first probe.
 */
void metric_self_unattached(struct metric_self *self,
			    const struct metric_program *mp);
/* For the index: each probe of each program and the hook it uses. */
void metric_set_each_probe(struct metric_set *s,
			   void (*fn)(void *ctx, const char *id,
				      const char *probe, const char *hook),
			   void *ctx);
/* Detaches everything and frees the set (unpublished first if needed). */
void metric_set_stop(struct metric_set *s);

/* labels.c: the label value of one key element of the given kind. */
void labels_format_int(enum label_kind kind, long long v, char *buf,
		       size_t len);
const char *labels_kind_name(enum label_kind kind);

#endif

/*
 * The agent's config file (--config): the custom metrics, each a trace
 * one-liner and how its map becomes series, and the packet counters,
 * each a tcpdump expression at an interface.
 */
#ifndef LOUPE_AGENT_CONFIG_H
#define LOUPE_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include "expo.h"
#include "metric.h"
#include "stacks.h"

struct config_metric {
	char *name;
	char *help;
	char *program;
	char *labels[EXPO_MAX_LABELS];
	int nlabels;
	enum metric_unit unit;
	char *map;		/* map: or the program's only map */
	int line;		/* of the metric's entry, for messages */
	/* what the engine runs (strings point into this entry) */
	struct metric_program prog;
};

/* A packets: entry, counted at TC (src/agent/packets.c). */
struct config_packets {
	char *name;		/* the filter="" label */
	char *iface;
	char *expr;		/* the tcpdump expression, compiled once */
	bool ingress, egress;
	int line;		/* of the entry, for messages */
};

/*
 * The keys that are flags too (--http; --unwind, --inline,
 * --no-demangle under profiling:): -1 where the file has no such key.
 * A flag given overrides its key.
 */
struct config_flags {
	int http;		/* 0 or 1 */
	int unwind;		/* enum stacks_unwind */
	int inline_frames;	/* 0 or 1 */
	int demangle;		/* 0 or 1 */
};

struct config {
	char *path;		/* NULL: no --config */
	struct config_flags flags;
	struct config_metric *metrics;
	int nmetrics;
	struct config_packets *packets;
	int npackets;
	/* one per metric, for the engine (strings are the metrics') */
	struct metric_program *programs;
};

/*
 * Loads and checks path; compile: also compile each program (parse and
 * types, nothing loaded) and check its map has series (metric_check());
 * the map of each program is known only then. 0, or EXIT_USAGE or
 * EXIT_RUNTIME with the first error as "FILE:LINE:COL: message" in err.
 */
int config_load(const char *path, bool compile, struct config *c,
		char *err, size_t errlen);
void config_free(struct config *c);
const char *config_unit_name(enum metric_unit unit);

#endif

/*
 * The agent's config file (--config): the custom metrics, each a trace
 * one-liner and how its map becomes series.
 */
#ifndef LOUPE_AGENT_CONFIG_H
#define LOUPE_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include "expo.h"
#include "metric.h"

struct config_metric {
	char *name;
	char *help;
	char *program;
	char *labels[EXPO_MAX_LABELS];
	int nlabels;
	enum metric_unit unit;
	int line;		/* of the metric's entry, for messages */
};

struct config {
	char *path;		/* NULL: no --config */
	struct config_metric *metrics;
	int nmetrics;
};

/*
 * Loads and checks path; compile: also compile each program (parse and
 * types, nothing loaded). 0, or EXIT_USAGE/EXIT_RUNTIME with the first
 * error as "FILE:LINE:COL: message" in err.
 */
int config_load(const char *path, bool compile, struct config *c,
		char *err, size_t errlen);
void config_free(struct config *c);
/* The multiplier from a unit to its base unit (1 for none). */
double config_unit_scale(enum metric_unit unit);
const char *config_unit_name(enum metric_unit unit);

#endif

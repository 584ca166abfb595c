/*
 * Exposition: a registry of metric families and their series, rendered as
 * the Prometheus text format 0.0.4. Every value the agent serves goes
 * through it, so escaping, float formatting and the series cap live in
 * one place.
 */
#ifndef LOUPE_AGENT_EXPO_H
#define LOUPE_AGENT_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "out.h"

#define EXPO_MAX_LABELS		8
#define EXPO_MAX_BUCKETS	64
#define EXPO_DEFAULT_MAX_SERIES	10000
#define EXPO_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
/* Enough for any double written by expo_format_double(). */
#define EXPO_NUM_LEN		32

enum expo_type {
	EXPO_COUNTER,
	EXPO_GAUGE,
	EXPO_HISTOGRAM,
};

struct expo_registry;
struct expo_family;

/* A registry whose families keep at most max_series series each. */
struct expo_registry *expo_registry_new(size_t max_series);
void expo_registry_free(struct expo_registry *r);

/*
 * A new family; bounds (histograms only) are the finite upper bounds of
 * the buckets, strictly increasing (+Inf is implied). NULL with an
 * explanation in err if a name is invalid or already registered.
 */
struct expo_family *expo_family_add(struct expo_registry *r,
				    const char *name, const char *help,
				    enum expo_type type,
				    const char *const *labels, int nlabels,
				    const double *bounds, int nbounds,
				    char *err, size_t errlen);
/* Unregisters f and frees it (e.g. the families of a replaced config). */
void expo_family_remove(struct expo_family *f);
/* Forgets every series of the family (e.g. before re-reading a map). */
void expo_family_clear(struct expo_family *f);
/* Series currently held, and label sets refused by the cap so far. */
void expo_family_stats(struct expo_family *f, size_t *series,
		       uint64_t *dropped);

/*
 * Updates of the series with these label values (as many as the family
 * has labels; any bytes, repaired to UTF-8 when rendered). 0, or -ENOSPC
 * if the series is new and the family is full: it is dropped and counted
 * in loupe_agent_series_dropped_total{metric="NAME"}.
 */
int expo_set(struct expo_family *f, const char *const *values, double v);
int expo_add(struct expo_family *f, const char *const *values, double v);
int expo_observe(struct expo_family *f, const char *const *values, double v);
/*
 * A histogram series as read from elsewhere (e.g. a BPF map): counts[i]
 * observations in bucket i (nbounds + 1 of them, the last is +Inf, not
 * cumulative) and their sum.
 */
int expo_hist_set(struct expo_family *f, const char *const *values,
		  const uint64_t *counts, double sum);
/* The same added to the series (e.g. several keys of one label set). */
int expo_hist_add(struct expo_family *f, const char *const *values,
		  const uint64_t *counts, double sum);

/* The whole registry in text format 0.0.4, appended to b. */
void expo_render(struct expo_registry *r, struct out_buf *b);
/* Calls fn for each family in registration order (e.g. an index page). */
void expo_each_family(struct expo_registry *r,
		      void (*fn)(void *ctx, const char *name,
				 const char *help, enum expo_type type),
		      void *ctx);

/* Building blocks, exposed for tests and the index page. */
bool expo_metric_name_valid(const char *name);
bool expo_label_name_valid(const char *name);
/* A double as Prometheus parses it: shortest exact form, NaN, +Inf, -Inf. */
void expo_format_double(char *buf, size_t len, double v);
/* A label value: \\, \" and \n escaped, invalid UTF-8 bytes as U+FFFD. */
void expo_escape_label(struct out_buf *b, const char *s);
/* HELP text: \\ and \n escaped, invalid UTF-8 bytes as U+FFFD. */
void expo_escape_help(struct out_buf *b, const char *s);
const char *expo_type_name(enum expo_type type);

#endif

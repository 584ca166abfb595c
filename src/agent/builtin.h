/*
 * The built-in metrics: one trace program each (builtin.c), selected by
 * --metrics and served like custom metrics.
 */
#ifndef LOUPE_AGENT_BUILTIN_H
#define LOUPE_AGENT_BUILTIN_H

#include <stdbool.h>
#include <stddef.h>
#include "metric.h"

int builtin_count(void);
/* The --metrics name of built-in i (0 .. builtin_count() - 1). */
const char *builtin_name(int i);
const char *builtin_summary(int i);
/* Whether --by-cgroup/--by-container give its families more labels. */
bool builtin_per_task(int i);
/* "all", "none" or names separated by commas: 0, or -1 with the first
 * unknown name in bad. */
int builtin_check_list(const char *list, char *bad, size_t len);
/* The valid names, comma-separated, for messages. */
void builtin_names(char *buf, size_t len);
/* What the per-task built-ins are also broken down by (flags). */
#define BUILTIN_BY_CGROUP	1u	/* label "cgroup" */
/* labels container, pod and namespace */
#define BUILTIN_BY_CONTAINER	2u
/*
 * The built-ins a --metrics list selects (NULL: all), in table order,
 * as metric programs; with by (BUILTIN_BY_*) the per-task ones key their
 * maps by the task's cgroup first, and get its labels first. NULL with
 * *n = 0 if none; free with builtin_free().
 */
struct metric_program *builtin_select(const char *list, unsigned int by,
				      int *n);
void builtin_free(struct metric_program *progs, int n);

#define BUILTIN_MAX_FALLBACKS	2
/*
 * For a kernel that refuses the program of built-in p: its k-th other
 * program (0 ..), with the same maps and families, into out (free its
 * text with free()). 1, 0 when there is no k-th, -1 out of memory.
 */
int builtin_fallback(const struct metric_program *p, int k, unsigned int by,
		     struct metric_program *out);
/* "counter", "histogram" or "gauge": what the export's map holds. */
const char *builtin_family_type(const struct metric_program *p,
				const struct metric_export *e);

#endif

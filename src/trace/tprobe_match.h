/*
 * What the probe enumerations share (tprobe_match.c): how a pattern
 * selects names, and how each match is handed on.
 */
#ifndef LOUPE_TRACE_TPROBE_MATCH_H
#define LOUPE_TRACE_TPROBE_MATCH_H

#include <stdbool.h>

/* Shell-style wildcard match ('*', '?', '[...]'); a NULL pattern matches
 * everything. */
bool tprobe_match(const char *pattern, const char *s);

/* Called with each match; a non-zero return stops the walk. */
typedef int (*tprobe_cb)(void *ctx, const char *a, const char *b);

#endif

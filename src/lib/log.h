/*
 * Messages to the user: one error printer so every message has the same
 * "loupe: TOOL: ..." shape, and the libbpf log handler.
 */
#ifndef LOUPE_LOG_H
#define LOUPE_LOG_H

#include <stdbool.h>

/* Exit statuses shared by every tool. */
#define EXIT_OK		0
#define EXIT_RUNTIME	1
#define EXIT_USAGE	2

void log_set_tool(const char *tool);
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with --verbose: what loupe decided on its own, e.g. a fallback. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_libbpf_init(bool verbose);
void log_libbpf_tail(int lines);

#endif

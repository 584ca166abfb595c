/* The one parser for the flags every tool shares. */
#ifndef LOUPE_OPTS_H
#define LOUPE_OPTS_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include "event.h"

struct tool;

#define OPTS_HELP	(-1)	/* --help was given: usage printed */
#define OPTS_DEFAULT_BUFFER (2UL << 20)

struct opts {
	unsigned int given;	/* OPT_* seen on the command line */
	int pid;
	char comm[TASK_COMM_LEN];
	char cgroup[PATH_MAX];	/* resolved absolute path */
	double duration;	/* seconds, 0 = until interrupted */
	double interval;	/* seconds, 0 = none */
	bool json;
	bool timestamp;
	bool failed;
	bool verbose;
	unsigned long buffer_size;
	/*
	 * Not a flag: a process whose activity the kernel side drops (the
	 * overview sets its own pid), 0 for none.
	 */
	int exclude_pid;
};

int opts_parse(struct opts *o, const struct tool *t, int argc, char **argv);
void opts_usage(const struct tool *t, FILE *f);
int opts_parse_pid(const char *s, int *pid);
int opts_parse_seconds(const char *s, double *secs);
int opts_parse_size(const char *s, unsigned long *size);
int opts_resolve_cgroup(const char *s, char *out, size_t len);
const char *opts_cgroup2_root(void);

#endif

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

/*
 * Bounds of -d and -i. The event loop sleeps in whole milliseconds; the
 * upper bound (about 115 days) keeps deadlines far inside its signed
 * nanosecond clock arithmetic.
 */
#define OPTS_MIN_SECONDS	0.001
#define OPTS_MAX_SECONDS	10000000.0

struct opts {
	unsigned int given;	/* OPT_* seen on the command line */
	int pid;
	char comm[TASK_COMM_LEN];
	char cgroup[PATH_MAX];	/* resolved absolute path */
	char container[128];	/* --container as given: cgroup is its */
	bool containers;	/* a CONTAINER column */
	double duration;	/* seconds, 0 = until interrupted */
	double interval;	/* seconds, 0 = none */
	bool json;
	bool timestamp;
	bool failed;
	bool verbose;
	unsigned long buffer_size;
	bool buffer_given;	/* --buffer-size was given */
	bool raw_syscalls;
	/*
	 * Not a flag: a process whose activity the kernel side drops (the
	 * overview sets its own pid), 0 for none.
	 */
	int exclude_pid;
};

/* What is wrong with a number the user typed (OPTS_NUM_OK: nothing). */
enum opts_num {
	OPTS_NUM_OK,
	OPTS_NUM_EMPTY,
	OPTS_NUM_NOT_NUMBER,
	OPTS_NUM_NOT_WHOLE,
	OPTS_NUM_NOT_FINITE,
	OPTS_NUM_NEGATIVE,
	OPTS_NUM_TOO_SMALL,
	OPTS_NUM_TOO_LARGE,
};

int opts_parse(struct opts *o, const struct tool *t, int argc, char **argv);
void opts_usage(const struct tool *t, FILE *f);

enum opts_num opts_check_real(const char *s, double min, double max,
			      double *out);
enum opts_num opts_check_uint(const char *s, unsigned long long min,
			      unsigned long long max, unsigned long long *out);
/*
 * The same, printing "invalid FLAG 'S': what; expected UNIT from MIN to
 * MAX" on failure: 0 or EXIT_USAGE. Every numeric flag goes through these
 * so each one states its limits the same way.
 */
int opts_real(const char *flag, const char *s, double min, double max,
	      const char *unit, double *out);
int opts_uint(const char *flag, const char *s, unsigned long long min,
	      unsigned long long max, const char *unit,
	      unsigned long long *out);
/* A process (thread: a thread) that exists now: 0 or EXIT_USAGE. */
int opts_task(const char *flag, const char *s, bool thread, int *id);
int opts_parse_size(const char *s, unsigned long *size);
int opts_resolve_cgroup(const char *s, char *out, size_t len);
const char *opts_cgroup2_root(void);

#endif

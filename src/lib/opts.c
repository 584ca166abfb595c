/*
 * Command-line parsing shared by every tool: the common flags keep one
 * meaning everywhere; a tool adds its own flags through its table row.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include "container.h"
#include "log.h"
#include "opts.h"
#include "tool.h"

#define CGROUP1_MAGIC	0x27e0eb
#define CGROUP2_MAGIC	0x63677270
#define MAX_TOOL_OPTS	32

enum {
	KEY_CGROUP = 0x100,
	KEY_CONTAINER,
	KEY_CONTAINERS,
	KEY_BUFFER,
	KEY_VERBOSE,
	KEY_RAW_SYSCALLS,
	KEY_TOOL_BASE = 0x200,
};

static const struct {
	struct option opt;
	unsigned int flag;	/* 0: always accepted */
	const char *arg;
	const char *help;
} common_opts[] = {
	{ { "pid", 1, NULL, 'p' }, OPT_PID, "PID",
	  "only this process (thread group id); stop when it exits" },
	{ { "name", 1, NULL, 'n' }, OPT_NAME, "COMM",
	  "only tasks whose command name is COMM (first 15 characters)" },
	{ { "cgroup", 1, NULL, KEY_CGROUP }, OPT_CGROUP, "PATH",
	  "only tasks in this cgroup v2 directory or below it" },
	{ { "container", 1, NULL, KEY_CONTAINER }, OPT_CGROUP, "NAME|ID",
	  "only tasks in this running container (name, id or id prefix; NS/POD: a pod's)" },
	{ { "containers", 0, NULL, KEY_CONTAINERS }, OPT_CONTAINERS, NULL,
	  "add a CONTAINER column (name, else the 12-digit id)" },
	{ { "duration", 1, NULL, 'd' }, OPT_DURATION, "SECONDS",
	  "stop after SECONDS (at most 10000000)" },
	{ { "interval", 1, NULL, 'i' }, OPT_INTERVAL, "SECONDS",
	  "print and reset every SECONDS" },
	{ { "json", 0, NULL, 'j' }, OPT_JSON, NULL,
	  "one JSON object per line" },
	{ { "timestamp", 0, NULL, 'T' }, OPT_TIMESTAMP, NULL,
	  "add a TIME column (HH:MM:SS)" },
	{ { "failed", 0, NULL, 'x' }, OPT_FAILED, NULL, NULL },
	{ { "buffer-size", 1, NULL, KEY_BUFFER }, OPT_BUFFER, "SIZE",
	  "ring buffer size, power of two >= 4K (default 2M)" },
	{ { "raw-syscalls", 0, NULL, KEY_RAW_SYSCALLS }, OPT_RAW_SYSCALLS,
	  NULL, "hook sys_enter/sys_exit, quick to detach, instead of one tracepoint per syscall (for short runs; costs a little on every syscall)" },
	{ { "verbose", 0, NULL, 'v' }, 0, NULL,
	  "show libbpf's log" },
	{ { "help", 0, NULL, 'h' }, 0, NULL, "show this help" },
};

#define N_COMMON (sizeof(common_opts) / sizeof(common_opts[0]))

static const char *const num_problems[] = {
	[OPTS_NUM_OK] = "fine",
	[OPTS_NUM_EMPTY] = "empty",
	[OPTS_NUM_NOT_NUMBER] = "not a number",
	[OPTS_NUM_NOT_WHOLE] = "not a whole number",
	[OPTS_NUM_NOT_FINITE] = "not finite",
	[OPTS_NUM_NEGATIVE] = "negative",
	[OPTS_NUM_TOO_SMALL] = "too small",
	[OPTS_NUM_TOO_LARGE] = "too large",
};

/*
 * Only plain decimal notation is a number here: strtod() also takes hex
 * ("0x10"), "nan" and "inf", and skips leading blanks.
 */
static bool decimal_text(const char *s)
{
	return s[strspn(s, "0123456789.eE+-")] == '\0';
}

enum opts_num opts_check_real(const char *s, double min, double max,
			      double *out)
{
	char *end;
	double v;

	if (!s[0])
		return OPTS_NUM_EMPTY;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || isspace((unsigned char)s[0]) || isnan(v))
		return OPTS_NUM_NOT_NUMBER;
	if (!decimal_text(s)) {
		if (isinf(v))
			return v < 0 ? OPTS_NUM_NEGATIVE : OPTS_NUM_NOT_FINITE;
		return OPTS_NUM_NOT_NUMBER;
	}
	/* 1e999 overflows to inf, 1e-999 to 0: too large, too small. */
	if (v < 0)
		return OPTS_NUM_NEGATIVE;
	if (v > max)
		return OPTS_NUM_TOO_LARGE;
	if (v < min)
		return OPTS_NUM_TOO_SMALL;
	*out = v;
	return OPTS_NUM_OK;
}

enum opts_num opts_check_uint(const char *s, unsigned long long min,
			      unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	enum opts_num e;
	char *end;
	double d;

	if (!s[0])
		return OPTS_NUM_EMPTY;
	if (isdigit((unsigned char)s[0])) {
		errno = 0;
		v = strtoull(s, &end, 10);
		if (!*end) {
			if (errno == ERANGE)
				return OPTS_NUM_TOO_LARGE;
			goto range;
		}
	}
	/* Not plain digits: tell "1.5" from "-3", "1e30" and "abc". */
	e = opts_check_real(s, 0, HUGE_VAL, &d);
	if (e)
		return e;
	/* 2^64 and above do not convert: too large before anything else. */
	if (d >= 18446744073709551616.0 || d > (double)max)
		return OPTS_NUM_TOO_LARGE;
	v = (unsigned long long)d;
	if ((double)v != d)
		return OPTS_NUM_NOT_WHOLE;
range:
	if (v < min)
		return OPTS_NUM_TOO_SMALL;
	if (v > max)
		return OPTS_NUM_TOO_LARGE;
	*out = v;
	return OPTS_NUM_OK;
}

int opts_real(const char *flag, const char *s, double min, double max,
	      const char *unit, double *out)
{
	enum opts_num e = opts_check_real(s, min, max, out);

	if (!e)
		return 0;
	log_err("invalid %s '%s': %s; expected %s from %.15g to %.15g", flag,
		s, num_problems[e], unit, min, max);
	return EXIT_USAGE;
}

int opts_uint(const char *flag, const char *s, unsigned long long min,
	      unsigned long long max, const char *unit,
	      unsigned long long *out)
{
	enum opts_num e = opts_check_uint(s, min, max, out);

	if (!e)
		return 0;
	log_err("invalid %s '%s': %s; expected %s from %llu to %llu", flag, s,
		num_problems[e], unit, min, max);
	return EXIT_USAGE;
}

/* The kernel hands out ids below pid_max (4194304 at most on 64-bit). */
static long long pid_max(void)
{
	long long v = 0;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v > 1 ? v : 4194304;
}

/* Tgid, state letter and thread count from /proc/ID/status. */
static bool task_status(int id, int *tgid, char *state, int *threads)
{
	char path[64], line[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", id);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (found < 3 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "State: %c", state) == 1 ||
		    sscanf(line, "Tgid: %d", tgid) == 1 ||
		    sscanf(line, "Threads: %d", threads) == 1)
			found++;
	}
	fclose(f);
	return found == 3;
}

/*
 * An id that names no live task would make a filtered tool wait forever
 * for events that cannot come: refuse it now, saying why.
 */
int opts_task(const char *flag, const char *s, bool thread, int *id)
{
	const char *what = thread ? "thread" : "process";
	long long max = pid_max();
	unsigned long long v;
	enum opts_num e;
	int tgid = 0, threads = 0;
	char state = 0;

	e = opts_check_uint(s, 1, max - 1, &v);
	if (e == OPTS_NUM_TOO_LARGE) {
		log_err("invalid %s '%s': too large; %s ids here go from 1 to %lld (kernel.pid_max is %lld)",
			flag, s, what, max - 1, max);
		return EXIT_USAGE;
	}
	if (e) {
		log_err("invalid %s '%s': %s; expected a %s id from 1 to %lld",
			flag, s, num_problems[e], what, max - 1);
		return EXIT_USAGE;
	}
	if (kill((pid_t)v, 0) && errno == ESRCH) {
		log_err("invalid %s '%s': no such %s", flag, s, what);
		return EXIT_USAGE;
	}
	if (task_status((int)v, &tgid, &state, &threads)) {
		if (!thread && tgid != (int)v) {
			log_err("invalid %s '%s': %llu is a thread of process %d; give -p %d",
				flag, s, v, tgid, tgid);
			return EXIT_USAGE;
		}
		/* A leader that left by pthread_exit() is a zombie too. */
		if ((state == 'Z' || state == 'X') && threads <= 1) {
			log_err("invalid %s '%s': %s %llu has already exited (its parent has not reaped it yet)",
				flag, s, what, v);
			return EXIT_USAGE;
		}
	}
	*id = (int)v;
	return 0;
}

int opts_parse_size(const char *s, unsigned long *size)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case 'G':
		v <<= 10;
		/* fall through */
	case 'M':
		v <<= 10;
		/* fall through */
	case 'K':
		v <<= 10;
		end++;
		break;
	}
	if (*end && !(toupper((unsigned char)end[0]) == 'B' && !end[1]))
		return -EINVAL;
	if (v < 4096 || v > (1ULL << 30) || (v & (v - 1)))
		return -ERANGE;
	*size = v;
	return 0;
}

/* Undo the octal escapes of /proc/self/mountinfo ("\040" is a space). */
static void unescape_mount_path(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
					(s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/*
 * Where cgroup v2 is mounted: /sys/fs/cgroup on unified systems, often
 * /sys/fs/cgroup/unified on hybrid ones. mountinfo, unlike /proc/mounts,
 * separates the file system type from the options unambiguously.
 */
const char *opts_cgroup2_root(void)
{
	static char root[PATH_MAX];
	char *line = NULL, *sep, mnt[PATH_MAX], type[64];
	size_t cap = 0;
	FILE *f;

	if (root[0])
		return root;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	while (getline(&line, &cap, f) > 0) {
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s", type) != 1 ||
		    strcmp(type, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		unescape_mount_path(mnt);
		snprintf(root, sizeof(root), "%s", mnt);
		break;
	}
	free(line);
	fclose(f);
	return root[0] ? root : NULL;
}

/*
 * Accepts an absolute path or one relative to the cgroup2 mount (as
 * /proc/PID/cgroup shows it). Errors: -ENOENT, -ENOTDIR, -EMEDIUMTYPE (a
 * cgroup v1 directory), -EXDEV (some other file system).
 */
int opts_resolve_cgroup(const char *s, char *out, size_t len)
{
	const char *root = opts_cgroup2_root();
	struct statfs fs;
	struct stat st;

	if (s[0] == '/' && !stat(s, &st))
		snprintf(out, len, "%s", s);
	else if (root)
		snprintf(out, len, "%s/%s", root, s + (s[0] == '/'));
	else
		return -ENOENT;
	if (stat(out, &st))
		return -ENOENT;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (statfs(out, &fs))
		return -ENOENT;
	if (fs.f_type == CGROUP1_MAGIC)
		return -EMEDIUMTYPE;
	if (fs.f_type != CGROUP2_MAGIC)
		return -EXDEV;
	return 0;
}

static int bad_cgroup(const char *arg, int err)
{
	const char *root = opts_cgroup2_root();
	const char *why;

	if (!root) {
		log_err("invalid --cgroup '%s': no cgroup v2 hierarchy is mounted (none in /proc/self/mountinfo); mount one, e.g. mount -t cgroup2 none /sys/fs/cgroup/unified",
			arg);
		return EXIT_USAGE;
	}
	switch (err) {
	case -ENOTDIR:
		why = "not a directory";
		break;
	case -EMEDIUMTYPE:
		why = "a cgroup v1 directory, not cgroup v2";
		break;
	case -EXDEV:
		why = "not in the cgroup v2 hierarchy";
		break;
	default:
		why = "no such cgroup";
		break;
	}
	log_err("invalid --cgroup '%s': %s; cgroup v2 is mounted at %s: give a directory under it (e.g. %s/GROUP) or the path /proc/PID/cgroup shows (0::/GROUP)",
		arg, why, root, root);
	return EXIT_USAGE;
}

static bool tool_has_short(const struct tool *t, int letter)
{
	for (size_t i = 0; t->opts && t->opts[i].name; i++)
		if (t->opts[i].short_name == letter)
			return true;
	return false;
}

static void print_opt(FILE *f, int short_name, const char *name,
		      const char *arg, const char *help)
{
	char left[64];

	snprintf(left, sizeof(left), "%c%c%s--%s%s%s",
		 short_name ? '-' : ' ', short_name ? short_name : ' ',
		 short_name ? ", " : "  ", name, arg ? " " : "",
		 arg ? arg : "");
	fprintf(f, "  %-26s %s\n", left, help);
}

void opts_usage(const struct tool *t, FILE *f)
{
	fprintf(f, "usage: loupe %s [flags]%s%s\n\n%s\n\nflags:\n", t->name,
		t->args_usage ? " " : "", t->args_usage ? t->args_usage : "",
		t->summary);
	for (size_t i = 0; t->opts && t->opts[i].name; i++)
		print_opt(f, t->opts[i].short_name, t->opts[i].name,
			  t->opts[i].arg, t->opts[i].help);
	for (size_t i = 0; i < N_COMMON; i++) {
		const char *help = common_opts[i].help;

		if (common_opts[i].flag && !(t->common & common_opts[i].flag))
			continue;
		if (common_opts[i].flag == OPT_FAILED)
			help = t->failed_help;
		print_opt(f, common_opts[i].opt.val < 0x100 &&
			  !tool_has_short(t, common_opts[i].opt.val) ?
			  common_opts[i].opt.val : 0,
			  common_opts[i].opt.name, common_opts[i].arg, help);
	}
	if (t->examples)
		fprintf(f, "\nexamples:\n%s", t->examples);
}

static int bad_value(const char *flag, const char *val, const char *hint)
{
	log_err("invalid %s '%s': %s", flag, val, hint);
	return EXIT_USAGE;
}

/* --container: its cgroup is the filter --cgroup would set. */
static int container_filter(struct opts *o, const char *arg)
{
	int err;

	if (o->cgroup[0])
		return bad_value("--container", arg,
				 "give either --cgroup or --container, once");
	err = container_find(arg, o->cgroup, sizeof(o->cgroup));
	if (err == -EEXIST && strchr(arg, '/'))
		return bad_value("--container", arg,
				 "the pod has several containers and no cgroup of its own; give one container's name");
	if (err == -EEXIST)
		return bad_value("--container", arg,
				 "more than one container's id starts so; give more of the id or the name");
	if (err)
		return bad_value("--container", arg,
				 "no running container has this name or id; list them with podman ps, docker ps or crictl ps");
	snprintf(o->container, sizeof(o->container), "%s", arg);
	return 0;
}

static int parse_common(struct opts *o, int key, const char *arg)
{
	int err;

	switch (key) {
	case 'p':
		return opts_task("--pid", arg, false, &o->pid);
	case 'n':
		if (!arg[0])
			return bad_value("--name", arg,
					 "expected a command name");
		/* The kernel keeps 15 characters of a command name. */
		snprintf(o->comm, sizeof(o->comm), "%s", arg);
		return 0;
	case KEY_CGROUP:
		if (o->container[0])
			return bad_value("--cgroup", arg,
					 "give either --cgroup or --container, once");
		err = opts_resolve_cgroup(arg, o->cgroup, sizeof(o->cgroup));
		return err ? bad_cgroup(arg, err) : 0;
	case KEY_CONTAINER:
		return container_filter(o, arg);
	case KEY_CONTAINERS:
		o->containers = true;
		return 0;
	case 'd':
		return opts_real("--duration", arg, OPTS_MIN_SECONDS,
				 OPTS_MAX_SECONDS, "seconds", &o->duration);
	case 'i':
		return opts_real("--interval", arg, OPTS_MIN_SECONDS,
				 OPTS_MAX_SECONDS, "seconds", &o->interval);
	case 'j':
		o->json = true;
		return 0;
	case 'T':
		o->timestamp = true;
		return 0;
	case 'x':
		o->failed = true;
		return 0;
	case KEY_BUFFER:
		if (opts_parse_size(arg, &o->buffer_size))
			return bad_value("--buffer-size", arg,
					 "expected a power of two from 4K to 1G, e.g. 16M");
		o->buffer_given = true;
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	case KEY_RAW_SYSCALLS:
		o->raw_syscalls = true;
		return 0;
	}
	return EXIT_USAGE;
}

static unsigned int flag_of_key(int key)
{
	for (size_t i = 0; i < N_COMMON; i++)
		if (common_opts[i].opt.val == key)
			return common_opts[i].flag;
	return 0;
}

static const char *name_of_key(int key)
{
	for (size_t i = 0; i < N_COMMON; i++)
		if (common_opts[i].opt.val == key)
			return common_opts[i].opt.name;
	return "?";
}

/*
 * getopt_long() returns '?' for an unknown flag, an ambiguous abbreviation
 * and a switch given a value ("--help=x"); only in the last case is optopt
 * the key of a flag we know.
 */
static int flag_error(const struct tool *t, const struct option *longopts,
		      const char *arg)
{
	char name[64], matches[256] = "";
	size_t n, len = 0;
	int nmatch = 0;

	if (optopt) {
		for (const struct option *l = longopts; l->name; l++) {
			if (l->val != optopt)
				continue;
			log_err("flag --%s takes no value; see 'loupe %s --help'",
				l->name, t->name);
			return EXIT_USAGE;
		}
		log_err("unknown flag '-%c'; see 'loupe %s --help'", optopt,
			t->name);
		return EXIT_USAGE;
	}
	/* Name a long flag without its "=value". */
	n = strcspn(arg, "=");
	snprintf(name, sizeof(name), "%.*s", (int)n, arg);
	for (const struct option *l = longopts; n > 2 && l->name; l++) {
		if (strncmp(l->name, name + 2, n - 2) || len >= sizeof(matches))
			continue;
		len += snprintf(matches + len, sizeof(matches) - len, "%s--%s",
				nmatch++ ? ", " : "", l->name);
	}
	if (nmatch > 1)
		log_err("flag '%s' is ambiguous (%s); see 'loupe %s --help'",
			name, matches, t->name);
	else
		log_err("unknown flag '%s'; see 'loupe %s --help'", name,
			t->name);
	return EXIT_USAGE;
}

static int value_missing(const struct tool *t, const char *arg)
{
	if (!strncmp(arg, "--", 2))
		log_err("flag '%s' needs a value; see 'loupe %s --help'", arg,
			t->name);
	else
		log_err("flag '-%c' needs a value; see 'loupe %s --help'",
			optopt, t->name);
	return EXIT_USAGE;
}

int opts_parse(struct opts *o, const struct tool *t, int argc, char **argv)
{
	struct option longopts[N_COMMON + MAX_TOOL_OPTS + 1];
	char shortopts[2 * (N_COMMON + MAX_TOOL_OPTS) + 2];
	size_t nlong = 0, nshort = 0;
	int key, err;

	memset(o, 0, sizeof(*o));
	o->buffer_size = OPTS_DEFAULT_BUFFER;

	shortopts[nshort++] = ':';	/* report missing arguments as ':' */
	for (size_t i = 0; i < N_COMMON; i++) {
		longopts[nlong++] = common_opts[i].opt;
		/* A tool's own letter (hardirqs' -d DIST) wins over ours. */
		if (common_opts[i].opt.val < 0x100 &&
		    !tool_has_short(t, common_opts[i].opt.val)) {
			shortopts[nshort++] = common_opts[i].opt.val;
			if (common_opts[i].opt.has_arg)
				shortopts[nshort++] = ':';
		}
	}
	for (size_t i = 0; t->opts && t->opts[i].name; i++) {
		if (i >= MAX_TOOL_OPTS)
			break;
		longopts[nlong].name = t->opts[i].name;
		longopts[nlong].has_arg = t->opts[i].arg != NULL;
		longopts[nlong].flag = NULL;
		longopts[nlong].val = KEY_TOOL_BASE + i;
		nlong++;
		if (t->opts[i].short_name) {
			shortopts[nshort++] = t->opts[i].short_name;
			if (t->opts[i].arg)
				shortopts[nshort++] = ':';
		}
	}
	memset(&longopts[nlong], 0, sizeof(longopts[nlong]));
	shortopts[nshort] = '\0';

	opterr = 0;
	optind = 1;
	for (;;) {
		int longindex = -1;
		unsigned int flag;

		key = getopt_long(argc, argv, shortopts, longopts, &longindex);
		if (key == -1)
			break;

		if (key == '?')
			return flag_error(t, longopts, argv[optind - 1]);
		if (key == ':')
			return value_missing(t, argv[optind - 1]);
		if (key == 'h')
			return OPTS_HELP;
		/* A common long flag keeps its meaning even if the tool took its letter. */
		for (size_t i = 0; t->opts && t->opts[i].name &&
		     !(longindex >= 0 && longindex < (int)N_COMMON); i++) {
			if (t->opts[i].short_name == key)
				key = KEY_TOOL_BASE + i;
		}
		if (key >= KEY_TOOL_BASE) {
			err = t->parse_opt(key - KEY_TOOL_BASE, optarg);
			if (err)
				return err;
			continue;
		}
		flag = flag_of_key(key);
		if (flag && !(t->common & flag)) {
			log_err("flag --%s does not apply to %s; see 'loupe %s --help'",
				name_of_key(key), t->name, t->name);
			return EXIT_USAGE;
		}
		o->given |= flag;
		err = parse_common(o, key, optarg);
		if (err)
			return err;
	}
	for (int i = 0; t->parse_arg && optind < argc; i++, optind++) {
		err = t->parse_arg(i, argv[optind]);
		if (err)
			return err;
	}
	if (optind < argc) {
		log_err("unexpected argument '%s'; see 'loupe %s --help'",
			argv[optind], t->name);
		return EXIT_USAGE;
	}
	return 0;
}

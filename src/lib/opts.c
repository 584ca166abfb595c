/*
 * Command-line parsing shared by every tool: the common flags keep one
 * meaning everywhere; a tool adds its own flags through its table row.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include "log.h"
#include "opts.h"
#include "tool.h"

#define CGROUP2_MAGIC	0x63677270
#define MAX_TOOL_OPTS	32

enum {
	KEY_CGROUP = 0x100,
	KEY_BUFFER,
	KEY_VERBOSE,
	KEY_TOOL_BASE = 0x200,
};

static const struct {
	struct option opt;
	unsigned int flag;	/* 0: always accepted */
	const char *arg;
	const char *help;
} common_opts[] = {
	{ { "pid", 1, NULL, 'p' }, OPT_PID, "PID",
	  "only this process (thread group id)" },
	{ { "name", 1, NULL, 'n' }, OPT_NAME, "COMM",
	  "only tasks whose command name is COMM (first 15 characters)" },
	{ { "cgroup", 1, NULL, KEY_CGROUP }, OPT_CGROUP, "PATH",
	  "only tasks in this cgroup v2 directory or below it" },
	{ { "duration", 1, NULL, 'd' }, OPT_DURATION, "SECONDS",
	  "stop after SECONDS" },
	{ { "interval", 1, NULL, 'i' }, OPT_INTERVAL, "SECONDS",
	  "print and reset every SECONDS" },
	{ { "json", 0, NULL, 'j' }, OPT_JSON, NULL,
	  "one JSON object per line" },
	{ { "timestamp", 0, NULL, 'T' }, OPT_TIMESTAMP, NULL,
	  "add a TIME column (HH:MM:SS)" },
	{ { "failed", 0, NULL, 'x' }, OPT_FAILED, NULL, NULL },
	{ { "buffer-size", 1, NULL, KEY_BUFFER }, OPT_BUFFER, "SIZE",
	  "ring buffer size, power of two >= 4K (default 2M)" },
	{ { "verbose", 0, NULL, 'v' }, 0, NULL,
	  "show libbpf's log" },
	{ { "help", 0, NULL, 'h' }, 0, NULL, "show this help" },
};

#define N_COMMON (sizeof(common_opts) / sizeof(common_opts[0]))

int opts_parse_pid(const char *s, int *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT32_MAX)
		return -EINVAL;
	*pid = (int)v;
	return 0;
}

int opts_parse_seconds(const char *s, double *secs)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 1e7)
		return -EINVAL;
	*secs = v;
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

const char *opts_cgroup2_root(void)
{
	static char root[PATH_MAX];
	char dev[64], dir[PATH_MAX], type[64];
	FILE *f;

	if (root[0])
		return root;
	f = fopen("/proc/self/mounts", "r");
	if (!f)
		return NULL;
	while (fscanf(f, "%63s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(root, sizeof(root), "%s", dir);
			break;
		}
	}
	fclose(f);
	return root[0] ? root : NULL;
}

/* Accepts an absolute path or one relative to the cgroup2 mount. */
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
	if (stat(out, &st) || !S_ISDIR(st.st_mode))
		return -ENOENT;
	if (statfs(out, &fs) || fs.f_type != CGROUP2_MAGIC)
		return -EMEDIUMTYPE;
	return 0;
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

static int parse_common(struct opts *o, int key, const char *arg)
{
	int err;

	switch (key) {
	case 'p':
		if (opts_parse_pid(arg, &o->pid))
			return bad_value("--pid", arg,
					 "expected a process id (positive integer)");
		return 0;
	case 'n':
		if (!arg[0])
			return bad_value("--name", arg,
					 "expected a command name");
		/* The kernel keeps 15 characters of a command name. */
		snprintf(o->comm, sizeof(o->comm), "%s", arg);
		return 0;
	case KEY_CGROUP:
		err = opts_resolve_cgroup(arg, o->cgroup, sizeof(o->cgroup));
		if (err == -EMEDIUMTYPE)
			return bad_value("--cgroup", arg,
					 "not a cgroup v2 directory");
		if (err)
			return bad_value("--cgroup", arg,
					 "no such cgroup v2 directory (give a path under the cgroup2 mount)");
		return 0;
	case 'd':
		if (opts_parse_seconds(arg, &o->duration))
			return bad_value("--duration", arg,
					 "expected a positive number of seconds");
		return 0;
	case 'i':
		if (opts_parse_seconds(arg, &o->interval))
			return bad_value("--interval", arg,
					 "expected a positive number of seconds");
		return 0;
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
		return 0;
	case 'v':
		o->verbose = true;
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
		/* A tool's own letter (syscount's -T TOP) wins over ours. */
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

		if (key == '?') {
			if (optopt && optopt < 0x100)
				log_err("unknown flag '-%c'; see 'loupe %s --help'",
					optopt, t->name);
			else
				log_err("unknown flag '%s'; see 'loupe %s --help'",
					argv[optind - 1], t->name);
			return EXIT_USAGE;
		}
		if (key == ':') {
			log_err("flag '%s' needs a value; see 'loupe %s --help'",
				argv[optind - 1], t->name);
			return EXIT_USAGE;
		}
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

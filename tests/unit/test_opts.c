/* Unit tests of the common flag parser. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "opts.h"
#include "tool.h"
#include "unit.h"

static int seen_index = -1;
static const char *seen_arg;

static int fake_parse_opt(int index, const char *arg)
{
	seen_index = index;
	seen_arg = arg;
	return 0;
}

static const struct tool_opt fake_opts[] = {
	{ "threads", 0, NULL, "every thread" },
	{ "max-args", 'm', "N", "arguments" },
	{ NULL },
};

static const struct tool fake = {
	.name = "faketool",
	.summary = "a tool for tests",
	.common = OPT_SNOOP | OPT_FAILED,
	.failed_help = "only failures",
	.opts = fake_opts,
	.parse_opt = fake_parse_opt,
};

/* Parse a NULL-terminated argument list with stderr silenced. */
static int parse(struct opts *o, char **argv)
{
	int argc = 0, err, saved = dup(2);

	while (argv[argc])
		argc++;
	if (!freopen("/dev/null", "w", stderr))
		return -1;
	err = opts_parse(o, &fake, argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	return err;
}

/* Run one check of a number with stderr silenced. */
static int quietly_task(const char *s, bool thread, int *id)
{
	int err, saved = dup(2);

	if (!freopen("/dev/null", "w", stderr))
		return -1;
	err = opts_task("--pid", s, thread, id);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	return err;
}

static void test_numbers(void)
{
	unsigned long long u;
	unsigned long size;
	char self[32];
	double secs;
	int pid;

	CHECK(opts_check_real("2.5", 0.001, 10, &secs) == OPTS_NUM_OK &&
	      secs == 2.5);
	CHECK(opts_check_real("1e1", 0.001, 10, &secs) == OPTS_NUM_OK &&
	      secs == 10);
	CHECK(opts_check_real("", 0.001, 10, &secs) == OPTS_NUM_EMPTY);
	CHECK(opts_check_real("soon", 0.001, 10, &secs) ==
	      OPTS_NUM_NOT_NUMBER);
	CHECK(opts_check_real("5s", 0.001, 10, &secs) == OPTS_NUM_NOT_NUMBER);
	CHECK(opts_check_real(" 5", 0.001, 10, &secs) == OPTS_NUM_NOT_NUMBER);
	CHECK(opts_check_real("0x5", 0.001, 10, &secs) ==
	      OPTS_NUM_NOT_NUMBER);
	CHECK(opts_check_real("nan", 0.001, 10, &secs) ==
	      OPTS_NUM_NOT_NUMBER);
	CHECK(opts_check_real("inf", 0.001, 10, &secs) ==
	      OPTS_NUM_NOT_FINITE);
	CHECK(opts_check_real("-inf", 0.001, 10, &secs) == OPTS_NUM_NEGATIVE);
	CHECK(opts_check_real("-1", 0.001, 10, &secs) == OPTS_NUM_NEGATIVE);
	CHECK(opts_check_real("0", 0.001, 10, &secs) == OPTS_NUM_TOO_SMALL);
	CHECK(opts_check_real("1e-999", 0.001, 10, &secs) ==
	      OPTS_NUM_TOO_SMALL);
	CHECK(opts_check_real("1e12", 0.001, 10, &secs) == OPTS_NUM_TOO_LARGE);
	CHECK(opts_check_real("1e999", 0.001, 10, &secs) ==
	      OPTS_NUM_TOO_LARGE);
	CHECK(opts_check_uint("64", 1, 64, &u) == OPTS_NUM_OK && u == 64);
	CHECK(opts_check_uint("1e3", 1, 5000, &u) == OPTS_NUM_OK && u == 1000);
	CHECK(opts_check_uint("65", 1, 64, &u) == OPTS_NUM_TOO_LARGE);
	CHECK(opts_check_uint("0", 1, 64, &u) == OPTS_NUM_TOO_SMALL);
	CHECK(opts_check_uint("1.5", 1, 64, &u) == OPTS_NUM_NOT_WHOLE);
	CHECK(opts_check_uint("-1", 1, 64, &u) == OPTS_NUM_NEGATIVE);
	CHECK(opts_check_uint("99999999999999999999", 0, ~0ULL, &u) ==
	      OPTS_NUM_TOO_LARGE);
	CHECK(opts_check_uint("18446744073709551615", 0, ~0ULL, &u) ==
	      OPTS_NUM_OK && u == ~0ULL);
	CHECK(opts_check_uint("1e30", 0, ~0ULL, &u) == OPTS_NUM_TOO_LARGE);
	CHECK(opts_check_uint("inf", 1, 64, &u) == OPTS_NUM_NOT_FINITE);
	CHECK(opts_check_uint("nan", 1, 64, &u) == OPTS_NUM_NOT_NUMBER);
	CHECK(opts_check_uint("", 1, 64, &u) == OPTS_NUM_EMPTY);
	snprintf(self, sizeof(self), "%d", getpid());
	CHECK(quietly_task(self, false, &pid) == 0 && pid == getpid());
	CHECK(quietly_task("abc", false, &pid) == EXIT_USAGE);
	CHECK(quietly_task("12x", false, &pid) == EXIT_USAGE);
	CHECK(quietly_task("0", false, &pid) == EXIT_USAGE);
	CHECK(quietly_task("-5", false, &pid) == EXIT_USAGE);
	CHECK(quietly_task("99999999999", false, &pid) == EXIT_USAGE);
	CHECK(opts_parse_size("16M", &size) == 0 && size == 16UL << 20);
	CHECK(opts_parse_size("4k", &size) == 0 && size == 4096);
	CHECK(opts_parse_size("8192", &size) == 0 && size == 8192);
	CHECK(opts_parse_size("1MB", &size) == 0 && size == 1UL << 20);
	CHECK(opts_parse_size("3000", &size) != 0);
	CHECK(opts_parse_size("2048", &size) != 0);
	CHECK(opts_parse_size("2G", &size) != 0);
	CHECK(opts_parse_size("M", &size) != 0);
	CHECK(opts_parse_size("16Q", &size) != 0);
}

static void test_common_flags(void)
{
	char self[32];
	char *argv[] = { "faketool", "-p", self, "--name", "averyveryverylongname",
			 "-d", "1.5", "-j", "-T", "-x", "--buffer-size", "1M",
			 "-v", NULL };
	struct opts o;

	snprintf(self, sizeof(self), "%d", getpid());
	CHECK(parse(&o, argv) == 0);
	CHECK(o.pid == getpid());
	CHECK_STR(o.comm, "averyveryverylo");
	CHECK(o.duration == 1.5);
	CHECK(o.json && o.timestamp && o.failed && o.verbose);
	CHECK(o.buffer_size == 1UL << 20);
	CHECK(o.given & OPT_PID);
}

static void test_defaults(void)
{
	char *argv[] = { "faketool", NULL };
	struct opts o;

	CHECK(parse(&o, argv) == 0);
	CHECK(o.pid == 0 && !o.comm[0] && !o.cgroup[0] && !o.json);
	CHECK(o.buffer_size == OPTS_DEFAULT_BUFFER);
}

static void test_usage_errors(void)
{
	char *unknown[] = { "faketool", "--bogus", NULL };
	char *unknown_short[] = { "faketool", "-Z", NULL };
	char *bad_pid[] = { "faketool", "-p", "abc", NULL };
	char *no_value[] = { "faketool", "-p", NULL };
	char *no_cgroup[] = { "faketool", "--cgroup", "/nonexistent/x", NULL };
	char *not_cgroup[] = { "faketool", "--cgroup", "/tmp", NULL };
	char *interval[] = { "faketool", "-i", "1", NULL };
	char *stray[] = { "faketool", "extra", NULL };
	char *bad_size[] = { "faketool", "--buffer-size", "3000", NULL };
	char *switch_value[] = { "faketool", "--json=1", NULL };
	char *help_value[] = { "faketool", "--help=x", NULL };
	char *tool_switch_value[] = { "faketool", "--threads=2", NULL };
	char *big_duration[] = { "faketool", "-d", "1e12", NULL };
	char *v1_cgroup[] = { "faketool", "--cgroup", "/sys/fs/cgroup/memory",
			      NULL };
	struct opts o;

	CHECK(parse(&o, unknown) == EXIT_USAGE);
	CHECK(parse(&o, unknown_short) == EXIT_USAGE);
	CHECK(parse(&o, bad_pid) == EXIT_USAGE);
	CHECK(parse(&o, no_value) == EXIT_USAGE);
	CHECK(parse(&o, no_cgroup) == EXIT_USAGE);
	CHECK(parse(&o, not_cgroup) == EXIT_USAGE);
	/* A common flag the tool cannot honour is refused, not ignored. */
	CHECK(parse(&o, interval) == EXIT_USAGE);
	CHECK(parse(&o, stray) == EXIT_USAGE);
	CHECK(parse(&o, bad_size) == EXIT_USAGE);
	/* A switch given a value is refused, --help included. */
	CHECK(parse(&o, switch_value) == EXIT_USAGE);
	CHECK(parse(&o, help_value) == EXIT_USAGE);
	CHECK(parse(&o, tool_switch_value) == EXIT_USAGE);
	CHECK(parse(&o, big_duration) == EXIT_USAGE);
	if (!access("/sys/fs/cgroup/memory", F_OK))
		CHECK(parse(&o, v1_cgroup) == EXIT_USAGE);
}

static void test_tool_flags_and_help(void)
{
	char *threads[] = { "faketool", "--threads", NULL };
	char *max_args[] = { "faketool", "-m", "7", NULL };
	char *help[] = { "faketool", "-j", "--help", NULL };
	struct opts o;

	CHECK(parse(&o, threads) == 0 && seen_index == 0);
	CHECK(parse(&o, max_args) == 0 && seen_index == 1);
	CHECK_STR(seen_arg, "7");
	CHECK(parse(&o, help) == OPTS_HELP);
}

static int positional_seen;

static int fake_parse_arg(int index, const char *arg)
{
	if (index > 0 || arg[0] == 'x')
		return EXIT_USAGE;
	positional_seen++;
	return 0;
}

static void test_positional_args(void)
{
	struct tool t = fake;
	char *one[] = { "faketool", "-j", "5", "-T", NULL };
	char *two[] = { "faketool", "5", "6", NULL };
	char *bad[] = { "faketool", "x", NULL };
	struct opts o;
	int argc, saved;

	t.args_usage = "[MIN_MS]";
	t.parse_arg = fake_parse_arg;
	saved = dup(2);
	if (!freopen("/dev/null", "w", stderr))
		return;
	/* getopt moves positional arguments after the flags. */
	for (argc = 0; one[argc]; argc++)
		;
	CHECK(opts_parse(&o, &t, argc, one) == 0);
	CHECK(positional_seen == 1 && o.json && o.timestamp);
	CHECK(opts_parse(&o, &t, 3, two) == EXIT_USAGE);
	CHECK(opts_parse(&o, &t, 2, bad) == EXIT_USAGE);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
}

static void test_cgroup_resolution(void)
{
	const char *root = opts_cgroup2_root();
	char path[PATH_MAX];

	if (!root)
		return;		/* no cgroup2 here: nothing to resolve */
	/* Absolute, and relative to the cgroup2 mount, resolve the same. */
	CHECK(opts_resolve_cgroup(root, path, sizeof(path)) == 0);
	CHECK_STR(path, root);
	CHECK(opts_resolve_cgroup("no-such-cgroup-xyz", path,
				  sizeof(path)) != 0);
}

/* A tool that takes common letters for itself and positional arguments. */
static int seen_argc;
static const char *seen_arg0;

static int fake_parse_args(int index, const char *arg)
{
	seen_argc = index + 1;
	if (index == 0)
		seen_arg0 = arg;
	return 0;
}

static const struct tool_opt lettered_opts[] = {
	{ "top", 'T', "TOP", "rows" },
	{ "dist", 'd', NULL, "histograms" },
	{ NULL },
};

static const struct tool lettered = {
	.name = "lettered",
	.summary = "a tool for tests",
	.common = OPT_DURATION | OPT_TIMESTAMP | OPT_JSON,
	.opts = lettered_opts,
	.parse_opt = fake_parse_opt,
	.args_usage = "[N]",
	.parse_arg = fake_parse_args,
};

static int parse_lettered(struct opts *o, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return opts_parse(o, &lettered, argc, argv);
}

static void test_tool_letters_and_args(void)
{
	struct opts o;

	seen_index = -1;
	CHECK(parse_lettered(&o, (char *[]){ "x", "-T", "5", NULL }) == 0);
	CHECK(seen_index == 0 && seen_arg && !strcmp(seen_arg, "5"));
	CHECK(!o.timestamp);
	seen_index = -1;
	CHECK(parse_lettered(&o, (char *[]){ "x", "--timestamp", "-d",
				"--duration", "3", NULL }) == 0);
	CHECK(o.timestamp && o.duration == 3 && seen_index == 1);
	seen_argc = 0;
	CHECK(parse_lettered(&o, (char *[]){ "x", "7", "-j", NULL }) == 0);
	CHECK(o.json && seen_argc == 1 && !strcmp(seen_arg0, "7"));
	/* A tool without parse_arg still refuses positional arguments. */
	CHECK(parse(&o, (char *[]){ "x", "7", NULL }) == EXIT_USAGE);
}

const struct unit_test opts_tests[] = {
	{ "opts/numbers", test_numbers },
	{ "opts/common_flags", test_common_flags },
	{ "opts/defaults", test_defaults },
	{ "opts/usage_errors", test_usage_errors },
	{ "opts/tool_flags_and_help", test_tool_flags_and_help },
	{ "opts/cgroup_resolution", test_cgroup_resolution },
	{ "opts/positional_args", test_positional_args },
	{ "opts/tool_letters_and_args", test_tool_letters_and_args },
	{ NULL },
};
UNIT_GROUP(opts_tests)

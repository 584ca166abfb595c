/*
 * offcputime: where threads wait. The time each thread spends off CPU,
 * from being switched out to being switched in again, is summed in the
 * kernel per (process, comm, user stack, kernel stack) at the moment it
 * left; printed in microseconds like BCC's offcputime, or folded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "offcputime.h"
#include "offcputime.skel.h"
#include "session.h"

static struct {
	unsigned long long min_us, max_us;
	bool user_threads, kernel_threads;
	long state;		/* --state, -1: any */
} conf = { .min_us = 1, .max_us = ~0ULL, .state = -1 };

static struct stacks_tool stk = {
	.storage = STACKS_STORAGE,
	.svg = { .title = "Off-CPU Time Flame Graph", .palette = "io",
		 .count_name = "us" },
	.unit = "us", .divisor = 1000,
	.copy_waits = true,
};

static int check_conf(struct session *s)
{
	if (conf.user_threads && conf.kernel_threads) {
		log_err("-u and -k are exclusive (all threads is the default)");
		return EXIT_USAGE;
	}
	if (conf.min_us > conf.max_us) {
		log_err("--min-block-time %llu is above --max-block-time %llu",
			conf.min_us, conf.max_us);
		return EXIT_USAGE;
	}
	return stacks_tool_check(s, &stk);
}

static void make_banner(struct session *s, char *buf, size_t len)
{
	char who[48], secs[32] = "";

	if (s->opts.pid)
		snprintf(who, sizeof(who), "PID %d", s->opts.pid);
	else
		snprintf(who, sizeof(who), "%s threads",
			 conf.user_threads ? "user" :
			 conf.kernel_threads ? "kernel" : "all");
	if (s->opts.duration > 0)
		snprintf(secs, sizeof(secs), " for %g secs", s->opts.duration);
	snprintf(buf, len, "Tracing off-CPU time (us) of %s by %s stack%s.",
		 who, stk.user_only ? "user" : stk.kernel_only ? "kernel" :
		 "user + kernel",
		 s->opts.duration > 0 ? secs : "... Hit Ctrl-C to end");
}

static int offcputime_prepare(struct session *s, void *p)
{
	struct offcputime_bpf *skel = p;
	int err;

	err = check_conf(s);
	if (err)
		return err;
	skel->rodata->stacks_user = !stk.kernel_only;
	skel->rodata->stacks_kernel = !stk.user_only;
	skel->rodata->min_ns = conf.min_us * 1000;
	skel->rodata->max_ns = conf.max_us > ~0ULL / 1000 ? ~0ULL :
			       conf.max_us * 1000;
	skel->rodata->user_threads_only = conf.user_threads;
	skel->rodata->kernel_threads_only = conf.kernel_threads;
	skel->rodata->state_filter = conf.state;
	skel->rodata->stacks_copy = stk.unwind != STACKS_UNWIND_FP;
	make_banner(s, stk.banner, sizeof(stk.banner));
	return stacks_tool_prepare(s, &stk, skel->obj);
}

enum { OPT_MIN, OPT_MAX, OPT_UTHREADS, OPT_KTHREADS, OPT_STATE,
       OPT_STACKS };

static const struct tool_opt offcputime_opts[] = {
	[OPT_MIN] = { "min-block-time", 'm', "MIN_US",
		      "count only periods off CPU of at least MIN_US (default 1)" },
	[OPT_MAX] = { "max-block-time", 'M', "MAX_US",
		      "count only periods off CPU of at most MAX_US" },
	[OPT_UTHREADS] = { "user-threads-only", 'u', NULL,
			   "user threads only (no kernel threads)" },
	[OPT_KTHREADS] = { "kernel-threads-only", 'k', NULL,
			   "kernel threads only" },
	[OPT_STATE] = { "state", 0, "STATE",
			"only threads leaving the CPU in STATE: 0 preempted, "
			"else its bits (1 S, 2 D)" },
	STACKS_TOOL_OPTS,
	{ NULL },
};

static int offcputime_parse_opt(int index, const char *arg)
{
	unsigned long long v;

	switch (index) {
	case OPT_MIN:
	case OPT_MAX:
		/* As long as the longest --duration. */
		if (opts_uint(index == OPT_MIN ? "--min-block-time" :
			      "--max-block-time", arg, 0,
			      OPTS_MAX_SECONDS * 1000000, "microseconds", &v))
			return EXIT_USAGE;
		if (index == OPT_MIN)
			conf.min_us = v;
		else
			conf.max_us = v;
		break;
	case OPT_UTHREADS:
		conf.user_threads = true;
		break;
	case OPT_KTHREADS:
		conf.kernel_threads = true;
		break;
	case OPT_STATE:
		/* The task state bits of include/linux/sched.h. */
		if (opts_uint("--state", arg, 0, 0xffff, "a task state mask",
			      &v))
			return EXIT_USAGE;
		conf.state = v;
		break;
	default:
		return stacks_tool_opt(&stk, index - OPT_STACKS, arg);
	}
	return 0;
}

static const struct hook_probe offcputime_probes[] = {
	{ "context switch", {
		{ { "switch_btf" } },
		{ { "switch_raw" } },
		{ { "switch_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(offcputime);

static const struct tool offcputime_tool = {
	.name = "offcputime",
	.summary = "Summarize off-CPU time by stack trace",
	.examples =
		"  loupe offcputime             # all threads until Ctrl-C\n"
		"  loupe offcputime -p 181 -d 5 # one process for 5 seconds\n"
		"  loupe offcputime -m 1000 -f -d 10 > out.folded  # waits >= 1 ms\n"
		"  loupe offcputime -K -u       # kernel stacks of user threads\n"
		"  loupe offcputime --state 2   # uninterruptible (D) only\n"
		"  loupe offcputime -p 181 --unwind dwarf  # no frame pointers\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION | OPT_JSON,
	.opts = offcputime_opts,
	.parse_opt = offcputime_parse_opt,
	.probes = offcputime_probes,
	.skel = &offcputime_skel,
	.on_event = stacks_tool_on_event,
	.on_interval = stacks_tool_on_tick,
	.prepare = offcputime_prepare,
	.attached = stacks_tool_attached,
	.finish = stacks_tool_finish,
	.cleanup = stacks_tool_cleanup,
};
TOOL_REGISTER(offcputime_tool);

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
	struct stacks_conf stacks;
} conf = {
	.min_us = 1, .max_us = ~0ULL,
	.stacks = { .storage = STACKS_STORAGE },
};

struct offcpu_state {
	struct offcputime_bpf *skel;
	struct syms_cache *syms;
	char banner[160];
};

static struct offcpu_state state;

static int on_event(struct session *s, const void *data, size_t size)
{
	struct offcpu_state *st = s->tool_state;

	return stacks_on_pid(st->syms, data, size);
}

static int on_tick(struct session *s)
{
	struct offcpu_state *st = s->tool_state;

	stacks_rearm(bpf_map__fd(st->skel->maps.seen_pids));
	return 0;
}

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
	return stacks_check_conf(s, &conf.stacks);
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
		 who, conf.stacks.user_only ? "user" :
		 conf.stacks.kernel_only ? "kernel" :
		 "user + kernel",
		 s->opts.duration > 0 ? secs : "... Hit Ctrl-C to end");
}

static int offcputime_run(struct session *s)
{
	struct offcpu_state *st = &state;
	struct out_col banner[2] = { { NULL, 0 }, { NULL, 0 } };
	struct stacks_report r = { .unit = "us", .divisor = 1000 };
	struct stacks_svg svg = {
		.path = conf.stacks.svg, .title = "Off-CPU Time Flame Graph",
		.palette = "io", .count_name = "us",
	};
	int err;

	err = check_conf(s);
	if (err)
		return err;
	st->syms = syms_cache_new();
	st->skel = offcputime_bpf__open();
	if (!st->skel || !st->syms) {
		log_err("cannot open the BPF object");
		err = EXIT_RUNTIME;
		goto out;
	}
	session_set_filter(s, &st->skel->rodata->filter);
	st->skel->rodata->stacks_user = !conf.stacks.kernel_only;
	st->skel->rodata->stacks_kernel = !conf.stacks.user_only;
	st->skel->rodata->min_ns = conf.min_us * 1000;
	st->skel->rodata->max_ns = conf.max_us > ~0ULL / 1000 ? ~0ULL :
				   conf.max_us * 1000;
	st->skel->rodata->user_threads_only = conf.user_threads;
	st->skel->rodata->kernel_threads_only = conf.kernel_threads;
	make_banner(s, st->banner, sizeof(st->banner));
	banner[0].header = st->banner;
	s->tool_state = st;
	s->skeleton = st->skel->skeleton;
	/* Re-read blocked processes' mappings every second. */
	s->opts.interval = 1;
	s->on_interval = on_tick;
	r.syms = st->syms;
	err = stacks_run(s, &conf.stacks, st->skel->obj, banner, on_event, NULL,
			 &r, &svg);
out:
	offcputime_bpf__destroy(st->skel);
	syms_cache_free(st->syms);
	return err;
}

enum { OPT_MIN, OPT_MAX, OPT_UTHREADS, OPT_KTHREADS, OPT_STACKS };

static const struct tool_opt offcputime_opts[] = {
	[OPT_MIN] = { "min-block-time", 'm', "MIN_US",
		      "count only periods off CPU of at least MIN_US (default 1)" },
	[OPT_MAX] = { "max-block-time", 'M', "MAX_US",
		      "count only periods off CPU of at most MAX_US" },
	[OPT_UTHREADS] = { "user-threads-only", 'u', NULL,
			   "user threads only (no kernel threads)" },
	[OPT_KTHREADS] = { "kernel-threads-only", 'k', NULL,
			   "kernel threads only" },
	STACKS_TOOL_OPTS(OPT_STACKS),
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
	default:
		return stacks_parse_opt(&conf.stacks, index - OPT_STACKS, arg);
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

static const void *offcputime_elf(size_t *size)
{
	return offcputime_bpf__elf_bytes(size);
}

const struct tool offcputime_tool = {
	.name = "offcputime",
	.summary = "Summarize off-CPU time by stack trace",
	.examples =
		"  loupe offcputime             # all threads until Ctrl-C\n"
		"  loupe offcputime -p 181 -d 5 # one process for 5 seconds\n"
		"  loupe offcputime -m 1000 -f -d 10 > out.folded  # waits >= 1 ms\n"
		"  loupe offcputime -K -u       # kernel stacks of user threads\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION | OPT_JSON,
	.opts = offcputime_opts,
	.parse_opt = offcputime_parse_opt,
	.probes = offcputime_probes,
	.elf_bytes = offcputime_elf,
	.run = offcputime_run,
};

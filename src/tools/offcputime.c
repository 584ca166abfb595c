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
	bool user_only, kernel_only;	/* stacks */
	bool user_threads, kernel_threads;
	bool folded;
	const char *svg;
	unsigned long storage;
} conf = { .min_us = 1, .max_us = ~0ULL, .storage = STACKS_STORAGE };

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
	if (conf.user_only && conf.kernel_only) {
		log_err("-U and -K are exclusive (both halves is the default)");
		return EXIT_USAGE;
	}
	if (conf.user_threads && conf.kernel_threads) {
		log_err("-u and -k are exclusive (all threads is the default)");
		return EXIT_USAGE;
	}
	if (conf.min_us > conf.max_us) {
		log_err("--min-block-time %llu is above --max-block-time %llu",
			conf.min_us, conf.max_us);
		return EXIT_USAGE;
	}
	if ((conf.folded || conf.svg) && s->opts.json) {
		log_err("--folded/--svg and -j are exclusive");
		return EXIT_USAGE;
	}
	if (conf.folded && conf.svg) {
		log_err("--folded and --svg are exclusive (--svg draws the folded stacks)");
		return EXIT_USAGE;
	}
	return 0;
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
		 who, conf.user_only ? "user" : conf.kernel_only ? "kernel" :
		 "user + kernel",
		 s->opts.duration > 0 ? secs : "... Hit Ctrl-C to end");
}

static struct out_col banner[2];
static struct stacks_svg svg = {
	.title = "Off-CPU Time Flame Graph", .palette = "io", .count_name = "us",
};

static int offcputime_prepare(struct session *s, void *p)
{
	struct offcpu_state *st = &state;
	int err;

	err = check_conf(s);
	if (err)
		return err;
	st->skel = p;
	st->syms = syms_cache_new();
	if (!st->syms) {
		log_err("out of memory");
		return EXIT_RUNTIME;
	}
	st->skel->rodata->stacks_user = !conf.kernel_only;
	st->skel->rodata->stacks_kernel = !conf.user_only;
	st->skel->rodata->min_ns = conf.min_us * 1000;
	st->skel->rodata->max_ns = conf.max_us > ~0ULL / 1000 ? ~0ULL :
				   conf.max_us * 1000;
	st->skel->rodata->user_threads_only = conf.user_threads;
	st->skel->rodata->kernel_threads_only = conf.kernel_threads;
	if (bpf_map__set_max_entries(st->skel->maps.stackmap, conf.storage)) {
		log_err("cannot size the stack map");
		return EXIT_RUNTIME;
	}
	make_banner(s, st->banner, sizeof(st->banner));
	banner[0].header = st->banner;
	s->tool_state = st;
	/* Re-read blocked processes' mappings every second. */
	s->opts.interval = 1;
	if (conf.svg) {
		conf.folded = true;
		svg.path = conf.svg;
		err = stacks_svg_begin(s, &svg);
		if (err)
			return err;
	}
	s->columns = conf.folded ? NULL : banner;
	return 0;
}

static int offcputime_finish(struct session *s, void *p)
{
	struct offcputime_bpf *skel = p;
	struct stacks_report r = {
		.unit = "us", .divisor = 1000, .folded = conf.folded,
		.user = !conf.kernel_only, .kernel = !conf.user_only,
		.counts_fd = bpf_map__fd(skel->maps.counts),
		.stackmap_fd = bpf_map__fd(skel->maps.stackmap),
		.stats_fd = bpf_map__fd(skel->maps.stack_stats),
		.syms = state.syms,
	};

	stacks_print(s, &r);
	return 0;
}

static int offcputime_cleanup(struct session *s, int err)
{
	(void)s;
	if (stacks_svg_end(&svg, !err) && !err)
		err = EXIT_RUNTIME;
	syms_cache_free(state.syms);
	return err;
}

enum { OPT_MIN, OPT_MAX, OPT_USER, OPT_KERNEL, OPT_UTHREADS, OPT_KTHREADS,
       OPT_FOLDED, OPT_STORAGE, OPT_SVG };

static const struct tool_opt offcputime_opts[] = {
	[OPT_MIN] = { "min-block-time", 'm', "MIN_US",
		      "count only periods off CPU of at least MIN_US (default 1)" },
	[OPT_MAX] = { "max-block-time", 'M', "MAX_US",
		      "count only periods off CPU of at most MAX_US" },
	[OPT_USER] = { "user-stacks-only", 'U', NULL, "user stacks only" },
	[OPT_KERNEL] = { "kernel-stacks-only", 'K', NULL,
			 "kernel stacks only" },
	[OPT_UTHREADS] = { "user-threads-only", 'u', NULL,
			   "user threads only (no kernel threads)" },
	[OPT_KTHREADS] = { "kernel-threads-only", 'k', NULL,
			   "kernel threads only" },
	[OPT_FOLDED] = { "folded", 'f', NULL,
			 "one folded line per stack (for flame graphs)" },
	[OPT_STORAGE] = { "stack-storage-size", 0, "N",
			  "stack map entries (default 16384)" },
	[OPT_SVG] = { "svg", 0, "FILE", "write a flame graph to FILE" },
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
	case OPT_USER:
		conf.user_only = true;
		break;
	case OPT_KERNEL:
		conf.kernel_only = true;
		break;
	case OPT_UTHREADS:
		conf.user_threads = true;
		break;
	case OPT_KTHREADS:
		conf.kernel_threads = true;
		break;
	case OPT_SVG:
		conf.svg = arg;
		break;
	case OPT_FOLDED:
		conf.folded = true;
		break;
	case OPT_STORAGE:
		if (opts_uint("--stack-storage-size", arg, 1, 1 << 20,
			      "a number of stacks", &v))
			return EXIT_USAGE;
		conf.storage = v;
		break;
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
		"  loupe offcputime -K -u       # kernel stacks of user threads\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION | OPT_JSON,
	.opts = offcputime_opts,
	.parse_opt = offcputime_parse_opt,
	.probes = offcputime_probes,
	.skel = &offcputime_skel,
	.on_event = on_event,
	.on_interval = on_tick,
	.prepare = offcputime_prepare,
	.finish = offcputime_finish,
	.cleanup = offcputime_cleanup,
};
TOOL_REGISTER(offcputime_tool);

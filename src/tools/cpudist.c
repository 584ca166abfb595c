/*
 * cpudist: how long tasks run on a CPU between context switches (or,
 * with -O, how long they stay off it) as a log2 histogram, overall or per
 * process or thread, printed at each interval or at the end.
 */
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "hist.h"
#include "log.h"
#include "cpudist.skel.h"
#include "session.h"

static struct {
	bool in_ms;
	bool per_process;
	bool per_thread;
	bool offcpu;
} conf;

static int hists_fd = -1;

/* Prints every histogram in key order and empties the map. */
static int print_hists(struct session *s)
{
	const char *key = conf.per_process ? "pid" : conf.per_thread ? "tid" :
			  NULL;

	return hist_print_task_map(&s->out, hists_fd,
				   conf.in_ms ? "msecs" : "usecs", key, true);
}

static int cpudist_prepare(struct session *s, void *p)
{
	struct cpudist_bpf *skel = p;

	(void)s;
	skel->rodata->in_ms = conf.in_ms;
	skel->rodata->per_process = conf.per_process;
	skel->rodata->per_thread = conf.per_thread;
	skel->rodata->offcpu = conf.offcpu;
	return 0;
}

static int cpudist_attached(struct session *s, void *p)
{
	struct cpudist_bpf *skel = p;

	(void)s;
	hists_fd = bpf_map__fd(skel->maps.hists);
	return 0;
}

enum { OPT_OFFCPU, OPT_MS, OPT_PIDS, OPT_TIDS };

static const struct tool_opt cpudist_opts[] = {
	[OPT_OFFCPU] = { "offcpu", 'O', NULL,
			 "off-CPU time (switched out to switched in)" },
	[OPT_MS] = { "milliseconds", 'm', NULL,
		     "histogram in milliseconds (default microseconds)" },
	[OPT_PIDS] = { "pids", 'P', NULL, "one histogram per process" },
	[OPT_TIDS] = { "tids", 'L', NULL, "one histogram per thread" },
	{ NULL },
};

static int cpudist_parse_opt(int index, const char *arg)
{
	(void)arg;
	switch (index) {
	case OPT_MS:
		conf.in_ms = true;
		break;
	case OPT_PIDS:
		conf.per_process = true;
		break;
	case OPT_TIDS:
		conf.per_thread = true;
		break;
	case OPT_OFFCPU:
		conf.offcpu = true;
		break;
	}
	if (conf.per_process && conf.per_thread) {
		log_err("-P and -L exclude each other");
		return EXIT_USAGE;
	}
	return 0;
}

static const struct hook_probe cpudist_probes[] = {
	{ "task switch", {
		{ { "switch_btf" } },
		{ { "switch_raw" } },
		{ { "switch_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(cpudist);

static const struct tool cpudist_tool = {
	.name = "cpudist",
	.summary = "Summarize on-CPU (or off-CPU) time per task switch as a histogram",
	.examples =
		"  loupe cpudist                # on-CPU time until Ctrl-C\n"
		"  loupe cpudist -O -m -i 5 -T  # off-CPU msecs, every 5 s, with time\n"
		"  loupe cpudist -P -p 181      # process 181, one histogram per pid\n"
		"  loupe cpudist -L -d 10 -j    # per thread for 10 s, as JSON\n",
	.common = OPT_PID | OPT_DURATION | OPT_INTERVAL | OPT_JSON |
		  OPT_TIMESTAMP,
	.opts = cpudist_opts,
	.parse_opt = cpudist_parse_opt,
	.probes = cpudist_probes,
	.skel = &cpudist_skel,
	.on_interval = print_hists,
	.prepare = cpudist_prepare,
	.attached = cpudist_attached,
};
TOOL_REGISTER(cpudist_tool);

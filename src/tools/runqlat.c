/*
 * runqlat: run-queue (scheduler) latency as a log2 histogram, overall or
 * per process, thread or pid namespace, printed at each interval or at
 * the end.
 */
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "hist.h"
#include "log.h"
#include "runqlat.skel.h"
#include "session.h"

static struct {
	bool in_ms;
	bool per_process;
	bool per_thread;
	bool per_pidns;
} conf;

static int hists_fd = -1;

/* Prints every histogram in key order and empties the map. */
static int print_hists(struct session *s)
{
	const char *key = conf.per_process ? "pid" : conf.per_thread ? "tid" :
			  conf.per_pidns ? "pidns" : NULL;

	return hist_print_task_map(&s->out, hists_fd,
				   conf.in_ms ? "msecs" : "usecs", key,
				   !conf.per_pidns);
}

static int runqlat_prepare(struct session *s, void *p)
{
	struct runqlat_bpf *skel = p;

	(void)s;
	skel->rodata->in_ms = conf.in_ms;
	skel->rodata->per_process = conf.per_process;
	skel->rodata->per_thread = conf.per_thread;
	skel->rodata->per_pidns = conf.per_pidns;
	return 0;
}

static int runqlat_attached(struct session *s, void *p)
{
	struct runqlat_bpf *skel = p;

	(void)s;
	hists_fd = bpf_map__fd(skel->maps.hists);
	return 0;
}

enum { OPT_MS, OPT_PIDS, OPT_TIDS, OPT_PIDNSS };

static const struct tool_opt runqlat_opts[] = {
	[OPT_MS] = { "milliseconds", 'm', NULL,
		     "histogram in milliseconds (default microseconds)" },
	[OPT_PIDS] = { "pids", 'P', NULL, "one histogram per process" },
	[OPT_TIDS] = { "tids", 'L', NULL, "one histogram per thread" },
	[OPT_PIDNSS] = { "pidnss", 0, NULL,
			 "one histogram per pid namespace" },
	{ NULL },
};

static int runqlat_parse_opt(int index, const char *arg)
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
	case OPT_PIDNSS:
		conf.per_pidns = true;
		break;
	}
	if (conf.per_process + conf.per_thread + conf.per_pidns > 1) {
		log_err("-P, -L and --pidnss exclude each other");
		return EXIT_USAGE;
	}
	return 0;
}

static const struct hook_probe runqlat_probes[] = {
	{ "run queue", {
		{ { "wakeup_btf", "wakeup_new_btf", "switch_btf" } },
		{ { "wakeup_raw", "wakeup_new_raw", "switch_raw" } },
		{ { "wakeup_tp", "wakeup_new_tp", "switch_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(runqlat);

static const struct tool runqlat_tool = {
	.name = "runqlat",
	.summary = "Summarize run-queue (scheduler) latency as a histogram",
	.examples =
		"  loupe runqlat                # histogram until Ctrl-C\n"
		"  loupe runqlat -m -i 5 -T     # msecs, every 5 s, with time\n"
		"  loupe runqlat -P -p 181      # process 181, one histogram per pid\n"
		"  loupe runqlat -L -d 10 -j    # per thread for 10 s, as JSON\n",
	.common = OPT_PID | OPT_DURATION | OPT_INTERVAL | OPT_JSON |
		  OPT_TIMESTAMP,
	.opts = runqlat_opts,
	.parse_opt = runqlat_parse_opt,
	.probes = runqlat_probes,
	.skel = &runqlat_skel,
	.on_interval = print_hists,
	.prepare = runqlat_prepare,
	.attached = runqlat_attached,
};
TOOL_REGISTER(runqlat_tool);

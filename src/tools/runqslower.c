/* runqslower: tasks that waited on a run queue longer than a threshold. */
#include <errno.h>
#include <stdlib.h>
#include "log.h"
#include "opts.h"
#include "runqslower.h"
#include "runqslower.skel.h"
#include "session.h"

static struct {
	unsigned long long min_us;
	int tid;
	bool previous;
} conf = { .min_us = 10000 };

enum { COL_COMM, COL_TID, COL_LAT, COL_PREV_COMM, COL_PREV_TID };

static const struct out_col columns[] = {
	[COL_COMM] = { "COMM", -16 },
	[COL_TID] = { "TID", -6 },
	[COL_LAT] = { "LAT(us)", 14 },
	{ NULL },
};

static const struct out_col columns_prev[] = {
	[COL_COMM] = { "COMM", -16 },
	[COL_TID] = { "TID", -6 },
	[COL_LAT] = { "LAT(us)", 14 },
	[COL_PREV_COMM] = { "PREV COMM", -16 },
	[COL_PREV_TID] = { "PREV TID", -6 },
	{ NULL },
};

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct runqslower_event *e = data;
	struct out *o = &s->out;

	if (size < sizeof(*e))
		return 0;
	session_event_begin(s, "runqslower", &e->hdr);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, sizeof(e->hdr.comm));
	out_int(o, COL_TID, NULL, e->hdr.tid);
	out_uint(o, COL_LAT, "lat_us", e->delta_us);
	out_strn(o, conf.previous ? COL_PREV_COMM : OUT_JSON_ONLY,
		 "prev_comm", e->prev_comm, sizeof(e->prev_comm));
	out_int(o, conf.previous ? COL_PREV_TID : OUT_JSON_ONLY, "prev_tid",
		e->prev_tid);
	out_int(o, OUT_JSON_ONLY, "prev_pid", e->prev_pid);
	out_end(o);
	return 0;
}

static int runqslower_prepare(struct session *s, void *p)
{
	struct runqslower_bpf *skel = p;

	skel->rodata->min_us = conf.min_us;
	skel->rodata->target_tid = conf.tid;
	/* Like BCC, the TIME column is always there. */
	s->opts.timestamp = true;
	s->columns = conf.previous ? columns_prev : columns;
	if (conf.tid)
		session_watch_thread(s, conf.tid);
	return 0;
}

enum { OPT_TID, OPT_PREVIOUS };

static const struct tool_opt runqslower_opts[] = {
	[OPT_TID] = { "tid", 't', "TID", "only this thread" },
	[OPT_PREVIOUS] = { "previous", 'P', NULL,
			   "also show the task that ran before (PREV COMM, PREV TID)" },
	{ NULL },
};

static int runqslower_parse_opt(int index, const char *arg)
{
	if (index == OPT_PREVIOUS) {
		conf.previous = true;
		return 0;
	}
	return opts_task("--tid", arg, true, &conf.tid);
}

static int runqslower_parse_arg(int index, const char *arg)
{
	unsigned long long v;
	int err;

	if (index > 0) {
		log_err("unexpected argument '%s'; usage: loupe runqslower [flags] [MIN_US]",
			arg);
		return EXIT_USAGE;
	}
	err = opts_uint("MIN_US", arg, 0, 1000000000ULL, "microseconds", &v);
	if (!err)
		conf.min_us = v;
	return err;
}

static const struct hook_probe runqslower_probes[] = {
	{ "run queue", {
		{ { "wakeup_btf", "wakeup_new_btf", "switch_btf" } },
		{ { "wakeup_raw", "wakeup_new_raw", "switch_raw" } },
		{ { "wakeup_tp", "wakeup_new_tp", "switch_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(runqslower);

static const struct tool runqslower_tool = {
	.name = "runqslower",
	.summary = "Trace tasks that waited on a run queue longer than MIN_US (default 10000)",
	.examples =
		"  loupe runqslower             # waits over 10 ms\n"
		"  loupe runqslower 1000 -P     # over 1 ms, with the previous task\n"
		"  loupe runqslower 0 -p 181 -j # every wait of process 181, as JSON\n",
	.common = OPT_PID | OPT_DURATION | OPT_JSON | OPT_BUFFER | OPT_CONTAINERS,
	.opts = runqslower_opts,
	.parse_opt = runqslower_parse_opt,
	.args_usage = "[MIN_US]",
	.parse_arg = runqslower_parse_arg,
	.probes = runqslower_probes,
	.skel = &runqslower_skel,
	.on_event = on_event,
	.prepare = runqslower_prepare,
};
TOOL_REGISTER(runqslower_tool);

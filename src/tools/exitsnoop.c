/* exitsnoop: trace process exits with their age and exit status. */
#include "exitsnoop.h"
#include "exitsnoop.skel.h"
#include "log.h"
#include "session.h"
#include "signame.h"

static bool all_threads;

enum { COL_PCOMM, COL_PID, COL_PPID, COL_TID, COL_AGE, COL_EXIT };

static const struct out_col columns[] = {
	[COL_PCOMM] = { "PCOMM", -16 },
	[COL_PID] = { "PID", -7 },
	[COL_PPID] = { "PPID", -7 },
	[COL_TID] = { "TID", -7 },
	[COL_AGE] = { "AGE(s)", -7 },
	[COL_EXIT] = { "EXIT_CODE", 0 },
	{ NULL },
};

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct exit_event *e = data;
	struct out *o = &s->out;
	int sig = e->exit_code & 0x7f;
	char status[64];
	double age;

	if (size < sizeof(*e))
		return 0;
	age = e->exit_ns > e->start_ns ? (e->exit_ns - e->start_ns) / 1e9 : 0;
	signame_exit(e->exit_code, status, sizeof(status));
	session_event_begin(s, "exit", &e->hdr);
	out_strn(o, COL_PCOMM, NULL, e->hdr.comm, sizeof(e->hdr.comm));
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_int(o, COL_PPID, NULL, e->hdr.ppid);
	out_int(o, COL_TID, NULL, e->hdr.tid);
	out_double(o, COL_AGE, "age_s", age, 2);
	out_str(o, COL_EXIT, NULL, status);
	out_int(o, OUT_JSON_ONLY, "exit_code", sig ? 0 : e->exit_code >> 8);
	out_int(o, OUT_JSON_ONLY, "signal", sig);
	out_str(o, OUT_JSON_ONLY, "signal_name", sig ? signame_of(sig) : NULL);
	out_bool(o, "core_dumped", sig && (e->exit_code & 0x80));
	out_end(o);
	return 0;
}

static int exitsnoop_prepare(struct session *s, void *p)
{
	struct exitsnoop_bpf *skel = p;

	(void)s;
	skel->rodata->all_threads = all_threads;
	return 0;
}

static const struct tool_opt exitsnoop_opts[] = {
	{ "threads", 0, NULL, "trace every thread's exit, not only processes" },
	{ NULL },
};

static int exitsnoop_parse_opt(int index, const char *arg)
{
	(void)index;
	(void)arg;
	all_threads = true;
	return 0;
}

static const struct hook_probe exitsnoop_probes[] = {
	{ "task exit", {
		{ { "exit_btf" } },
		{ { "exit_raw" } },
		{ { "exit_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(exitsnoop);

static const struct tool exitsnoop_tool = {
	.name = "exitsnoop",
	.summary = "Trace process exits: age, exit code or fatal signal",
	.examples =
		"  loupe exitsnoop              # every process exit\n"
		"  loupe exitsnoop -x           # only non-zero exits and signals\n"
		"  loupe exitsnoop --threads -j # every thread, as JSON\n",
	.common = OPT_SNOOP | OPT_FAILED,
	.failed_help = "only failures: non-zero exit codes and signals",
	.opts = exitsnoop_opts,
	.parse_opt = exitsnoop_parse_opt,
	.probes = exitsnoop_probes,
	.skel = &exitsnoop_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = exitsnoop_prepare,
};
TOOL_REGISTER(exitsnoop_tool);

/* execsnoop: trace new processes through execve() and execveat(). */
#include <stdlib.h>
#include "execsnoop.h"
#include "execsnoop.skel.h"
#include "log.h"
#include "opts.h"
#include "session.h"

static unsigned int max_args = 20;

enum { COL_PCOMM, COL_PID, COL_PPID, COL_RET, COL_ARGS };

static const struct out_col columns[] = {
	[COL_PCOMM] = { "PCOMM", -16 },
	[COL_PID] = { "PID", -7 },
	[COL_PPID] = { "PPID", -7 },
	[COL_RET] = { "RET", 3 },
	[COL_ARGS] = { "ARGS", 0 },
	{ NULL },
};

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct exec_event *e = data;
	size_t args_size;
	struct out *o = &s->out;

	if (size < offsetof(struct exec_event, args))
		return 0;
	args_size = size - offsetof(struct exec_event, args);
	if (args_size > e->args_size)
		args_size = e->args_size;
	session_event_begin(s, "exec", &e->hdr);
	out_strn(o, COL_PCOMM, NULL, e->hdr.comm, sizeof(e->hdr.comm));
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_int(o, COL_PPID, NULL, e->hdr.ppid);
	out_int(o, COL_RET, "ret", e->ret);
	out_strv(o, COL_ARGS, "args", e->args, args_size, e->args_state);
	out_end(o);
	return 0;
}

/* Two programs on sys_enter/sys_exit, which find the exec family by number. */
static const struct hook_probe execsnoop_raw_probes[] = {
	{ "exec", { { { "exec_enter_raw_btf", "exec_exit_raw_btf" } },
		    { { "exec_enter_raw_tp", "exec_exit_raw_tp" } } } },
	{ NULL },
};

static int execsnoop_prepare(struct session *s, void *p)
{
	struct execsnoop_bpf *skel = p;

	session_raw_syscalls(s, skel->obj, execsnoop_raw_probes);
	skel->rodata->max_args = max_args;
	return 0;
}

static const struct tool_opt execsnoop_opts[] = {
	{ "max-args", 0, "N", "at most N arguments per exec (default 20, max 64)" },
	{ NULL },
};

static int execsnoop_parse_opt(int index, const char *arg)
{
	unsigned long long n;
	int err;

	(void)index;
	err = opts_uint("--max-args", arg, 1, EXEC_MAX_ARGS,
			"a number of arguments", &n);
	if (!err)
		max_args = n;
	return err;
}

static const struct hook_probe execsnoop_probes[] = {
	{ "exec entry", { { { "execve_enter", "?execveat_enter" } } } },
	{ "exec return", { { { "execve_exit", "?execveat_exit" } } } },
	{ NULL },
};

TOOL_SKEL(execsnoop);

static const struct tool execsnoop_tool = {
	.name = "execsnoop",
	.summary = "Trace new processes via exec() syscalls",
	.examples =
		"  loupe execsnoop              # successful execs, system-wide\n"
		"  loupe execsnoop -x -T        # with failed execs and a TIME column\n"
		"  loupe execsnoop -n bash -j   # execs by processes named bash, as JSON\n",
	.common = OPT_SNOOP | OPT_FAILED | OPT_RAW_SYSCALLS,
	.failed_help = "include failed execs",
	.opts = execsnoop_opts,
	.parse_opt = execsnoop_parse_opt,
	.probes = execsnoop_probes,
	.skel = &execsnoop_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = execsnoop_prepare,
};
TOOL_REGISTER(execsnoop_tool);

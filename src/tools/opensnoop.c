/* opensnoop: trace open(), openat() and openat2() with their results. */
#include "log.h"
#include "openflags.h"
#include "opensnoop.h"
#include "opensnoop.skel.h"
#include "session.h"

enum { COL_PID, COL_COMM, COL_FD, COL_ERR, COL_PATH };

static const struct out_col columns[] = {
	[COL_PID] = { "PID", -7 },
	[COL_COMM] = { "COMM", -16 },
	[COL_FD] = { "FD", 4 },
	[COL_ERR] = { "ERR", 3 },
	[COL_PATH] = { "PATH", 0 },
	{ NULL },
};

static const char *const syscall_names[] = {
	[OPEN_SYSCALL_UNKNOWN] = "",
	[OPEN_SYSCALL_OPEN] = "open",
	[OPEN_SYSCALL_OPENAT] = "openat",
	[OPEN_SYSCALL_OPENAT2] = "openat2",
};

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct open_event *e = data;
	struct out *o = &s->out;
	size_t path_size;
	char flags[256];

	/* The record ends at the path's NUL. */
	if (size <= offsetof(struct open_event, path) || size > sizeof(*e))
		return 0;
	path_size = size - offsetof(struct open_event, path);
	session_event_begin(s, "open", &e->hdr);
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, sizeof(e->hdr.comm));
	out_int(o, COL_FD, "fd", e->ret >= 0 ? e->ret : -1);
	out_int(o, COL_ERR, "err", e->ret >= 0 ? 0 : -e->ret);
	out_ustr(o, COL_PATH, "path", e->path, path_size, e->path_state);
	out_int(o, OUT_JSON_ONLY, "ret", e->ret);
	out_uint(o, OUT_JSON_ONLY, "flags", e->flags);
	openflags_format(e->flags, flags, sizeof(flags));
	out_str(o, OUT_JSON_ONLY, "flags_str", flags);
	out_uint(o, OUT_JSON_ONLY, "mode", e->mode);
	out_str(o, OUT_JSON_ONLY, "syscall",
		e->syscall < sizeof(syscall_names) / sizeof(syscall_names[0]) ?
		syscall_names[e->syscall] : "");
	out_end(o);
	return 0;
}

/* One program on sys_exit, which finds the open family by number. */
static const struct hook_probe opensnoop_raw_probes[] = {
	{ "open", {
		{ { "open_exit_raw_btf" }, BPF_FUNC_task_pt_regs },
		{ { "open_exit_raw" }, BPF_FUNC_task_pt_regs },
	} },
	{ NULL },
};

static int opensnoop_prepare(struct session *s, void *p)
{
	struct opensnoop_bpf *skel = p;

	session_raw_syscalls(s, skel->obj, opensnoop_raw_probes);
	/*
	 * The table shows pid and comm only (and the container, from the
	 * cgroup id): skip the rest of the header.
	 */
	skel->rodata->filter.header_lite = !s->opts.json &&
					   !s->opts.containers;
	skel->rodata->filter.header_untimed = !s->opts.json &&
					      !s->opts.timestamp;
	return 0;
}

static const struct hook_probe opensnoop_probes[] = {
	{ "open", {
		{ { "openat2_fexit" } },
		{ { "openat2_kprobe", "openat2_kretprobe" } },
		{ { "?open_exit_only", "openat_exit_only",
		    "?openat2_exit_only" }, BPF_FUNC_task_pt_regs },
		{ { "?open_enter_tp", "openat_enter_tp", "?openat2_enter_tp",
		    "?open_exit_tp", "openat_exit_tp", "?openat2_exit_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(opensnoop);

static const struct tool opensnoop_tool = {
	.name = "opensnoop",
	.summary = "Trace open() family syscalls: who opened which path, and the result",
	.examples =
		"  loupe opensnoop              # every open, system-wide\n"
		"  loupe opensnoop -x           # only failed opens\n"
		"  loupe opensnoop -p 181 -j    # opens by PID 181, as JSON (with flags)\n",
	.common = OPT_SNOOP | OPT_FAILED | OPT_RAW_SYSCALLS,
	.failed_help = "only failed opens",
	.probes = opensnoop_probes,
	.skel = &opensnoop_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = opensnoop_prepare,
};
TOOL_REGISTER(opensnoop_tool);

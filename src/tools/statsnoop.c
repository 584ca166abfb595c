/* statsnoop: trace the stat family syscalls with path and result. */
#include "log.h"
#include "session.h"
#include "statsnoop.h"
#include "statsnoop.skel.h"

enum { COL_PID, COL_COMM, COL_RET, COL_ERR, COL_PATH };

static const struct out_col columns[] = {
	[COL_PID] = { "PID", -7 },
	[COL_COMM] = { "COMM", -16 },
	[COL_RET] = { "RET", 4 },
	[COL_ERR] = { "ERR", 3 },
	[COL_PATH] = { "PATH", 0 },
	{ NULL },
};

static const char *const syscall_names[] = {
	[STAT_SYSCALL_STATFS] = "statfs",
	[STAT_SYSCALL_NEWSTAT] = "newstat",
	[STAT_SYSCALL_NEWLSTAT] = "newlstat",
	[STAT_SYSCALL_NEWFSTATAT] = "newfstatat",
	[STAT_SYSCALL_STATX] = "statx",
};

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct stat_event *e = data;
	struct out *o = &s->out;

	if (size < sizeof(*e))
		return 0;
	session_event_begin(s, "stat", &e->hdr);
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, sizeof(e->hdr.comm));
	out_int(o, COL_RET, "ret", e->ret >= 0 ? e->ret : -1);
	out_int(o, COL_ERR, "err", e->ret >= 0 ? 0 : -e->ret);
	out_strn(o, COL_PATH, "path", e->path, sizeof(e->path));
	out_int(o, OUT_JSON_ONLY, "dfd", e->dfd);
	out_str(o, OUT_JSON_ONLY, "syscall",
		e->syscall < sizeof(syscall_names) / sizeof(syscall_names[0]) ?
		syscall_names[e->syscall] : "");
	out_end(o);
	return 0;
}

/* newstat and newlstat do not exist on every architecture (arm64). */
static const struct hook_probe statsnoop_probes[] = {
	{ "stat entry", { { { "statfs_enter", "?newstat_enter",
			      "?newlstat_enter", "newfstatat_enter",
			      "statx_enter" } } } },
	{ "stat return", { { { "statfs_exit", "?newstat_exit",
			       "?newlstat_exit", "newfstatat_exit",
			       "statx_exit" } } } },
	{ NULL },
};

TOOL_SKEL(statsnoop);

static const struct tool statsnoop_tool = {
	.name = "statsnoop",
	.summary = "Trace stat() family syscalls: who looked up which path, and the result",
	.examples =
		"  loupe statsnoop              # every stat, system-wide\n"
		"  loupe statsnoop -x           # only failed stats\n"
		"  loupe statsnoop -p 181 -j    # stats by PID 181, as JSON\n",
	.common = OPT_SNOOP | OPT_FAILED,
	.failed_help = "only failed stats",
	.probes = statsnoop_probes,
	.skel = &statsnoop_skel,
	.columns = columns,
	.on_event = on_event,
};
TOOL_REGISTER(statsnoop_tool);

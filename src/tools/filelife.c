/* filelife: files created and then deleted while tracing, with their age. */
#include "filelife.h"
#include "filelife.skel.h"
#include "log.h"
#include "session.h"

enum { COL_TIME, COL_PID, COL_COMM, COL_AGE, COL_FILE };

static const struct out_col columns[] = {
	[COL_TIME] = { "TIME", -8 },
	[COL_PID] = { "PID", -7 },
	[COL_COMM] = { "COMM", -16 },
	[COL_AGE] = { "AGE(s)", -7 },
	[COL_FILE] = { "FILE", 0 },
	{ NULL },
};

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct filelife_event *e = data;
	struct out *o = &s->out;
	unsigned long long real = session_real_ns(s, e->hdr.ts_ns);

	if (size < sizeof(*e))
		return 0;
	session_event_begin(s, "filelife", &e->hdr);
	out_time(o, COL_TIME, real);
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, sizeof(e->hdr.comm));
	out_double(o, COL_AGE, "age_s", e->age_ns / 1e9, 2);
	out_strn(o, COL_FILE, "file", e->file, sizeof(e->file));
	if (e->path[0])
		out_strn(o, OUT_JSON_ONLY, "path", e->path, sizeof(e->path));
	else
		out_null(o, "path");
	out_uint(o, OUT_JSON_ONLY, "ino", e->ino);
	out_uint(o, OUT_JSON_ONLY, "creator_pid", e->creator_pid);
	out_end(o);
	return 0;
}

/*
 * Deaths: BCC's vfs_unlink kprobe where kprobes exist; otherwise the
 * unlink syscalls plus the ctime tracepoints (Linux 6.13 and later).
 */
static const struct hook_probe filelife_probes[] = {
	{ "create", { { { "?open_exit", "openat_exit", "?openat2_exit",
			  "?creat_exit" } } } },
	{ "delete", {
		{ { "unlink_kprobe" } },
		{ { "?unlink_enter_tp", "unlinkat_enter_tp", "?unlink_exit_tp",
		    "unlinkat_exit_tp", "ctime_set_btf", "?ctime_skip_btf",
		    "?ctime_xchg_btf" } },
	} },
	{ NULL },
};

TOOL_SKEL(filelife);

static const struct tool filelife_tool = {
	.name = "filelife",
	.summary = "Trace short-lived files: created, then deleted, with their age",
	.examples =
		"  loupe filelife               # files created and deleted while tracing\n"
		"  loupe filelife -p 181        # deleted by PID 181\n"
		"  loupe filelife -j            # as JSON, with the unlinked path\n",
	.common = OPT_SNOOP & ~OPT_TIMESTAMP,
	.probes = filelife_probes,
	.skel = &filelife_skel,
	.columns = columns,
	.on_event = on_event,
};
TOOL_REGISTER(filelife_tool);

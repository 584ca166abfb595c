/*
 * biosnoop: one line per block I/O request with the task that submitted
 * it, the disk, sector, size and latency.
 */
#include <stdbool.h>
#include <string.h>
#include "biosnoop.h"
#include "biosnoop.skel.h"
#include "disk.h"
#include "log.h"
#include "session.h"

static bool show_queued;
static __u32 target_dev;

struct biosnoop_state {
	unsigned long long first_ns;
};

enum { COL_TIME, COL_COMM, COL_PID, COL_DISK, COL_T, COL_SECTOR, COL_BYTES,
       COL_LAT, COL_QUE };

static const struct out_col columns[] = {
	[COL_TIME] = { "TIME(s)", -11 },
	[COL_COMM] = { "COMM", -14 },
	[COL_PID] = { "PID", -7 },
	[COL_DISK] = { "DISK", -9 },
	[COL_T] = { "T", -1 },
	[COL_SECTOR] = { "SECTOR", -10 },
	[COL_BYTES] = { "BYTES", -7 },
	[COL_LAT] = { "LAT(ms)", 7 },
	{ NULL },
};

/* With -Q the queued time comes before the latency, as in BCC. */
static const struct out_col columns_q[] = {
	[COL_TIME] = { "TIME(s)", -11 },
	[COL_COMM] = { "COMM", -14 },
	[COL_PID] = { "PID", -7 },
	[COL_DISK] = { "DISK", -9 },
	[COL_T] = { "T", -1 },
	[COL_SECTOR] = { "SECTOR", -10 },
	[COL_BYTES] = { "BYTES", -7 },
	[COL_LAT] = { "QUE(ms)", 7 },
	[COL_QUE] = { "LAT(ms)", 7 },
	{ NULL },
};

static int on_event(struct session *s, const void *data, size_t size)
{
	struct biosnoop_state *st = s->tool_state;
	const struct bio_event *e = data;
	struct out *o = &s->out;
	char comm[TASK_COMM_LEN + 1], op[2];
	int lat_col = show_queued ? COL_QUE : COL_LAT;

	if (size < sizeof(*e))
		return 0;
	if (!st->first_ns)
		st->first_ns = e->hdr.ts_ns;
	memcpy(comm, e->hdr.comm, TASK_COMM_LEN);
	comm[TASK_COMM_LEN] = '\0';
	if (!comm[0])
		strcpy(comm, "?");
	op[0] = disk_op_char(e->io.rwbs);
	op[1] = '\0';
	session_event_begin(s, "bio", &e->hdr);
	out_double(o, COL_TIME, "time_s",
		   (e->hdr.ts_ns - st->first_ns) / 1e9, 6);
	/* BCC cuts COMM to the column width (%-14.14s). */
	out_strn(o, COL_COMM, NULL, comm, 14);
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_str(o, COL_DISK, "disk", disk_name(e->io.dev));
	out_str(o, COL_T, NULL, op);
	out_uint(o, COL_SECTOR, "sector", e->io.sector);
	out_uint(o, COL_BYTES, "bytes", e->io.bytes);
	if (show_queued)
		out_double(o, COL_LAT, "que_ms", e->queued_ns / 1e6, 2);
	else
		out_double(o, OUT_JSON_ONLY, "que_ms", e->queued_ns / 1e6, 3);
	out_double(o, lat_col, "lat_ms", e->lat_ns / 1e6, 2);
	out_strn(o, OUT_JSON_ONLY, "rwbs", e->io.rwbs, sizeof(e->io.rwbs));
	out_uint(o, OUT_JSON_ONLY, "dev_major", DISK_MAJOR(e->io.dev));
	out_uint(o, OUT_JSON_ONLY, "dev_minor", DISK_MINOR(e->io.dev));
	out_int(o, OUT_JSON_ONLY, "error", e->error);
	out_end(o);
	return 0;
}

static struct biosnoop_state state;

static int biosnoop_prepare(struct session *s, void *p)
{
	struct biosnoop_bpf *skel = p;

	s->tool_state = &state;
	skel->rodata->target_dev = target_dev;
	s->columns = show_queued ? columns_q : columns;
	return 0;
}

static const struct tool_opt biosnoop_opts[] = {
	{ "queue", 'Q', NULL, "add a QUE(ms) column: time from request creation to issue" },
	{ "disk", 0, "NAME", "only this disk (sda, nvme0n1, loop3 or MAJOR:MINOR)" },
	{ NULL },
};

static int biosnoop_parse_opt(int index, const char *arg)
{
	if (index == 0) {
		show_queued = true;
		return 0;
	}
	if (disk_lookup(arg, &target_dev)) {
		log_err("no such disk '%s'", arg);
		return EXIT_USAGE;
	}
	return 0;
}

static const struct hook_probe biosnoop_probes[] = {
	{ "block requests", { DISK_RQ_CANDIDATES } },
	{ NULL },
};

TOOL_SKEL(biosnoop);

static const struct tool biosnoop_tool = {
	.name = "biosnoop",
	.summary = "Trace block I/O requests: submitting task, disk, sector, size, latency",
	.examples =
		"  loupe biosnoop               # every block I/O with its latency\n"
		"  loupe biosnoop -Q            # also the time queued in the OS\n"
		"  loupe biosnoop --disk sda -j # only sda, as JSON\n"
		"  loupe biosnoop -p 181        # I/O submitted by PID 181\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION | OPT_JSON |
		  OPT_BUFFER | OPT_CONTAINERS,
	.opts = biosnoop_opts,
	.parse_opt = biosnoop_parse_opt,
	.probes = biosnoop_probes,
	.skel = &biosnoop_skel,
	.on_event = on_event,
	.prepare = biosnoop_prepare,
};
TOOL_REGISTER(biosnoop_tool);

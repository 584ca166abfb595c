/* vfsstat: per-second counts of file reads, writes, creates, opens, fsyncs. */
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "session.h"
#include "vfsstat.h"
#include "vfsstat.skel.h"

enum { COL_TIME, COL_READ, COL_WRITE, COL_CREATE, COL_OPEN, COL_FSYNC };

static const struct out_col columns[] = {
	[COL_TIME] = { "TIME", -8 },
	[COL_READ] = { "READ/s", 8 },
	[COL_WRITE] = { "WRITE/s", 8 },
	[COL_CREATE] = { "CREATE/s", 8 },
	[COL_OPEN] = { "OPEN/s", 8 },
	[COL_FSYNC] = { "FSYNC/s", 8 },
	{ NULL },
};

/* Table column and JSON name of each counter. */
static const struct {
	int col;
	const char *count_key;
	const char *rate_key;
} counter_out[VFSSTAT_MAX] = {
	[VFSSTAT_READ] = { COL_READ, "reads", "read_per_s" },
	[VFSSTAT_WRITE] = { COL_WRITE, "writes", "write_per_s" },
	[VFSSTAT_CREATE] = { COL_CREATE, "creates", "create_per_s" },
	[VFSSTAT_OPEN] = { COL_OPEN, "opens", "open_per_s" },
	[VFSSTAT_FSYNC] = { COL_FSYNC, "fsyncs", "fsync_per_s" },
};

struct vfsstat_state {
	unsigned long long prev[VFSSTAT_MAX];
	double prev_time;
};

static void read_totals(struct session *s, unsigned long long *totals)
{
	int ncpus = libbpf_num_possible_cpus(), fd;
	struct bpf_map *map;
	__u64 *vals;

	memset(totals, 0, VFSSTAT_MAX * sizeof(*totals));
	map = bpf_object__find_map_by_name(s->obj, "counters");
	if (!map || ncpus <= 0)
		return;
	fd = bpf_map__fd(map);
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return;
	for (__u32 k = 0; k < VFSSTAT_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpus; c++)
			totals[k] += vals[c];
	}
	free(vals);
}

/* Counters only grow; each interval prints the difference. */
static int on_interval(struct session *s)
{
	struct vfsstat_state *st = s->tool_state;
	unsigned long long totals[VFSSTAT_MAX];
	struct out *o = &s->out;
	double now = out_mono_ns() / 1e9, secs;
	unsigned long long ts = out_now_ns();

	read_totals(s, totals);
	secs = now - st->prev_time;
	if (secs <= 0)
		secs = s->opts.interval;
	out_begin(o, "vfsstat", ts);
	out_time(o, COL_TIME, ts);
	out_double(o, OUT_JSON_ONLY, "interval_s", secs, 3);
	for (int k = 0; k < VFSSTAT_MAX; k++) {
		unsigned long long n = totals[k] - st->prev[k];

		out_uint(o, OUT_JSON_ONLY, counter_out[k].count_key, n);
		if (o->json)
			out_double(o, -1, counter_out[k].rate_key, n / secs,
				   1);
		else
			out_uint(o, counter_out[k].col, NULL,
				 (unsigned long long)(n / secs + 0.5));
	}
	out_end(o);
	out_flush(o);
	memcpy(st->prev, totals, sizeof(totals));
	st->prev_time = now;
	return 0;
}

static struct vfsstat_state state;

static int vfsstat_prepare(struct session *s, void *skel)
{
	(void)skel;
	if (!(s->opts.given & OPT_INTERVAL))
		s->opts.interval = 1;
	s->tool_state = &state;
	return 0;
}

static int vfsstat_attached(struct session *s, void *skel)
{
	(void)s;
	(void)skel;
	state.prev_time = out_mono_ns() / 1e9;
	return 0;
}

/* BCC's vfs_* kprobes where they exist; the syscalls otherwise. */
static const struct hook_probe vfsstat_probes[] = {
	{ "read", {
		{ { "read_kprobe" } },
		{ { "read_enter", "readv_enter", "pread64_enter",
		    "?preadv_enter", "?preadv2_enter" } },
	} },
	{ "write", {
		{ { "write_kprobe" } },
		{ { "write_enter", "writev_enter", "pwrite64_enter",
		    "?pwritev_enter", "?pwritev2_enter" } },
	} },
	{ "create", {
		{ { "create_kprobe" } },
		{ { "?open_exit", "openat_exit", "?openat2_exit",
		    "?creat_exit" } },
	} },
	{ "open", {
		{ { "open_kprobe" } },
		{ { "?open_enter", "openat_enter", "?openat2_enter",
		    "?creat_enter" } },
	} },
	{ "fsync", {
		{ { "fsync_kprobe" } },
		{ { "fsync_enter", "fdatasync_enter" } },
	} },
	{ NULL },
};

TOOL_SKEL(vfsstat);

static const struct tool vfsstat_tool = {
	.name = "vfsstat",
	.summary = "Count file reads, writes, creates, opens and fsyncs per second",
	.examples =
		"  loupe vfsstat                # one line per second, system-wide\n"
		"  loupe vfsstat -i 5 -d 60     # every 5 s for a minute\n"
		"  loupe vfsstat -n nginx -j    # only tasks named nginx, as JSON\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION |
		  OPT_INTERVAL | OPT_JSON,
	.probes = vfsstat_probes,
	.skel = &vfsstat_skel,
	.columns = columns,
	.on_interval = on_interval,
	.prepare = vfsstat_prepare,
	.attached = vfsstat_attached,
};
TOOL_REGISTER(vfsstat_tool);

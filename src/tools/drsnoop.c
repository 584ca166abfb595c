/*
 * drsnoop: trace direct reclaim, the allocation stalls where a task frees
 * memory itself, with how long it took and how many pages it freed.
 */
#include <stdbool.h>
#include "drsnoop.h"
#include "drsnoop.skel.h"
#include "log.h"
#include "session.h"

static bool with_memcg;

enum { COL_COMM, COL_PID, COL_LAT, COL_PAGES };

static const struct out_col columns[] = {
	[COL_COMM] = { "COMM", -14 },
	[COL_PID] = { "PID", -6 },
	[COL_LAT] = { "LAT(ms)", 8 },
	[COL_PAGES] = { "PAGES", 5 },
	{ NULL },
};

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct reclaim_event *e = data;
	struct out *o = &s->out;

	if (size < sizeof(*e))
		return 0;
	session_event_begin(s, "reclaim", &e->hdr);
	/* BCC cuts COMM to the column width (%-14.14s). */
	out_strn(o, COL_COMM, NULL, e->hdr.comm, 14);
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_double(o, COL_LAT, "lat_ms", e->lat_ns / 1e6, 2);
	out_uint(o, COL_PAGES, "pages", e->pages);
	out_int(o, OUT_JSON_ONLY, "order", e->order);
	out_uint(o, OUT_JSON_ONLY, "gfp_flags", e->gfp_flags);
	out_str(o, OUT_JSON_ONLY, "kind", e->memcg ? "memcg" : "global");
	out_end(o);
	return 0;
}

static int drsnoop_prepare(struct session *s, void *p)
{
	struct drsnoop_bpf *skel = p;

	(void)s;
	skel->rodata->with_memcg = with_memcg;
	return 0;
}

static const struct tool_opt drsnoop_opts[] = {
	{ "memcg", 0, NULL, "also reclaim forced by a memory cgroup's limit" },
	{ NULL },
};

static int drsnoop_parse_opt(int index, const char *arg)
{
	(void)index;
	(void)arg;
	with_memcg = true;
	return 0;
}

static const struct hook_probe drsnoop_probes[] = {
	{ "direct reclaim", {
		{ { "begin_btf", "end_btf", "?memcg_begin_btf",
		    "?memcg_end_btf" } },
		{ { "begin_raw", "end_raw", "?memcg_begin_raw",
		    "?memcg_end_raw" } },
		{ { "begin_tp", "end_tp", "?memcg_begin_tp",
		    "?memcg_end_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(drsnoop);

static const struct tool drsnoop_tool = {
	.name = "drsnoop",
	.summary = "Trace direct memory reclaim: who stalled, how long, pages freed",
	.examples =
		"  loupe drsnoop                # every direct reclaim, system-wide\n"
		"  loupe drsnoop --memcg -T     # also memory cgroup limit reclaim, with times\n"
		"  loupe drsnoop -p 181 -j      # PID 181 only, as JSON\n",
	.common = OPT_SNOOP,
	.opts = drsnoop_opts,
	.parse_opt = drsnoop_parse_opt,
	.probes = drsnoop_probes,
	.skel = &drsnoop_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = drsnoop_prepare,
};
TOOL_REGISTER(drsnoop_tool);

/*
 * oomkill: one line per OOM kill, as BCC prints it: who triggered it, the
 * victim, the OOM context's page limit and the load average.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "oomkill.h"
#include "oomkill.skel.h"
#include "session.h"

/* BCC prints a banner, not column names; it stands in the header row. */
static const struct out_col columns[] = {
	{ "Tracing OOM kills... Ctrl-C to stop.", 0 },
	{ NULL },
};

/* /proc/loadavg as it is now: "0.10 0.20 0.30 1/123 4567". */
static void read_loadavg(char *buf, size_t len, double avg[3])
{
	FILE *f = fopen("/proc/loadavg", "r");

	avg[0] = avg[1] = avg[2] = 0;
	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	if (sscanf(buf, "%lf %lf %lf", &avg[0], &avg[1], &avg[2]) != 3)
		avg[0] = avg[1] = avg[2] = 0;
}

static unsigned long long to_kb(const struct oom_event *e,
				unsigned long long v)
{
	return e->in_kb ? v : v * (unsigned long long)getpagesize() / 1024;
}

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct oom_event *e = data;
	struct out *o = &s->out;
	char load[128], line[512], pages[32], tm_s[16];
	unsigned long long ts = session_real_ns(s, e->hdr.ts_ns);
	double avg[3];

	if (size < sizeof(*e))
		return 0;
	read_loadavg(load, sizeof(load), avg);
	out_strftime(tm_s, sizeof(tm_s), OUT_HMS, ts);
	/* Only oom_kill_process() knows the limit; never a made-up number. */
	if (e->has_totalpages)
		snprintf(pages, sizeof(pages), "%llu",
			 (unsigned long long)e->totalpages);
	else
		snprintf(pages, sizeof(pages), "-");
	snprintf(line, sizeof(line),
		 "%s Triggered by PID %u (\"%.16s\"), OOM kill of PID %u (\"%.16s\"), %s pages, loadavg: %s",
		 tm_s, e->hdr.pid, e->hdr.comm, e->victim_pid, e->victim_comm,
		 pages, load);
	session_event_begin(s, "oom_kill", &e->hdr);
	out_str(o, 0, NULL, line);
	out_uint(o, OUT_JSON_ONLY, "victim_pid", e->victim_pid);
	out_strn(o, OUT_JSON_ONLY, "victim_comm", e->victim_comm,
		 sizeof(e->victim_comm));
	out_uint(o, OUT_JSON_ONLY, "victim_uid", e->victim_uid);
	if (e->has_totalpages)
		out_uint(o, OUT_JSON_ONLY, "pages", e->totalpages);
	else
		out_null(o, "pages");
	out_uint(o, OUT_JSON_ONLY, "total_vm_kb", to_kb(e, e->total_vm));
	out_uint(o, OUT_JSON_ONLY, "anon_rss_kb", to_kb(e, e->anon_rss));
	out_uint(o, OUT_JSON_ONLY, "file_rss_kb", to_kb(e, e->file_rss));
	out_uint(o, OUT_JSON_ONLY, "shmem_rss_kb", to_kb(e, e->shmem_rss));
	out_uint(o, OUT_JSON_ONLY, "pgtables_kb", e->pgtables_kb);
	out_int(o, OUT_JSON_ONLY, "oom_score_adj", e->oom_score_adj);
	if (o->json) {
		out_arr_begin(o, "loadavg");
		for (int i = 0; i < 3; i++) {
			out_json_key(o, NULL);
			out_buf_printf(&o->line, "%.2f", avg[i]);
		}
		out_arr_end(o);
	}
	out_end(o);
	return 0;
}

static const struct hook_probe oomkill_probes[] = {
	{ "oom kill", {
		{ { "oom_kill_fentry" } },
		{ { "oom_kill_kprobe" } },
		{ { "mark_victim_btf" } },
		{ { "mark_victim_raw" } },
		{ { "mark_victim_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(oomkill);

static const struct tool oomkill_tool = {
	.name = "oomkill",
	.summary = "Trace OOM kills: the victim, the triggering task, the load",
	.examples =
		"  loupe oomkill                # one line per OOM kill\n"
		"  loupe oomkill -j             # with the victim's memory, as JSON\n",
	.common = OPT_DURATION | OPT_JSON,
	.probes = oomkill_probes,
	.skel = &oomkill_skel,
	.columns = columns,
	.on_event = on_event,
};
TOOL_REGISTER(oomkill_tool);

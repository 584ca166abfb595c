/*
 * cachestat: page-cache hits, misses, dirties and hit ratio per interval,
 * computed from the counters the kernel side keeps, with BCC's columns.
 * MISSES are pages read into the page cache, not pages a write added; a
 * value that cannot be computed on this kernel is printed as "-" (null in
 * JSON), never guessed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cachestat.h"
#include "event.h"
#include "cachestat.skel.h"
#include "log.h"
#include "session.h"

/* Probes in cachestat_probes; HITS is optional. */
enum { PROBE_HITS, PROBE_ADD, PROBE_DIRTY };

/* The last candidate of PROBE_ADD cannot tell adds by writes apart. */
#define ADD_UNSORTED	2

enum { COL_HITS, COL_MISSES, COL_DIRTIES, COL_RATIO, COL_BUFFERS,
       COL_CACHED };

static const struct out_col columns[] = {
	[COL_HITS] = { "HITS", 8 },
	[COL_MISSES] = { "MISSES", 8 },
	[COL_DIRTIES] = { "DIRTIES", 8 },
	[COL_RATIO] = { "HITRATIO", 8 },
	[COL_BUFFERS] = { "BUFFERS_MB", 12 },
	[COL_CACHED] = { "CACHED_MB", 10 },
	{ NULL },
};

struct cachestat_state {
	unsigned long long prev[CACHESTAT_MAX];
	bool have_access;	/* page accesses are counted (HITS) */
	bool have_writes;	/* adds by writes are told apart (MISSES) */
};

/* What one interval's counters mean; a figure not known here is false. */
struct cachestat_figures {
	long long hits, misses, dirties;
	bool hits_known, misses_known;
};

/*
 * The one place where counters become HITS, MISSES and DIRTIES (the
 * overview's page-cache section runs this tool, so it uses it too).
 * MISSES are pages added to the page cache other than by a write to that
 * file: those are pages read from disk (or zero-filled holes). Where adds
 * by writes cannot be told apart (no bpf_task_pt_regs()), MISSES are
 * unknown rather than overstated. HITS follow BCC: accesses less buffer
 * dirtyings, less misses; they are clamped at 0 but never lower MISSES.
 */
static void cachestat_compute(const long long *d, bool have_access,
			      bool have_writes, struct cachestat_figures *f)
{
	long long total;

	memset(f, 0, sizeof(*f));
	f->dirties = d[CACHESTAT_DIRTIED];
	f->misses = d[CACHESTAT_READ_ADDED];
	f->misses_known = have_writes;
	if (!have_access || !have_writes)
		return;
	f->hits_known = true;
	total = d[CACHESTAT_ACCESSED] - d[CACHESTAT_BUF_DIRTIED];
	f->hits = total > f->misses ? total - f->misses : 0;
}

static void read_totals(struct session *s, unsigned long long *totals)
{
	int ncpus = libbpf_num_possible_cpus(), fd;
	struct bpf_map *map;
	__u64 *vals;

	memset(totals, 0, CACHESTAT_MAX * sizeof(*totals));
	map = bpf_object__find_map_by_name(s->obj, "counters");
	if (!map || ncpus <= 0)
		return;
	fd = bpf_map__fd(map);
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return;
	for (__u32 k = 0; k < CACHESTAT_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpus; c++)
			totals[k] += vals[c];
	}
	free(vals);
}

/* Buffers and Cached from /proc/meminfo, in MB. */
static void meminfo_mb(unsigned long long *buffers,
		       unsigned long long *cached)
{
	char line[256];
	unsigned long long kb;
	FILE *f = fopen("/proc/meminfo", "r");

	*buffers = *cached = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Buffers: %llu kB", &kb) == 1)
			*buffers = kb / 1024;
		else if (sscanf(line, "Cached: %llu kB", &kb) == 1)
			*cached = kb / 1024;
	}
	fclose(f);
}

static void out_known(struct out *o, int col, const char *key, bool known,
		      long long val)
{
	if (known)
		out_int(o, col, key, val);
	else
		out_str(o, col, key, NULL);
}

static int on_interval(struct session *s)
{
	struct cachestat_state *st = s->tool_state;
	unsigned long long totals[CACHESTAT_MAX], buffers, cached;
	long long d[CACHESTAT_MAX];
	struct cachestat_figures f;
	struct out *o = &s->out;
	double ratio = 0;
	char text[16];

	read_totals(s, totals);
	meminfo_mb(&buffers, &cached);
	for (int k = 0; k < CACHESTAT_MAX; k++)
		d[k] = (long long)(totals[k] - st->prev[k]);
	cachestat_compute(d, st->have_access, st->have_writes, &f);
	if (f.hits + f.misses)
		ratio = 100.0 * f.hits / (f.hits + f.misses);
	out_begin(o, "cachestat", out_now_ns());
	out_known(o, COL_HITS, "hits", f.hits_known, f.hits);
	out_known(o, COL_MISSES, "misses", f.misses_known, f.misses);
	out_int(o, COL_DIRTIES, "dirties", f.dirties);
	if (f.hits_known && o->json) {
		out_double(o, -1, "hit_ratio", ratio, 2);
	} else if (f.hits_known) {
		snprintf(text, sizeof(text), "%.2f%%", ratio);
		out_str(o, COL_RATIO, NULL, text);
	} else {
		out_str(o, COL_RATIO, "hit_ratio", NULL);
	}
	out_uint(o, COL_BUFFERS, "buffers_mb", buffers);
	out_uint(o, COL_CACHED, "cached_mb", cached);
	/* The raw counters the figures come from. */
	out_int(o, OUT_JSON_ONLY, "pages_added",
		d[CACHESTAT_READ_ADDED] + d[CACHESTAT_WRITE_ADDED]);
	out_known(o, OUT_JSON_ONLY, "pages_added_by_writes", st->have_writes,
		  d[CACHESTAT_WRITE_ADDED]);
	out_int(o, OUT_JSON_ONLY, "folios_dirtied",
		d[CACHESTAT_DIRTIED_FOLIOS]);
	out_end(o);
	out_flush(o);
	memcpy(st->prev, totals, sizeof(totals));
	return 0;
}

static struct cachestat_state state;

static int cachestat_prepare(struct session *s, void *skel)
{
	(void)skel;
	if (!(s->opts.given & OPT_INTERVAL))
		s->opts.interval = 1;
	s->tool_state = &state;
	return 0;
}

static int cachestat_attached(struct session *s, void *skel)
{
	(void)skel;
	state.have_access = s->hooks[PROBE_HITS].chosen >= 0;
	state.have_writes = s->hooks[PROBE_ADD].chosen != ADD_UNSORTED;
	return 0;
}

/*
 * The HITS probe is optional: without it HITS and HITRATIO are unknown, and
 * `loupe list` shows it with hook "none" and why. Adds and dirties prefer
 * tp_btf, which hands over the folio (its size) and costs less than a
 * classic tracepoint. Telling adds by writes apart needs
 * bpf_task_pt_regs() (5.15); before it MISSES are unknown.
 */
static const struct hook_probe cachestat_probes[] = {
	[PROBE_HITS] = { "HITS: access", {
		{ { "accessed_fentry", "buffer_dirty_fentry" } },
		{ { "accessed_kprobe", "buffer_dirty_kprobe" } },
		{ { "page_accessed_kprobe", "buffer_dirty_kprobe" } },
	}, .optional = true },
	[PROBE_ADD] = { "MISSES: add", {
		{ { "added_btf" }, BPF_FUNC_task_pt_regs },
		{ { "added_tp" }, BPF_FUNC_task_pt_regs },
		[ADD_UNSORTED] = { { "added_unsorted_tp" } },
	} },
	[PROBE_DIRTY] = { "DIRTIES: dirty", {
		{ { "dirtied_btf" } },
		{ { "dirtied_tp" } },
		{ { "dirtied_page_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(cachestat);

static const struct tool cachestat_tool = {
	.name = "cachestat",
	.summary = "Page-cache hits, misses, dirties and hit ratio per interval (default 1 s)",
	.examples =
		"  loupe cachestat              # one line per second, system-wide\n"
		"  loupe cachestat -T -i 5      # every 5 s with a TIME column\n"
		"  loupe cachestat -p 181 -j    # caused by PID 181, as JSON\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION |
		  OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP,
	.probes = cachestat_probes,
	.skel = &cachestat_skel,
	.columns = columns,
	.on_interval = on_interval,
	.prepare = cachestat_prepare,
	.attached = cachestat_attached,
};
TOOL_REGISTER(cachestat_tool);

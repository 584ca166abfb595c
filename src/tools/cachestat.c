/*
 * cachestat: page-cache hits, misses, dirties and hit ratio per interval,
 * computed like BCC's cachestat from the counters the kernel side keeps.
 * A value that cannot be computed on this kernel is printed as "-" (null
 * in JSON), never guessed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cachestat.h"
#include "event.h"
#include "cachestat.skel.h"
#include "log.h"
#include "session.h"

/* Index of the optional probe in cachestat_probes. */
#define PROBE_HITS 0

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
	bool have_hits;
};

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

static long long delta(const unsigned long long *now,
		       const unsigned long long *prev, int k)
{
	return (long long)(now[k] - prev[k]);
}

static int on_interval(struct session *s)
{
	struct cachestat_state *st = s->tool_state;
	unsigned long long totals[CACHESTAT_MAX], buffers, cached;
	long long total = 0, hits = 0, misses, dirties;
	struct out *o = &s->out;
	struct timespec real;
	char ratio[16];

	read_totals(s, totals);
	meminfo_mb(&buffers, &cached);
	/* BCC: pages added, less those added by writes, are misses. */
	dirties = delta(totals, st->prev, CACHESTAT_DIRTIED);
	misses = delta(totals, st->prev, CACHESTAT_ADDED) - dirties;
	if (misses < 0)
		misses = 0;
	if (st->have_hits) {
		total = delta(totals, st->prev, CACHESTAT_ACCESSED) -
			delta(totals, st->prev, CACHESTAT_BUF_DIRTIED);
		if (total < 0)
			total = 0;
		hits = total - misses;
		if (hits < 0) {
			misses = total;
			hits = 0;
		}
	}
	clock_gettime(CLOCK_REALTIME, &real);
	out_begin(o, "cachestat", real.tv_sec * 1000000000ULL + real.tv_nsec);
	if (st->have_hits) {
		out_int(o, COL_HITS, "hits", hits);
	} else {
		out_str(o, COL_HITS, "hits", NULL);
	}
	out_int(o, COL_MISSES, "misses", misses);
	out_int(o, COL_DIRTIES, "dirties", dirties);
	if (st->have_hits && o->json) {
		out_double(o, -1, "hit_ratio", total ? 100.0 * hits / total :
			   0, 2);
	} else if (st->have_hits) {
		snprintf(ratio, sizeof(ratio), "%.2f%%",
			 total ? 100.0 * hits / total : 0);
		out_str(o, COL_RATIO, NULL, ratio);
	} else {
		out_str(o, COL_RATIO, "hit_ratio", NULL);
	}
	out_uint(o, COL_BUFFERS, "buffers_mb", buffers);
	out_uint(o, COL_CACHED, "cached_mb", cached);
	out_uint(o, OUT_JSON_ONLY, "pages_added",
		 totals[CACHESTAT_ADDED] - st->prev[CACHESTAT_ADDED]);
	out_end(o);
	out_flush(o);
	memcpy(st->prev, totals, sizeof(totals));
	return 0;
}

static int cachestat_run(struct session *s)
{
	struct cachestat_state st = { 0 };
	struct cachestat_bpf *skel;
	int err;

	skel = cachestat_bpf__open();
	if (!skel) {
		log_err("cannot open the BPF object");
		return EXIT_RUNTIME;
	}
	session_set_filter(s, &skel->rodata->filter);
	if (!(s->opts.given & OPT_INTERVAL))
		s->opts.interval = 1;
	s->tool_state = &st;
	s->skeleton = skel->skeleton;
	err = session_start(s, skel->obj, columns, NULL);
	if (!err) {
		st.have_hits = s->hooks[PROBE_HITS].chosen >= 0;
		s->on_interval = on_interval;
		err = session_loop(s);
	}
	session_stop(s);
	cachestat_bpf__destroy(skel);
	return err;
}

/*
 * The first probe is optional: without it cachestat still reports misses
 * and dirties, and `loupe list` shows it with hook "none" and why.
 */
static const struct hook_probe cachestat_probes[] = {
	[PROBE_HITS] = { "HITS: access", {
		{ { "accessed_fentry", "buffer_dirty_fentry" } },
		{ { "accessed_kprobe", "buffer_dirty_kprobe" } },
		{ { "page_accessed_kprobe", "buffer_dirty_kprobe" } },
	}, .optional = true },
	{ "MISSES: add", { { { "added_tp" } } } },
	{ "DIRTIES: dirty", {
		{ { "dirtied_tp" } },
		{ { "dirtied_page_tp" } },
	} },
	{ NULL },
};

static const void *cachestat_elf(size_t *size)
{
	return cachestat_bpf__elf_bytes(size);
}

const struct tool cachestat_tool = {
	.name = "cachestat",
	.summary = "Page-cache hits, misses, dirties and hit ratio per interval (default 1 s)",
	.examples =
		"  loupe cachestat              # one line per second, system-wide\n"
		"  loupe cachestat -T -i 5      # every 5 s with a TIME column\n"
		"  loupe cachestat -p 181 -j    # caused by PID 181, as JSON\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION |
		  OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP,
	.probes = cachestat_probes,
	.elf_bytes = cachestat_elf,
	.run = cachestat_run,
};

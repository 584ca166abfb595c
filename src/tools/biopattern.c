/*
 * biopattern: per disk and interval, the share of random and sequential
 * block requests, their count and volume.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "biopattern.h"
#include "biopattern.skel.h"
#include "disk.h"
#include "log.h"
#include "session.h"

#define MAX_DISKS	1024

static __u32 target_dev;

struct disk_row {
	__u32 dev;
	struct biopattern_counts now;
};

/* Totals already printed, per disk: each interval prints the growth. */
struct biopattern_state {
	struct biopattern_bpf *skel;
	struct disk_row prev[MAX_DISKS];
	int nprev;
};

enum { COL_DISK, COL_RND, COL_SEQ, COL_COUNT, COL_KBYTES };

static const struct out_col columns[] = {
	[COL_DISK] = { "DISK", -7 },
	[COL_RND] = { "%RND", 5 },
	[COL_SEQ] = { "%SEQ", 5 },
	[COL_COUNT] = { "COUNT", 8 },
	[COL_KBYTES] = { "KBYTES", 10 },
	{ NULL },
};

static int compare_rows(const void *a, const void *b)
{
	__u32 x = ((const struct disk_row *)a)->dev;
	__u32 y = ((const struct disk_row *)b)->dev;

	return x < y ? -1 : x > y;
}

static struct biopattern_counts *prev_of(struct biopattern_state *st,
					 __u32 dev)
{
	for (int i = 0; i < st->nprev; i++)
		if (st->prev[i].dev == dev)
			return &st->prev[i].now;
	if (st->nprev == MAX_DISKS)
		return NULL;
	st->prev[st->nprev].dev = dev;
	memset(&st->prev[st->nprev].now, 0, sizeof(st->prev[0].now));
	return &st->prev[st->nprev++].now;
}

static void print_row(struct session *s, __u32 dev,
		      const struct biopattern_counts *d, unsigned long long ts)
{
	struct out *o = &s->out;
	unsigned long long total = d->sequential + d->random;

	out_begin(o, "biopattern", ts);
	out_str(o, COL_DISK, "disk", disk_name(dev));
	out_int(o, COL_RND, "random_pct", d->random * 100 / total);
	out_int(o, COL_SEQ, "seq_pct", d->sequential * 100 / total);
	out_uint(o, COL_COUNT, "count", total);
	out_uint(o, COL_KBYTES, "kbytes", d->bytes / 1024);
	out_uint(o, OUT_JSON_ONLY, "random", d->random);
	out_uint(o, OUT_JSON_ONLY, "sequential", d->sequential);
	out_uint(o, OUT_JSON_ONLY, "bytes", d->bytes);
	out_uint(o, OUT_JSON_ONLY, "dev_major", DISK_MAJOR(dev));
	out_uint(o, OUT_JSON_ONLY, "dev_minor", DISK_MINOR(dev));
	out_end(o);
}

static int print_rows(struct session *s)
{
	struct biopattern_state *st = s->tool_state;
	int fd = bpf_map__fd(st->skel->maps.counts), n = 0;
	struct disk_row *rows;
	unsigned long long ts;
	__u32 key, next, *prev = NULL;

	rows = calloc(MAX_DISKS, sizeof(*rows));
	if (!rows)
		return -1;
	ts = out_now_ns();
	while (n < MAX_DISKS && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		rows[n].dev = key;
		if (!bpf_map_lookup_elem(fd, &key, &rows[n].now))
			n++;
	}
	qsort(rows, n, sizeof(*rows), compare_rows);
	for (int i = 0; i < n; i++) {
		struct biopattern_counts *p = prev_of(st, rows[i].dev), d;

		if (!p)
			continue;
		d.sequential = rows[i].now.sequential - p->sequential;
		d.random = rows[i].now.random - p->random;
		d.bytes = rows[i].now.bytes - p->bytes;
		*p = rows[i].now;
		if (d.sequential + d.random)
			print_row(s, rows[i].dev, &d, ts);
	}
	free(rows);
	return out_flush(&s->out);
}

static int no_events(struct session *s, const void *data, size_t size)
{
	(void)s;
	(void)data;
	(void)size;
	return 0;
}

static struct biopattern_state state;

static int biopattern_prepare(struct session *s, void *p)
{
	struct biopattern_bpf *skel = p;

	state.skel = skel;
	s->tool_state = &state;
	skel->rodata->target_dev = target_dev;
	return 0;
}

static const struct tool_opt biopattern_opts[] = {
	{ "disk", 0, "NAME", "only this disk (sda, nvme0n1, loop3 or MAJOR:MINOR)" },
	{ NULL },
};

static int biopattern_parse_opt(int index, const char *arg)
{
	(void)index;
	if (disk_lookup(arg, &target_dev)) {
		log_err("no such disk '%s'", arg);
		return EXIT_USAGE;
	}
	return 0;
}

static const struct hook_probe biopattern_probes[] = {
	{ "completions", { DISK_RQ_DONE_CANDIDATES } },
	{ NULL },
};

TOOL_SKEL(biopattern);

static const struct tool biopattern_tool = {
	.name = "biopattern",
	.summary = "Show random vs sequential block I/O per disk",
	.examples =
		"  loupe biopattern             # until Ctrl-C, one row per disk\n"
		"  loupe biopattern -i 1 -T     # every second, with times\n"
		"  loupe biopattern --disk sda -j # sda only, as JSON\n",
	.common = OPT_DURATION | OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP,
	.opts = biopattern_opts,
	.parse_opt = biopattern_parse_opt,
	.probes = biopattern_probes,
	.skel = &biopattern_skel,
	.columns = columns,
	.on_event = no_events,
	.on_interval = print_rows,
	.prepare = biopattern_prepare,
};
TOOL_REGISTER(biopattern_tool);

/*
 * hardirqs: time spent in hard interrupt handlers (or their count) per
 * handler name, as a table or per-name histograms, at each interval or at
 * the end.
 */
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "hardirqs.h"
#include "hardirqs.skel.h"
#include "hist.h"
#include "log.h"
#include "session.h"

#define MAX_ROWS 1024

static struct {
	bool count_only;
	bool distributions;
	bool in_ns;
} conf;

static int irqs_fd = -1;

enum { COL_NAME, COL_TOTAL };

static struct out_col columns[] = {
	[COL_NAME] = { "HARDIRQ", -26 },
	[COL_TOTAL] = { "TOTAL_usecs", 11 },
	{ NULL },
};

struct row {
	struct hardirqs_key key;
	struct hardirqs_value v;
	__u64 total;		/* what is shown: count, usecs or nsecs */
};

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->key.name, y->key.name);
}

static void print_row(struct session *s, const struct row *r,
		      unsigned long long ts)
{
	const char *key = conf.count_only ? "count" :
			  conf.in_ns ? "total_nsecs" : "total_usecs";
	uint64_t slots[HARDIRQS_SLOTS];
	struct hist_label label = { "hardirq", r->key.name };

	if (conf.distributions) {
		for (int i = 0; i < HARDIRQS_SLOTS; i++)
			slots[i] = r->v.slots[i];
		hist_print_log2(&s->out, conf.in_ns ? "nsecs" : "usecs",
				slots, HARDIRQS_SLOTS, &label, ts);
		return;
	}
	out_begin(&s->out, "hardirq", ts);
	out_str(&s->out, COL_NAME, "hardirq", r->key.name);
	out_uint(&s->out, COL_TOTAL, key, r->total);
	out_end(&s->out);
}

/* Prints every handler, busiest first, and empties the map. */
static int print_irqs(struct session *s)
{
	static struct row rows[MAX_ROWS];
	struct hardirqs_key *prev = NULL;
	unsigned long long ts;
	int n = 0;

	ts = out_now_ns();
	while (n < MAX_ROWS &&
	       !bpf_map_get_next_key(irqs_fd, prev, &rows[n].key)) {
		prev = &rows[n].key;
		n++;
	}
	for (int i = 0; i < n; i++) {
		struct row *r = &rows[i];

		if (bpf_map_lookup_elem(irqs_fd, &r->key, &r->v))
			memset(&r->v, 0, sizeof(r->v));
		bpf_map_delete_elem(irqs_fd, &r->key);
		r->key.name[HARDIRQS_NAME_LEN - 1] = '\0';
		r->total = conf.count_only ? r->v.count :
			   conf.in_ns ? r->v.total_ns : r->v.total_ns / 1000;
	}
	qsort(rows, n, sizeof(rows[0]), cmp_rows);
	out_interval(&s->out, ts);
	if (!conf.distributions)
		out_header(&s->out);
	for (int i = 0; i < n; i++)
		print_row(s, &rows[i], ts);
	return out_flush(&s->out);
}

static int hardirqs_run(struct session *s)
{
	struct hardirqs_bpf *skel;
	int err;

	skel = hardirqs_bpf__open();
	if (!skel) {
		log_err("cannot open the BPF object");
		return EXIT_RUNTIME;
	}
	skel->rodata->count_only = conf.count_only;
	skel->rodata->distributions = conf.distributions;
	skel->rodata->in_ns = conf.in_ns;
	if (conf.count_only)
		columns[COL_TOTAL].header = "TOTAL_count";
	else if (conf.in_ns)
		columns[COL_TOTAL].header = "TOTAL_nsecs";
	s->on_interval = print_irqs;
	s->skeleton = skel->skeleton;
	err = session_start(s, skel->obj, NULL, NULL);
	if (!err) {
		s->out.cols = columns;
		irqs_fd = bpf_map__fd(skel->maps.irqs);
		err = session_loop(s);
	}
	session_stop(s);
	hardirqs_bpf__destroy(skel);
	return err;
}

enum { OPT_COUNT, OPT_DIST, OPT_NS };

static const struct tool_opt hardirqs_opts[] = {
	[OPT_COUNT] = { "count", 'C', NULL, "count interrupts instead of timing them" },
	/* -d as in BCC; the duration stays reachable as --duration. */
	[OPT_DIST] = { "dist", 'D', NULL, "a time histogram per interrupt name" },
	[OPT_NS] = { "nanoseconds", 'N', NULL, "time in nanoseconds" },
	{ NULL },
};

static int hardirqs_parse_opt(int index, const char *arg)
{
	(void)arg;
	if (index == OPT_COUNT)
		conf.count_only = true;
	else if (index == OPT_DIST)
		conf.distributions = true;
	else
		conf.in_ns = true;
	if (conf.count_only && conf.distributions) {
		log_err("-C and -d exclude each other");
		return EXIT_USAGE;
	}
	return 0;
}

static const struct hook_probe hardirqs_probes[] = {
	{ "irq handler", {
		{ { "entry_btf", "exit_btf" } },
		{ { "entry_raw", "exit_raw" } },
		{ { "entry_tp", "exit_tp" } },
	} },
	{ NULL },
};

static const void *hardirqs_elf(size_t *size)
{
	return hardirqs_bpf__elf_bytes(size);
}

const struct tool hardirqs_tool = {
	.name = "hardirqs",
	.summary = "Summarize hard interrupt handler time (or counts) per interrupt",
	.examples =
		"  loupe hardirqs               # time per interrupt until Ctrl-C\n"
		"  loupe hardirqs -C -i 1 -T    # counts every second, with time\n"
		"  loupe hardirqs -d --duration 10  # histograms for 10 s\n",
	.common = OPT_DURATION | OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP,
	.opts = hardirqs_opts,
	.parse_opt = hardirqs_parse_opt,
	.probes = hardirqs_probes,
	.elf_bytes = hardirqs_elf,
	.run = hardirqs_run,
};

/*
 * softirqs: time spent in softirq handlers (or their count) per vector,
 * as a table or per-vector histograms, at each interval or at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "softirqs.h"
#include "softirqs.skel.h"
#include "hist.h"
#include "log.h"
#include "session.h"

#define NR_VECTORS 16	/* the size of the kernel side's array */

/* Vector numbers as the softirq tracepoints report them. */
static const char *const vec_names[] = {
	"hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet",
	"sched", "hrtimer", "rcu",
};

static struct {
	bool count_only;
	bool distributions;
	bool in_ns;
} conf;

static int irqs_fd = -1;

enum { COL_NAME, COL_TOTAL };

static struct out_col columns[] = {
	[COL_NAME] = { "SOFTIRQ", -16 },
	[COL_TOTAL] = { "TOTAL_usecs", 11 },
	{ NULL },
};

struct row {
	__u32 vec;
	char name[16];
	struct softirqs_value v;
	__u64 total;		/* what is shown: count, usecs or nsecs */
};

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return x->vec < y->vec ? -1 : x->vec > y->vec;
}

static void print_row(struct session *s, const struct row *r,
		      unsigned long long ts)
{
	const char *key = conf.count_only ? "count" :
			  conf.in_ns ? "total_nsecs" : "total_usecs";
	uint64_t slots[SOFTIRQS_SLOTS];
	struct hist_label label = { "softirq", r->name };

	if (conf.distributions) {
		for (int i = 0; i < SOFTIRQS_SLOTS; i++)
			slots[i] = r->v.slots[i];
		hist_print_log2(&s->out, conf.in_ns ? "nsecs" : "usecs",
				slots, SOFTIRQS_SLOTS, &label, ts);
		return;
	}
	out_begin(&s->out, "softirq", ts);
	out_str(&s->out, COL_NAME, "softirq", r->name);
	out_uint(&s->out, OUT_JSON_ONLY, "vec", r->vec);
	out_uint(&s->out, COL_TOTAL, key, r->total);
	out_end(&s->out);
}

/* Prints every vector that ran, busiest first, and zeroes them. */
static int print_irqs(struct session *s)
{
	static const struct softirqs_value zero;
	struct row rows[NR_VECTORS];
	unsigned long long ts;
	int n = 0;

	ts = out_now_ns();
	for (__u32 vec = 0; vec < NR_VECTORS; vec++) {
		struct row *r = &rows[n];

		if (bpf_map_lookup_elem(irqs_fd, &vec, &r->v) ||
		    !r->v.count)
			continue;
		bpf_map_update_elem(irqs_fd, &vec, &zero, BPF_ANY);
		r->vec = vec;
		if (vec < sizeof(vec_names) / sizeof(vec_names[0]))
			snprintf(r->name, sizeof(r->name), "%s",
				 vec_names[vec]);
		else
			snprintf(r->name, sizeof(r->name), "vec%u", vec);
		n++;
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

static int softirqs_run(struct session *s)
{
	struct softirqs_bpf *skel;
	int err;

	skel = softirqs_bpf__open();
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
		irqs_fd = bpf_map__fd(skel->maps.vectors);
		err = session_loop(s);
	}
	session_stop(s);
	softirqs_bpf__destroy(skel);
	return err;
}

enum { OPT_COUNT, OPT_DIST, OPT_NS };

static const struct tool_opt softirqs_opts[] = {
	[OPT_COUNT] = { "count", 'C', NULL, "count interrupts instead of timing them" },
	/* -d as in BCC; the duration stays reachable as --duration. */
	[OPT_DIST] = { "dist", 'D', NULL, "a time histogram per softirq vector" },
	[OPT_NS] = { "nanoseconds", 'N', NULL, "time in nanoseconds" },
	{ NULL },
};

static int softirqs_parse_opt(int index, const char *arg)
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

static const struct hook_probe softirqs_probes[] = {
	{ "softirq", {
		{ { "entry_btf", "exit_btf" } },
		{ { "entry_raw", "exit_raw" } },
		{ { "entry_tp", "exit_tp" } },
	} },
	{ NULL },
};

static const void *softirqs_elf(size_t *size)
{
	return softirqs_bpf__elf_bytes(size);
}

const struct tool softirqs_tool = {
	.name = "softirqs",
	.summary = "Summarize softirq handler time (or counts) per vector",
	.examples =
		"  loupe softirqs               # time per vector until Ctrl-C\n"
		"  loupe softirqs -C -i 1 -T    # counts every second, with time\n"
		"  loupe softirqs -d --duration 10  # histograms for 10 s\n",
	.common = OPT_DURATION | OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP,
	.opts = softirqs_opts,
	.parse_opt = softirqs_parse_opt,
	.probes = softirqs_probes,
	.elf_bytes = softirqs_elf,
	.run = softirqs_run,
};

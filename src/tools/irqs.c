/*
 * hardirqs and softirqs: time spent in hard interrupt handlers per handler
 * name, or in softirq handlers per vector (or, with -C, their counts), as
 * a table or histograms, at each interval or at the end. Two tools, two
 * BPF objects, one user side: only reading the map differs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "irqs.h"
#include "hardirqs.skel.h"
#include "softirqs.skel.h"
#include "hist.h"
#include "knames.h"
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
	[COL_NAME] = { NULL, 0 },	/* the kind's */
	[COL_TOTAL] = { "TOTAL_usecs", 11 },
	{ NULL },
};

struct row {
	struct hardirqs_key key;	/* or the softirq vector's name */
	__u32 vec;
	struct irqs_value v;
	__u64 total;		/* what is shown: count, usecs or nsecs */
};

struct irqs_kind {
	const char *type;	/* the record type and the name's JSON key */
	struct out_col name_col;
	const char *map;	/* of irqs_value */
	/* Fills rows from the map and resets it; the number of rows. */
	int (*read)(struct row *rows, int max);
	bool by_vector;		/* rows carry a vector number */
};

static const struct irqs_kind *kind;

/* Hardirqs: every handler name met, its entry deleted once read. */
static int read_handlers(struct row *rows, int max)
{
	struct hardirqs_key *prev = NULL;
	int n = 0;

	while (n < max &&
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
	}
	return n;
}

/* Softirqs: every vector that ran, zeroed once read. */
static int read_vectors(struct row *rows, int max)
{
	static const struct irqs_value zero;
	int n = 0;

	for (__u32 vec = 0; vec < SOFTIRQS_VECTORS && n < max; vec++) {
		struct row *r = &rows[n];

		if (bpf_map_lookup_elem(irqs_fd, &vec, &r->v) ||
		    !r->v.count)
			continue;
		bpf_map_update_elem(irqs_fd, &vec, &zero, BPF_ANY);
		r->vec = vec;
		if (knames_softirq(vec))
			snprintf(r->key.name, sizeof(r->key.name), "%s",
				 knames_softirq(vec));
		else
			snprintf(r->key.name, sizeof(r->key.name), "vec%u",
				 vec);
		n++;
	}
	return n;
}

static const struct irqs_kind hardirq_kind = {
	.type = "hardirq",
	.name_col = { "HARDIRQ", -26 },
	.map = "irqs",
	.read = read_handlers,
};

static const struct irqs_kind softirq_kind = {
	.type = "softirq",
	.name_col = { "SOFTIRQ", -16 },
	.map = "vectors",
	.read = read_vectors,
	.by_vector = true,
};

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	if (kind->by_vector)
		return x->vec < y->vec ? -1 : x->vec > y->vec;
	return strcmp(x->key.name, y->key.name);
}

static void print_row(struct session *s, const struct row *r,
		      unsigned long long ts)
{
	const char *key = conf.count_only ? "count" :
			  conf.in_ns ? "total_nsecs" : "total_usecs";
	uint64_t slots[IRQS_SLOTS];
	struct hist_label label = { kind->type, r->key.name };

	if (conf.distributions) {
		for (int i = 0; i < IRQS_SLOTS; i++)
			slots[i] = r->v.slots[i];
		hist_print_log2(&s->out, conf.in_ns ? "nsecs" : "usecs",
				slots, IRQS_SLOTS, &label, ts);
		return;
	}
	out_begin(&s->out, kind->type, ts);
	out_str(&s->out, COL_NAME, kind->type, r->key.name);
	if (kind->by_vector)
		out_uint(&s->out, OUT_JSON_ONLY, "vec", r->vec);
	out_uint(&s->out, COL_TOTAL, key, r->total);
	out_end(&s->out);
}

/* Prints every handler or vector that ran, busiest first. */
static int print_irqs(struct session *s)
{
	static struct row rows[MAX_ROWS];
	unsigned long long ts = out_now_ns();
	int n;

	n = kind->read(rows, MAX_ROWS);
	for (int i = 0; i < n; i++) {
		struct row *r = &rows[i];

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

static void irqs_prepare(const struct irqs_kind *k)
{
	kind = k;
	columns[COL_NAME] = k->name_col;
	if (conf.count_only)
		columns[COL_TOTAL].header = "TOTAL_count";
	else if (conf.in_ns)
		columns[COL_TOTAL].header = "TOTAL_nsecs";
}

static int hardirqs_prepare(struct session *s, void *p)
{
	struct hardirqs_bpf *skel = p;

	(void)s;
	skel->rodata->count_only = conf.count_only;
	skel->rodata->distributions = conf.distributions;
	skel->rodata->in_ns = conf.in_ns;
	irqs_prepare(&hardirq_kind);
	return 0;
}

static int softirqs_prepare(struct session *s, void *p)
{
	struct softirqs_bpf *skel = p;

	(void)s;
	skel->rodata->count_only = conf.count_only;
	skel->rodata->distributions = conf.distributions;
	skel->rodata->in_ns = conf.in_ns;
	irqs_prepare(&softirq_kind);
	return 0;
}

static int irqs_attached(struct session *s, void *skel)
{
	(void)skel;
	irqs_fd = bpf_map__fd(bpf_object__find_map_by_name(s->obj,
							   kind->map));
	return 0;
}

enum { OPT_COUNT, OPT_DIST, OPT_NS };

static const struct tool_opt hardirqs_opts[] = {
	[OPT_COUNT] = { "count", 'C', NULL, "count interrupts instead of timing them" },
	/* -d as in BCC; the duration stays reachable as --duration. */
	[OPT_DIST] = { "dist", 'D', NULL, "a time histogram per interrupt name" },
	[OPT_NS] = { "nanoseconds", 'N', NULL, "time in nanoseconds" },
	{ NULL },
};

static const struct tool_opt softirqs_opts[] = {
	[OPT_COUNT] = { "count", 'C', NULL, "count interrupts instead of timing them" },
	[OPT_DIST] = { "dist", 'D', NULL, "a time histogram per softirq vector" },
	[OPT_NS] = { "nanoseconds", 'N', NULL, "time in nanoseconds" },
	{ NULL },
};

static int irqs_parse_opt(int index, const char *arg)
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

/* Both objects name their programs alike. */
#define IRQS_CANDIDATES {					\
		{ { "entry_btf", "exit_btf" } },		\
		{ { "entry_raw", "exit_raw" } },		\
		{ { "entry_tp", "exit_tp" } },			\
	}

static const struct hook_probe hardirqs_probes[] = {
	{ "irq handler", IRQS_CANDIDATES },
	{ NULL },
};

static const struct hook_probe softirqs_probes[] = {
	{ "softirq", IRQS_CANDIDATES },
	{ NULL },
};

TOOL_SKEL(hardirqs);
TOOL_SKEL(softirqs);

static const struct tool hardirqs_tool = {
	.name = "hardirqs",
	.summary = "Summarize hard interrupt handler time (or counts) per interrupt",
	.examples =
		"  loupe hardirqs               # time per interrupt until Ctrl-C\n"
		"  loupe hardirqs -C -i 1 -T    # counts every second, with time\n"
		"  loupe hardirqs -d --duration 10  # histograms for 10 s\n",
	.common = OPT_DURATION | OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP,
	.opts = hardirqs_opts,
	.parse_opt = irqs_parse_opt,
	.probes = hardirqs_probes,
	.skel = &hardirqs_skel,
	.columns = columns,
	.header_per_interval = true,
	.on_interval = print_irqs,
	.prepare = hardirqs_prepare,
	.attached = irqs_attached,
};
TOOL_REGISTER(hardirqs_tool);

static const struct tool softirqs_tool = {
	.name = "softirqs",
	.summary = "Summarize softirq handler time (or counts) per vector",
	.examples =
		"  loupe softirqs               # time per vector until Ctrl-C\n"
		"  loupe softirqs -C -i 1 -T    # counts every second, with time\n"
		"  loupe softirqs -d --duration 10  # histograms for 10 s\n",
	.common = OPT_DURATION | OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP,
	.opts = softirqs_opts,
	.parse_opt = irqs_parse_opt,
	.probes = softirqs_probes,
	.skel = &softirqs_skel,
	.columns = columns,
	.header_per_interval = true,
	.on_interval = print_irqs,
	.prepare = softirqs_prepare,
	.attached = irqs_attached,
};
TOOL_REGISTER(softirqs_tool);

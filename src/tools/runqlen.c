/*
 * runqlen: run-queue length sampled 99 times a second on every CPU, as a
 * linear histogram (overall or per CPU), or as run-queue occupancy: the
 * share of samples where some task was waiting.
 */
#include <stdlib.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "hist.h"
#include "runqlen.h"
#include "runqlen.skel.h"
#include "session.h"

static struct {
	bool per_cpu;
	bool occupancy;
} conf;

static int hists_fd = -1;

static void print_occupancy(struct session *s, const uint64_t *slots,
			    int cpu, unsigned long long ts)
{
	struct out *o = &s->out;
	uint64_t samples = 0, queued = 0;
	double pct;

	for (int i = 0; i < RUNQLEN_SLOTS; i++) {
		samples += slots[i];
		if (i)
			queued += slots[i];
	}
	pct = samples ? 100.0 * queued / samples : 0;
	if (o->json) {
		out_record_begin(o);
		out_str(o, OUT_JSON_ONLY, "type", "runqocc");
		out_uint(o, OUT_JSON_ONLY, "ts_ns", ts);
		if (cpu >= 0)
			out_int(o, OUT_JSON_ONLY, "cpu", cpu);
		out_uint(o, OUT_JSON_ONLY, "samples", samples);
		out_uint(o, OUT_JSON_ONLY, "queued", queued);
		out_double(o, OUT_JSON_ONLY, "occupancy_pct", pct, 2);
		out_record_end(o);
	} else if (cpu >= 0) {
		out_line(o, "runqocc, CPU %-3d %6.2f%%", cpu, pct);
	} else {
		out_line(o, "runqocc: %0.2f%%", pct);
	}
}

static void print_one(struct session *s, const uint64_t *slots, int cpu,
		      unsigned long long ts)
{
	char value[16];
	struct hist_label label = { "cpu", value };

	if (conf.occupancy) {
		print_occupancy(s, slots, cpu, ts);
		return;
	}
	snprintf(value, sizeof(value), "%d", cpu);
	hist_print_linear(&s->out, "runqlen", slots, RUNQLEN_SLOTS, 0, 1,
			  cpu >= 0 ? &label : NULL, ts);
}

/* Prints the histograms (summed unless -C) and zeroes them. */
static int print_hists(struct session *s)
{
	int ncpus = libbpf_num_possible_cpus();
	uint64_t total[RUNQLEN_SLOTS] = { 0 };
	struct runqlen_hist *vals, *zero;
	unsigned long long ts;
	__u32 key = 0;

	if (ncpus <= 0)
		return -1;
	vals = calloc(ncpus, sizeof(*vals));
	zero = calloc(ncpus, sizeof(*zero));
	if (!vals || !zero)
		goto out;
	if (bpf_map_lookup_elem(hists_fd, &key, vals))
		goto out;
	bpf_map_update_elem(hists_fd, &key, zero, BPF_ANY);
	ts = out_now_ns();
	out_interval(&s->out, ts);
	for (int cpu = 0; cpu < ncpus; cpu++) {
		uint64_t slots[RUNQLEN_SLOTS], sum = 0;

		for (int i = 0; i < RUNQLEN_SLOTS; i++) {
			slots[i] = vals[cpu].slots[i];
			total[i] += slots[i];
			sum += slots[i];
		}
		/* Offline or absent CPUs took no samples. */
		if (conf.per_cpu && sum)
			print_one(s, slots, cpu, ts);
	}
	if (!conf.per_cpu)
		print_one(s, total, -1, ts);
out:
	free(vals);
	free(zero);
	return out_flush(&s->out);
}

static int runqlen_attached(struct session *s, void *p)
{
	struct runqlen_bpf *skel = p;

	hists_fd = bpf_map__fd(skel->maps.hists);
	return session_attach_cpu_clock(s, skel->progs.sample, RUNQLEN_FREQ,
					-1);
}

enum { OPT_CPUS, OPT_OCCUPANCY };

static const struct tool_opt runqlen_opts[] = {
	[OPT_CPUS] = { "cpus", 'C', NULL, "one histogram per CPU" },
	[OPT_OCCUPANCY] = { "runqocc", 'O', NULL,
			    "run-queue occupancy: % of samples with a task waiting" },
	{ NULL },
};

static int runqlen_parse_opt(int index, const char *arg)
{
	(void)arg;
	if (index == OPT_CPUS)
		conf.per_cpu = true;
	else
		conf.occupancy = true;
	return 0;
}

static const struct hook_probe runqlen_probes[] = {
	{ "sampling", {
		{ { "sample" } },
	} },
	{ NULL },
};

TOOL_SKEL(runqlen);

static const struct tool runqlen_tool = {
	.name = "runqlen",
	.summary = "Summarize run-queue length, sampled at 99 Hz on every CPU",
	.examples =
		"  loupe runqlen                # histogram until Ctrl-C\n"
		"  loupe runqlen -C -i 1 -T     # per CPU, every second, with time\n"
		"  loupe runqlen -O -d 10 -j    # occupancy over 10 s, as JSON\n",
	.common = OPT_DURATION | OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP,
	.opts = runqlen_opts,
	.parse_opt = runqlen_parse_opt,
	.probes = runqlen_probes,
	.skel = &runqlen_skel,
	.on_interval = print_hists,
	.attached = runqlen_attached,
};
TOOL_REGISTER(runqlen_tool);

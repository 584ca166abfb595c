/*
 * bitesize: block request sizes as a log2 histogram of Kbytes per process
 * name, printed at each interval.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bitesize.h"
#include "bitesize.skel.h"
#include "disk.h"
#include "hist.h"
#include "log.h"
#include "session.h"

#define MAX_HISTS	4096

static __u32 target_dev;

struct bitesize_entry {
	struct bitesize_key key;
	struct bitesize_hist hist;
};

static int compare_entries(const void *a, const void *b)
{
	return strncmp(((const struct bitesize_entry *)a)->key.comm,
		       ((const struct bitesize_entry *)b)->key.comm,
		       TASK_COMM_LEN);
}

/* Take every histogram out of the map: each interval starts from zero. */
static int take_hists(int fd, struct bitesize_entry *out, int max)
{
	struct bitesize_key key;
	int n = 0;

	while (n < max && !bpf_map_get_next_key(fd, NULL, &key)) {
		if (bpf_map_lookup_and_delete_elem(fd, &key, &out[n].hist)) {
			if (bpf_map_lookup_elem(fd, &key, &out[n].hist))
				break;
			bpf_map_delete_elem(fd, &key);
		}
		out[n++].key = key;
	}
	return n;
}

static int print_hists(struct session *s)
{
	struct bitesize_bpf *skel = s->tool_state;
	struct bitesize_entry *e;
	uint64_t slots[BITESIZE_SLOTS];
	unsigned long long ts;
	int n;

	e = calloc(MAX_HISTS, sizeof(*e));
	if (!e)
		return -1;
	ts = out_now_ns();
	n = take_hists(bpf_map__fd(skel->maps.hists), e, MAX_HISTS);
	qsort(e, n, sizeof(*e), compare_entries);
	if (s->opts.timestamp)
		out_interval(&s->out, ts);
	for (int i = 0; i < n; i++) {
		char comm[TASK_COMM_LEN + 1] = { 0 };
		struct hist_label label = { "comm", comm };

		memcpy(comm, e[i].key.comm, TASK_COMM_LEN);
		for (int j = 0; j < BITESIZE_SLOTS; j++)
			slots[j] = e[i].hist.slots[j];
		/* BCC's caption in tables; a snake_case key in JSON. */
		out_caption(&s->out, "Process Name", comm);
		hist_print_log2(&s->out, "Kbytes", slots, BITESIZE_SLOTS,
				s->out.json ? &label : NULL, ts);
	}
	free(e);
	return out_flush(&s->out);
}

static int no_events(struct session *s, const void *data, size_t size)
{
	(void)s;
	(void)data;
	(void)size;
	return 0;
}

static int bitesize_prepare(struct session *s, void *p)
{
	struct bitesize_bpf *skel = p;

	s->tool_state = skel;
	skel->rodata->target_dev = target_dev;
	s->on_interval = print_hists;
	return 0;
}

static const struct tool_opt bitesize_opts[] = {
	{ "disk", 0, "NAME", "only this disk (sda, nvme0n1, loop3 or MAJOR:MINOR)" },
	{ NULL },
};

static int bitesize_parse_opt(int index, const char *arg)
{
	(void)index;
	if (disk_lookup(arg, &target_dev)) {
		log_err("no such disk '%s'", arg);
		return EXIT_USAGE;
	}
	return 0;
}

static const struct hook_probe bitesize_probes[] = {
	{ "block requests", { DISK_RQ_ISSUE_CANDIDATES } },
	{ NULL },
};

TOOL_SKEL(bitesize);

static const struct tool bitesize_tool = {
	.name = "bitesize",
	.summary = "Summarize block I/O sizes per process as histograms",
	.examples =
		"  loupe bitesize               # until Ctrl-C, one histogram per process name\n"
		"  loupe bitesize -i 5 -T       # every 5 seconds, with times\n"
		"  loupe bitesize -n postgres -j # only postgres, as JSON\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION |
		  OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP,
	.opts = bitesize_opts,
	.parse_opt = bitesize_parse_opt,
	.probes = bitesize_probes,
	.skel = &bitesize_skel,
	.on_event = no_events,
	.prepare = bitesize_prepare,
};
TOOL_REGISTER(bitesize_tool);

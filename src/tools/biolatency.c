/*
 * biolatency: block I/O latency as a log2 histogram, for all disks, per
 * disk (-D) or per kind of request (-F), printed at each interval.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "biolatency.h"
#include "biolatency.skel.h"
#include "disk.h"
#include "hist.h"
#include "log.h"
#include "session.h"

#define MAX_HISTS	1024

static bool queued, per_disk, per_flags, millis;
static __u32 target_dev;

struct biolat_entry {
	struct biolat_key key;
	struct biolat_hist hist;
};

static int compare_entries(const void *a, const void *b)
{
	const struct biolat_key *x = &((const struct biolat_entry *)a)->key;
	const struct biolat_key *y = &((const struct biolat_entry *)b)->key;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return strncmp(x->rwbs, y->rwbs, sizeof(x->rwbs));
}

/* Take every histogram out of the map: each interval starts from zero. */
static int take_hists(int fd, struct biolat_entry *out, int max)
{
	struct biolat_key key, next;
	void *prev = NULL;
	int n = 0;

	while (n < max && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		if (bpf_map_lookup_and_delete_elem(fd, &key, &out[n].hist)) {
			if (bpf_map_lookup_elem(fd, &key, &out[n].hist))
				continue;
			bpf_map_delete_elem(fd, &key);
		}
		out[n++].key = key;
		/* The key is gone: restart from the first one left. */
		prev = NULL;
	}
	return n;
}

static int print_hists(struct session *s)
{
	struct biolatency_bpf *skel = s->tool_state;
	const char *unit = millis ? "msecs" : "usecs";
	unsigned long long ts = out_now_ns();
	struct biolat_entry *e;
	uint64_t slots[BIOLAT_SLOTS];
	char flags[64];
	int n;

	e = calloc(MAX_HISTS, sizeof(*e));
	if (!e)
		return -1;
	n = take_hists(bpf_map__fd(skel->maps.hists), e, MAX_HISTS);
	qsort(e, n, sizeof(*e), compare_entries);
	if (s->opts.timestamp)
		out_interval(&s->out, ts);
	if (!n && !per_disk && !per_flags)
		n = 1;	/* an empty histogram still says "nothing" */
	for (int i = 0; i < n; i++) {
		struct hist_label label = { NULL, NULL };

		for (int j = 0; j < BIOLAT_SLOTS; j++)
			slots[j] = e[i].hist.slots[j];
		if (per_disk) {
			label.key = "disk";
			label.value = disk_name(e[i].key.dev);
		} else if (per_flags) {
			char rwbs[DISK_RWBS_LEN + 1] = { 0 };

			memcpy(rwbs, e[i].key.rwbs, DISK_RWBS_LEN);
			disk_flags_name(rwbs, flags, sizeof(flags));
			label.key = "flags";
			label.value = flags;
		}
		hist_print_log2(&s->out, unit, slots, BIOLAT_SLOTS,
				label.key ? &label : NULL, ts);
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

static int biolatency_prepare(struct session *s, void *p)
{
	struct biolatency_bpf *skel = p;

	s->tool_state = skel;
	skel->rodata->queued = queued;
	skel->rodata->per_disk = per_disk;
	skel->rodata->per_flags = per_flags;
	skel->rodata->millis = millis;
	skel->rodata->target_dev = target_dev;
	s->on_interval = print_hists;
	return 0;
}

static const struct tool_opt biolatency_opts[] = {
	{ "milliseconds", 'm', NULL, "histogram in milliseconds" },
	{ "disks", 'D', NULL, "one histogram per disk" },
	{ "flags", 'F', NULL, "one histogram per kind of request (Sync-Write, ReadAhead-Read, ...)" },
	{ "queued", 'Q', NULL, "include the time queued in the OS (from request creation)" },
	{ "disk", 0, "NAME", "only this disk (sda, nvme0n1, loop3 or MAJOR:MINOR)" },
	{ NULL },
};

static int biolatency_parse_opt(int index, const char *arg)
{
	switch (index) {
	case 0:
		millis = true;
		break;
	case 1:
		per_disk = true;
		break;
	case 2:
		per_flags = true;
		break;
	case 3:
		queued = true;
		break;
	case 4:
		if (disk_lookup(arg, &target_dev)) {
			log_err("no such disk '%s'", arg);
			return EXIT_USAGE;
		}
		break;
	}
	if (per_disk && per_flags) {
		log_err("-D and -F cannot be combined");
		return EXIT_USAGE;
	}
	return 0;
}

static const struct hook_probe biolatency_probes[] = {
	{ "block requests", { DISK_RQ_CANDIDATES } },
	{ NULL },
};

TOOL_SKEL(biolatency);

static const struct tool biolatency_tool = {
	.name = "biolatency",
	.summary = "Summarize block I/O latency as a histogram",
	.examples =
		"  loupe biolatency             # until Ctrl-C, then one histogram\n"
		"  loupe biolatency -D -i 1 -T  # per disk, every second, with times\n"
		"  loupe biolatency -mQ -d 10   # milliseconds incl. OS queueing, 10 s\n"
		"  loupe biolatency -F -j       # per request kind, as JSON\n",
	.common = OPT_DURATION | OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP,
	.opts = biolatency_opts,
	.parse_opt = biolatency_parse_opt,
	.probes = biolatency_probes,
	.skel = &biolatency_skel,
	.on_event = no_events,
	.prepare = biolatency_prepare,
};
TOOL_REGISTER(biolatency_tool);

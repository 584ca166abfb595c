/*
 * bitesize, kernel side: request sizes in Kbytes, a log2 histogram per
 * process name. The name is taken when the request is created
 * (block_io_start, in the submitting task); the size when it is issued,
 * after any merges. Issue alone would credit kworkers and loop threads.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "disk.bpf.h"
#include "bitesize.h"

const volatile __u32 target_dev = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct disk_rq_key);
	__type(value, struct bitesize_key);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct bitesize_key);
	__type(value, struct bitesize_hist);
} hists SEC(".maps");

static const struct bitesize_hist zero_hist;

static __always_inline int size_start(struct disk_rq_key k,
				      struct disk_io *io, int unused)
{
	struct bitesize_key who = {};

	if (!disk_filter_ok(target_dev, io->dev) || !filter_current_ok())
		return 0;
	bpf_get_current_comm(who.comm, sizeof(who.comm));
	bpf_map_update_elem(&starts, &k, &who, BPF_NOEXIST);
	return 0;
}

static __always_inline int size_issue(struct disk_rq_key k,
				      struct disk_io *io, int unused)
{
	struct bitesize_key who = {}, *started;
	struct bitesize_hist *h;
	__u32 slot;

	if (!disk_filter_ok(target_dev, io->dev))
		return 0;
	started = bpf_map_lookup_elem(&starts, &k);
	if (started) {
		who = *started;
		bpf_map_delete_elem(&starts, &k);
	} else {
		/* Created before we attached: the issuer is all we have. */
		if (!filter_current_ok())
			return 0;
		bpf_get_current_comm(who.comm, sizeof(who.comm));
	}
	h = bpf_map_lookup_elem(&hists, &who);
	if (!h) {
		bpf_map_update_elem(&hists, &who, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &who);
		if (!h)
			return 0;
	}
	slot = hist_slot(io->bytes / 1024);
	if (slot >= BITESIZE_SLOTS)
		slot = BITESIZE_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	return 0;
}

DISK_RQ_START_PROGRAMS(size_start)
DISK_RQ_ISSUE_PROGRAMS(size_issue)

/*
 * biolatency, kernel side: a log2 histogram of block request latency,
 * from issue (or, with -Q, from request creation) to completion, kept in
 * a hash of histograms keyed by disk and/or request flags.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "disk.bpf.h"
#include "biolatency.h"

const volatile bool queued = false;
const volatile bool per_disk = false;
const volatile bool per_flags = false;
const volatile bool millis = false;
const volatile __u32 target_dev = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct disk_rq_key);
	__type(value, __u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct biolat_key);
	__type(value, struct biolat_hist);
} hists SEC(".maps");

/* A new histogram starts from this (too big for the BPF stack). */
static const struct biolat_hist zero_hist;

static __always_inline int lat_start(struct disk_rq_key k,
				     struct disk_io *io, int unused)
{
	__u64 now;

	if (!queued || !disk_filter_ok(target_dev, io->dev))
		return 0;
	now = bpf_ktime_get_ns();
	/* io_start comes before insert: keep the earlier time. */
	bpf_map_update_elem(&starts, &k, &now, BPF_NOEXIST);
	return 0;
}

static __always_inline int lat_issue(struct disk_rq_key k,
				     struct disk_io *io, int unused)
{
	__u64 now;

	if (!disk_filter_ok(target_dev, io->dev))
		return 0;
	now = bpf_ktime_get_ns();
	/* With -Q the clock started at creation; else it starts now. */
	bpf_map_update_elem(&starts, &k, &now, queued ? BPF_NOEXIST : BPF_ANY);
	return 0;
}

static __always_inline int lat_done(struct disk_rq_key k,
				    struct disk_io *io, int error)
{
	struct biolat_key hk = {};
	struct biolat_hist *h;
	__u64 *start, delta;
	__u32 slot;

	start = bpf_map_lookup_elem(&starts, &k);
	if (!start)
		return 0;
	delta = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&starts, &k);
	if ((__s64)delta < 0)
		return 0;
	delta /= millis ? 1000000 : 1000;
	if (per_disk)
		hk.dev = io->dev;
	if (per_flags)
		__builtin_memcpy(hk.rwbs, io->rwbs, sizeof(hk.rwbs));
	h = bpf_map_lookup_elem(&hists, &hk);
	if (!h) {
		bpf_map_update_elem(&hists, &hk, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &hk);
		if (!h)
			return 0;
	}
	slot = hist_slot(delta);
	if (slot >= BIOLAT_SLOTS)
		slot = BIOLAT_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	return 0;
}

DISK_RQ_PROGRAMS(lat_start, lat_issue, lat_done)

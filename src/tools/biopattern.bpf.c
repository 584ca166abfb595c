/*
 * biopattern, kernel side: at each completed request, whether it starts
 * where the previous request on the same disk ended (sequential) or not
 * (random). The first request seen on a disk only sets the position.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "disk.bpf.h"
#include "biopattern.h"

const volatile __u32 target_dev = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct biopattern_counts);
} counts SEC(".maps");

static __always_inline int pattern_done(struct disk_rq_key k,
					struct disk_io *io, int error)
{
	struct biopattern_counts *c, fresh = {};
	__u32 dev = io->dev;

	if (!dev || !io->bytes || !disk_filter_ok(target_dev, dev))
		return 0;
	c = bpf_map_lookup_elem(&counts, &dev);
	if (!c) {
		fresh.next_sector = io->sector + (io->bytes >> 9);
		bpf_map_update_elem(&counts, &dev, &fresh, BPF_NOEXIST);
		return 0;
	}
	if (c->next_sector == io->sector)
		__sync_fetch_and_add(&c->sequential, 1);
	else
		__sync_fetch_and_add(&c->random, 1);
	__sync_fetch_and_add(&c->bytes, io->bytes);
	c->next_sector = io->sector + (io->bytes >> 9);
	return 0;
}

DISK_RQ_DONE_PROGRAMS(pattern_done)

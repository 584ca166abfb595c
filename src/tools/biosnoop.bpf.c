/*
 * biosnoop, kernel side. The task is recorded when the request is created
 * (block_io_start runs in the submitting task; block_rq_insert on older
 * kernels), because issue and completion often run in a kworker, a loop
 * thread or an interrupt. The event is sent at completion.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "disk.bpf.h"
#include "biosnoop.h"

const volatile __u32 target_dev = 0;

struct bio_start {
	struct event_hdr hdr;
	__u64 start_ns;
	__u64 issue_ns;
	struct disk_io io;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct disk_rq_key);
	__type(value, struct bio_start);
} starts SEC(".maps");

static __always_inline int bio_start(struct disk_rq_key k,
				     struct disk_io *io, int unused)
{
	struct bio_start s = {};

	if (!disk_filter_ok(target_dev, io->dev) || !filter_current_ok())
		return 0;
	/* io_start comes before insert: keep the earlier record. */
	if (bpf_map_lookup_elem(&starts, &k))
		return 0;
	event_fill_hdr(&s.hdr);
	s.start_ns = s.hdr.ts_ns;
	s.io = *io;
	bpf_map_update_elem(&starts, &k, &s, BPF_NOEXIST);
	return 0;
}

static __always_inline int bio_issue(struct disk_rq_key k,
				     struct disk_io *io, int unused)
{
	struct bio_start *s = bpf_map_lookup_elem(&starts, &k), fresh = {};

	if (!s) {
		/*
		 * Created before we attached, or no start hook here: the
		 * issuing task is the best identity left.
		 */
		if (!disk_filter_ok(target_dev, io->dev) ||
		    !filter_current_ok())
			return 0;
		event_fill_hdr(&fresh.hdr);
		fresh.issue_ns = fresh.hdr.ts_ns;
		fresh.io = *io;
		bpf_map_update_elem(&starts, &k, &fresh, BPF_ANY);
		return 0;
	}
	s->issue_ns = bpf_ktime_get_boot_ns();
	/* Bios merged since creation make the request bigger. */
	s->io = *io;
	return 0;
}

static __always_inline int bio_done(struct disk_rq_key k,
				    struct disk_io *io, int error)
{
	struct bio_start *s = bpf_map_lookup_elem(&starts, &k);
	struct bio_event *e;
	__u64 now;

	if (!s)
		return 0;
	if (!s->issue_ns)
		goto out;
	e = event_reserve(sizeof(*e));
	if (!e)
		goto out;
	now = bpf_ktime_get_boot_ns();
	e->hdr = s->hdr;
	e->hdr.ts_ns = now;
	e->io = s->io;
	e->queued_ns = s->start_ns ? s->issue_ns - s->start_ns : 0;
	e->lat_ns = now - s->issue_ns;
	e->error = error;
	e->pad = 0;
	event_submit(e);
out:
	bpf_map_delete_elem(&starts, &k);
	return 0;
}

DISK_RQ_PROGRAMS(bio_start, bio_issue, bio_done)

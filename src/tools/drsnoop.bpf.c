/*
 * drsnoop, kernel side: direct reclaim, i.e. an allocating task that had
 * to free memory itself before it could go on. Begin and end tracepoints
 * run in that task, so a per-thread start record is all that is needed.
 * With --memcg the same is done for reclaim forced by a memory cgroup's
 * limit, which on most machines with containers is the common case.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "drsnoop.h"

/*
 * The tracepoint records' types, shortened. Not typedefs: CO-RE looks a
 * relocation's root type up in the kernel by its name, and the kernel has
 * no type called reclaim_begin_rec.
 */
#define reclaim_begin_rec \
	struct trace_event_raw_mm_vmscan_direct_reclaim_begin_template
#define reclaim_end_rec \
	struct trace_event_raw_mm_vmscan_direct_reclaim_end_template

const volatile bool with_memcg = false;

struct reclaim_start {
	__u64 ts_ns;
	__u64 gfp_flags;
	__s32 order;
	__u32 memcg;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct reclaim_start);
} starts SEC(".maps");

static __always_inline int reclaim_begin(int order, __u64 gfp, __u32 memcg)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct reclaim_start s = {
		.gfp_flags = gfp, .order = order, .memcg = memcg,
	};

	if (memcg && !with_memcg)
		return 0;
	if (!filter_current_ok())
		return 0;
	s.ts_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&starts, &tid, &s, BPF_ANY);
	return 0;
}

static __always_inline int reclaim_end(__u64 pages)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct reclaim_start *s = bpf_map_lookup_elem(&starts, &tid);
	struct reclaim_event *e;

	if (!s)
		return 0;
	e = event_reserve(sizeof(*e));
	if (e) {
		event_fill_hdr(&e->hdr);
		e->lat_ns = bpf_ktime_get_ns() - s->ts_ns;
		e->pages = pages;
		e->gfp_flags = s->gfp_flags;
		e->order = s->order;
		e->memcg = s->memcg;
		event_submit(e);
	}
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(begin_btf, int order, gfp_t gfp)
{
	return reclaim_begin(order, gfp, 0);
}

SEC("tp_btf/mm_vmscan_direct_reclaim_end")
int BPF_PROG(end_btf, unsigned long nr_reclaimed)
{
	return reclaim_end(nr_reclaimed);
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(memcg_begin_btf, int order, gfp_t gfp)
{
	return reclaim_begin(order, gfp, 1);
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(memcg_end_btf, unsigned long nr_reclaimed)
{
	return reclaim_end(nr_reclaimed);
}

SEC("raw_tp/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(begin_raw, int order, gfp_t gfp)
{
	return reclaim_begin(order, gfp, 0);
}

SEC("raw_tp/mm_vmscan_direct_reclaim_end")
int BPF_PROG(end_raw, unsigned long nr_reclaimed)
{
	return reclaim_end(nr_reclaimed);
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(memcg_begin_raw, int order, gfp_t gfp)
{
	return reclaim_begin(order, gfp, 1);
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(memcg_end_raw, unsigned long nr_reclaimed)
{
	return reclaim_end(nr_reclaimed);
}

SEC("tracepoint/vmscan/mm_vmscan_direct_reclaim_begin")
int begin_tp(reclaim_begin_rec *ctx)
{
	return reclaim_begin(ctx->order, ctx->gfp_flags, 0);
}

SEC("tracepoint/vmscan/mm_vmscan_direct_reclaim_end")
int end_tp(reclaim_end_rec *ctx)
{
	return reclaim_end(ctx->nr_reclaimed);
}

SEC("tracepoint/vmscan/mm_vmscan_memcg_reclaim_begin")
int memcg_begin_tp(reclaim_begin_rec *ctx)
{
	return reclaim_begin(ctx->order, ctx->gfp_flags, 1);
}

SEC("tracepoint/vmscan/mm_vmscan_memcg_reclaim_end")
int memcg_end_tp(reclaim_end_rec *ctx)
{
	return reclaim_end(ctx->nr_reclaimed);
}

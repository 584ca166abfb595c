/*
 * cachestat, kernel side: per-CPU counters from which user space derives
 * BCC's page-cache hits, misses and dirties. Misses come from the
 * mm_filemap_add_to_page_cache tracepoint and dirties from
 * writeback_dirty_folio (writeback_dirty_page before Linux 5.17). Hits need
 * the page accesses (mark_page_accessed / folio_mark_accessed), which have
 * no tracepoint: only fentry or kprobes see them, so on kernels with
 * neither that probe stays unattached and the HITS column is unknown.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "cachestat.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CACHESTAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline int add(__u32 slot, __u64 n)
{
	__u64 *v;

	if (!filter_current_ok())
		return 0;
	v = bpf_map_lookup_elem(&counters, &slot);
	if (v)
		*v += n;
	return 0;
}

SEC("fentry/folio_mark_accessed")
int BPF_PROG(accessed_fentry)
{
	return add(CACHESTAT_ACCESSED, 1);
}

SEC("fentry/mark_buffer_dirty")
int BPF_PROG(buffer_dirty_fentry)
{
	return add(CACHESTAT_BUF_DIRTIED, 1);
}

SEC("kprobe/folio_mark_accessed")
int accessed_kprobe(void *ctx)
{
	return add(CACHESTAT_ACCESSED, 1);
}

/* Before Linux 5.16 the access was counted per page. */
SEC("kprobe/mark_page_accessed")
int page_accessed_kprobe(void *ctx)
{
	return add(CACHESTAT_ACCESSED, 1);
}

SEC("kprobe/mark_buffer_dirty")
int buffer_dirty_kprobe(void *ctx)
{
	return add(CACHESTAT_BUF_DIRTIED, 1);
}

SEC("tracepoint/filemap/mm_filemap_add_to_page_cache")
int added_tp(struct trace_event_raw_mm_filemap_op_page_cache *ctx)
{
	__u64 pages = 1;

	/* A large folio covers 2^order pages (the field is from 6.x). */
	if (bpf_core_field_exists(ctx->order))
		pages <<= BPF_CORE_READ(ctx, order) & 31;
	return add(CACHESTAT_ADDED, pages);
}

SEC("tracepoint/writeback/writeback_dirty_folio")
int dirtied_tp(void *ctx)
{
	return add(CACHESTAT_DIRTIED, 1);
}

SEC("tracepoint/writeback/writeback_dirty_page")
int dirtied_page_tp(void *ctx)
{
	return add(CACHESTAT_DIRTIED, 1);
}

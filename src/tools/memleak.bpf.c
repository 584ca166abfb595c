/*
 * memleak, kernel side: every allocation that is not yet freed, with the
 * stack that made it. User space (-p): uprobes on libc's allocator; the
 * size is stashed per thread at entry and the block recorded at return,
 * where the user stack (frame pointers) starts in the caller. Kernel
 * (no -p): the kmem tracepoints, which fire after the allocation.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "memleak.h"

const volatile __u64 min_size = 0;
const volatile __u64 max_size = ~0ULL;
const volatile __u64 page_size = 4096;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} sizes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} memptrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 18);
	__type(key, __u64);
	__type(value, struct alloc_info);
} allocs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MEMLEAK_STACK_DEPTH * sizeof(__u64));
} stack_traces SEC(".maps");

static __always_inline bool size_ok(__u64 size)
{
	return size >= min_size && size <= max_size;
}

static __always_inline void record(void *ctx, __u64 addr, __u64 size,
				   __u64 stack_flags)
{
	struct alloc_info info = {
		.size = size,
		.ts_ns = bpf_ktime_get_ns(),
	};

	info.stack_id = bpf_get_stackid(ctx, &stack_traces, stack_flags);
	bpf_map_update_elem(&allocs, &addr, &info, BPF_ANY);
}

/* --- user space: libc's allocator ----------------------------------- */

static __always_inline int alloc_enter(__u64 size)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!filter_current_ok() || !size_ok(size))
		return 0;
	bpf_map_update_elem(&sizes, &tid, &size, BPF_ANY);
	return 0;
}

static __always_inline int alloc_exit(void *ctx, __u64 addr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *size = bpf_map_lookup_elem(&sizes, &tid);
	__u64 sz;

	if (!size)
		return 0;
	sz = *size;
	bpf_map_delete_elem(&sizes, &tid);
	if (addr)
		record(ctx, addr, sz, BPF_F_USER_STACK);
	return 0;
}

static __always_inline int free_enter(__u64 addr)
{
	bpf_map_delete_elem(&allocs, &addr);
	return 0;
}

SEC("uprobe/libc.so.6:malloc")
int BPF_KPROBE(malloc_enter, size_t size)
{
	return alloc_enter(size);
}

SEC("uretprobe/libc.so.6:malloc")
int BPF_KRETPROBE(malloc_exit, void *ret)
{
	return alloc_exit(ctx, (__u64)ret);
}

SEC("uprobe/libc.so.6:calloc")
int BPF_KPROBE(calloc_enter, size_t nmemb, size_t size)
{
	return alloc_enter(nmemb * size);
}

SEC("uretprobe/libc.so.6:calloc")
int BPF_KRETPROBE(calloc_exit, void *ret)
{
	return alloc_exit(ctx, (__u64)ret);
}

SEC("uprobe/libc.so.6:realloc")
int BPF_KPROBE(realloc_enter, void *ptr, size_t size)
{
	free_enter((__u64)ptr);
	return alloc_enter(size);
}

SEC("uretprobe/libc.so.6:realloc")
int BPF_KRETPROBE(realloc_exit, void *ret)
{
	return alloc_exit(ctx, (__u64)ret);
}

SEC("uprobe/libc.so.6:free")
int BPF_KPROBE(free_uprobe, void *ptr)
{
	return free_enter((__u64)ptr);
}

SEC("uprobe/libc.so.6:posix_memalign")
int BPF_KPROBE(posix_memalign_enter, void **memptr, size_t align,
	       size_t size)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 where = (__u64)memptr;

	if (!filter_current_ok() || !size_ok(size))
		return 0;
	bpf_map_update_elem(&memptrs, &tid, &where, BPF_ANY);
	return alloc_enter(size);
}

SEC("uretprobe/libc.so.6:posix_memalign")
int BPF_KRETPROBE(posix_memalign_exit, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *where = bpf_map_lookup_elem(&memptrs, &tid), addr = 0;

	if (!where)
		return 0;
	/* The block is returned through *memptr, on success only. */
	if (ret == 0)
		bpf_probe_read_user(&addr, sizeof(addr), (void *)*where);
	bpf_map_delete_elem(&memptrs, &tid);
	return alloc_exit(ctx, addr);
}

SEC("uprobe/libc.so.6:aligned_alloc")
int BPF_KPROBE(aligned_alloc_enter, size_t align, size_t size)
{
	return alloc_enter(size);
}

SEC("uretprobe/libc.so.6:aligned_alloc")
int BPF_KRETPROBE(aligned_alloc_exit, void *ret)
{
	return alloc_exit(ctx, (__u64)ret);
}

/* --- kernel: kmem tracepoints ---------------------------------------- */

static __always_inline int kernel_alloc(void *ctx, __u64 addr, __u64 size)
{
	if (addr && size_ok(size))
		record(ctx, addr, size, 0);
	return 0;
}

SEC("tracepoint/kmem/kmalloc")
int kmalloc_tp(struct trace_event_raw_kmalloc *ctx)
{
	return kernel_alloc(ctx, (__u64)ctx->ptr, ctx->bytes_alloc);
}

SEC("tracepoint/kmem/kmem_cache_alloc")
int kmem_cache_alloc_tp(struct trace_event_raw_kmem_cache_alloc *ctx)
{
	return kernel_alloc(ctx, (__u64)ctx->ptr, ctx->bytes_alloc);
}

SEC("tracepoint/kmem/kfree")
int kfree_tp(struct trace_event_raw_kfree *ctx)
{
	return free_enter((__u64)ctx->ptr);
}

SEC("tracepoint/kmem/kmem_cache_free")
int kmem_cache_free_tp(struct trace_event_raw_kmem_cache_free *ctx)
{
	return free_enter((__u64)ctx->ptr);
}

/* Pages are keyed by pfn, which never collides with a kernel pointer. */
SEC("tracepoint/kmem/mm_page_alloc")
int mm_page_alloc_tp(struct trace_event_raw_mm_page_alloc *ctx)
{
	return kernel_alloc(ctx, ctx->pfn, page_size << ctx->order);
}

SEC("tracepoint/kmem/mm_page_free")
int mm_page_free_tp(struct trace_event_raw_mm_page_free *ctx)
{
	return free_enter(ctx->pfn);
}

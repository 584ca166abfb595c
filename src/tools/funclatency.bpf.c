/*
 * funclatency, kernel side: a uprobe at a user function's entry stamps the
 * thread, the uretprobe at its return adds the elapsed time to a log2
 * histogram. User space decides where both are attached.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "funclatency.h"

/* Nanoseconds per histogram unit: 1, 1000 or 1000000. */
const volatile __u64 unit_ns = 1000;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

__u64 hist[FUNCLAT_SLOTS] = {};
__u64 total_ns = 0;

SEC("uprobe")
int BPF_KPROBE(func_entry)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();

	if (!filter_current_ok())
		return 0;
	bpf_map_update_elem(&starts, &tid, &now, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(func_return)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *start, delta;
	__u32 slot;

	start = bpf_map_lookup_elem(&starts, &tid);
	if (!start)
		return 0;
	delta = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&starts, &tid);
	__sync_fetch_and_add(&total_ns, delta);
	slot = hist_slot(delta / unit_ns);
	if (slot >= FUNCLAT_SLOTS)
		slot = FUNCLAT_SLOTS - 1;
	__sync_fetch_and_add(&hist[slot], 1);
	return 0;
}

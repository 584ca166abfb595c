// SPDX-License-Identifier: GPL-2.0
/*
 * Floor for a snoop tool: on sys_enter_openat, reserve a ring-buffer record
 * with pid, comm and the user path, submit without wakeup. Reserve failures
 * are counted in `lost`.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "floor_snoop.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20); /* resized from user space */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int floor_snoop(struct trace_event_raw_sys_enter *ctx)
{
	struct fs_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__u32 k = 0;
		__u64 *v = bpf_map_lookup_elem(&lost, &k);

		if (v)
			__sync_fetch_and_add(v, 1);
		return 0;
	}
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->path, sizeof(e->path), (const char *)ctx->args[1]);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Floor: an empty program on syscalls/sys_enter_openat. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tracepoint/syscalls/sys_enter_openat")
int floor_empty(struct trace_event_raw_sys_enter *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

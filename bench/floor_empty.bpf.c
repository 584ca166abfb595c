// SPDX-License-Identifier: GPL-2.0
/*
 * Floors: an empty program on syscalls/sys_enter_openat (the default),
 * or on the socket layer's send and receive tracepoints (`sock`, the
 * hooks of loupe http on 6.3+).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tracepoint/syscalls/sys_enter_openat")
int floor_empty(struct trace_event_raw_sys_enter *ctx)
{
	return 0;
}

SEC("tp_btf/sock_recv_length")
int floor_sock_recv(void *ctx)
{
	return 0;
}

SEC("tp_btf/sock_send_length")
int floor_sock_send(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

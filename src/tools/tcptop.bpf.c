/*
 * tcptop, kernel side: bytes each process sent and received per TCP
 * connection, summed in a hash map that user space reads and clears every
 * interval. Cheapest where it exists: BCC's kprobes on tcp_sendmsg (bytes
 * asked to send) and tcp_cleanup_rbuf (bytes copied to the reader). Here:
 * the sock_send_length / sock_recv_length tracepoints, which fire when
 * sock_sendmsg / sock_recvmsg return (send, write, sendmsg, recv, read,
 * ...), in the caller's context and with the socket.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "netsock.bpf.h"
#include "tcptop.h"

#define TCPTOP_IPPROTO_TCP	6
#define TCPTOP_MSG_PEEK		2

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct tcptop_key);
	__type(value, struct tcptop_val);
} traffic SEC(".maps");

static __always_inline int account(struct sock *sk, long bytes, bool rx)
{
	struct tcptop_key key = {};
	struct tcptop_val *v, zero = {};
	struct netsock_tuple t;

	if (bytes <= 0 || !filter_current_ok())
		return 0;
	if (BPF_CORE_READ(sk, sk_protocol) != TCPTOP_IPPROTO_TCP)
		return 0;
	if (!netsock_tuple_read(sk, &t))
		return 0;
	__builtin_memcpy(key.saddr, t.saddr, 16);
	__builtin_memcpy(key.daddr, t.daddr, 16);
	key.pid = bpf_get_current_pid_tgid() >> 32;
	key.lport = t.sport;
	key.dport = t.dport;
	key.family = t.family;
	v = bpf_map_lookup_elem(&traffic, &key);
	if (!v) {
		bpf_get_current_comm(zero.comm, sizeof(zero.comm));
		zero.cgroup_id = bpf_get_current_cgroup_id();
		bpf_map_update_elem(&traffic, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&traffic, &key);
		if (!v)
			return 0;
	}
	if (rx)
		__sync_fetch_and_add(&v->rx_bytes, bytes);
	else
		__sync_fetch_and_add(&v->tx_bytes, bytes);
	return 0;
}

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(tcp_sendmsg_kprobe, struct sock *sk, struct msghdr *msg,
	       size_t size)
{
	return account(sk, size, false);
}

SEC("kprobe/tcp_cleanup_rbuf")
int BPF_KPROBE(tcp_cleanup_rbuf_kprobe, struct sock *sk, int copied)
{
	return account(sk, copied, true);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(send_btf, struct sock *sk, int ret, int flags)
{
	return account(sk, ret, false);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(recv_btf, struct sock *sk, int ret, int flags)
{
	if (flags & TCPTOP_MSG_PEEK)
		return 0;
	return account(sk, ret, true);
}

SEC("tracepoint/sock/sock_send_length")
int send_tp(struct trace_event_raw_sock_msg_length *ctx)
{
	if (ctx->protocol != TCPTOP_IPPROTO_TCP)
		return 0;
	return account(ctx->sk, ctx->ret, false);
}

SEC("tracepoint/sock/sock_recv_length")
int recv_tp(struct trace_event_raw_sock_msg_length *ctx)
{
	if (ctx->protocol != TCPTOP_IPPROTO_TCP ||
	    (ctx->flags & TCPTOP_MSG_PEEK))
		return 0;
	return account(ctx->sk, ctx->ret, true);
}

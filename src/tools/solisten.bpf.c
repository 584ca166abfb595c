/*
 * solisten, kernel side. listen() on IPv4/IPv6 sockets with the backlog
 * and the address and port the socket listens on. The port is read when
 * the call returns: listen() on an unbound socket picks one. Here: the
 * listen syscall tracepoints, the socket found from the fd; elsewhere a
 * kprobe pair on inet_listen, which gets the socket directly.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "netsock.bpf.h"
#include "solisten.h"

struct listen_args {
	struct sock *sk;
	__u32 backlog;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct listen_args);
} listens SEC(".maps");

static __always_inline int listen_enter(struct socket *sock, int backlog)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct listen_args a = { .backlog = backlog };
	struct sock *sk;
	__u16 family;

	if (!sock || !filter_current_ok())
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != NETSOCK_AF_INET && family != NETSOCK_AF_INET6)
		return 0;
	a.sk = sk;
	bpf_map_update_elem(&listens, &tid, &a, BPF_ANY);
	return 0;
}

static __always_inline int listen_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct listen_args *a = bpf_map_lookup_elem(&listens, &tid);
	struct listen_event *e;
	struct sock *sk;

	if (!a)
		return 0;
	sk = a->sk;
	if (filter.failed_only && ret >= 0)
		goto out;
	e = event_reserve(sizeof(*e));
	if (!e)
		goto out;
	event_fill_hdr(&e->hdr);
	e->ret = ret;
	e->backlog = a->backlog;
	e->protocol = BPF_CORE_READ(sk, sk_protocol);
	netsock_tuple_read(sk, &e->t);
	e->pad = 0;
	event_submit(e);
out:
	bpf_map_delete_elem(&listens, &tid);
	return 0;
}

SEC("kprobe/inet_listen")
int BPF_KPROBE(listen_kprobe, struct socket *sock, int backlog)
{
	return listen_enter(sock, backlog);
}

SEC("kretprobe/inet_listen")
int BPF_KRETPROBE(listen_kretprobe, int ret)
{
	return listen_exit(ret);
}

SEC("tracepoint/syscalls/sys_enter_listen")
int listen_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	if (!filter_current_ok())
		return 0;
	return listen_enter(netsock_of_fd(ctx->args[0]), ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_listen")
int listen_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return listen_exit(ctx->ret);
}

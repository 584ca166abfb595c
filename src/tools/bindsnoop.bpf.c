/*
 * bindsnoop, kernel side. bind() on IPv4/IPv6 sockets, with the requested
 * address and port, the socket's protocol and the options that change what
 * bind does. Here: the bind syscall tracepoints; the address is read from
 * the caller's sockaddr, the socket from the fd. Elsewhere: kprobes on
 * inet_bind / inet6_bind (BCC's hooks), which get the socket directly.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "netsock.bpf.h"
#include "bindsnoop.h"

/* Bit numbers in inet_sock.inet_flags (an anonymous enum, since 6.6). */
#define BIND_INET_FLAGS_FREEBIND		11
#define BIND_INET_FLAGS_TRANSPARENT		15
#define BIND_INET_FLAGS_BIND_ADDRESS_NO_PORT	18

const volatile struct bind_cfg cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct bind_event);
} binds SEC(".maps");

static __always_inline __u8 sock_opts(struct sock *sk)
{
	struct inet_sock *inet = (struct inet_sock *)sk;
	__u8 opts = 0;

	if (bpf_core_field_exists(inet->inet_flags)) {
		unsigned long flags = BPF_CORE_READ(inet, inet_flags);

		if (flags & (1UL << BIND_INET_FLAGS_FREEBIND))
			opts |= BIND_OPT_FREEBIND;
		if (flags & (1UL << BIND_INET_FLAGS_TRANSPARENT))
			opts |= BIND_OPT_TRANSPARENT;
		if (flags & (1UL << BIND_INET_FLAGS_BIND_ADDRESS_NO_PORT))
			opts |= BIND_OPT_NO_PORT;
	}
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_reuse))
		opts |= BIND_OPT_REUSEADDR;
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_reuseport))
		opts |= BIND_OPT_REUSEPORT;
	return opts;
}

/* Records the call; the event is sent when the result is known. */
static __always_inline int bind_enter(struct socket *sock, const void *uaddr,
				      bool user)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sockaddr_in6 sa = {};
	struct bind_event e = {};
	struct sock *sk;

	if (!sock || !filter_current_ok())
		return 0;
	/* A sockaddr_in may end at a page end: read 16 bytes, then more. */
	if (user)
		bpf_probe_read_user(&sa, sizeof(struct sockaddr_in), uaddr);
	else
		bpf_probe_read_kernel(&sa, sizeof(struct sockaddr_in), uaddr);
	e.family = sa.sin6_family;
	if (e.family == NETSOCK_AF_INET6) {
		if (user)
			bpf_probe_read_user(&sa, sizeof(sa), uaddr);
		else
			bpf_probe_read_kernel(&sa, sizeof(sa), uaddr);
	}
	if (e.family == NETSOCK_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&sa;

		e.port = bpf_ntohs(sin->sin_port);
		__builtin_memcpy(e.addr, &sin->sin_addr, 4);
	} else if (e.family == NETSOCK_AF_INET6) {
		e.port = bpf_ntohs(sa.sin6_port);
		__builtin_memcpy(e.addr, &sa.sin6_addr, 16);
	} else {
		return 0;
	}
	if (cfg.port && cfg.port != e.port)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	e.protocol = BPF_CORE_READ(sk, sk_protocol);
	e.sock_type = BPF_CORE_READ(sock, type);
	e.bound_dev_if = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
	e.opts = sock_opts(sk);
	bpf_map_update_elem(&binds, &tid, &e, BPF_ANY);
	return 0;
}

static __always_inline int bind_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct bind_event *e = bpf_map_lookup_elem(&binds, &tid);

	if (!e)
		return 0;
	if (!filter.failed_only || ret < 0) {
		event_fill_hdr(&e->hdr);
		e->ret = ret;
		event_output(e, sizeof(*e));
	}
	bpf_map_delete_elem(&binds, &tid);
	return 0;
}

SEC("kprobe/inet_bind")
int BPF_KPROBE(inet_bind_kprobe, struct socket *sock, struct sockaddr *addr)
{
	return bind_enter(sock, addr, false);
}

SEC("kretprobe/inet_bind")
int BPF_KRETPROBE(inet_bind_kretprobe, int ret)
{
	return bind_exit(ret);
}

SEC("kprobe/inet6_bind")
int BPF_KPROBE(inet6_bind_kprobe, struct socket *sock, struct sockaddr *addr)
{
	return bind_enter(sock, addr, false);
}

SEC("kretprobe/inet6_bind")
int BPF_KRETPROBE(inet6_bind_kretprobe, int ret)
{
	return bind_exit(ret);
}

SEC("tracepoint/syscalls/sys_enter_bind")
int bind_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	if (!filter_current_ok())
		return 0;
	return bind_enter(netsock_of_fd(ctx->args[0]),
			  (const void *)ctx->args[1], true);
}

SEC("tracepoint/syscalls/sys_exit_bind")
int bind_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return bind_exit(ctx->ret);
}

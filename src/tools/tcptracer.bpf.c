/*
 * tcptracer, kernel side: connect (C), accept (A) and close (X) of TCP
 * connections.
 *
 * Connect and close come from sock:inet_sock_set_state (tp_btf, raw_tp or
 * the tracepoint). The connecting task is remembered at CLOSE -> SYN_SENT
 * (inside connect()) and the event is sent at SYN_SENT -> ESTABLISHED,
 * once the local port is known, as BCC does. A close is the change out
 * of ESTABLISHED or CLOSE_WAIT that close() makes (to FIN_WAIT1, LAST_ACK
 * or, on abort, CLOSE), reported with the task running it.
 *
 * Accept uses the same hooks as tcpaccept: fexit or kretprobe on
 * inet_csk_accept, else the accept/accept4 syscall exits and the fd walk.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "tcpsock.bpf.h"
#include "tcptracer.h"

/* skaddr -> the task that called connect(). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct event_hdr);
} connector SEC(".maps");

static __always_inline void tracer_emit(const struct event_hdr *h,
					const struct tcpsock_addr *a,
					__u32 type)
{
	struct tcptracer_event *e;

	e = event_reserve(sizeof(*e));
	if (!e)
		return;
	if (h) {
		e->hdr = *h;
		e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	} else {
		event_fill_hdr(&e->hdr);
	}
	e->a = *a;
	e->type = type;
	e->pad = 0;
	event_submit(e);
}

static __always_inline bool is_close(int oldstate, int newstate)
{
	if (oldstate != TCPSOCK_ESTABLISHED && oldstate != TCPSOCK_CLOSE_WAIT)
		return false;
	return newstate == TCPSOCK_FIN_WAIT1 || newstate == TCPSOCK_LAST_ACK ||
	       newstate == TCPSOCK_CLOSE;
}

/* Worth reading the socket for? */
static __always_inline bool interesting(int oldstate, int newstate)
{
	return newstate == TCPSOCK_SYN_SENT || oldstate == TCPSOCK_SYN_SENT ||
	       is_close(oldstate, newstate);
}

static __always_inline int state_change(struct tcpsock_change *c)
{
	struct event_hdr h, *ch;

	if (c->protocol != TCPSOCK_IPPROTO_TCP ||
	    !tcpsock_family_ok(c->a.family))
		return 0;
	if (c->newstate == TCPSOCK_SYN_SENT) {
		if (!filter_current_ok())
			return 0;
		event_fill_hdr(&h);
		bpf_map_update_elem(&connector, &c->skaddr, &h, BPF_ANY);
		return 0;
	}
	if (c->oldstate == TCPSOCK_SYN_SENT) {
		ch = bpf_map_lookup_elem(&connector, &c->skaddr);
		if (!ch)
			return 0;
		if (c->newstate == TCPSOCK_ESTABLISHED &&
		    tcpsock_ports_ok(c->a.sport, c->a.dport))
			tracer_emit(ch, &c->a, TCPTRACER_CONNECT);
		bpf_map_delete_elem(&connector, &c->skaddr);
		return 0;
	}
	if (is_close(c->oldstate, c->newstate) && filter_current_ok() &&
	    tcpsock_ports_ok(c->a.sport, c->a.dport))
		tracer_emit(NULL, &c->a, TCPTRACER_CLOSE);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(state_btf, const struct sock *sk, int oldstate, int newstate)
{
	struct tcpsock_change c;

	if (!interesting(oldstate, newstate))
		return 0;
	tcpsock_change_from_sk(&c, sk, oldstate, newstate);
	return state_change(&c);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(state_raw, const struct sock *sk, int oldstate, int newstate)
{
	struct tcpsock_change c;

	if (!interesting(oldstate, newstate))
		return 0;
	tcpsock_change_from_sk(&c, sk, oldstate, newstate);
	return state_change(&c);
}

SEC("tracepoint/sock/inet_sock_set_state")
int state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct tcpsock_change c;

	if (!interesting(ctx->oldstate, ctx->newstate))
		return 0;
	tcpsock_change_from_tp(&c, ctx);
	return state_change(&c);
}

static __always_inline int accept_emit(const struct sock *sk)
{
	struct tcpsock_addr a;

	if (!sk || !tcpsock_is_tcp(sk) || !filter_current_ok())
		return 0;
	tcpsock_read_addr(sk, &a);
	if (tcpsock_ports_ok(a.sport, a.dport))
		tracer_emit(NULL, &a, TCPTRACER_ACCEPT);
	return 0;
}

/* The return value's position depends on the kernel's signature. */
SEC("fexit/inet_csk_accept")
int accept_fexit(__u64 *ctx)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	return accept_emit((const struct sock *)ret);
}

SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(accept_kretprobe, struct sock *sk)
{
	return accept_emit(sk);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int accept_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0)
		return 0;
	return accept_emit(tcpsock_sk_of_fd(ctx->ret));
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int accept4_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0)
		return 0;
	return accept_emit(tcpsock_sk_of_fd(ctx->ret));
}

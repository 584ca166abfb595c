/*
 * tcpconnect, kernel side: active TCP opens, reported when the SYN goes
 * out, in the context of the task calling connect(). Cheapest first:
 * fexit on tcp_v4_connect/tcp_v6_connect (socket and result together), a
 * kprobe/kretprobe pair on the same functions, or the CLOSE -> SYN_SENT
 * change of sock:inet_sock_set_state (tp_btf, raw_tp, tracepoint), which
 * tcp_v4_connect/tcp_v6_connect make just before sending the SYN.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "netsock.bpf.h"
#include "tcpconnect.h"

NETSOCK_FILTER_DEFINE;

/* kprobe variant: tid -> socket being connected. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, const struct sock *);
} connecting SEC(".maps");

static __always_inline void connect_emit(const struct netsock_tuple *a)
{
	struct tcpconnect_event *e;

	if (!netsock_family_ok(a->family) || !netsock_ports_ok(0, a->dport))
		return;
	e = event_reserve(sizeof(*e));
	if (!e)
		return;
	event_fill_hdr(&e->hdr);
	e->a = *a;
	event_submit(e);
}

static __always_inline void connect_emit_sk(const struct sock *sk)
{
	struct netsock_tuple a;

	netsock_tuple_read(sk, &a);
	connect_emit(&a);
}

SEC("fexit/tcp_v4_connect")
int BPF_PROG(connect4_fexit, struct sock *sk, struct sockaddr *uaddr,
	     int addr_len, int ret)
{
	if (!ret && filter_current_ok())
		connect_emit_sk(sk);
	return 0;
}

SEC("fexit/tcp_v6_connect")
int BPF_PROG(connect6_fexit, struct sock *sk, struct sockaddr *uaddr,
	     int addr_len, int ret)
{
	if (!ret && filter_current_ok())
		connect_emit_sk(sk);
	return 0;
}

static __always_inline int connect_enter(const struct sock *sk)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (filter_current_ok())
		bpf_map_update_elem(&connecting, &tid, &sk, BPF_ANY);
	return 0;
}

static __always_inline int connect_exit(int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	const struct sock **skp = bpf_map_lookup_elem(&connecting, &tid);

	if (!skp)
		return 0;
	if (!ret)
		connect_emit_sk(*skp);
	bpf_map_delete_elem(&connecting, &tid);
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(connect4_kprobe, struct sock *sk)
{
	return connect_enter(sk);
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(connect4_kretprobe, int ret)
{
	return connect_exit(ret);
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(connect6_kprobe, struct sock *sk)
{
	return connect_enter(sk);
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(connect6_kretprobe, int ret)
{
	return connect_exit(ret);
}

static __always_inline int state_change(struct netsock_change *c)
{
	if (c->newstate == NETSOCK_TCP_SYN_SENT &&
	    c->protocol == NETSOCK_IPPROTO_TCP && filter_current_ok())
		connect_emit(&c->t);
	return 0;
}

/* Most changes are not SYN_SENT: the socket is read only for those. */
static __always_inline bool connect_wanted(int oldstate, int newstate)
{
	return newstate == NETSOCK_TCP_SYN_SENT;
}

NETSOCK_STATE_PROGRAMS(connect, connect_wanted, state_change)

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
 * Accept uses the same hooks as tcpaccept (NETSOCK_ACCEPT_PROGRAMS).
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "netsock.bpf.h"
#include "tcptracer.h"

NETSOCK_FILTER_DEFINE;

/* skaddr -> the task that called connect(). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct event_hdr);
} connector SEC(".maps");

static __always_inline void tracer_emit(const struct event_hdr *h,
					const struct netsock_tuple *a,
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
	if (oldstate != NETSOCK_TCP_ESTABLISHED && oldstate != NETSOCK_TCP_CLOSE_WAIT)
		return false;
	return newstate == NETSOCK_TCP_FIN_WAIT1 || newstate == NETSOCK_TCP_LAST_ACK ||
	       newstate == NETSOCK_TCP_CLOSE;
}

/* Worth reading the socket for? */
static __always_inline bool interesting(int oldstate, int newstate)
{
	return newstate == NETSOCK_TCP_SYN_SENT || oldstate == NETSOCK_TCP_SYN_SENT ||
	       is_close(oldstate, newstate);
}

static __always_inline int state_change(struct netsock_change *c)
{
	struct event_hdr h, *ch;

	if (c->protocol != NETSOCK_IPPROTO_TCP ||
	    !netsock_family_ok(c->t.family))
		return 0;
	if (c->newstate == NETSOCK_TCP_SYN_SENT) {
		if (!filter_current_ok())
			return 0;
		event_fill_hdr(&h);
		bpf_map_update_elem(&connector, &c->skaddr, &h, BPF_ANY);
		return 0;
	}
	if (c->oldstate == NETSOCK_TCP_SYN_SENT) {
		ch = bpf_map_lookup_elem(&connector, &c->skaddr);
		if (!ch)
			return 0;
		if (c->newstate == NETSOCK_TCP_ESTABLISHED &&
		    netsock_ports_ok(c->t.sport, c->t.dport))
			tracer_emit(ch, &c->t, TCPTRACER_CONNECT);
		bpf_map_delete_elem(&connector, &c->skaddr);
		return 0;
	}
	if (is_close(c->oldstate, c->newstate) && filter_current_ok() &&
	    netsock_ports_ok(c->t.sport, c->t.dport))
		tracer_emit(NULL, &c->t, TCPTRACER_CLOSE);
	return 0;
}

NETSOCK_STATE_PROGRAMS(state, interesting, state_change)

static __always_inline int accept_emit(const struct sock *sk)
{
	struct netsock_tuple a;

	if (!sk || !netsock_is_tcp(sk) || !filter_current_ok())
		return 0;
	netsock_tuple_read(sk, &a);
	if (netsock_ports_ok(a.sport, a.dport))
		tracer_emit(NULL, &a, TCPTRACER_ACCEPT);
	return 0;
}

NETSOCK_ACCEPT_PROGRAMS(accept_emit)

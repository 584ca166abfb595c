/*
 * tcplife, kernel side: one record per TCP connection when it reaches
 * CLOSE, with its lifespan and the bytes it moved, all from
 * sock:inet_sock_set_state (tp_btf, raw_tp or the classic tracepoint) and
 * CO-RE reads of struct tcp_sock at close, less the SYN and FIN sequence
 * numbers the kernel's counters include (netsock_payload_bytes()).
 *
 * Most state changes run in softirq on behalf of nobody in particular, so
 * the owning task is remembered at the changes a process makes itself:
 * connect() (SYN_SENT), and close() (FIN_WAIT1 for the side that closes
 * first, LAST_ACK for the other) when connect() did not already name one.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "netsock.bpf.h"
#include "tcplife.h"

NETSOCK_FILTER_DEFINE;

/* What the opening states of a connection told. */
struct tcplife_birth {
	__u64 start_ns;		/* entered its last opening state */
	__u32 syn_sent;		/* connect() (or a simultaneous open) */
	__u32 pad;
};

/* skaddr -> its birth. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct tcplife_birth);
} birth SEC(".maps");

/* skaddr -> identity of the owning task. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct event_hdr);
} owner SEC(".maps");

static __always_inline void tcplife_remember_owner(__u64 skaddr,
						  int newstate)
{
	struct event_hdr h;

	if (newstate != NETSOCK_TCP_SYN_SENT && newstate != NETSOCK_TCP_FIN_WAIT1 &&
	    newstate != NETSOCK_TCP_LAST_ACK)
		return;
	/* connect() names the owner; a later close() by another task
	 * (e.g. after fork) does not replace it. */
	if (newstate != NETSOCK_TCP_SYN_SENT &&
	    bpf_map_lookup_elem(&owner, &skaddr))
		return;
	event_fill_hdr(&h);
	bpf_map_update_elem(&owner, &skaddr, &h, BPF_ANY);
}

/*
 * Like BCC, the span starts at the last opening state. Whether the socket
 * sent a SYN is kept for the byte counts; the change out of SYN_SENT
 * tells it too, should loupe have started after connect().
 */
static __always_inline void
tcplife_remember_birth(const struct netsock_change *c, __u64 now)
{
	struct tcplife_birth b = { .start_ns = now }, *prev;

	if (c->newstate >= NETSOCK_TCP_FIN_WAIT1)
		return;
	prev = bpf_map_lookup_elem(&birth, &c->skaddr);
	b.syn_sent = c->newstate == NETSOCK_TCP_SYN_SENT ||
		     c->oldstate == NETSOCK_TCP_SYN_SENT ||
		     (prev && prev->syn_sent);
	bpf_map_update_elem(&birth, &c->skaddr, &b, BPF_ANY);
}

static __always_inline int tcplife_state_change(struct netsock_change *c)
{
	const struct sock *sk = (const struct sock *)c->skaddr;
	struct tcplife_birth *b;
	struct tcplife_event *e;
	struct event_hdr *h;
	__u64 now;

	if (c->protocol != NETSOCK_IPPROTO_TCP ||
	    !netsock_family_ok(c->t.family))
		return 0;
	now = bpf_ktime_get_ns();
	tcplife_remember_birth(c, now);
	tcplife_remember_owner(c->skaddr, c->newstate);
	if (c->newstate != NETSOCK_TCP_CLOSE)
		return 0;

	b = bpf_map_lookup_elem(&birth, &c->skaddr);
	h = bpf_map_lookup_elem(&owner, &c->skaddr);
	/* Listeners and sockets that never connected have no birth. */
	if (!b)
		goto cleanup;
	if (!netsock_ports_ok(c->t.sport, c->t.dport))
		goto cleanup;
	e = event_reserve(sizeof(*e));
	if (!e)
		goto cleanup;
	if (h)
		e->hdr = *h;
	else
		event_fill_hdr(&e->hdr);
	if ((filter.pid && e->hdr.pid != filter.pid) ||
	    !filter_comm_ok(e->hdr.comm)) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		goto cleanup;
	}
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->span_ns = now - b->start_ns;
	netsock_payload_bytes(sk, c->oldstate, b->syn_sent, &e->tx_bytes,
			      &e->rx_bytes);
	e->a = c->t;
	event_submit(e);
cleanup:
	bpf_map_delete_elem(&birth, &c->skaddr);
	bpf_map_delete_elem(&owner, &c->skaddr);
	return 0;
}

NETSOCK_STATE_PROGRAMS(life, netsock_any_change, tcplife_state_change)

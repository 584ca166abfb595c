/*
 * tcpstates, kernel side: every TCP state change from
 * sock:inet_sock_set_state, with the time the socket spent in the state it
 * leaves. The typed tp_btf hook (or raw_tp) reads the socket with CO-RE;
 * the classic tracepoint hands over the same fields; one body serves all.
 * The task is whoever runs the change (BCC's C-PID): the caller for
 * connect/listen/close, often an unrelated task in softirq for the rest.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "netsock.bpf.h"
#include "tcpstates.h"

NETSOCK_FILTER_DEFINE;

/* skaddr -> time of its last state change. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} last_change SEC(".maps");

static __always_inline int state_change(struct netsock_change *c)
{
	struct tcpstates_event *e;
	__u64 now = bpf_ktime_get_ns();
	__u64 *prev, delta = 0;

	if (c->protocol != NETSOCK_IPPROTO_TCP ||
	    !netsock_family_ok(c->t.family))
		return 0;
	/* Timestamps are kept for every socket so filters never skew them. */
	prev = bpf_map_lookup_elem(&last_change, &c->skaddr);
	if (prev)
		delta = now - *prev;
	if (c->newstate == NETSOCK_TCP_CLOSE)
		bpf_map_delete_elem(&last_change, &c->skaddr);
	else
		bpf_map_update_elem(&last_change, &c->skaddr, &now, BPF_ANY);

	if (!netsock_ports_ok(c->t.sport, c->t.dport))
		return 0;
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	event_fill_hdr(&e->hdr);
	e->skaddr = c->skaddr;
	e->delta_ns = delta;
	e->a = c->t;
	e->oldstate = c->oldstate;
	e->newstate = c->newstate;
	event_submit(e);
	return 0;
}

NETSOCK_STATE_PROGRAMS(state, netsock_any_change, state_change)

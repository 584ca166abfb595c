/*
 * tcpconnlat, kernel side: the time from an active open's SYN to
 * ESTABLISHED. Both ends are changes of sock:inet_sock_set_state: CLOSE ->
 * SYN_SENT runs in connect() (who, and when the SYN leaves), SYN_SENT ->
 * ESTABLISHED usually in softirq when the SYN-ACK arrives. One program
 * sees both, so the hook plan is tp_btf, raw_tp or the tracepoint; BCC's
 * kprobe pair (tcp_v4_connect + tcp_rcv_state_process) would need two
 * probes that must be chosen together, which the plan cannot express.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "netsock.bpf.h"
#include "tcpconnlat.h"

NETSOCK_FILTER_DEFINE;

const volatile __u64 min_ns = 0;

struct connect_start {
	struct event_hdr hdr;
	__u64 ts;
};

/* skaddr -> who connected and when the SYN went out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct connect_start);
} starts SEC(".maps");

static __always_inline int state_change(struct netsock_change *c)
{
	struct tcpconnlat_event *e;
	struct connect_start *st, start;
	__u64 lat;

	if (c->protocol != NETSOCK_IPPROTO_TCP ||
	    !netsock_family_ok(c->t.family))
		return 0;
	if (c->newstate == NETSOCK_TCP_SYN_SENT) {
		if (!filter_current_ok())
			return 0;
		event_fill_hdr(&start.hdr);
		start.ts = bpf_ktime_get_ns();
		bpf_map_update_elem(&starts, &c->skaddr, &start, BPF_ANY);
		return 0;
	}
	if (c->oldstate != NETSOCK_TCP_SYN_SENT)
		return 0;
	st = bpf_map_lookup_elem(&starts, &c->skaddr);
	if (!st)
		return 0;
	lat = bpf_ktime_get_ns() - st->ts;
	/* A failed connect (SYN_SENT -> CLOSE) only drops the start. */
	if (c->newstate != NETSOCK_TCP_ESTABLISHED || lat < min_ns ||
	    !netsock_ports_ok(c->t.sport, c->t.dport))
		goto cleanup;
	e = event_reserve(sizeof(*e));
	if (!e)
		goto cleanup;
	e->hdr = st->hdr;
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->lat_ns = lat;
	e->a = c->t;
	event_submit(e);
cleanup:
	bpf_map_delete_elem(&starts, &c->skaddr);
	return 0;
}

static __always_inline bool connlat_wanted(int oldstate, int newstate)
{
	return newstate == NETSOCK_TCP_SYN_SENT ||
	       oldstate == NETSOCK_TCP_SYN_SENT;
}

NETSOCK_STATE_PROGRAMS(connlat, connlat_wanted, state_change)

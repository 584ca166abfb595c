/*
 * tcprtt, kernel side. Each segment received on an established TCP socket
 * passes tcp_rcv_established; its socket's smoothed RTT (srtt_us / 8, in
 * microseconds) goes into a log2 histogram, per address with -b/-B. Hooks:
 * a kprobe on tcp_rcv_established (BCC's), the tcp_probe BTF tracepoint
 * (same place, the socket itself), or the tcp_probe tracepoint, which
 * already carries srtt and the addresses.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "netsock.bpf.h"
#include "tcprtt.h"

NETSOCK_FILTER_DEFINE;
const volatile struct rtt_cfg cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct rtt_key);
	__type(value, struct rtt_hist);
} hists SEC(".maps");

static const struct rtt_hist zero_hist;

static __always_inline int account(const struct netsock_tuple *t, __u32 srtt)
{
	struct rtt_key key = {};
	struct rtt_hist *h;
	__u64 v = srtt;

	if (!netsock_tuple_ok(t))
		return 0;
	if (cfg.by_laddr || cfg.by_raddr) {
		__builtin_memcpy(key.addr, cfg.by_laddr ? t->saddr : t->daddr,
				 16);
		key.family = t->family;
	}
	h = bpf_map_lookup_elem(&hists, &key);
	if (!h) {
		bpf_map_update_elem(&hists, &key, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &key);
		if (!h)
			return 0;
	}
	if (cfg.millis)
		v /= 1000;
	__sync_fetch_and_add(&h->slots[hist_slot(v) & (RTT_SLOTS - 1)], 1);
	__sync_fetch_and_add(&h->sum, v);
	__sync_fetch_and_add(&h->count, 1);
	return 0;
}

static __always_inline int account_sk(struct sock *sk)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct netsock_tuple t;

	if (!netsock_tuple_read(sk, &t))
		return 0;
	return account(&t, BPF_CORE_READ(tp, srtt_us) >> 3);
}

SEC("kprobe/tcp_rcv_established")
int BPF_KPROBE(rtt_kprobe, struct sock *sk)
{
	return account_sk(sk);
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(rtt_btf, struct sock *sk)
{
	return account_sk(sk);
}

SEC("tracepoint/tcp/tcp_probe")
int rtt_tp(struct trace_event_raw_tcp_probe *ctx)
{
	struct netsock_tuple t = {};

	t.family = ctx->family;
	t.sport = ctx->sport;
	t.dport = ctx->dport;
	/* saddr/daddr hold a sockaddr_in or sockaddr_in6. */
	if (t.family == NETSOCK_AF_INET) {
		tp_copy(t.saddr, ctx->saddr + 4, 4);
		tp_copy(t.daddr, ctx->daddr + 4, 4);
	} else if (t.family == NETSOCK_AF_INET6) {
		tp_copy(t.saddr, ctx->saddr + 8, 16);
		tp_copy(t.daddr, ctx->daddr + 8, 16);
	} else {
		return 0;
	}
	return account(&t, ctx->srtt);
}

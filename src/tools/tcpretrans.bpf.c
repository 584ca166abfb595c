/*
 * tcpretrans, kernel side. A retransmit is seen at tcp_retransmit_skb:
 * through its BTF tracepoint (the socket itself, read with CO-RE) or its
 * classic tracepoint (addresses already copied out by the kernel). Tail
 * loss probes have no tracepoint; they need a kprobe on
 * tcp_send_loss_probe, used only with -l where kprobes exist.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "sockinfo.bpf.h"
#include "tcpretrans.h"

const volatile struct retrans_cfg cfg = {};

static __always_inline void emit(const struct sock_tuple *t, int state,
				 __u32 type)
{
	struct retrans_event *e;

	if (cfg.family && cfg.family != t->family)
		return;
	e = event_reserve(sizeof(*e));
	if (!e)
		return;
	event_fill_hdr(&e->hdr);
	e->t = *t;
	e->state = state;
	e->type = type;
	event_submit(e);
}

static __always_inline int emit_sk(const struct sock *sk, __u32 type)
{
	struct sock_tuple t;

	if (!sockinfo_tuple(sk, &t))
		return 0;
	emit(&t, BPF_CORE_READ(sk, __sk_common.skc_state), type);
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(retrans_btf, const struct sock *sk, const struct sk_buff *skb)
{
	return emit_sk(sk, RETRANS_TYPE_RETRANS);
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int retrans_tp(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	struct sock_tuple t = {};

	t.family = ctx->family;
	t.sport = ctx->sport;
	t.dport = ctx->dport;
	if (t.family == SOCKINFO_AF_INET) {
		tp_copy(t.saddr, ctx->saddr, 4);
		tp_copy(t.daddr, ctx->daddr, 4);
	} else if (t.family == SOCKINFO_AF_INET6) {
		tp_copy(t.saddr, ctx->saddr_v6, 16);
		tp_copy(t.daddr, ctx->daddr_v6, 16);
	} else {
		return 0;
	}
	emit(&t, ctx->state, RETRANS_TYPE_RETRANS);
	return 0;
}

SEC("kprobe/tcp_retransmit_skb")
int BPF_KPROBE(retrans_kprobe, struct sock *sk)
{
	return emit_sk(sk, RETRANS_TYPE_RETRANS);
}

SEC("kprobe/tcp_send_loss_probe")
int BPF_KPROBE(tlp_kprobe, struct sock *sk)
{
	return emit_sk(sk, RETRANS_TYPE_TLP);
}

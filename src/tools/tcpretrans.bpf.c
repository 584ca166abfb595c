/*
 * tcpretrans, kernel side. A retransmit is seen at tcp_retransmit_skb:
 * through its BTF tracepoint (the socket itself, read with CO-RE) or its
 * classic tracepoint (addresses already copied out by the kernel). Tail
 * loss probes have no tracepoint; they need a kprobe on
 * tcp_send_loss_probe, used only with -l where kprobes exist.
 *
 * Most retransmits run in a softirq (the retransmit timer, an incoming
 * ACK) on whatever task the CPU happened to interrupt; those events carry
 * no task, which the softirq_entry/exit programs below tell (context.bpf.h).
 * Those in a task's own context (timer work or ACKs deferred until the
 * socket's owner releases it, a send) name that task.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "context.bpf.h"
#include "netsock.bpf.h"
#include "tcpretrans.h"

NETSOCK_FILTER_DEFINE;

/*
 * Attached in the object's order: the softirq exit programs first (an
 * entry seen without its exit would leave a stale task behind), then the
 * entry programs, then the retransmit programs, so that these never run
 * before the softirqs are being followed.
 */
SEC("tp_btf/softirq_exit")
int BPF_PROG(softirq_exit_btf, unsigned int vec)
{
	context_softirq_exit();
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(softirq_entry_btf, unsigned int vec)
{
	context_softirq_entry();
	return 0;
}

SEC("raw_tp/softirq_exit")
int BPF_PROG(softirq_exit_raw, unsigned int vec)
{
	context_softirq_exit();
	return 0;
}

SEC("raw_tp/softirq_entry")
int BPF_PROG(softirq_entry_raw, unsigned int vec)
{
	context_softirq_entry();
	return 0;
}

SEC("tracepoint/irq/softirq_exit")
int softirq_exit_tp(void *ctx)
{
	context_softirq_exit();
	return 0;
}

SEC("tracepoint/irq/softirq_entry")
int softirq_entry_tp(void *ctx)
{
	context_softirq_entry();
	return 0;
}

static __always_inline void emit(const struct netsock_tuple *t, int state,
				 __u32 type)
{
	struct retrans_event *e;

	if (!netsock_tuple_ok(t))
		return;
	e = event_reserve(sizeof(*e));
	if (!e)
		return;
	e->context = context_fill_hdr(&e->hdr);
	e->t = *t;
	e->state = state;
	e->type = type;
	event_submit(e);
}

static __always_inline int emit_sk(const struct sock *sk, __u32 type)
{
	struct netsock_tuple t;

	if (!netsock_tuple_read(sk, &t))
		return 0;
	emit(&t, BPF_CORE_READ(sk, __sk_common.skc_state), type);
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(retrans_btf, const struct sock *sk, const struct sk_buff *skb)
{
	return emit_sk(sk, RETRANS_TYPE_RETRANS);
}

/*
 * The tcp:tcp_retransmit_skb record up to its addresses. Its layout is the
 * same on every kernel with the event, but its type is named after the
 * event on recent kernels and after its class (tcp_event_sk_skb) on older
 * ones (6.1), so CO-RE finds no type there: fixed offsets instead.
 */
struct retransmit_rec {
	__u64 common;
	const void *skbaddr;
	const void *skaddr;
	int state;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
};

SEC("tracepoint/tcp/tcp_retransmit_skb")
int retrans_tp(struct retransmit_rec *ctx)
{
	struct netsock_tuple t = {};

	t.family = ctx->family;
	t.sport = ctx->sport;
	t.dport = ctx->dport;
	if (t.family == NETSOCK_AF_INET) {
		tp_copy(t.saddr, ctx->saddr, 4);
		tp_copy(t.daddr, ctx->daddr, 4);
	} else if (t.family == NETSOCK_AF_INET6) {
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

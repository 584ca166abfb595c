/*
 * Kernel-side helpers of the TCP tools: one normalised view of a state
 * change whether it comes from the typed tp_btf/raw_tp hook (a struct sock
 * pointer, read with CO-RE) or from the sock:inet_sock_set_state
 * tracepoint (fields copied by the kernel), the family/port filters, the
 * payload bytes of a closing connection, and the fd -> struct sock walk
 * the accept tools need without kretprobes.
 * Include after vmlinux.h and loupe.bpf.h.
 */
#ifndef LOUPE_TCPSOCK_BPF_H
#define LOUPE_TCPSOCK_BPF_H

#include <bpf/bpf_endian.h>
#include "tcpsock.h"

#define TCPSOCK_IPPROTO_TCP	6

/* Set by user space before load from -4/-6 and the port flags. */
const volatile struct tcpsock_filter tcp_filter = {};

struct tcpsock_change {
	__u64 skaddr;
	int oldstate;
	int newstate;
	__u16 protocol;
	struct tcpsock_addr a;
};

static __always_inline void tcpsock_read_addr(const struct sock *sk,
					      struct tcpsock_addr *a)
{
	const struct inet_sock *inet = (const void *)sk;

	__builtin_memset(a, 0, sizeof(*a));
	a->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	a->sport = bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
	a->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (a->family == TCPSOCK_AF_INET6) {
		bpf_core_read(a->saddr, 16,
			      &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(a->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	} else {
		bpf_core_read(a->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(a->daddr, 4, &sk->__sk_common.skc_daddr);
	}
}

/* tp_btf / raw_tp: (const struct sock *sk, int oldstate, int newstate). */
static __always_inline void
tcpsock_change_from_sk(struct tcpsock_change *c, const struct sock *sk,
		       int oldstate, int newstate)
{
	c->skaddr = (__u64)sk;
	c->oldstate = oldstate;
	c->newstate = newstate;
	/* A bitfield before 5.6, a u16 since: the probed read fits both. */
	c->protocol = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	tcpsock_read_addr(sk, &c->a);
}

static __always_inline void
tcpsock_change_from_tp(struct tcpsock_change *c,
		       const struct trace_event_raw_inet_sock_set_state *ctx)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->skaddr = (__u64)ctx->skaddr;
	c->oldstate = ctx->oldstate;
	c->newstate = ctx->newstate;
	c->protocol = ctx->protocol;
	c->a.family = ctx->family;
	c->a.sport = ctx->sport;
	c->a.dport = ctx->dport;
	if (ctx->family == TCPSOCK_AF_INET6) {
		tp_copy(c->a.saddr, ctx->saddr_v6, 16);
		tp_copy(c->a.daddr, ctx->daddr_v6, 16);
	} else {
		tp_copy(c->a.saddr, ctx->saddr, 4);
		tp_copy(c->a.daddr, ctx->daddr, 4);
	}
}

/* TCP over IPv4/IPv6 only (not MPTCP's or SCTP's own sockets), per -4/-6. */
static __always_inline bool tcpsock_family_ok(__u16 family)
{
	if (family != TCPSOCK_AF_INET && family != TCPSOCK_AF_INET6)
		return false;
	return !tcp_filter.family || tcp_filter.family == family;
}

static __always_inline bool tcpsock_port_listed(const volatile __u16 *ports,
						__u16 n, __u16 port)
{
	if (!n)
		return true;
	for (int i = 0; i < TCPSOCK_MAX_PORTS; i++) {
		if (i >= n)
			break;
		if (ports[i] == port)
			return true;
	}
	return false;
}

/* The local (-L) and remote (-D/-P) port lists. */
static __always_inline bool tcpsock_ports_ok(__u16 lport, __u16 dport)
{
	return tcpsock_port_listed(tcp_filter.lports, tcp_filter.nlports,
				   lport) &&
	       tcpsock_port_listed(tcp_filter.dports, tcp_filter.ndports,
				   dport);
}

/* States a socket reaches only after queueing its own FIN. */
static __always_inline bool tcpsock_fin_queued(int state)
{
	return state == TCPSOCK_FIN_WAIT1 || state == TCPSOCK_FIN_WAIT2 ||
	       state == TCPSOCK_CLOSING || state == TCPSOCK_LAST_ACK ||
	       state == TCPSOCK_TIME_WAIT;
}

/*
 * Payload bytes a connection moved each way, read as it changes from
 * laststate to CLOSE. The kernel's RFC 4898 counters measure sequence
 * space, and a SYN or FIN takes one sequence number each:
 *
 * - bytes_acked follows snd_una. It covers our SYN on the side that sent
 *   one (connect(), or a simultaneous open), from the ACK that completes
 *   the handshake; a listener's child starts with snd_una past its
 *   SYN-ACK, so it never counts one. It covers our FIN once the peer has
 *   acknowledged it, i.e. when snd_una reached write_seq after the FIN
 *   was queued (the FIN is the last sequence number a socket sends).
 * - bytes_received follows rcv_nxt, which starts past the peer's SYN. It
 *   covers the peer's FIN once that arrived in order; tcp_fin() then sets
 *   SOCK_DONE, which is cleared only when the socket is used again
 *   (tcp_disconnect(), connect()), after the CLOSE read here. An orphan
 *   that turned into a timewait socket before the peer's FIN never
 *   counts it.
 *
 * syn_sent: the socket sent a SYN (the caller saw SYN_SENT). snd_una
 * cannot pass data before it passes the SYN, so a non-zero bytes_acked
 * on such a socket always includes the SYN. A reset leaves whatever was
 * acknowledged or received in order, which is what this returns.
 */
static __always_inline void tcpsock_payload_bytes(const struct sock *sk,
						  int laststate, bool syn_sent,
						  __u64 *tx, __u64 *rx)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 acked = BPF_CORE_READ(tp, bytes_acked);
	__u64 received = BPF_CORE_READ(tp, bytes_received);
	unsigned long flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
	int done = bpf_core_enum_value(enum sock_flags, SOCK_DONE);

	if (syn_sent && acked)
		acked--;
	if (tcpsock_fin_queued(laststate) && acked &&
	    BPF_CORE_READ(tp, snd_una) == BPF_CORE_READ(tp, write_seq))
		acked--;
	if (((flags >> done) & 1) && received)
		received--;
	*tx = acked;
	*rx = received;
}

/*
 * The struct sock behind a file descriptor of the current task, for
 * accept()'s result: task->files->fdt->fd[fd]->private_data is the
 * struct socket. NULL if the fd is out of range.
 */
static __always_inline const struct sock *tcpsock_sk_of_fd(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct socket *sock;
	struct file *f;

	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	if (!sock)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

/* Is sk a TCP socket of a traced family? */
static __always_inline bool tcpsock_is_tcp(const struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	return tcpsock_family_ok(family) &&
	       BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) ==
	       TCPSOCK_IPPROTO_TCP;
}

#endif

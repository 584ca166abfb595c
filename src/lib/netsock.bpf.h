/*
 * The kernel side of the network vocabulary (netsock.h): the one reader of
 * a struct sock's endpoints (CO-RE), one normalised view of a TCP state
 * change whether it comes from the typed tp_btf/raw_tp hook or from the
 * sock:inet_sock_set_state tracepoint (fields copied by the kernel), the
 * family/port filters, the payload bytes of a closing connection, the
 * socket behind a file descriptor, and the accept hooks.
 * Include after vmlinux.h and loupe.bpf.h.
 */
#ifndef LOUPE_NETSOCK_BPF_H
#define LOUPE_NETSOCK_BPF_H

#include <bpf/bpf_endian.h>
#include "file.bpf.h"
#include "netsock.h"

/*
 * The filter user space sets before load (netsock_filter_opt(): -4/-6, the
 * port and the address flags). Declared only: a tool that filters defines
 * it with NETSOCK_FILTER_DEFINE; the objects of the others carry no unused
 * filter in .rodata.
 */
extern const volatile struct netsock_filter tcp_filter;
#define NETSOCK_FILTER_DEFINE \
	const volatile struct netsock_filter tcp_filter = {}

static __always_inline bool netsock_family_is_ip(__u16 family)
{
	return family == NETSOCK_AF_INET || family == NETSOCK_AF_INET6;
}

/*
 * Fills t from sk; false for a socket that is neither IPv4 nor IPv6. The
 * local port is inet_sport, as sock:inet_sock_set_state reports it.
 */
static __always_inline bool netsock_tuple_read(const struct sock *sk,
					       struct netsock_tuple *t)
{
	const struct inet_sock *inet = (const void *)sk;

	__builtin_memset(t, 0, sizeof(*t));
	t->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	t->sport = bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
	t->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (t->family == NETSOCK_AF_INET6) {
		bpf_core_read(t->saddr, 16,
			      &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(t->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	} else if (t->family == NETSOCK_AF_INET) {
		bpf_core_read(t->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(t->daddr, 4, &sk->__sk_common.skc_daddr);
	}
	return netsock_family_is_ip(t->family);
}

/* A bitfield before 5.6, a u16 since: the probed read fits both. */
static __always_inline __u16 netsock_protocol(const struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
}

struct netsock_change {
	__u64 skaddr;
	int oldstate;
	int newstate;
	__u16 protocol;
	struct netsock_tuple t;
};

/* tp_btf / raw_tp: (const struct sock *sk, int oldstate, int newstate). */
static __always_inline void
netsock_change_from_sk(struct netsock_change *c, const struct sock *sk,
		       int oldstate, int newstate)
{
	c->skaddr = (__u64)sk;
	c->oldstate = oldstate;
	c->newstate = newstate;
	c->protocol = netsock_protocol(sk);
	netsock_tuple_read(sk, &c->t);
}

static __always_inline void
netsock_change_from_tp(struct netsock_change *c,
		       const struct trace_event_raw_inet_sock_set_state *ctx)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->skaddr = (__u64)ctx->skaddr;
	c->oldstate = ctx->oldstate;
	c->newstate = ctx->newstate;
	c->protocol = ctx->protocol;
	c->t.family = ctx->family;
	c->t.sport = ctx->sport;
	c->t.dport = ctx->dport;
	if (ctx->family == NETSOCK_AF_INET6) {
		tp_copy(c->t.saddr, ctx->saddr_v6, 16);
		tp_copy(c->t.daddr, ctx->daddr_v6, 16);
	} else {
		tp_copy(c->t.saddr, ctx->saddr, 4);
		tp_copy(c->t.daddr, ctx->daddr, 4);
	}
}

/* For NETSOCK_STATE_PROGRAMS: a tool that wants every change. */
static __always_inline bool netsock_any_change(int oldstate, int newstate)
{
	return true;
}

/*
 * The hooks on sock:inet_sock_set_state, cheapest first: tp_btf and raw_tp
 * (a struct sock pointer, read with CO-RE), else the tracepoint (fields
 * the kernel copied). want(oldstate, newstate) is asked before anything is
 * read, since most changes interest a tool not at all; fn gets the
 * change. The programs are NAME_btf, NAME_raw and NAME_tp; a tool lists
 * them as NETSOCK_STATE_CANDIDATES(NAME).
 */
#define NETSOCK_STATE_SK_PROGRAM(section, prog, want, fn)		\
SEC(section)								\
int BPF_PROG(prog, const struct sock *sk, int oldstate, int newstate)	\
{									\
	struct netsock_change c;					\
									\
	if (!want(oldstate, newstate))					\
		return 0;						\
	netsock_change_from_sk(&c, sk, oldstate, newstate);		\
	return fn(&c);							\
}

#define NETSOCK_STATE_PROGRAMS(name, want, fn)				\
NETSOCK_STATE_SK_PROGRAM("tp_btf/inet_sock_set_state", name##_btf,	\
			 want, fn)					\
NETSOCK_STATE_SK_PROGRAM("raw_tp/inet_sock_set_state", name##_raw,	\
			 want, fn)					\
									\
SEC("tracepoint/sock/inet_sock_set_state")				\
int name##_tp(struct trace_event_raw_inet_sock_set_state *ctx)		\
{									\
	struct netsock_change c;					\
									\
	if (!want(ctx->oldstate, ctx->newstate))			\
		return 0;						\
	netsock_change_from_tp(&c, ctx);				\
	return fn(&c);							\
}

/* TCP over IPv4/IPv6 only (not MPTCP's or SCTP's own sockets), per -4/-6. */
static __always_inline bool netsock_family_ok(__u16 family)
{
	if (!netsock_family_is_ip(family))
		return false;
	return !tcp_filter.family || tcp_filter.family == family;
}

static __always_inline bool netsock_port_listed(const volatile __u16 *ports,
						__u16 n, __u16 port)
{
	if (!n)
		return true;
	for (int i = 0; i < NETSOCK_MAX_PORTS; i++) {
		if (i >= n)
			break;
		if (ports[i] == port)
			return true;
	}
	return false;
}

/* The local (-L) and remote (-D/-P) port lists. */
static __always_inline bool netsock_ports_ok(__u16 lport, __u16 dport)
{
	return netsock_port_listed(tcp_filter.lports, tcp_filter.nlports,
				   lport) &&
	       netsock_port_listed(tcp_filter.dports, tcp_filter.ndports,
				   dport);
}

/* An address filter: off when want_family is 0. */
static __always_inline bool netsock_addr_ok(__u16 want_family,
					    const volatile __u8 *want,
					    __u16 family, const __u8 *addr)
{
	int n = family == NETSOCK_AF_INET ? 4 : 16;

	if (!want_family)
		return true;
	if (want_family != family)
		return false;
	for (int i = 0; i < 16; i++) {
		if (i >= n)
			break;
		if (addr[i] != want[i])
			return false;
	}
	return true;
}

/* The whole filter (-4/-6, ports, addresses) on a socket's endpoints. */
static __always_inline bool netsock_tuple_ok(const struct netsock_tuple *t)
{
	return netsock_family_ok(t->family) &&
	       netsock_ports_ok(t->sport, t->dport) &&
	       netsock_addr_ok(tcp_filter.laddr_family, tcp_filter.laddr,
			       t->family, t->saddr) &&
	       netsock_addr_ok(tcp_filter.raddr_family, tcp_filter.raddr,
			       t->family, t->daddr);
}

/* States a socket reaches only after queueing its own FIN. */
static __always_inline bool netsock_fin_queued(int state)
{
	return state == NETSOCK_TCP_FIN_WAIT1 ||
	       state == NETSOCK_TCP_FIN_WAIT2 ||
	       state == NETSOCK_TCP_CLOSING ||
	       state == NETSOCK_TCP_LAST_ACK ||
	       state == NETSOCK_TCP_TIME_WAIT;
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
static __always_inline void netsock_payload_bytes(const struct sock *sk,
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
	if (netsock_fin_queued(laststate) && acked &&
	    BPF_CORE_READ(tp, snd_una) == BPF_CORE_READ(tp, write_seq))
		acked--;
	if (((flags >> done) & 1) && received)
		received--;
	*tx = acked;
	*rx = received;
}

/*
 * The struct socket behind fd in the current task, or NULL if fd is not
 * open or not a socket. Syscall tracepoints see only the fd; the file's
 * inode type tells a socket apart without needing socket_file_ops.
 */
static __always_inline struct socket *netsock_of_fd(long fd)
{
	struct file *f = file_from_fd(fd);

	if (!f || (file_mode(f) & FILE_S_IFMT) != FILE_S_IFSOCK)
		return NULL;
	return BPF_CORE_READ(f, private_data);
}

/* Is sk a TCP socket of a traced family? */
static __always_inline bool netsock_is_tcp(const struct sock *sk)
{
	return netsock_family_ok(BPF_CORE_READ(sk, __sk_common.skc_family)) &&
	       netsock_protocol(sk) == NETSOCK_IPPROTO_TCP;
}

/* The new socket an accept() returned as fd, NULL if there is none. */
static __always_inline const struct sock *netsock_accepted(long fd)
{
	struct socket *sock;

	if (fd < 0)
		return NULL;
	sock = netsock_of_fd(fd);
	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

/*
 * The accept hooks, cheapest first: fexit or kretprobe on inet_csk_accept
 * (the new struct sock is the return value, at a position that depends on
 * the kernel's signature), else the accept/accept4 syscall exit
 * tracepoints, where the returned fd is walked to its struct sock. The
 * syscall path misses accepts made by io_uring and in-kernel users. Each
 * program hands the socket (or NULL) to fn; a tool lists them as
 * NETSOCK_ACCEPT_CANDIDATES.
 */
#define NETSOCK_ACCEPT_PROGRAMS(fn)					\
SEC("fexit/inet_csk_accept")						\
int accept_fexit(__u64 *ctx)						\
{									\
	__u64 ret = 0;							\
									\
	bpf_get_func_ret(ctx, &ret);					\
	return fn((const struct sock *)ret);				\
}									\
									\
SEC("kretprobe/inet_csk_accept")					\
int BPF_KRETPROBE(accept_kretprobe, struct sock *sk)			\
{									\
	return fn(sk);							\
}									\
									\
SEC("tracepoint/syscalls/sys_exit_accept")				\
int accept_exit_tp(struct trace_event_raw_sys_exit *ctx)		\
{									\
	return fn(netsock_accepted(ctx->ret));				\
}									\
									\
SEC("tracepoint/syscalls/sys_exit_accept4")				\
int accept4_exit_tp(struct trace_event_raw_sys_exit *ctx)		\
{									\
	return fn(netsock_accepted(ctx->ret));				\
}

/* accept and accept4 by number (-1: not known on this architecture). */
#if defined(__TARGET_ARCH_x86)
#define NETSOCK_NR_ACCEPT	43
#define NETSOCK_NR_ACCEPT4	288
#elif defined(__TARGET_ARCH_arm64)
#define NETSOCK_NR_ACCEPT	202
#define NETSOCK_NR_ACCEPT4	242
#else
#define NETSOCK_NR_ACCEPT	(-1)
#define NETSOCK_NR_ACCEPT4	(-1)
#endif

static __always_inline bool netsock_nr_accept(long nr)
{
	return nr >= 0 && (nr == NETSOCK_NR_ACCEPT || nr == NETSOCK_NR_ACCEPT4);
}

/*
 * --raw-syscalls (tcpaccept): the exit of every syscall, accept and
 * accept4 picked by number. A link on sys_exit attaches and detaches at
 * once, where a syscall tracepoint waits for RCU grace periods (100 ms
 * and more to attach one while the overview starts). A tool lists them
 * as NETSOCK_ACCEPT_RAW_CANDIDATES.
 */
#define NETSOCK_ACCEPT_RAW_PROGRAMS(fn)					\
SEC("tp_btf/sys_exit")							\
int BPF_PROG(accept_exit_raw_btf, struct pt_regs *regs, long ret)	\
{									\
	if (!netsock_nr_accept(regs_syscall_nr_btf(regs)))		\
		return 0;						\
	return fn(netsock_accepted(ret));				\
}									\
									\
SEC("raw_tp/sys_exit")							\
int BPF_PROG(accept_exit_raw, struct pt_regs *regs, long ret)		\
{									\
	if (!netsock_nr_accept(regs_syscall_nr(regs)))			\
		return 0;						\
	return fn(netsock_accepted(ret));				\
}

#endif

/*
 * The network vocabulary both halves of the network tools share: a
 * socket's endpoints as the kernel side captures them, TCP states as the
 * kernel numbers them and the family/port filters placed in .rodata; then,
 * for the user side only, the one way to print and to parse addresses,
 * ports, states and protocols. The kernel side is netsock.bpf.h.
 */
#ifndef LOUPE_NETSOCK_H
#define LOUPE_NETSOCK_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define NETSOCK_AF_INET		2
#define NETSOCK_AF_INET6	10
#define NETSOCK_IPPROTO_TCP	6
#define NETSOCK_MAX_PORTS	8

/* TCP states as the kernel numbers them (include/net/tcp_states.h). */
enum netsock_tcp_state {
	NETSOCK_TCP_ESTABLISHED = 1,
	NETSOCK_TCP_SYN_SENT,
	NETSOCK_TCP_SYN_RECV,
	NETSOCK_TCP_FIN_WAIT1,
	NETSOCK_TCP_FIN_WAIT2,
	NETSOCK_TCP_TIME_WAIT,
	NETSOCK_TCP_CLOSE,
	NETSOCK_TCP_CLOSE_WAIT,
	NETSOCK_TCP_LAST_ACK,
	NETSOCK_TCP_LISTEN,
	NETSOCK_TCP_CLOSING,
	NETSOCK_TCP_NEW_SYN_RECV,
};

/*
 * Endpoints of a socket: s* is the local end, d* the remote one. IPv4
 * addresses use the first 4 bytes; addresses are in network order, ports
 * in host order.
 */
struct netsock_tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u16 pad;
};

/*
 * Filters applied in the kernel; zero means "off". An address is wanted
 * when its family is set (laddr_family, raddr_family).
 */
struct netsock_filter {
	__u16 family;
	__u16 nlports;
	__u16 ndports;
	__u16 laddr_family;
	__u16 lports[NETSOCK_MAX_PORTS];
	__u16 dports[NETSOCK_MAX_PORTS];
	__u16 raddr_family;
	__u16 pad[3];
	__u8 laddr[16];
	__u8 raddr[16];
};

#ifndef __bpf__
#include <stdbool.h>
#include <stddef.h>
#include "tool.h"

#define NETSOCK_ADDR_LEN	46	/* INET6_ADDRSTRLEN */
#define NETSOCK_ADDR_PORT_LEN	(NETSOCK_ADDR_LEN + 8)

/* An address given on the command line (-a 10.0.0.1, -A ::1). */
struct netsock_ip {
	int family;		/* NETSOCK_AF_INET or NETSOCK_AF_INET6 */
	__u8 addr[16];
};

/* The flags of the connection tools (tcplife, tcpstates): -4 -6 -L -D -w. */
extern const struct tool_opt netsock_conn_opts[];

/* The hook candidates of NETSOCK_STATE_PROGRAMS(name, ...) (netsock.bpf.h). */
#define NETSOCK_STATE_CANDIDATES(name)				\
	{ { #name "_btf" } },					\
	{ { #name "_raw" } },					\
	{ { #name "_tp" } }

/* The hook candidates of NETSOCK_ACCEPT_PROGRAMS (netsock.bpf.h). */
#define NETSOCK_ACCEPT_CANDIDATES				\
	{ { "accept_fexit" } },					\
	{ { "accept_kretprobe" } },				\
	{ { "?accept_exit_tp", "accept4_exit_tp" } }

/* The hook candidates of NETSOCK_ACCEPT_RAW_PROGRAMS (--raw-syscalls). */
#define NETSOCK_ACCEPT_RAW_CANDIDATES				\
	{ { "accept_exit_raw_btf" }, BPF_FUNC_task_pt_regs },	\
	{ { "accept_exit_raw" }, BPF_FUNC_task_pt_regs }

const char *netsock_addr(int family, const void *addr, char *buf,
			 size_t len);
const char *netsock_addr_port(int family, const void *addr, unsigned port,
			      char *buf, size_t len);
int netsock_ip_version(int family);
const char *netsock_tcp_state(int state);
const char *netsock_proto(int protocol);
int netsock_parse_ip(const char *s, struct netsock_ip *ip);
int netsock_parse_port(const char *s, __u16 *port);
int netsock_parse_ports(const char *s, __u16 *ports, __u16 *n);
int netsock_filter_opt(struct netsock_filter *f, int flag, const char *arg);
int netsock_conn_opt(struct netsock_filter *f, bool *wide, int index,
		     const char *arg);
#endif

#endif

/*
 * Types the TCP tools (tcplife, tcpstates, tcpconnect, tcpaccept,
 * tcptracer, tcpconnlat) share between their kernel and user halves: a
 * socket's endpoints and the family/port filters placed in .rodata, plus
 * the user-side helpers that print them.
 */
#ifndef LOUPE_TCPSOCK_H
#define LOUPE_TCPSOCK_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TCPSOCK_MAX_PORTS	8

#define TCPSOCK_AF_INET		2
#define TCPSOCK_AF_INET6	10

/* TCP states as the kernel numbers them (include/net/tcp_states.h). */
enum tcpsock_state {
	TCPSOCK_ESTABLISHED = 1,
	TCPSOCK_SYN_SENT,
	TCPSOCK_SYN_RECV,
	TCPSOCK_FIN_WAIT1,
	TCPSOCK_FIN_WAIT2,
	TCPSOCK_TIME_WAIT,
	TCPSOCK_CLOSE,
	TCPSOCK_CLOSE_WAIT,
	TCPSOCK_LAST_ACK,
	TCPSOCK_LISTEN,
	TCPSOCK_CLOSING,
	TCPSOCK_NEW_SYN_RECV,
};

/*
 * Endpoints of a socket. IPv4 addresses use the first 4 bytes; addresses
 * are in network order, ports in host order.
 */
struct tcpsock_addr {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u16 pad;
};

/* Filters applied in the kernel; zero means "off". */
struct tcpsock_filter {
	__u16 family;
	__u16 nlports;
	__u16 ndports;
	__u16 pad;
	__u16 lports[TCPSOCK_MAX_PORTS];
	__u16 dports[TCPSOCK_MAX_PORTS];
};

#ifndef __bpf__
#include <stddef.h>

const char *tcpsock_state_name(int state);
int tcpsock_ip_version(int family);
void tcpsock_format_addr(int family, const __u8 *addr, char *buf,
			 size_t len);
int tcpsock_parse_ports(const char *arg, __u16 *ports, __u16 *n);
int tcpsock_filter_opt(struct tcpsock_filter *f, int flag, const char *arg);
#endif

#endif

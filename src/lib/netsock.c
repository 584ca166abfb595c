/*
 * The user side of the network vocabulary: addresses printed with
 * inet_ntop (IPv6 compressed) and ADDR:PORT for both families as BCC
 * prints them, TCP state and protocol names, and the one parser for the
 * addresses, ports and port lists the network tools take as flags.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "netsock.h"

/* "?" for a family that is neither IPv4 nor IPv6. */
const char *netsock_addr(int family, const void *addr, char *buf, size_t len)
{
	if ((family != NETSOCK_AF_INET && family != NETSOCK_AF_INET6) ||
	    !inet_ntop(family, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

const char *netsock_addr_port(int family, const void *addr, unsigned port,
			      char *buf, size_t len)
{
	char a[NETSOCK_ADDR_LEN];

	snprintf(buf, len, "%s:%u", netsock_addr(family, addr, a, sizeof(a)),
		 port);
	return buf;
}

/* 4 or 6, as BCC's IP column shows it; 0 for anything else. */
int netsock_ip_version(int family)
{
	if (family == NETSOCK_AF_INET)
		return 4;
	if (family == NETSOCK_AF_INET6)
		return 6;
	return 0;
}

/* Names as BCC prints them (tcpretrans, tcpstates). */
static const char *const tcp_states[] = {
	[NETSOCK_TCP_ESTABLISHED] = "ESTABLISHED",
	[NETSOCK_TCP_SYN_SENT] = "SYN_SENT",
	[NETSOCK_TCP_SYN_RECV] = "SYN_RECV",
	[NETSOCK_TCP_FIN_WAIT1] = "FIN_WAIT1",
	[NETSOCK_TCP_FIN_WAIT2] = "FIN_WAIT2",
	[NETSOCK_TCP_TIME_WAIT] = "TIME_WAIT",
	[NETSOCK_TCP_CLOSE] = "CLOSE",
	[NETSOCK_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[NETSOCK_TCP_LAST_ACK] = "LAST_ACK",
	[NETSOCK_TCP_LISTEN] = "LISTEN",
	[NETSOCK_TCP_CLOSING] = "CLOSING",
	[NETSOCK_TCP_NEW_SYN_RECV] = "NEW_SYN_RECV",
};

/* "UNKNOWN" for numbers the kernel does not use. */
const char *netsock_tcp_state(int state)
{
	if (state > 0 && state < (int)(sizeof(tcp_states) /
				       sizeof(tcp_states[0])))
		return tcp_states[state];
	return "UNKNOWN";
}

const char *netsock_proto(int protocol)
{
	switch (protocol) {
	case 6:
		return "TCP";
	case 17:
		return "UDP";
	case 132:
		return "SCTP";
	case 136:
		return "UDPLITE";
	case 262:
		return "MPTCP";
	default:
		return "UNK";
	}
}

/* 0, or -EINVAL if s is neither an IPv4 nor an IPv6 address. */
int netsock_parse_ip(const char *s, struct netsock_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->addr) == 1) {
		ip->family = NETSOCK_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->addr) == 1) {
		ip->family = NETSOCK_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/*
 * One decimal port 1..65535 at s (digits only: no sign, no blank); the
 * character after it in *end. 0 or -EINVAL.
 */
static int port_at(const char *s, __u16 *port, const char **end)
{
	unsigned long v;
	char *e;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &e, 10);
	if (errno || v == 0 || v > 65535)
		return -EINVAL;
	*port = v;
	*end = e;
	return 0;
}

/* 0, or -EINVAL unless s is a decimal port 1..65535. */
int netsock_parse_port(const char *s, __u16 *port)
{
	const char *end;
	__u16 v;

	if (!s || port_at(s, &v, &end) || *end)
		return -EINVAL;
	*port = v;
	return 0;
}

/*
 * Append "80" or "80,443,8080" to ports; 0 on success, -EINVAL on a bad
 * port or an empty item, -E2BIG past NETSOCK_MAX_PORTS.
 */
int netsock_parse_ports(const char *s, __u16 *ports, __u16 *n)
{
	const char *end;
	__u16 v;

	for (;;) {
		if (port_at(s, &v, &end) || (*end && *end != ','))
			return -EINVAL;
		if (*n >= NETSOCK_MAX_PORTS)
			return -E2BIG;
		ports[(*n)++] = v;
		if (!*end)
			return 0;
		s = end + 1;
	}
}

/* An address filter from arg: 0 or EXIT_USAGE. */
static int filter_addr(const char *arg, __u8 *addr, __u16 *family)
{
	struct netsock_ip ip;

	if (netsock_parse_ip(arg, &ip)) {
		log_err("invalid address '%s': expected an IPv4 or IPv6 address",
			arg);
		return EXIT_USAGE;
	}
	memcpy(addr, ip.addr, sizeof(ip.addr));
	*family = ip.family;
	return 0;
}

/*
 * The filter flags the TCP tools share: -4, -6, port lists for the local
 * ('L') or remote ('D', tcpconnect's 'P') end, and one address for the
 * local ('a') or remote ('A') end. 0 or EXIT_USAGE.
 */
int netsock_filter_opt(struct netsock_filter *f, int flag, const char *arg)
{
	int family;

	switch (flag) {
	case '4':
	case '6':
		family = flag == '4' ? NETSOCK_AF_INET : NETSOCK_AF_INET6;
		if (f->family && f->family != family) {
			log_err("-4 and -6 exclude each other");
			return EXIT_USAGE;
		}
		f->family = family;
		return 0;
	case 'a':
		return filter_addr(arg, f->laddr, &f->laddr_family);
	case 'A':
		return filter_addr(arg, f->raddr, &f->raddr_family);
	case 'L':
		if (!netsock_parse_ports(arg, f->lports, &f->nlports))
			return 0;
		break;
	case 'D':
	case 'P':
		if (!netsock_parse_ports(arg, f->dports, &f->ndports))
			return 0;
		break;
	default:
		return EXIT_USAGE;
	}
	log_err("invalid port list '%s': expected up to %d ports from 1 to "
		"65535, comma-separated", arg, NETSOCK_MAX_PORTS);
	return EXIT_USAGE;
}

const struct tool_opt netsock_conn_opts[] = {
	{ "ipv4", '4', NULL, "IPv4 only" },
	{ "ipv6", '6', NULL, "IPv6 only" },
	{ "localport", 'L', "PORT[,PORT]", "only these local ports" },
	{ "remoteport", 'D', "PORT[,PORT]", "only these remote ports" },
	{ "wide", 'w', NULL, "wide address columns (for IPv6)" },
	{ NULL },
};

/* The parse_opt of a tool whose flags are netsock_conn_opts. */
int netsock_conn_opt(struct netsock_filter *f, bool *wide, int index,
		     const char *arg)
{
	int flag = netsock_conn_opts[index].short_name;

	if (flag == 'w') {
		*wide = true;
		return 0;
	}
	return netsock_filter_opt(f, flag, arg);
}

/*
 * Network formatting for the user halves of the network tools. Addresses
 * are printed with inet_ntop (IPv6 in its compressed form), pairs as
 * ADDR:PORT like BCC does for both families.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "inetfmt.h"

const char *inetfmt_addr(int family, const void *addr, char *buf, size_t len)
{
	if ((family != AF_INET && family != AF_INET6) ||
	    !inet_ntop(family, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

const char *inetfmt_addr_port(int family, const void *addr, unsigned port,
			      char *buf, size_t len)
{
	char a[INETFMT_ADDR_LEN];

	snprintf(buf, len, "%s:%u", inetfmt_addr(family, addr, a, sizeof(a)),
		 port);
	return buf;
}

/* Names as BCC prints them (tcpretrans, tcpstates). */
static const char *const tcp_states[] = {
	[1] = "ESTABLISHED",	[2] = "SYN_SENT",	[3] = "SYN_RECV",
	[4] = "FIN_WAIT1",	[5] = "FIN_WAIT2",	[6] = "TIME_WAIT",
	[7] = "CLOSE",		[8] = "CLOSE_WAIT",	[9] = "LAST_ACK",
	[10] = "LISTEN",	[11] = "CLOSING",	[12] = "NEW_SYN_RECV",
};

const char *inetfmt_tcp_state(int state)
{
	if (state > 0 && state < (int)(sizeof(tcp_states) /
				       sizeof(tcp_states[0])))
		return tcp_states[state];
	return "UNKNOWN";
}

const char *inetfmt_proto(int protocol)
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
int inetfmt_parse_addr(const char *s, struct inetfmt_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->addr) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->addr) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* 0, or -EINVAL unless s is a decimal port 1..65535. */
int inetfmt_parse_port(const char *s, uint16_t *port)
{
	unsigned long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

/*
 * User-side helpers of the TCP tools: state names as BCC prints them,
 * address formatting and the PORT[,PORT...] lists of -P/-L/-D.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "tcpsock.h"

static const char *const state_names[] = {
	[TCPSOCK_ESTABLISHED] = "ESTABLISHED",
	[TCPSOCK_SYN_SENT] = "SYN_SENT",
	[TCPSOCK_SYN_RECV] = "SYN_RECV",
	[TCPSOCK_FIN_WAIT1] = "FIN_WAIT1",
	[TCPSOCK_FIN_WAIT2] = "FIN_WAIT2",
	[TCPSOCK_TIME_WAIT] = "TIME_WAIT",
	[TCPSOCK_CLOSE] = "CLOSE",
	[TCPSOCK_CLOSE_WAIT] = "CLOSE_WAIT",
	[TCPSOCK_LAST_ACK] = "LAST_ACK",
	[TCPSOCK_LISTEN] = "LISTEN",
	[TCPSOCK_CLOSING] = "CLOSING",
	[TCPSOCK_NEW_SYN_RECV] = "NEW_SYN_RECV",
};

/* Name of a TCP state; "UNKNOWN" for numbers the kernel does not use. */
const char *tcpsock_state_name(int state)
{
	if (state > 0 && state < (int)(sizeof(state_names) /
				       sizeof(state_names[0])))
		return state_names[state];
	return "UNKNOWN";
}

/* 4 or 6, as BCC's IP column shows it; 0 for anything else. */
int tcpsock_ip_version(int family)
{
	if (family == TCPSOCK_AF_INET)
		return 4;
	if (family == TCPSOCK_AF_INET6)
		return 6;
	return 0;
}

void tcpsock_format_addr(int family, const __u8 *addr, char *buf,
			 size_t len)
{
	int af = family == TCPSOCK_AF_INET6 ? AF_INET6 : AF_INET;

	if (!inet_ntop(af, addr, buf, len))
		snprintf(buf, len, "?");
}

/*
 * Parse "80" or "80,443,8080" into ports; 0 on success, -EINVAL on a bad
 * number, -E2BIG past TCPSOCK_MAX_PORTS.
 */
int tcpsock_parse_ports(const char *arg, __u16 *ports, __u16 *n)
{
	const char *p = arg;

	while (*p) {
		char *end;
		long v;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || v < 1 || v > 65535 || (*end && *end != ','))
			return -EINVAL;
		if (*n >= TCPSOCK_MAX_PORTS)
			return -E2BIG;
		ports[(*n)++] = v;
		p = *end ? end + 1 : end;
		if (*end && !*p)
			return -EINVAL;
	}
	return *n ? 0 : -EINVAL;
}

/*
 * The filter flags the TCP tools share: -4, -6, and port lists for the
 * local ('L') or remote ('D', tcpconnect's 'P') end. 0 or EXIT_USAGE.
 */
int tcpsock_filter_opt(struct tcpsock_filter *f, int flag, const char *arg)
{
	switch (flag) {
	case '4':
		f->family = TCPSOCK_AF_INET;
		return 0;
	case '6':
		f->family = TCPSOCK_AF_INET6;
		return 0;
	case 'L':
		if (!tcpsock_parse_ports(arg, f->lports, &f->nlports))
			return 0;
		break;
	case 'D':
	case 'P':
		if (!tcpsock_parse_ports(arg, f->dports, &f->ndports))
			return 0;
		break;
	default:
		return EXIT_USAGE;
	}
	log_err("invalid port list '%s': expected up to %d ports from 1 to "
		"65535, comma-separated", arg, TCPSOCK_MAX_PORTS);
	return EXIT_USAGE;
}

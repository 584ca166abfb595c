/* tcpaccept: trace passive TCP connections (accept()). */
#include <string.h>
#include "log.h"
#include "netsock.h"
#include "session.h"
#include "tcpaccept.h"
#include "tcpaccept.skel.h"

static struct netsock_filter tcp_filter;

enum { COL_PID, COL_COMM, COL_IP, COL_RADDR, COL_RPORT, COL_LADDR, COL_LPORT };

static const struct out_col columns[] = {
	[COL_PID] = { "PID", -7 },
	[COL_COMM] = { "COMM", -12 },
	[COL_IP] = { "IP", -2 },
	[COL_RADDR] = { "RADDR", -16 },
	[COL_RPORT] = { "RPORT", -5 },
	[COL_LADDR] = { "LADDR", -16 },
	[COL_LPORT] = { "LPORT", 0 },
	{ NULL },
};

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct tcpaccept_event *e = data;
	struct out *o = &s->out;
	char laddr[64], raddr[64];

	if (size < sizeof(*e))
		return 0;
	netsock_addr(e->a.family, e->a.saddr, laddr, sizeof(laddr));
	netsock_addr(e->a.family, e->a.daddr, raddr, sizeof(raddr));
	session_event_begin(s, "tcp_accept", &e->hdr);
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, 12);
	out_int(o, COL_IP, "ip", netsock_ip_version(e->a.family));
	out_str(o, COL_RADDR, "raddr", raddr);
	out_int(o, COL_RPORT, "rport", e->a.dport);
	out_str(o, COL_LADDR, "laddr", laddr);
	out_int(o, COL_LPORT, "lport", e->a.sport);
	out_end(o);
	return 0;
}

/* One program on sys_exit, which finds accept and accept4 by number. */
static const struct hook_probe tcpaccept_raw_probes[] = {
	{ "accept", {
		NETSOCK_ACCEPT_RAW_CANDIDATES,
	} },
	{ NULL },
};

static int tcpaccept_prepare(struct session *s, void *p)
{
	struct tcpaccept_bpf *skel = p;

	session_raw_syscalls(s, skel->obj, tcpaccept_raw_probes);
	memcpy((void *)&skel->rodata->tcp_filter, &tcp_filter,
	       sizeof(tcp_filter));
	return 0;
}

static const struct tool_opt tcpaccept_opts[] = {
	{ "ipv4", '4', NULL, "IPv4 only" },
	{ "ipv6", '6', NULL, "IPv6 only" },
	{ "port", 'P', "PORT[,PORT]", "only these local ports" },
	{ NULL },
};

static int tcpaccept_parse_opt(int index, const char *arg)
{
	int flag = tcpaccept_opts[index].short_name;

	/* BCC's tcpaccept -P lists local ports. */
	return netsock_filter_opt(&tcp_filter, flag == 'P' ? 'L' : flag, arg);
}

static const struct hook_probe tcpaccept_probes[] = {
	{ "accept", {
		NETSOCK_ACCEPT_CANDIDATES,
	} },
	{ NULL },
};

TOOL_SKEL(tcpaccept);

static const struct tool tcpaccept_tool = {
	.name = "tcpaccept",
	.summary = "Trace passive TCP connections (accept())",
	.examples =
		"  loupe tcpaccept              # every TCP accept\n"
		"  loupe tcpaccept -P 80,443    # only on local ports 80 and 443\n"
		"  loupe tcpaccept -6 -j        # IPv6 only, as JSON\n",
	.common = OPT_SNOOP | OPT_RAW_SYSCALLS,
	.opts = tcpaccept_opts,
	.parse_opt = tcpaccept_parse_opt,
	.probes = tcpaccept_probes,
	.skel = &tcpaccept_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = tcpaccept_prepare,
};
TOOL_REGISTER(tcpaccept_tool);

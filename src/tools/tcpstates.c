/* tcpstates: trace TCP state changes with the time spent in each state. */
#include <string.h>
#include "log.h"
#include "session.h"
#include "tcpsock.h"
#include "tcpstates.h"
#include "tcpstates.skel.h"

static struct tcpsock_filter tcp_filter;
static bool wide;

enum {
	COL_SKADDR, COL_PID, COL_COMM, COL_LADDR, COL_LPORT, COL_RADDR,
	COL_RPORT, COL_OLD, COL_ARROW, COL_NEW, COL_MS,
};

#define TCPSTATES_COLUMNS(addr_width) {			\
	[COL_SKADDR] = { "SKADDR", -16 },		\
	[COL_PID] = { "C-PID", -5 },			\
	[COL_COMM] = { "C-COMM", -10 },			\
	[COL_LADDR] = { "LADDR", -(addr_width) },	\
	[COL_LPORT] = { "LPORT", -5 },			\
	[COL_RADDR] = { "RADDR", -(addr_width) },	\
	[COL_RPORT] = { "RPORT", -5 },			\
	[COL_OLD] = { "OLDSTATE", -11 },		\
	[COL_ARROW] = { "->", 2 },			\
	[COL_NEW] = { "NEWSTATE", -11 },		\
	[COL_MS] = { "MS", 0 },				\
	{ NULL },					\
}

static const struct out_col columns[] = TCPSTATES_COLUMNS(15);
static const struct out_col wide_columns[] = TCPSTATES_COLUMNS(39);

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct tcpstates_event *e = data;
	struct out *o = &s->out;
	char laddr[64], raddr[64], skaddr[24];

	if (size < sizeof(*e))
		return 0;
	tcpsock_format_addr(e->a.family, e->a.saddr, laddr, sizeof(laddr));
	tcpsock_format_addr(e->a.family, e->a.daddr, raddr, sizeof(raddr));
	session_event_begin(s, "tcp_state", &e->hdr);
	snprintf(skaddr, sizeof(skaddr), o->json ? "0x%llx" : "%llx",
		 (unsigned long long)e->skaddr);
	out_str(o, COL_SKADDR, "skaddr", skaddr);
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, 10);
	out_int(o, OUT_JSON_ONLY, "ip", tcpsock_ip_version(e->a.family));
	out_str(o, COL_LADDR, "laddr", laddr);
	out_int(o, COL_LPORT, "lport", e->a.sport);
	out_str(o, COL_RADDR, "raddr", raddr);
	out_int(o, COL_RPORT, "rport", e->a.dport);
	out_str(o, COL_OLD, "oldstate", tcpsock_state_name(e->oldstate));
	out_str(o, COL_ARROW, NULL, "->");
	out_str(o, COL_NEW, "newstate", tcpsock_state_name(e->newstate));
	out_double(o, COL_MS, "ms", e->delta_ns / 1e6, 3);
	out_end(o);
	return 0;
}

static int tcpstates_prepare(struct session *s, void *p)
{
	struct tcpstates_bpf *skel = p;

	memcpy((void *)&skel->rodata->tcp_filter, &tcp_filter,
	       sizeof(tcp_filter));
	s->columns = wide ? wide_columns : columns;
	return 0;
}

static const struct tool_opt tcpstates_opts[] = {
	{ "ipv4", '4', NULL, "IPv4 only" },
	{ "ipv6", '6', NULL, "IPv6 only" },
	{ "localport", 'L', "PORT[,PORT]", "only these local ports" },
	{ "remoteport", 'D', "PORT[,PORT]", "only these remote ports" },
	{ "wide", 'w', NULL, "wide address columns (for IPv6)" },
	{ NULL },
};

static int tcpstates_parse_opt(int index, const char *arg)
{
	if (tcpstates_opts[index].short_name == 'w') {
		wide = true;
		return 0;
	}
	return tcpsock_filter_opt(&tcp_filter, tcpstates_opts[index].short_name,
				  arg);
}

static const struct hook_probe tcpstates_probes[] = {
	{ "state change", {
		{ { "state_btf" } },
		{ { "state_raw" } },
		{ { "state_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(tcpstates);

static const struct tool tcpstates_tool = {
	.name = "tcpstates",
	.summary = "Trace TCP state changes with the time spent in each state",
	.examples =
		"  loupe tcpstates              # every TCP state change\n"
		"  loupe tcpstates -L 80 -4     # IPv4 sockets on local port 80\n"
		"  loupe tcpstates -D 443 -w    # remote port 443, wide columns\n",
	.common = OPT_DURATION | OPT_JSON | OPT_TIMESTAMP | OPT_BUFFER,
	.opts = tcpstates_opts,
	.parse_opt = tcpstates_parse_opt,
	.probes = tcpstates_probes,
	.skel = &tcpstates_skel,
	.on_event = on_event,
	.prepare = tcpstates_prepare,
};
TOOL_REGISTER(tcpstates_tool);

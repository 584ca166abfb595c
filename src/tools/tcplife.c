/* tcplife: trace TCP connection lifespans with bytes moved each way. */
#include <string.h>
#include "log.h"
#include "netsock.h"
#include "session.h"
#include "tcplife.h"
#include "tcplife.skel.h"

static struct netsock_filter tcp_filter;
static bool wide;

enum {
	COL_PID, COL_COMM, COL_LADDR, COL_LPORT, COL_RADDR, COL_RPORT,
	COL_TX, COL_RX, COL_MS,
};

#define TCPLIFE_COLUMNS(addr_width) {			\
	[COL_PID] = { "PID", -7 },			\
	[COL_COMM] = { "COMM", -12 },			\
	[COL_LADDR] = { "LADDR", -(addr_width) },	\
	[COL_LPORT] = { "LPORT", -5 },			\
	[COL_RADDR] = { "RADDR", -(addr_width) },	\
	[COL_RPORT] = { "RPORT", -5 },			\
	[COL_TX] = { "TX_KB", 5 },			\
	[COL_RX] = { "RX_KB", 5 },			\
	[COL_MS] = { "MS", 0 },				\
	{ NULL },					\
}

static const struct out_col columns[] = TCPLIFE_COLUMNS(15);
static const struct out_col wide_columns[] = TCPLIFE_COLUMNS(39);

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct tcplife_event *e = data;
	struct out *o = &s->out;
	char laddr[64], raddr[64];

	if (size < sizeof(*e))
		return 0;
	netsock_addr(e->a.family, e->a.saddr, laddr, sizeof(laddr));
	netsock_addr(e->a.family, e->a.daddr, raddr, sizeof(raddr));
	session_event_begin(s, "tcp_life", &e->hdr);
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, 12);
	out_int(o, OUT_JSON_ONLY, "ip", netsock_ip_version(e->a.family));
	out_str(o, COL_LADDR, "laddr", laddr);
	out_int(o, COL_LPORT, "lport", e->a.sport);
	out_str(o, COL_RADDR, "raddr", raddr);
	out_int(o, COL_RPORT, "rport", e->a.dport);
	/* BCC truncates to whole KiB. */
	out_uint(o, COL_TX, "tx_kb", e->tx_bytes / 1024);
	out_uint(o, COL_RX, "rx_kb", e->rx_bytes / 1024);
	out_double(o, COL_MS, "ms", e->span_ns / 1e6, 2);
	out_uint(o, OUT_JSON_ONLY, "tx_bytes", e->tx_bytes);
	out_uint(o, OUT_JSON_ONLY, "rx_bytes", e->rx_bytes);
	out_uint(o, OUT_JSON_ONLY, "span_ns", e->span_ns);
	out_end(o);
	return 0;
}

static int tcplife_prepare(struct session *s, void *p)
{
	struct tcplife_bpf *skel = p;

	memcpy((void *)&skel->rodata->tcp_filter, &tcp_filter,
	       sizeof(tcp_filter));
	s->columns = wide ? wide_columns : columns;
	return 0;
}

static int tcplife_parse_opt(int index, const char *arg)
{
	return netsock_conn_opt(&tcp_filter, &wide, index, arg);
}

static const struct hook_probe tcplife_probes[] = {
	{ "state change", {
		NETSOCK_STATE_CANDIDATES(life),
	} },
	{ NULL },
};

TOOL_SKEL(tcplife);

static const struct tool tcplife_tool = {
	.name = "tcplife",
	.summary = "Trace TCP connection lifespans with bytes sent and received",
	.examples =
		"  loupe tcplife                # every closed TCP connection\n"
		"  loupe tcplife -L 80,443      # served on local port 80 or 443\n"
		"  loupe tcplife -6 -w -j       # IPv6 only, as JSON (exact bytes)\n",
	.common = OPT_PID | OPT_NAME | OPT_DURATION | OPT_JSON |
		  OPT_TIMESTAMP | OPT_BUFFER | OPT_CONTAINERS,
	.opts = netsock_conn_opts,
	.parse_opt = tcplife_parse_opt,
	.probes = tcplife_probes,
	.skel = &tcplife_skel,
	.on_event = on_event,
	.prepare = tcplife_prepare,
};
TOOL_REGISTER(tcplife_tool);

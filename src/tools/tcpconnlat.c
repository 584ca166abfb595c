/* tcpconnlat: trace TCP active-open latency (SYN sent to established). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "session.h"
#include "tcpconnlat.h"
#include "tcpconnlat.skel.h"
#include "tcpsock.h"

static struct tcpsock_filter tcp_filter;
static unsigned long long min_ns;
static bool show_lport;

enum {
	COL_PID, COL_COMM, COL_IP, COL_SADDR, COL_LPORT, COL_DADDR, COL_DPORT,
	COL_LAT,
};

static const struct out_col lport_columns[] = {
	[COL_PID] = { "PID", -6 },
	[COL_COMM] = { "COMM", -12 },
	[COL_IP] = { "IP", -2 },
	[COL_SADDR] = { "SADDR", -16 },
	[COL_LPORT] = { "LPORT", -5 },
	[COL_DADDR] = { "DADDR", -16 },
	[COL_DPORT] = { "DPORT", -5 },
	[COL_LAT] = { "LAT(ms)", 0 },
	{ NULL },
};

static const struct out_col columns[] = {
	{ "PID", -6 }, { "COMM", -12 }, { "IP", -2 }, { "SADDR", -16 },
	{ "DADDR", -16 }, { "DPORT", -5 }, { "LAT(ms)", 0 }, { NULL },
};

/* Table column of c: without -L, columns after SADDR move left by one. */
static int col(int c)
{
	if (show_lport || c < COL_LPORT)
		return c;
	return c == COL_LPORT ? OUT_JSON_ONLY : c - 1;
}

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct tcpconnlat_event *e = data;
	struct out *o = &s->out;
	char saddr[64], daddr[64];

	if (size < sizeof(*e))
		return 0;
	tcpsock_format_addr(e->a.family, e->a.saddr, saddr, sizeof(saddr));
	tcpsock_format_addr(e->a.family, e->a.daddr, daddr, sizeof(daddr));
	session_event_begin(s, "tcp_connlat", &e->hdr);
	out_int(o, col(COL_PID), NULL, e->hdr.pid);
	out_strn(o, col(COL_COMM), NULL, e->hdr.comm, 12);
	out_int(o, col(COL_IP), "ip", tcpsock_ip_version(e->a.family));
	out_str(o, col(COL_SADDR), "saddr", saddr);
	out_int(o, col(COL_LPORT), "lport", e->a.sport);
	out_str(o, col(COL_DADDR), "daddr", daddr);
	out_int(o, col(COL_DPORT), "dport", e->a.dport);
	out_double(o, col(COL_LAT), "lat_ms", e->lat_ns / 1e6, 2);
	out_uint(o, OUT_JSON_ONLY, "lat_ns", e->lat_ns);
	out_end(o);
	return 0;
}

static int tcpconnlat_prepare(struct session *s, void *p)
{
	struct tcpconnlat_bpf *skel = p;

	memcpy((void *)&skel->rodata->tcp_filter, &tcp_filter,
	       sizeof(tcp_filter));
	skel->rodata->min_ns = min_ns;
	s->columns = show_lport ? lport_columns : columns;
	return 0;
}

static const struct tool_opt tcpconnlat_opts[] = {
	{ "ipv4", '4', NULL, "IPv4 only" },
	{ "ipv6", '6', NULL, "IPv6 only" },
	{ "lport", 'L', NULL, "add an LPORT column" },
	{ "port", 'P', "PORT[,PORT]", "only these destination ports" },
	{ NULL },
};

static int tcpconnlat_parse_opt(int index, const char *arg)
{
	if (tcpconnlat_opts[index].short_name == 'L') {
		show_lport = true;
		return 0;
	}
	return tcpsock_filter_opt(&tcp_filter,
				  tcpconnlat_opts[index].short_name, arg);
}

/* MIN_MS: only connections slower than this many milliseconds. */
static int tcpconnlat_parse_min(int index, const char *arg)
{
	double ms;

	if (index > 0) {
		log_err("unexpected argument '%s'; see 'loupe tcpconnlat --help'",
			arg);
		return EXIT_USAGE;
	}
	if (opts_real("MIN_MS", arg, 0, 1e9, "milliseconds", &ms))
		return EXIT_USAGE;
	min_ns = (unsigned long long)(ms * 1e6);
	return 0;
}

static const struct hook_probe tcpconnlat_probes[] = {
	{ "handshake", {
		{ { "connlat_btf" } },
		{ { "connlat_raw" } },
		{ { "connlat_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(tcpconnlat);

static const struct tool tcpconnlat_tool = {
	.name = "tcpconnlat",
	.summary = "Trace TCP connect latency: SYN sent to established",
	.examples =
		"  loupe tcpconnlat             # every active open\n"
		"  loupe tcpconnlat 1           # only those slower than 1 ms\n"
		"  loupe tcpconnlat -L -P 443   # with LPORT, port 443 only\n",
	.common = OPT_SNOOP,
	.opts = tcpconnlat_opts,
	.parse_opt = tcpconnlat_parse_opt,
	.args_usage = "[MIN_MS]",
	.parse_arg = tcpconnlat_parse_min,
	.probes = tcpconnlat_probes,
	.skel = &tcpconnlat_skel,
	.on_event = on_event,
	.prepare = tcpconnlat_prepare,
};
TOOL_REGISTER(tcpconnlat_tool);

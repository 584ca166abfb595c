/* tcpconnect: trace active TCP connections (connect()). */
#include <string.h>
#include "log.h"
#include "session.h"
#include "tcpconnect.h"
#include "tcpconnect.skel.h"
#include "tcpsock.h"

static struct tcpsock_filter tcp_filter;
static bool show_uid;

enum { COL_UID, COL_PID, COL_COMM, COL_IP, COL_SADDR, COL_DADDR, COL_DPORT };

static const struct out_col uid_columns[] = {
	[COL_UID] = { "UID", -6 },
	[COL_PID] = { "PID", -7 },
	[COL_COMM] = { "COMM", -12 },
	[COL_IP] = { "IP", -2 },
	[COL_SADDR] = { "SADDR", -16 },
	[COL_DADDR] = { "DADDR", -16 },
	[COL_DPORT] = { "DPORT", 0 },
	{ NULL },
};

/* Without -U the table starts at PID: the same layout shifted by one. */
static const struct out_col *const columns = &uid_columns[COL_PID];

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct tcpconnect_event *e = data;
	struct out *o = &s->out;
	int shift = show_uid ? 0 : COL_PID;
	char saddr[64], daddr[64];

	if (size < sizeof(*e))
		return 0;
	tcpsock_format_addr(e->a.family, e->a.saddr, saddr, sizeof(saddr));
	tcpsock_format_addr(e->a.family, e->a.daddr, daddr, sizeof(daddr));
	session_event_begin(s, "tcp_connect", &e->hdr);
	if (show_uid)
		out_int(o, COL_UID, NULL, e->hdr.uid);
	out_int(o, COL_PID - shift, NULL, e->hdr.pid);
	out_strn(o, COL_COMM - shift, NULL, e->hdr.comm, 12);
	out_int(o, COL_IP - shift, "ip", tcpsock_ip_version(e->a.family));
	out_str(o, COL_SADDR - shift, "saddr", saddr);
	out_str(o, COL_DADDR - shift, "daddr", daddr);
	out_int(o, COL_DPORT - shift, "dport", e->a.dport);
	out_end(o);
	return 0;
}

static int tcpconnect_prepare(struct session *s, void *p)
{
	struct tcpconnect_bpf *skel = p;

	memcpy((void *)&skel->rodata->tcp_filter, &tcp_filter,
	       sizeof(tcp_filter));
	s->columns = show_uid ? uid_columns : columns;
	return 0;
}

static const struct tool_opt tcpconnect_opts[] = {
	{ "ipv4", '4', NULL, "IPv4 only" },
	{ "ipv6", '6', NULL, "IPv6 only" },
	{ "port", 'P', "PORT[,PORT]", "only these destination ports" },
	{ "print-uid", 'U', NULL, "add a UID column" },
	{ NULL },
};

static int tcpconnect_parse_opt(int index, const char *arg)
{
	if (tcpconnect_opts[index].short_name == 'U') {
		show_uid = true;
		return 0;
	}
	return tcpsock_filter_opt(&tcp_filter,
				  tcpconnect_opts[index].short_name, arg);
}

static const struct hook_probe tcpconnect_probes[] = {
	{ "connect", {
		{ { "connect4_fexit", "?connect6_fexit" } },
		{ { "connect4_kprobe", "connect4_kretprobe",
		    "?connect6_kprobe", "?connect6_kretprobe" } },
		{ { "connect_btf" } },
		{ { "connect_raw" } },
		{ { "connect_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(tcpconnect);

static const struct tool tcpconnect_tool = {
	.name = "tcpconnect",
	.summary = "Trace active TCP connections (connect())",
	.examples =
		"  loupe tcpconnect             # every TCP connect\n"
		"  loupe tcpconnect -P 80,443   # only to ports 80 and 443\n"
		"  loupe tcpconnect -U -p 181   # with UID, only PID 181\n",
	.common = OPT_SNOOP,
	.opts = tcpconnect_opts,
	.parse_opt = tcpconnect_parse_opt,
	.probes = tcpconnect_probes,
	.skel = &tcpconnect_skel,
	.on_event = on_event,
	.prepare = tcpconnect_prepare,
};
TOOL_REGISTER(tcpconnect_tool);

/* tcptracer: trace TCP connect, accept and close events. */
#include <string.h>
#include "log.h"
#include "session.h"
#include "tcpsock.h"
#include "tcptracer.h"
#include "tcptracer.skel.h"

static struct tcpsock_filter tcp_filter;

enum {
	COL_T, COL_PID, COL_COMM, COL_IP, COL_SADDR, COL_DADDR, COL_SPORT,
	COL_DPORT,
};

static const struct out_col columns[] = {
	[COL_T] = { "T", -2 },
	[COL_PID] = { "PID", -6 },
	[COL_COMM] = { "COMM", -16 },
	[COL_IP] = { "IP", -2 },
	[COL_SADDR] = { "SADDR", -16 },
	[COL_DADDR] = { "DADDR", -16 },
	[COL_SPORT] = { "SPORT", -6 },
	[COL_DPORT] = { "DPORT", 0 },
	{ NULL },
};

static const char *type_name(__u32 type)
{
	switch (type) {
	case TCPTRACER_CONNECT:
		return "connect";
	case TCPTRACER_ACCEPT:
		return "accept";
	case TCPTRACER_CLOSE:
		return "close";
	}
	return "unknown";
}

/* BCC shows IPv6 addresses in brackets in the table. */
static void format_addr(const struct out *o, int family, const __u8 *addr,
			char *buf, size_t len)
{
	char plain[48];

	tcpsock_format_addr(family, addr, plain, sizeof(plain));
	if (!o->json && family == TCPSOCK_AF_INET6)
		snprintf(buf, len, "[%s]", plain);
	else
		snprintf(buf, len, "%s", plain);
}

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct tcptracer_event *e = data;
	struct out *o = &s->out;
	char saddr[64], daddr[64], t[2] = { 0 };

	if (size < sizeof(*e))
		return 0;
	format_addr(o, e->a.family, e->a.saddr, saddr, sizeof(saddr));
	format_addr(o, e->a.family, e->a.daddr, daddr, sizeof(daddr));
	t[0] = (char)e->type;
	session_event_begin(s, "tcp_trace", &e->hdr);
	out_str(o, COL_T, NULL, t);
	out_str(o, OUT_JSON_ONLY, "event", type_name(e->type));
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, sizeof(e->hdr.comm));
	out_int(o, COL_IP, "ip", tcpsock_ip_version(e->a.family));
	out_str(o, COL_SADDR, "saddr", saddr);
	out_str(o, COL_DADDR, "daddr", daddr);
	out_int(o, COL_SPORT, "sport", e->a.sport);
	out_int(o, COL_DPORT, "dport", e->a.dport);
	out_end(o);
	return 0;
}

static int tcptracer_prepare(struct session *s, void *p)
{
	struct tcptracer_bpf *skel = p;

	(void)s;
	memcpy((void *)&skel->rodata->tcp_filter, &tcp_filter,
	       sizeof(tcp_filter));
	return 0;
}

static const struct tool_opt tcptracer_opts[] = {
	{ "ipv4", '4', NULL, "IPv4 only" },
	{ "ipv6", '6', NULL, "IPv6 only" },
	{ NULL },
};

static int tcptracer_parse_opt(int index, const char *arg)
{
	return tcpsock_filter_opt(&tcp_filter,
				  tcptracer_opts[index].short_name, arg);
}

static const struct hook_probe tcptracer_probes[] = {
	{ "connect/close", {
		{ { "state_btf" } },
		{ { "state_raw" } },
		{ { "state_tp" } },
	} },
	{ "accept", {
		{ { "accept_fexit" } },
		{ { "accept_kretprobe" } },
		{ { "?accept_exit_tp", "accept4_exit_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(tcptracer);

static const struct tool tcptracer_tool = {
	.name = "tcptracer",
	.summary = "Trace TCP connect (C), accept (A) and close (X) events",
	.examples =
		"  loupe tcptracer              # every TCP connect, accept, close\n"
		"  loupe tcptracer -p 181       # only PID 181\n"
		"  loupe tcptracer -6 -j        # IPv6 only, as JSON\n",
	.common = OPT_SNOOP,
	.opts = tcptracer_opts,
	.parse_opt = tcptracer_parse_opt,
	.probes = tcptracer_probes,
	.skel = &tcptracer_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = tcptracer_prepare,
};
TOOL_REGISTER(tcptracer_tool);

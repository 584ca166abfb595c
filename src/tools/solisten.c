/*
 * solisten: trace listen() on IPv4 and IPv6 sockets: who listens on which
 * address and port, with which backlog (BCC's solisten columns).
 */
#include <stdio.h>
#include <sys/socket.h>
#include "inetfmt.h"
#include "log.h"
#include "session.h"
#include "solisten.h"
#include "solisten.skel.h"

enum { COL_PID, COL_COMM, COL_PROTO, COL_BACKLOG, COL_PORT, COL_ADDR };

static const struct out_col columns[] = {
	[COL_PID] = { "PID", -7 },
	[COL_COMM] = { "COMM", -16 },
	[COL_PROTO] = { "PROTO", -8 },
	[COL_BACKLOG] = { "BACKLOG", -8 },
	[COL_PORT] = { "PORT", -6 },
	[COL_ADDR] = { "ADDR", 0 },
	{ NULL },
};

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct listen_event *e = data;
	struct out *o = &s->out;
	char addr[INETFMT_ADDR_LEN], proto[16];
	int family = e->t.family;

	if (size < sizeof(*e))
		return 0;
	/* BCC names the protocol with the IP version: TCPv4, TCPv6. */
	snprintf(proto, sizeof(proto), "%sv%d", inetfmt_proto(e->protocol),
		 family == AF_INET6 ? 6 : 4);
	session_event_begin(s, "listen", &e->hdr);
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, sizeof(e->hdr.comm));
	out_str(o, COL_PROTO, "proto", proto);
	out_uint(o, COL_BACKLOG, "backlog", e->backlog);
	out_uint(o, COL_PORT, "port", e->t.sport);
	out_str(o, COL_ADDR, "addr",
		inetfmt_addr(family, e->t.saddr, addr, sizeof(addr)));
	out_int(o, OUT_JSON_ONLY, "ip", family == AF_INET6 ? 6 : 4);
	out_int(o, OUT_JSON_ONLY, "ret", e->ret);
	out_end(o);
	return 0;
}

static const struct hook_probe solisten_probes[] = {
	{ "listen", {
		{ { "listen_kprobe", "listen_kretprobe" } },
		{ { "listen_enter_tp", "listen_exit_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(solisten);

static const struct tool solisten_tool = {
	.name = "solisten",
	.summary = "Trace listen() on IPv4 and IPv6 sockets: address, port, backlog",
	.examples =
		"  loupe solisten               # every listen, system-wide\n"
		"  loupe solisten -p 181        # listens by PID 181\n"
		"  loupe solisten -x -j         # failed listens, as JSON\n",
	.common = OPT_SNOOP | OPT_FAILED,
	.failed_help = "only failed listens",
	.probes = solisten_probes,
	.skel = &solisten_skel,
	.columns = columns,
	.on_event = on_event,
};
TOOL_REGISTER(solisten_tool);

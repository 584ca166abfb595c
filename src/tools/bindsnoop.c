/*
 * bindsnoop: trace bind() on IPv4 and IPv6 sockets: who bound which
 * address and port, with which protocol and options, and the result.
 */
#include <stdlib.h>
#include <sys/socket.h>
#include "bindsnoop.h"
#include "bindsnoop.skel.h"
#include "inetfmt.h"
#include "log.h"
#include "session.h"

enum {
	COL_PID, COL_COMM, COL_RET, COL_PROTO, COL_OPTS, COL_IF, COL_PORT,
	COL_ADDR,
};

static const struct out_col columns[] = {
	[COL_PID] = { "PID", -7 },
	[COL_COMM] = { "COMM", -16 },
	[COL_RET] = { "RET", 3 },
	[COL_PROTO] = { "PROTO", -5 },
	[COL_OPTS] = { "OPTS", -5 },
	[COL_IF] = { "IF", 4 },
	[COL_PORT] = { "PORT", 5 },
	[COL_ADDR] = { "ADDR", 0 },
	{ NULL },
};

static struct bind_cfg settings;

static void format_opts(unsigned int opts, char *buf)
{
	static const char letters[] = "FTNRr";

	for (int i = 0; i < 5; i++)
		buf[i] = opts & (1u << i) ? letters[i] : '.';
	buf[5] = '\0';
}

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct bind_event *e = data;
	struct out *o = &s->out;
	char addr[INETFMT_ADDR_LEN], opts[6];

	if (size < sizeof(*e))
		return 0;
	format_opts(e->opts, opts);
	session_event_begin(s, "bind", &e->hdr);
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, sizeof(e->hdr.comm));
	out_int(o, COL_RET, "ret", e->ret);
	out_str(o, COL_PROTO, "proto", inetfmt_proto(e->protocol));
	out_str(o, COL_OPTS, "opts", opts);
	out_uint(o, COL_IF, "bound_dev_if", e->bound_dev_if);
	out_uint(o, COL_PORT, "port", e->port);
	out_str(o, COL_ADDR, "addr",
		inetfmt_addr(e->family, e->addr, addr, sizeof(addr)));
	out_int(o, OUT_JSON_ONLY, "ip", e->family == AF_INET6 ? 6 : 4);
	out_int(o, OUT_JSON_ONLY, "err", e->ret < 0 ? -e->ret : 0);
	out_end(o);
	return 0;
}

static int bindsnoop_prepare(struct session *s, void *p)
{
	struct bindsnoop_bpf *skel = p;

	(void)s;
	skel->rodata->cfg = settings;
	return 0;
}

static const struct tool_opt bindsnoop_opts[] = {
	{ "port", 'P', "PORT", "only binds to this port" },
	{ NULL },
};

static int bindsnoop_parse_opt(int index, const char *arg)
{
	uint16_t port;

	(void)index;
	if (inetfmt_parse_port(arg, &port)) {
		log_err("invalid --port '%s': expected a port 1 to 65535",
			arg);
		return EXIT_USAGE;
	}
	settings.port = port;
	return 0;
}

static const struct hook_probe bindsnoop_probes[] = {
	{ "bind", {
		{ { "inet_bind_kprobe", "inet_bind_kretprobe",
		    "?inet6_bind_kprobe", "?inet6_bind_kretprobe" } },
		{ { "bind_enter_tp", "bind_exit_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(bindsnoop);

static const struct tool bindsnoop_tool = {
	.name = "bindsnoop",
	.summary = "Trace bind() on IPv4 and IPv6 sockets: address, port, protocol, options",
	.examples =
		"  loupe bindsnoop              # every bind, system-wide\n"
		"  loupe bindsnoop -x           # only failed binds\n"
		"  loupe bindsnoop -P 53 -j     # binds to port 53, as JSON\n",
	.common = OPT_SNOOP | OPT_FAILED,
	.failed_help = "only failed binds",
	.opts = bindsnoop_opts,
	.parse_opt = bindsnoop_parse_opt,
	.probes = bindsnoop_probes,
	.skel = &bindsnoop_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = bindsnoop_prepare,
};
TOOL_REGISTER(bindsnoop_tool);

/*
 * tcpretrans: trace TCP retransmits (and, with -l, tail loss probes) with
 * the connection's addresses, ports and state, like BCC's tcpretrans, and
 * the task only when one made the retransmit (none in a softirq).
 */
#include <string.h>
#include <sys/socket.h>
#include <bpf/libbpf.h>
#include "netsock.h"
#include "session.h"
#include "tcpretrans.h"
#include "tcpretrans.skel.h"

enum {
	COL_PID, COL_COMM, COL_IP, COL_LADDR, COL_TYPE, COL_RADDR, COL_STATE,
};

/*
 * TIME comes first and always, as in BCC (the out layer's -T column).
 * COMM is not in BCC: it tells a retransmit in a softirq, which runs on
 * behalf of no task, from one in a task's own context.
 */
static const struct out_col columns[] = {
	[COL_PID] = { "PID", -7 },
	[COL_COMM] = { "COMM", -12 },
	[COL_IP] = { "IP", -2 },
	[COL_LADDR] = { "LADDR:LPORT", -20 },
	[COL_TYPE] = { "T>", -2 },
	[COL_RADDR] = { "RADDR:RPORT", -20 },
	[COL_STATE] = { "STATE", 0 },
	{ NULL },
};

static bool loss_probes;
static struct netsock_filter tcp_filter;

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct retrans_event *e = data;
	struct out *o = &s->out;
	char laddr[NETSOCK_ADDR_LEN], raddr[NETSOCK_ADDR_LEN];
	char lpair[NETSOCK_ADDR_PORT_LEN], rpair[NETSOCK_ADDR_PORT_LEN];
	char ctx[16];
	int family = e->t.family;

	if (size < sizeof(*e))
		return 0;
	session_event_begin_ctx(s, "retransmit", &e->hdr, e->context);
	if (e->context == EVENT_CTX_TASK) {
		out_int(o, COL_PID, NULL, e->hdr.pid);
		out_strn(o, COL_COMM, NULL, e->hdr.comm, 12);
	} else {
		snprintf(ctx, sizeof(ctx), "[%s]",
			 session_context_name(e->context));
		out_str(o, COL_PID, NULL, "-");
		out_str(o, COL_COMM, NULL, ctx);
	}
	out_int(o, COL_IP, "ip", family == AF_INET6 ? 6 : 4);
	netsock_addr_port(family, e->t.saddr, e->t.sport, lpair,
			  sizeof(lpair));
	netsock_addr_port(family, e->t.daddr, e->t.dport, rpair,
			  sizeof(rpair));
	out_str(o, COL_LADDR, NULL, lpair);
	out_str(o, COL_TYPE, NULL,
		e->type == RETRANS_TYPE_TLP ? "L>" : "R>");
	out_str(o, COL_RADDR, NULL, rpair);
	out_str(o, COL_STATE, "state", netsock_tcp_state(e->state));
	out_str(o, OUT_JSON_ONLY, "laddr",
		netsock_addr(family, e->t.saddr, laddr, sizeof(laddr)));
	out_uint(o, OUT_JSON_ONLY, "lport", e->t.sport);
	out_str(o, OUT_JSON_ONLY, "raddr",
		netsock_addr(family, e->t.daddr, raddr, sizeof(raddr)));
	out_uint(o, OUT_JSON_ONLY, "rport", e->t.dport);
	out_str(o, OUT_JSON_ONLY, "kind",
		e->type == RETRANS_TYPE_TLP ? "tlp" : "retrans");
	out_end(o);
	return 0;
}

/* The loss probe stays last: without_loss_probes() drops it. */
static const struct hook_probe tcpretrans_probes[] = {
	{ "retransmit", {
		{ { "retrans_kprobe" } },
		{ { "retrans_btf" } },
		{ { "retrans_tp" } },
	} },
	{ "softirq", {
		{ { "softirq_exit_btf", "softirq_entry_btf" } },
		{ { "softirq_exit_raw", "softirq_entry_raw" } },
		{ { "softirq_exit_tp", "softirq_entry_tp" } },
	} },
	{ "loss probe", {
		{ { "tlp_kprobe" } },
	} },
	{ NULL },
};

#define TCPRETRANS_NPROBES \
	(sizeof(tcpretrans_probes) / sizeof(tcpretrans_probes[0]) - 1)

/* Without -l the loss-probe probe is not wanted, so not required. */
static const struct tool *without_loss_probes(const struct tool *t)
{
	static struct hook_probe probes[TCPRETRANS_NPROBES];
	static struct tool copy;

	memcpy(probes, tcpretrans_probes,
	       (TCPRETRANS_NPROBES - 1) * sizeof(probes[0]));
	memset(&probes[TCPRETRANS_NPROBES - 1], 0, sizeof(probes[0]));
	copy = *t;
	copy.probes = probes;
	return &copy;
}

static int tcpretrans_prepare(struct session *s, void *p)
{
	struct tcpretrans_bpf *skel = p;

	memcpy((void *)&skel->rodata->tcp_filter, &tcp_filter,
	       sizeof(tcp_filter));
	if (!loss_probes) {
		s->tool = without_loss_probes(s->tool);
		bpf_program__set_autoload(skel->progs.tlp_kprobe, false);
	}
	/* BCC's tcpretrans always starts its rows with the time. */
	s->opts.timestamp = true;
	return 0;
}

static const struct tool_opt tcpretrans_opts[] = {
	{ "lossprobe", 'l', NULL, "also trace tail loss probes (needs kprobes)" },
	{ "ipv4", '4', NULL, "IPv4 only" },
	{ "ipv6", '6', NULL, "IPv6 only" },
	{ NULL },
};

static int tcpretrans_parse_opt(int index, const char *arg)
{
	if (index == 0) {
		loss_probes = true;
		return 0;
	}
	return netsock_filter_opt(&tcp_filter,
				  tcpretrans_opts[index].short_name, arg);
}

TOOL_SKEL(tcpretrans);

static const struct tool tcpretrans_tool = {
	.name = "tcpretrans",
	.summary = "Trace TCP retransmits with addresses, ports and state",
	.examples =
		"  loupe tcpretrans             # every retransmit, IPv4 and IPv6\n"
		"  loupe tcpretrans -l          # also tail loss probes (kprobe kernels)\n"
		"  loupe tcpretrans -6 -j       # IPv6 only, as JSON\n",
	.common = OPT_DURATION | OPT_JSON | OPT_TIMESTAMP | OPT_BUFFER,
	.opts = tcpretrans_opts,
	.parse_opt = tcpretrans_parse_opt,
	.probes = tcpretrans_probes,
	.skel = &tcpretrans_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = tcpretrans_prepare,
};
TOOL_REGISTER(tcpretrans_tool);

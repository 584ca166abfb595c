/*
 * tcptop: the TCP connections moving the most bytes, per process, every
 * interval (BCC's tcptop layout: a load-average line, then IPv4 and IPv6
 * tables sorted by total traffic).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "netsock.h"
#include "session.h"
#include "tcptop.h"
#include "tcptop.skel.h"
#include "top.h"

enum { COL_PID, COL_COMM, COL_LADDR, COL_RADDR, COL_RX, COL_TX };

static const struct out_col columns4[] = {
	[COL_PID] = { "PID", -6 },
	[COL_COMM] = { "COMM", -12 },
	[COL_LADDR] = { "LADDR", -21 },
	[COL_RADDR] = { "RADDR", -21 },
	[COL_RX] = { "RX_KB", 6 },
	[COL_TX] = { "TX_KB", 6 },
	{ NULL },
};

static const struct out_col columns6[] = {
	[COL_PID] = { "PID", -6 },
	[COL_COMM] = { "COMM", -12 },
	[COL_LADDR] = { "LADDR6", -32 },
	[COL_RADDR] = { "RADDR6", -32 },
	[COL_RX] = { "RX_KB", 6 },
	[COL_TX] = { "TX_KB", 6 },
	{ NULL },
};

struct row {
	struct tcptop_key key;
	struct tcptop_val val;
};

static bool no_clear, no_summary;
static long max_rows = 20;

static int by_total_desc(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	__u64 tx = x->val.rx_bytes + x->val.tx_bytes;
	__u64 ty = y->val.rx_bytes + y->val.tx_bytes;

	return tx < ty ? 1 : tx > ty ? -1 : 0;
}

static void print_rows(struct session *s, const struct row *rows, int n,
		       int family, unsigned long long ts_ns)
{
	char lpair[NETSOCK_ADDR_PORT_LEN], rpair[NETSOCK_ADDR_PORT_LEN];
	char laddr[NETSOCK_ADDR_LEN], raddr[NETSOCK_ADDR_LEN];
	struct out *o = &s->out;
	bool header = false;
	int shown = 0;

	o->cols = family == AF_INET6 ? columns6 : columns4;
	for (int i = 0; i < n && shown < max_rows; i++) {
		const struct row *r = &rows[i];

		if (r->key.family != family)
			continue;
		if (!header && !o->json) {
			if (family == AF_INET6 && shown == 0)
				out_line(o, "%s", "");
			out_header(o);
			header = true;
		}
		shown++;
		out_begin(o, "tcptop", ts_ns);
		session_row_container(s, r->val.cgroup_id);
		out_uint(o, COL_PID, "pid", r->key.pid);
		out_strn(o, COL_COMM, "comm", r->val.comm,
			 sizeof(r->val.comm));
		netsock_addr_port(family, r->key.saddr, r->key.lport, lpair,
				  sizeof(lpair));
		netsock_addr_port(family, r->key.daddr, r->key.dport, rpair,
				  sizeof(rpair));
		out_str(o, COL_LADDR, NULL, lpair);
		out_str(o, COL_RADDR, NULL, rpair);
		out_uint(o, COL_RX, "rx_kb", r->val.rx_bytes / 1024);
		out_uint(o, COL_TX, "tx_kb", r->val.tx_bytes / 1024);
		out_str(o, OUT_JSON_ONLY, "laddr",
			netsock_addr(family, r->key.saddr, laddr,
				     sizeof(laddr)));
		out_uint(o, OUT_JSON_ONLY, "lport", r->key.lport);
		out_str(o, OUT_JSON_ONLY, "raddr",
			netsock_addr(family, r->key.daddr, raddr,
				     sizeof(raddr)));
		out_uint(o, OUT_JSON_ONLY, "rport", r->key.dport);
		out_int(o, OUT_JSON_ONLY, "ip", family == AF_INET6 ? 6 : 4);
		out_uint(o, OUT_JSON_ONLY, "rx_bytes", r->val.rx_bytes);
		out_uint(o, OUT_JSON_ONLY, "tx_bytes", r->val.tx_bytes);
		out_end(o);
	}
}

/* Reads and clears the map, then prints both tables sorted by traffic. */
static int on_interval(struct session *s)
{
	struct tcptop_bpf *skel = s->tool_state;
	int fd = bpf_map__fd(skel->maps.traffic);
	struct tcptop_key cur, next, *prev = NULL;
	unsigned long long ts_ns;
	struct row *rows = NULL;
	int n = 0, cap = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		cur = next;
		prev = &cur;
		if (n == cap) {
			struct row *more;

			cap = cap ? cap * 2 : 256;
			more = realloc(rows, cap * sizeof(*rows));
			if (!more)
				break;
			rows = more;
		}
		rows[n].key = cur;
		if (!bpf_map_lookup_elem(fd, &cur, &rows[n].val))
			n++;
	}
	/* Deleting the rows read keeps bytes that arrived meanwhile. */
	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &rows[i].key);
	qsort(rows, n, sizeof(*rows), by_total_desc);
	ts_ns = out_now_ns();
	top_banner(&s->out, top_should_clear(&s->out, no_clear), !no_summary);
	print_rows(s, rows, n, AF_INET, ts_ns);
	print_rows(s, rows, n, AF_INET6, ts_ns);
	free(rows);
	return 0;
}

static int tcptop_prepare(struct session *s, void *p)
{
	struct tcptop_bpf *skel = p;

	s->tool_state = skel;
	s->on_interval = on_interval;
	/* BCC's default: a table every second. */
	if (s->opts.interval <= 0)
		s->opts.interval = 1;
	return 0;
}

static const struct tool_opt tcptop_opts[] = {
	{ "noclear", 'C', NULL, "do not clear the screen between intervals" },
	{ "nosummary", 'S', NULL, "skip the load-average line" },
	{ "rows", 'r', "N", "at most N rows per table (default 20)" },
	{ NULL },
};

static int tcptop_parse_opt(int index, const char *arg)
{
	unsigned long long v;

	switch (index) {
	case 0:
		no_clear = true;
		break;
	case 1:
		no_summary = true;
		break;
	case 2:
		if (opts_uint("--rows", arg, 1, 100000, "a number of rows",
			      &v))
			return EXIT_USAGE;
		max_rows = v;
		break;
	}
	return 0;
}

static const struct hook_probe tcptop_probes[] = {
	{ "send", {
		{ { "tcp_sendmsg_kprobe" } },
		{ { "send_btf" } },
		{ { "send_tp" } },
	} },
	{ "receive", {
		{ { "tcp_cleanup_rbuf_kprobe" } },
		{ { "recv_btf" } },
		{ { "recv_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(tcptop);

static const struct tool tcptop_tool = {
	.name = "tcptop",
	.summary = "Top TCP connections by bytes sent and received, per interval",
	.examples =
		"  loupe tcptop                 # refresh every second\n"
		"  loupe tcptop -C -i 5 -d 60   # every 5 s for a minute, no clearing\n"
		"  loupe tcptop -p 181 -j       # connections of PID 181, as JSON rows\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION |
		  OPT_INTERVAL | OPT_JSON | OPT_CONTAINERS,
	.opts = tcptop_opts,
	.parse_opt = tcptop_parse_opt,
	.probes = tcptop_probes,
	.skel = &tcptop_skel,
	.prepare = tcptop_prepare,
};
TOOL_REGISTER(tcptop_tool);

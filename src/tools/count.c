/*
 * loupe count: packets and bytes per tcpdump expression at an interface's
 * TC ingress and egress, per interval. Each expression is a program of
 * its own in the clsact qdisc's chain, which counts and lets the packet
 * on to the next filter (TC_ACT_UNSPEC); all share one per-CPU array:
 * entry 4*i + 2*direction + matched.
 */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "out.h"
#include "pexpr.h"
#include "pktprog.h"
#include "session.h"
#include "tool.h"
#include "xlate.h"

#define MAX_EXPRS	32
#define TC_ACT_UNSPEC_V	(-1)

static struct {
	const char *iface;
	const char *exprs[MAX_EXPRS];
	int nexprs;
} cl;

static const struct tool_opt count_opts[] = {
	{ "interface", 'i', "IFACE", "the interface (required); -i is not --interval here" },
	{ NULL },
};

static int count_parse_opt(int index, const char *arg)
{
	if (index)
		return EXIT_USAGE;
	cl.iface = arg;
	return 0;
}

static int count_parse_arg(int index, const char *arg)
{
	if (index >= MAX_EXPRS) {
		log_err("more than %d expressions", MAX_EXPRS);
		return EXIT_USAGE;
	}
	cl.exprs[cl.nexprs++] = arg;
	return 0;
}

enum { COL_EXPR, COL_IN_P, COL_IN_B, COL_OUT_P, COL_OUT_B };

static const struct out_col count_cols[] = {
	{ "EXPRESSION", -30 }, { "IN_PKTS", 10 }, { "IN_BYTES", 12 },
	{ "OUT_PKTS", 10 }, { "OUT_BYTES", 12 }, { NULL },
};

struct count_state {
	int map_fd;
	unsigned int nkeys;
	struct xlate_counter *last, *now;
};

static int count_interval(struct session *s)
{
	struct count_state *st = s->tool_state;
	struct out *o = &s->out;
	uint64_t ts = out_now_ns();

	if (pktprog_counters_read(st->map_fd, st->nkeys, st->now))
		return 0;
	out_time_line(o, ts);
	out_header(o);
	for (int i = 0; i < cl.nexprs; i++) {
		/* The matched entries: ingress 4i+1, egress 4i+3. */
		struct xlate_counter *in = &st->now[4 * i + 1];
		struct xlate_counter *eg = &st->now[4 * i + 3];
		struct xlate_counter *lin = &st->last[4 * i + 1];
		struct xlate_counter *leg = &st->last[4 * i + 3];

		out_begin(o, "count", ts);
		out_str(o, COL_EXPR, "expression", cl.exprs[i]);
		out_uint(o, COL_IN_P, "in_packets", in->packets - lin->packets);
		out_uint(o, COL_IN_B, "in_bytes", in->bytes - lin->bytes);
		out_uint(o, COL_OUT_P, "out_packets",
			 eg->packets - leg->packets);
		out_uint(o, COL_OUT_B, "out_bytes", eg->bytes - leg->bytes);
		out_end(o);
	}
	memcpy(st->last, st->now, st->nkeys * sizeof(*st->now));
	return 0;
}

static int count_run(struct session *s)
{
	struct pktprog_attach at[2 * MAX_EXPRS];
	struct count_state st = { .map_fd = -1 };
	struct bpf_insn epi[XLATE_EPI_MAX];
	int fds[2 * MAX_EXPRS], nfds = 0, ifindex;
	enum pktprog_where where[2];
	int ret = EXIT_RUNTIME;
	char err[512];

	if (!cl.iface) {
		log_err("give the interface: -i IFACE; see 'loupe count --help'");
		return EXIT_USAGE;
	}
	ifindex = (int)if_nametoindex(cl.iface);
	if (!ifindex) {
		log_err("invalid -i '%s': no such interface", cl.iface);
		return EXIT_USAGE;
	}
	if (!cl.nexprs) {
		log_err("give one or more expressions, e.g. icmp 'tcp port 80'");
		return EXIT_USAGE;
	}
	/* at[] alternates ingress and egress, as probes 0 and 1. */
	if (pktprog_choose(s, where, 2))
		return EXIT_RUNTIME;
	st.nkeys = 4 * cl.nexprs;
	st.last = calloc(st.nkeys, sizeof(*st.last));
	st.now = calloc(st.nkeys, sizeof(*st.now));
	if (!st.last || !st.now)
		goto out;
	st.map_fd = pktprog_counters_create(st.nkeys);
	if (st.map_fd < 0)
		goto out;
	for (int i = 0; i < cl.nexprs; i++) {
		struct sock_filter *cbpf;
		size_t n;

		if (pexpr_compile(cl.exprs[i], &cbpf, &n, err, sizeof(err))) {
			log_err("invalid expression '%s': %s", cl.exprs[i],
				err);
			ret = EXIT_USAGE;
			goto out;
		}
		for (int dir = 0; dir < 2; dir++) {
			size_t nepi = xlate_epi_count(epi, st.map_fd,
						      4 * i + 2 * dir,
						      TC_ACT_UNSPEC_V,
						      TC_ACT_UNSPEC_V);

			fds[nfds] = pktprog_load(cbpf, n, XLATE_TC, epi, nepi,
						 s->opts.verbose, err,
						 sizeof(err));
			if (fds[nfds] < 0) {
				log_err("%s", err);
				free(cbpf);
				goto out;
			}
			nfds++;
		}
		free(cbpf);
	}
	s->tool_state = &st;
	s->on_interval = count_interval;
	ret = session_start_ring(s, -1, -1, NULL);
	if (ret)
		goto out;
	s->out.cols = count_cols;
	for (int i = 0; i < nfds; i++)
		at[i] = (struct pktprog_attach){
			.ifindex = ifindex,
			.where = where[i % 2],
		};
	ret = pktprog_run(s, cl.iface, at, fds, nfds);
	session_stop(s);
out:
	while (nfds-- > 0)
		close(fds[nfds]);
	if (st.map_fd >= 0)
		close(st.map_fd);
	free(st.last);
	free(st.now);
	return ret;
}

static const struct tool count_tool = {
	.name = "count",
	.summary = "Count packets and bytes per tcpdump expression at TC ingress and egress",
	.examples =
		"  loupe count -i eth0 icmp 'tcp port 443' 'udp port 53' --interval 1\n"
		"  loupe count -i eth0 -j -d 10 'tcp[tcpflags] & tcp-syn != 0'\n",
	.common = OPT_DURATION | OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP,
	.opts = count_opts,
	.parse_opt = count_parse_opt,
	.args_usage = "EXPRESSION...",
	.parse_arg = count_parse_arg,
	.probes = pktprog_tc_probes,
	.run = count_run,
};
TOOL_REGISTER(count_tool);

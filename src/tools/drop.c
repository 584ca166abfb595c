/*
 * loupe drop: drops the packets a tcpdump expression matches, at XDP
 * (native where the driver has it, else generic; TC ingress where XDP is
 * refused, unless --xdp) or at TC ingress or egress, and counts matched
 * (dropped) and passed packets and bytes per interval. The program is
 * built at run time from the expression (src/net/), so this tool has no
 * BPF object of its own: its counters are a per-CPU array the program
 * updates.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "out.h"
#include "pexpr.h"
#include "pktprog.h"
#include "session.h"
#include "tool.h"
#include "xlate.h"

#define MAX_WORDS	256
/* Verdicts (UAPI values). */
#define XDP_DROP_V	1
#define XDP_PASS_V	2
#define TC_OK_V		0
#define TC_SHOT_V	2

/*
 * One probe, at the hook the flags pick. By default XDP, else (a kernel
 * refusing XDP programs) TC ingress; --xdp forces XDP, --tc picks TC.
 */
static const struct hook_probe drop_probes[] = {
	{ "packets", { { { "xdp" } }, { { "tcx/ingress" } },
		       { { "tc/ingress" } } } },
	{ NULL },
};
static const struct hook_probe drop_xdp_probes[] = {
	{ "packets", { { { "xdp" } } } },
	{ NULL },
};

static struct {
	const char *iface;
	const char *xdp_mode;	/* --xdp-mode, or NULL */
	const struct hook_probe *probes;
	char *words[MAX_WORDS];
	int nwords;
} dl = { .probes = drop_probes };

static const struct tool_opt drop_opts[] = {
	{ "interface", 'i', "IFACE", "the interface (required); -i is not --interval here" },
	{ "xdp", 0, NULL, "drop at XDP only (the default falls back to TC ingress where XDP is refused)" },
	{ "tc", 0, "ingress|egress", "drop at TC, on the way in or out" },
	{ "xdp-mode", 0, "native|generic", "XDP in this mode only (implies --xdp)" },
	{ NULL },
};

static int drop_parse_opt(int index, const char *arg)
{
	switch (index) {
	case 0:
		dl.iface = arg;
		return 0;
	case 1:
		dl.probes = drop_xdp_probes;
		return 0;
	case 2:
		if (!strcmp(arg, "ingress")) {
			dl.probes = pktprog_ingress_probes;
		} else if (!strcmp(arg, "egress")) {
			dl.probes = pktprog_egress_probes;
		} else {
			log_err("invalid --tc '%s': expected ingress or egress",
				arg);
			return EXIT_USAGE;
		}
		return 0;
	case 3:
		if (strcmp(arg, "native") && strcmp(arg, "generic")) {
			log_err("invalid --xdp-mode '%s': expected native or generic",
				arg);
			return EXIT_USAGE;
		}
		dl.xdp_mode = arg;
		dl.probes = drop_xdp_probes;
		return 0;
	}
	return EXIT_USAGE;
}

static int drop_parse_arg(int index, const char *arg)
{
	if (index >= MAX_WORDS) {
		log_err("the expression has more than %d words", MAX_WORDS);
		return EXIT_USAGE;
	}
	dl.words[dl.nwords++] = (char *)arg;
	return 0;
}

enum { COL_MPKTS, COL_MBYTES, COL_PPKTS, COL_PBYTES };

static const struct out_col drop_cols[] = {
	{ "MATCHED", 10 }, { "MATCHED_BYTES", 14 }, { "PASSED", 10 },
	{ "PASSED_BYTES", 14 }, { NULL },
};

struct drop_state {
	int map_fd;
	struct xlate_counter last[2];	/* totals printed so far */
};

static int drop_interval(struct session *s)
{
	struct drop_state *st = s->tool_state;
	struct xlate_counter tot[2];
	struct out *o = &s->out;
	uint64_t now = out_now_ns();

	if (pktprog_counters_read(st->map_fd, 2, tot))
		return 0;
	out_time_line(o, now);
	out_header(o);
	out_begin(o, "drop", now);
	out_uint(o, COL_MPKTS, "matched_packets",
		 tot[1].packets - st->last[1].packets);
	out_uint(o, COL_MBYTES, "matched_bytes",
		 tot[1].bytes - st->last[1].bytes);
	out_uint(o, COL_PPKTS, "passed_packets",
		 tot[0].packets - st->last[0].packets);
	out_uint(o, COL_PBYTES, "passed_bytes",
		 tot[0].bytes - st->last[0].bytes);
	out_end(o);
	memcpy(st->last, tot, sizeof(st->last));
	return 0;
}

/* The program for where: its fd, or -1 after a message. */
static int drop_load(struct session *s, const struct sock_filter *cbpf,
		     size_t n, int map_fd, enum pktprog_where where)
{
	struct bpf_insn epi[XLATE_EPI_MAX];
	bool xdp = where == PKTPROG_XDP;
	char err[512];
	size_t nepi;
	int fd;

	nepi = xlate_epi_count(epi, map_fd, 0, xdp ? XDP_DROP_V : TC_SHOT_V,
			       xdp ? XDP_PASS_V : TC_OK_V);
	fd = pktprog_load(cbpf, n, xdp ? XLATE_XDP : XLATE_TC, epi, nepi,
			  s->opts.verbose, err, sizeof(err));
	if (fd < 0)
		log_err("%s", err);
	return fd;
}

/*
 * Loads and attaches the program: at XDP, or where XDP is refused (the
 * kernel, the driver, another XDP program) and the hook was not forced,
 * at TC ingress after a one-line notice. 0, or an exit status.
 */
static int drop_attach(struct session *s, const struct sock_filter *cbpf,
		       size_t n, int map_fd, struct pktprog_attach *at,
		       int *fd)
{
	bool fallback = dl.probes == drop_probes;
	char err[512];

	if (pktprog_choose(s, &at->where, 1))
		return EXIT_RUNTIME;
	if (fallback && at->where != PKTPROG_XDP)
		log_err("%s: the kernel refuses XDP programs (%s); dropping at %s",
			dl.iface, s->hooks[0].why[0],
			pktprog_where_name(at->where));
	*fd = drop_load(s, cbpf, n, map_fd, at->where);
	if (*fd < 0)
		return EXIT_RUNTIME;
	if (!pktprog_attach(at, *fd, err, sizeof(err)))
		return 0;
	if (!fallback || at->where != PKTPROG_XDP) {
		log_err("%s: %s", dl.iface, err);
		return EXIT_RUNTIME;
	}
	close(*fd);
	*fd = -1;
	s->probes = pktprog_ingress_probes;
	if (pktprog_choose(s, &at->where, 1))
		return EXIT_RUNTIME;
	log_err("%s: %s; dropping at %s instead (--xdp: XDP or nothing)",
		dl.iface, err, pktprog_where_name(at->where));
	*fd = drop_load(s, cbpf, n, map_fd, at->where);
	if (*fd < 0)
		return EXIT_RUNTIME;
	if (pktprog_attach(at, *fd, err, sizeof(err))) {
		log_err("%s: %s", dl.iface, err);
		return EXIT_RUNTIME;
	}
	return 0;
}

static int drop_run(struct session *s)
{
	struct pktprog_attach at = { .link_fd = -1 };
	struct drop_state st = { .map_fd = -1 };
	struct sock_filter *cbpf = NULL;
	char err[512], *expr = NULL;
	int ret = EXIT_RUNTIME, fd = -1;
	size_t n;

	if (!dl.iface) {
		log_err("give the interface: -i IFACE; see 'loupe drop --help'");
		return EXIT_USAGE;
	}
	if (dl.xdp_mode && dl.probes != drop_xdp_probes) {
		log_err("--xdp-mode goes with XDP, not --tc");
		return EXIT_USAGE;
	}
	at.xdp_want = dl.xdp_mode;
	at.ifindex = (int)if_nametoindex(dl.iface);
	if (!at.ifindex) {
		log_err("invalid -i '%s': no such interface", dl.iface);
		return EXIT_USAGE;
	}
	if (!dl.nwords) {
		log_err("give the expression of the packets to drop, e.g. 'icmp'");
		return EXIT_USAGE;
	}
	s->probes = dl.probes;
	expr = pexpr_join(dl.nwords, dl.words);
	if (!expr) {
		log_err("out of memory");
		return EXIT_RUNTIME;
	}
	if (pexpr_compile(expr, &cbpf, &n, err, sizeof(err))) {
		log_err("invalid expression '%s': %s", expr, err);
		ret = EXIT_USAGE;
		goto out;
	}
	st.map_fd = pktprog_counters_create(2);
	if (st.map_fd < 0)
		goto out;
	s->tool_state = &st;
	s->on_interval = drop_interval;
	s->columns = drop_cols;
	ret = session_start_ring(s, -1, -1, NULL);
	if (ret)
		goto out;
	s->out.cols = drop_cols;
	ret = drop_attach(s, cbpf, n, st.map_fd, &at, &fd);
	/* Detached before anything else, on every path. */
	if (!ret)
		ret = pktprog_run(s, dl.iface, &at, &fd, 1);
	session_stop(s);
out:
	if (fd >= 0)
		close(fd);
	if (st.map_fd >= 0)
		close(st.map_fd);
	free(cbpf);
	free(expr);
	return ret;
}

static const struct tool drop_tool = {
	.name = "drop",
	.summary = "Drop the packets a tcpdump expression matches (XDP or TC), counting matched and passed packets",
	.examples =
		"  loupe drop -i eth0 icmp                       # at XDP until Ctrl-C\n"
		"  loupe drop -i eth0 --tc egress 'udp port 53' --interval 1\n"
		"  loupe drop -i eth0 'src net 10.9.0.0/16 and tcp[tcpflags] & tcp-syn != 0' -d 60\n",
	.common = OPT_DURATION | OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP,
	.opts = drop_opts,
	.parse_opt = drop_parse_opt,
	.args_usage = "EXPRESSION...",
	.parse_arg = drop_parse_arg,
	.probes = drop_probes,
	.run = drop_run,
};
TOOL_REGISTER(drop_tool);

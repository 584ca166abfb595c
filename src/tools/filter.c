/*
 * loupe filter: what a tcpdump expression becomes. -d/-dd/-ddd print
 * libpcap's classic program exactly as tcpdump does; --dump ebpf the XDP
 * (or --tc: TC) program loupe translates it into; -r FILE runs both
 * translations in the kernel (BPF_PROG_TEST_RUN) on each packet of a
 * pcap file next to libpcap's own verdict. The -d letter is tcpdump's
 * here, not --duration: this tool runs nothing for a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ir.h"
#include "log.h"
#include "out.h"
#include "pexpr.h"
#include "pktprog.h"
#include "session.h"
#include "tool.h"
#include "xlate.h"

#define MAX_WORDS	256

static struct {
	int classic;		/* -d count: tcpdump's dump level */
	bool dump_ebpf;
	bool tc;
	const char *file;
	char *words[MAX_WORDS];
	int nwords;
} fl;

static const struct tool_opt filter_opts[] = {
	{ "dump-classic", 'd', NULL,
	  "print the classic program as tcpdump -d does (-dd: as C, -ddd: as numbers)" },
	{ "dump", 0, "ebpf",
	  "print the eBPF program loupe translates it into" },
	{ "tc", 0, NULL, "translate for TC instead of XDP (--dump)" },
	{ "read", 'r', "FILE",
	  "run the filter on each packet of a pcap file: libpcap's verdict and the kernel's (XDP and TC)" },
	{ NULL },
};

static int filter_parse_opt(int index, const char *arg)
{
	switch (index) {
	case 0:
		fl.classic++;
		return 0;
	case 1:
		if (strcmp(arg, "ebpf")) {
			log_err("invalid --dump '%s': expected ebpf", arg);
			return EXIT_USAGE;
		}
		fl.dump_ebpf = true;
		return 0;
	case 2:
		fl.tc = true;
		return 0;
	case 3:
		fl.file = arg;
		return 0;
	}
	return EXIT_USAGE;
}

static int filter_parse_arg(int index, const char *arg)
{
	if (index >= MAX_WORDS) {
		log_err("the expression has more than %d words", MAX_WORDS);
		return EXIT_USAGE;
	}
	fl.words[fl.nwords++] = (char *)arg;
	return 0;
}

enum { COL_PACKET, COL_LEN, COL_PCAP, COL_XDP, COL_TC };

static const struct out_col run_cols[] = {
	{ "PACKET", -7 }, { "LEN", 6 }, { "PCAP", -7 }, { "XDP", -7 },
	{ "TC", -7 }, { NULL },
};

struct run_ctx {
	struct out *o;
	const struct sock_filter *cbpf;
	size_t n;
	int fd[2];		/* XDP, TC */
	unsigned long long packet;
	char err[256];
};

/* XDP and TC test runs need a whole Ethernet header. */
#define MIN_TEST_RUN	14

/* What a hook says of a packet: match, "-", or why it has no verdict. */
static const char *hook_verdict(struct run_ctx *r, int fd,
				const unsigned char *pkt, unsigned int caplen)
{
	unsigned int ret;
	int e;

	if (caplen < MIN_TEST_RUN)
		return "short";
	e = pktprog_test_run(fd, pkt, caplen, &ret);
	/*
	 * The TC test run refuses a frame whose IPv4 or IPv6 header is cut
	 * short (it builds a socket buffer from it): no verdict.
	 */
	if (e == -EINVAL)
		return "refused";
	if (e) {
		snprintf(r->err, sizeof(r->err),
			 "packet %llu: the kernel's test run failed: %s",
			 r->packet, strerror(-e));
		return NULL;
	}
	/* The verdict tail returns 1 for a match, 2 for none. */
	return ret == 1 ? "match" : "-";
}

static int run_packet(void *ctx, const unsigned char *pkt,
		      unsigned int caplen, unsigned int wirelen)
{
	struct run_ctx *r = ctx;
	const char *v[2];
	unsigned int pcap;

	r->packet++;
	pcap = pexpr_filter(r->cbpf, r->n, pkt, caplen, wirelen);
	for (int i = 0; i < 2; i++) {
		v[i] = hook_verdict(r, r->fd[i], pkt, caplen);
		if (!v[i])
			return -1;
	}
	out_begin(r->o, "packet", 0);
	out_uint(r->o, COL_PACKET, "packet", r->packet);
	out_uint(r->o, COL_LEN, "len", caplen);
	out_str(r->o, COL_PCAP, "pcap", pcap ? "match" : "-");
	out_str(r->o, COL_XDP, "xdp", v[0]);
	out_str(r->o, COL_TC, "tc", v[1]);
	out_end(r->o);
	return 0;
}

static int run_file(struct session *s, const struct sock_filter *cbpf,
		    size_t n)
{
	struct run_ctx r = { .o = &s->out, .cbpf = cbpf, .n = n,
			     .fd = { -1, -1 } };
	struct bpf_insn epi[XLATE_EPI_MAX];
	size_t nepi = xlate_epi_verdict(epi, 1, 2);
	int ret = EXIT_RUNTIME, e;

	for (int i = 0; i < 2; i++) {
		r.fd[i] = pktprog_load(cbpf, n, i ? XLATE_TC : XLATE_XDP, epi,
				       nepi, s->opts.verbose, r.err,
				       sizeof(r.err));
		if (r.fd[i] < 0) {
			log_err("%s", r.err);
			goto out;
		}
	}
	out_init(&s->out, stdout, s->opts.json, false, run_cols);
	out_header(&s->out);
	e = pexpr_read_file(fl.file, run_packet, &r, r.err, sizeof(r.err));
	out_flush(&s->out);
	out_free(&s->out);
	if (e) {
		log_err("%s", r.err);
		goto out;
	}
	ret = EXIT_OK;
out:
	for (int i = 0; i < 2; i++)
		if (r.fd[i] >= 0)
			close(r.fd[i]);
	return ret;
}

static int dump_ebpf(const struct sock_filter *cbpf, size_t n)
{
	struct bpf_insn epi[XLATE_EPI_MAX];
	size_t nepi = xlate_epi_verdict(epi, 1, 2);
	struct xlate_prog prog;
	char err[256];

	if (xlate_cbpf(cbpf, n, fl.tc ? XLATE_TC : XLATE_XDP, epi, nepi,
		       &prog, err, sizeof(err))) {
		log_err("%s", err);
		return EXIT_RUNTIME;
	}
	ir_dump_bpf(stdout, prog.insns, (int)prog.n, NULL, NULL);
	xlate_free(&prog);
	return EXIT_OK;
}

static int filter_run(struct session *s)
{
	struct sock_filter *cbpf = NULL;
	char err[512], *expr;
	size_t n;
	int ret = EXIT_OK;

	if (!fl.classic && !fl.dump_ebpf && !fl.file) {
		log_err("nothing to do: give -d, --dump ebpf or -r FILE; see 'loupe filter --help'");
		return EXIT_USAGE;
	}
	/* No words: tcpdump's empty expression, which matches everything. */
	expr = pexpr_join(fl.nwords, fl.words);
	if (!expr) {
		log_err("out of memory");
		return EXIT_RUNTIME;
	}
	if (pexpr_compile(expr, &cbpf, &n, err, sizeof(err))) {
		log_err("invalid expression '%s': %s", expr, err);
		free(expr);
		return EXIT_USAGE;
	}
	if (fl.classic)
		pexpr_dump(stdout, cbpf, n, fl.classic);
	if (fl.dump_ebpf)
		ret = dump_ebpf(cbpf, n);
	if (!ret && fl.file)
		ret = run_file(s, cbpf, n);
	if (fflush(stdout) && !ret)
		ret = EXIT_RUNTIME;
	free(cbpf);
	free(expr);
	return ret;
}

static const struct tool filter_tool = {
	.name = "filter",
	.summary = "Compile a tcpdump expression: classic BPF as tcpdump -d prints it, its eBPF translation, test runs",
	.examples =
		"  loupe filter -d 'ip and tcp port 8080'     # as tcpdump -d\n"
		"  loupe filter -dd icmp                      # as tcpdump -dd\n"
		"  loupe filter --dump ebpf 'udp port 53'     # the XDP program\n"
		"  loupe filter -r trace.pcap 'tcp[tcpflags] & tcp-syn != 0'\n",
	.common = OPT_JSON,
	.opts = filter_opts,
	.parse_opt = filter_parse_opt,
	.args_usage = "[EXPRESSION...]",
	.parse_arg = filter_parse_arg,
	.run = filter_run,
};
TOOL_REGISTER(filter_tool);

/*
 * loupe capture: copies the packets a tcpdump expression matches, in
 * both directions of an interface's TC hooks, to a pcap file tcpdump and
 * Wireshark read (-w), or prints a line per packet. The kernel appends
 * the packet bytes to a perf event (bpf_perf_event_output from a socket
 * buffer), which the session reads like a ring.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "opts.h"
#include "out.h"
#include "pexpr.h"
#include "pktprog.h"
#include "session.h"
#include "tool.h"
#include "xlate.h"

#define MAX_WORDS	256
/*
 * A perf record's size is 16 bits: the packet bytes, loupe's header and
 * the record's own must fit in 65535.
 */
#define MAX_SNAPLEN	65000

static struct {
	const char *iface;
	const char *file;
	unsigned long long snaplen;
	unsigned long long count;
	char *words[MAX_WORDS];
	int nwords;
} cp = { .snaplen = MAX_SNAPLEN };

static const struct tool_opt capture_opts[] = {
	{ "interface", 'i', "IFACE", "the interface (required)" },
	{ "write", 'w', "FILE", "write the packets to a pcap file (- for standard output)" },
	{ "snaplen", 's', "BYTES", "keep the first BYTES of each packet (default and at most 65000)" },
	{ "count", 'c', "N", "stop after N packets" },
	{ NULL },
};

static int capture_parse_opt(int index, const char *arg)
{
	switch (index) {
	case 0:
		cp.iface = arg;
		return 0;
	case 1:
		cp.file = arg;
		return 0;
	case 2:
		return opts_uint("--snaplen", arg, 14, MAX_SNAPLEN, "bytes",
				 &cp.snaplen);
	case 3:
		return opts_uint("--count", arg, 1, 1ULL << 40, "packets",
				 &cp.count);
	}
	return EXIT_USAGE;
}

static int capture_parse_arg(int index, const char *arg)
{
	if (index >= MAX_WORDS) {
		log_err("the expression has more than %d words", MAX_WORDS);
		return EXIT_USAGE;
	}
	cp.words[cp.nwords++] = (char *)arg;
	return 0;
}

enum { COL_TIME, COL_DIR, COL_LEN, COL_PROTO, COL_SRC, COL_DST };

static const struct out_col capture_cols[] = {
	{ "TIME", -15 }, { "DIR", -3 }, { "LEN", 6 }, { "PROTO", -5 },
	{ "SOURCE", -40 }, { "DESTINATION", -40 }, { NULL },
};

struct capture_state {
	struct pexpr_writer *w;
	unsigned long long packets;
};

/* Protocol, source and destination of an Ethernet frame, for a line. */
static void describe(const unsigned char *p, unsigned int n,
		     const char **proto, char *src, char *dst, size_t len)
{
	unsigned int off = 12, type, l4 = 0, ipproto = 0;
	char a[INET6_ADDRSTRLEN] = "?", b[INET6_ADDRSTRLEN] = "?";

	*proto = "eth";
	snprintf(src, len, "-");
	snprintf(dst, len, "-");
	if (n < 14)
		return;
	type = p[off] << 8 | p[off + 1];
	while ((type == 0x8100 || type == 0x88a8) && off + 6 <= n) {
		off += 4;
		type = p[off] << 8 | p[off + 1];
	}
	off += 2;
	if (type == 0x0800 && off + 20 <= n) {
		inet_ntop(AF_INET, p + off + 12, a, sizeof(a));
		inet_ntop(AF_INET, p + off + 16, b, sizeof(b));
		ipproto = p[off + 9];
		l4 = off + (p[off] & 0xf) * 4;
		*proto = "ip";
	} else if (type == 0x86dd && off + 40 <= n) {
		inet_ntop(AF_INET6, p + off + 8, a, sizeof(a));
		inet_ntop(AF_INET6, p + off + 24, b, sizeof(b));
		ipproto = p[off + 6];
		l4 = off + 40;
		*proto = "ip6";
	} else {
		*proto = type == 0x0806 ? "arp" : "eth";
		return;
	}
	if ((ipproto == 6 || ipproto == 17) && l4 + 4 <= n) {
		*proto = ipproto == 6 ? "tcp" : "udp";
		snprintf(src, len, "%s.%u", a, p[l4] << 8 | p[l4 + 1]);
		snprintf(dst, len, "%s.%u", b, p[l4 + 2] << 8 | p[l4 + 3]);
		return;
	}
	if (ipproto == 1 || ipproto == 58)
		*proto = ipproto == 1 ? "icmp" : "icmp6";
	snprintf(src, len, "%s", a);
	snprintf(dst, len, "%s", b);
}

static int capture_event(struct session *s, const void *data, size_t size)
{
	struct capture_state *st = s->tool_state;
	const struct xlate_capture *h = data;
	const unsigned char *pkt = (const unsigned char *)(h + 1);
	char src[64], dst[64], tbuf[32];
	unsigned long long ts;
	const char *proto;
	struct out *o = &s->out;

	if (size < sizeof(*h) || size - sizeof(*h) < h->caplen)
		return 0;
	if (cp.count && st->packets >= cp.count)
		return 0;
	st->packets++;
	ts = session_real_ns(s, h->boot_ns);
	if (st->w) {
		pexpr_writer_add(st->w, ts, pkt, h->caplen, h->len);
	} else {
		describe(pkt, h->caplen, &proto, src, dst, sizeof(src));
		out_begin(o, "packet", ts);
		out_strftime(tbuf, sizeof(tbuf), OUT_HMS, ts);
		snprintf(tbuf + strlen(tbuf), sizeof(tbuf) - strlen(tbuf),
			 ".%06llu", ts % 1000000000ULL / 1000);
		out_str(o, COL_TIME, NULL, tbuf);
		out_str(o, COL_DIR, "dir", h->dir ? "out" : "in");
		out_uint(o, COL_LEN, "len", h->len);
		out_str(o, COL_PROTO, "proto", proto);
		out_str(o, COL_SRC, "src", src);
		out_str(o, COL_DST, "dst", dst);
		out_end(o);
	}
	if (cp.count && st->packets >= cp.count)
		s->ended = true;
	return 0;
}

static int capture_run(struct session *s)
{
	struct pktprog_attach at[2] = { { 0 } };
	enum pktprog_where where[2];
	struct capture_state st = { 0 };
	struct bpf_insn epi[XLATE_EPI_MAX];
	struct sock_filter *cbpf = NULL;
	int ret = EXIT_RUNTIME, map_fd = -1, fds[2] = { -1, -1 };
	char err[512], *expr = NULL;
	size_t n;

	if (!cp.iface) {
		log_err("give the interface: -i IFACE; see 'loupe capture --help'");
		return EXIT_USAGE;
	}
	at[0].ifindex = at[1].ifindex = (int)if_nametoindex(cp.iface);
	if (!at[0].ifindex) {
		log_err("invalid -i '%s': no such interface", cp.iface);
		return EXIT_USAGE;
	}
	/* at[0] ingress, at[1] egress: probes 0 and 1. */
	if (pktprog_choose(s, where, 2))
		return EXIT_RUNTIME;
	at[0].where = where[0];
	at[1].where = where[1];
	expr = pexpr_join(cp.nwords, cp.words);
	if (!expr) {
		log_err("out of memory");
		return EXIT_RUNTIME;
	}
	if (pexpr_compile(expr, &cbpf, &n, err, sizeof(err))) {
		log_err("invalid expression '%s': %s", expr, err);
		ret = EXIT_USAGE;
		goto out;
	}
	map_fd = bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "loupe_capture",
				sizeof(int), sizeof(int),
				(unsigned int)libbpf_num_possible_cpus(),
				NULL);
	if (map_fd < 0) {
		log_err("cannot create the perf event array: %s",
			strerror(errno));
		goto out;
	}
	for (int dir = 0; dir < 2; dir++) {
		size_t nepi = xlate_epi_capture(epi, map_fd,
						(unsigned int)cp.snaplen, dir);

		fds[dir] = pktprog_load(cbpf, n, XLATE_TC, epi, nepi,
					s->opts.verbose, err, sizeof(err));
		if (fds[dir] < 0) {
			log_err("%s", err);
			goto out;
		}
	}
	if (cp.file) {
		st.w = pexpr_writer_open(cp.file, (unsigned int)cp.snaplen,
					 err, sizeof(err));
		if (!st.w) {
			log_err("cannot write '%s': %s", cp.file, err);
			goto out;
		}
	}
	s->tool_state = &st;
	ret = session_start_perf(s, map_fd, capture_event);
	if (ret)
		goto out;
	s->out.cols = capture_cols;
	if (!st.w)
		out_header(&s->out);
	ret = pktprog_run(s, cp.iface, at, fds, 2);
	session_stop(s);
	if (st.w && pexpr_writer_flush(st.w) && !ret) {
		log_err("writing '%s' failed", cp.file);
		ret = EXIT_RUNTIME;
	}
	if (st.w && !s->opts.json)
		log_err("%llu packets captured", st.packets);
out:
	pexpr_writer_close(st.w);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (map_fd >= 0)
		close(map_fd);
	free(cbpf);
	free(expr);
	return ret;
}

static const struct tool capture_tool = {
	.name = "capture",
	.summary = "Copy the packets a tcpdump expression matches at TC (both directions) to a pcap file, or print them",
	.examples =
		"  loupe capture -i eth0 -w web.pcap 'tcp port 443'   # tcpdump -r web.pcap\n"
		"  loupe capture -i eth0 -c 10 icmp                    # a line per packet\n",
	.common = OPT_DURATION | OPT_JSON,
	.opts = capture_opts,
	.parse_opt = capture_parse_opt,
	.args_usage = "[EXPRESSION...]",
	.parse_arg = capture_parse_arg,
	.probes = pktprog_tc_probes,
	.run = capture_run,
};
TOOL_REGISTER(capture_tool);

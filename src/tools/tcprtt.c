/*
 * tcprtt: histogram of TCP smoothed round-trip times, optionally filtered
 * by port and address and split per local or remote address, printed per
 * interval like BCC's tcprtt.
 */
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "hist.h"
#include "log.h"
#include "netsock.h"
#include "session.h"
#include "tcprtt.h"
#include "tcprtt.skel.h"

static struct rtt_cfg settings;
static struct netsock_filter tcp_filter;
static bool show_avg;

static void print_avg(struct session *s, const struct rtt_hist *h,
		      const char *unit, unsigned long long ts_ns)
{
	struct out *o = &s->out;
	unsigned long long avg = h->count ? h->sum / h->count : 0;

	if (!o->json) {
		out_line(o, "\navg = %llu %s, total: %llu %s, count: %llu",
			 avg, unit, (unsigned long long)h->sum, unit,
			 (unsigned long long)h->count);
		return;
	}
	out_record_begin(o);
	out_str(o, OUT_JSON_ONLY, "type", "rtt_avg");
	out_uint(o, OUT_JSON_ONLY, "ts_ns", ts_ns);
	out_str(o, OUT_JSON_ONLY, "unit", unit);
	out_uint(o, OUT_JSON_ONLY, "avg", avg);
	out_uint(o, OUT_JSON_ONLY, "total", h->sum);
	out_uint(o, OUT_JSON_ONLY, "count", h->count);
	out_record_end(o);
}

/* Prints every histogram collected since the last interval, then clears. */
static int on_interval(struct session *s)
{
	const char *unit = settings.millis ? "msecs" : "usecs";
	struct tcprtt_bpf *skel = s->tool_state;
	int fd = bpf_map__fd(skel->maps.hists);
	struct rtt_key key, next, *prev = NULL;
	unsigned long long ts_ns = out_now_ns();
	struct rtt_hist h;

	out_time_line(&s->out, ts_ns);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		char addr[NETSOCK_ADDR_LEN];
		struct hist_label label = { 0 };

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &h))
			continue;
		if (settings.by_laddr || settings.by_raddr) {
			label.key = settings.by_laddr ? "laddr" : "raddr";
			label.value = netsock_addr(key.family, key.addr, addr,
						   sizeof(addr));
		}
		hist_print_log2(&s->out, unit, (const uint64_t *)h.slots,
				RTT_SLOTS, label.key ? &label : NULL, ts_ns);
		if (show_avg)
			print_avg(s, &h, unit, ts_ns);
	}
	/* Delete after the walk so that the walk does not restart. */
	while (!bpf_map_get_next_key(fd, NULL, &next))
		if (bpf_map_delete_elem(fd, &next))
			break;
	return 0;
}

static int tcprtt_prepare(struct session *s, void *p)
{
	struct tcprtt_bpf *skel = p;

	skel->rodata->cfg = settings;
	memcpy((void *)&skel->rodata->tcp_filter, &tcp_filter,
	       sizeof(tcp_filter));
	s->tool_state = skel;
	s->on_interval = on_interval;
	return 0;
}

static const struct tool_opt tcprtt_opts[] = {
	{ "lport", 'l', "PORT[,PORT]", "only these local ports" },
	{ "rport", 'P', "PORT[,PORT]", "only these remote ports" },
	{ "laddr", 'a', "ADDR", "only this local address (IPv4 or IPv6)" },
	{ "raddr", 'A', "ADDR", "only this remote address (IPv4 or IPv6)" },
	{ "byladdr", 'b', NULL, "one histogram per local address" },
	{ "byraddr", 'B', NULL, "one histogram per remote address" },
	{ "milliseconds", 'm', NULL, "milliseconds instead of microseconds" },
	{ "extension", 'e', NULL, "also print the average RTT" },
	{ "ipv4", '4', NULL, "IPv4 only" },
	{ "ipv6", '6', NULL, "IPv6 only" },
	{ NULL },
};

static int tcprtt_parse_opt(int index, const char *arg)
{
	/* tcprtt's letters in the filter's vocabulary (netsock.c). */
	static const char filter_flag[] = { 'L', 'D', 'a', 'A' };

	switch (index) {
	case 0:
	case 1:
	case 2:
	case 3:
		return netsock_filter_opt(&tcp_filter, filter_flag[index], arg);
	case 4:
	case 5:
		if (settings.by_laddr || settings.by_raddr) {
			log_err("-b and -B exclude each other");
			return EXIT_USAGE;
		}
		*(index == 4 ? &settings.by_laddr : &settings.by_raddr) = 1;
		return 0;
	case 6:
		settings.millis = 1;
		return 0;
	case 7:
		show_avg = true;
		return 0;
	case 8:
	case 9:
		return netsock_filter_opt(&tcp_filter, index == 8 ? '4' : '6',
					  arg);
	}
	return 0;
}

static const struct hook_probe tcprtt_probes[] = {
	{ "segment", {
		{ { "rtt_kprobe" } },
		{ { "rtt_btf" } },
		{ { "rtt_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(tcprtt);

static const struct tool tcprtt_tool = {
	.name = "tcprtt",
	.summary = "Summarize TCP smoothed round-trip times as a histogram",
	.examples =
		"  loupe tcprtt                 # RTT histogram until Ctrl-C\n"
		"  loupe tcprtt -i 1 -d 10      # print every second for 10 s\n"
		"  loupe tcprtt -m -T -i 5      # milliseconds, with a time line\n"
		"  loupe tcprtt -p 80 -B        # local port 80, per remote address\n"
		"  loupe tcprtt -A 192.168.1.5 -e  # one remote host, with the average\n",
	.common = OPT_DURATION | OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP,
	.opts = tcprtt_opts,
	.parse_opt = tcprtt_parse_opt,
	.probes = tcprtt_probes,
	.skel = &tcprtt_skel,
	.prepare = tcprtt_prepare,
};
TOOL_REGISTER(tcprtt_tool);

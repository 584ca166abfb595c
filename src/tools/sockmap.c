/*
 * loupe sockmap: the service-mesh socket bypass for the TCP connections
 * of one cgroup (v2): a message one of its sockets sends to a local peer
 * in the same cgroup goes straight into the peer's receive queue
 * (sockops + sk_msg, see sockmap.bpf.c). Prints redirected and passed
 * messages and bytes per interval; on exit the programs go and the
 * connections carry on through the stack.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "out.h"
#include "session.h"
#include "tool.h"
#include "sockmap.h"
#include "sockmap.skel.h"

enum { COL_RMSGS, COL_RBYTES, COL_PMSGS, COL_PBYTES };

static const struct out_col sockmap_cols[] = {
	{ "REDIRECTED", 10 }, { "REDIR_BYTES", 14 }, { "PASSED", 10 },
	{ "PASSED_BYTES", 14 }, { NULL },
};

struct sockmap_state {
	int fd;
	struct sockmap_counter last[SOCKMAP_NCOUNTERS];
};

static int read_counters(int fd, struct sockmap_counter *tot)
{
	int ncpus = libbpf_num_possible_cpus();
	struct sockmap_counter *v;

	if (ncpus <= 0)
		return -1;
	v = calloc(ncpus, sizeof(*v));
	if (!v)
		return -1;
	for (__u32 k = 0; k < SOCKMAP_NCOUNTERS; k++) {
		tot[k] = (struct sockmap_counter){ 0 };
		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (int c = 0; c < ncpus; c++) {
			tot[k].msgs += v[c].msgs;
			tot[k].bytes += v[c].bytes;
		}
	}
	free(v);
	return 0;
}

static int sockmap_interval(struct session *s)
{
	struct sockmap_state *st = s->tool_state;
	struct sockmap_counter t[SOCKMAP_NCOUNTERS];
	struct sockmap_counter *r = &t[SOCKMAP_REDIRECTED];
	struct sockmap_counter *p = &t[SOCKMAP_PASSED];
	struct sockmap_counter *lr = &st->last[SOCKMAP_REDIRECTED];
	struct sockmap_counter *lp = &st->last[SOCKMAP_PASSED];
	struct out *o = &s->out;
	uint64_t now = out_now_ns();

	if (read_counters(st->fd, t))
		return 0;
	out_time_line(o, now);
	out_header(o);
	out_begin(o, "sockmap", now);
	out_uint(o, COL_RMSGS, "redirected_msgs", r->msgs - lr->msgs);
	out_uint(o, COL_RBYTES, "redirected_bytes", r->bytes - lr->bytes);
	out_uint(o, COL_PMSGS, "passed_msgs", p->msgs - lp->msgs);
	out_uint(o, COL_PBYTES, "passed_bytes", p->bytes - lp->bytes);
	out_end(o);
	memcpy(st->last, t, sizeof(t));
	return 0;
}

static int sockmap_run(struct session *s)
{
	struct sockmap_state st = { .fd = -1 };
	struct bpf_link *ops_link = NULL;
	struct sockmap_bpf *skel;
	int ret = EXIT_RUNTIME, cg = -1, msg_fd, map_fd, e;
	bool msg_attached = false;

	if (!s->opts.cgroup[0]) {
		log_err("give the cgroup whose connections to bypass: --cgroup PATH");
		return EXIT_USAGE;
	}
	cg = open(s->opts.cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		log_err("cannot open cgroup %s: %s", s->opts.cgroup,
			strerror(errno));
		return EXIT_RUNTIME;
	}
	skel = sockmap_bpf__open();
	if (!skel) {
		log_err("cannot open the BPF object: %s", strerror(errno));
		goto out;
	}
	if (session_choose(s, skel->obj))
		goto out;
	if (sockmap_bpf__load(skel)) {
		log_err("cannot load the sockops and sk_msg programs: %s",
			strerror(errno));
		goto out;
	}
	st.fd = bpf_map__fd(skel->maps.counters);
	msg_fd = bpf_program__fd(skel->progs.sockmap_msg);
	map_fd = bpf_map__fd(skel->maps.socks);
	if (bpf_prog_attach(msg_fd, map_fd, BPF_SK_MSG_VERDICT, 0)) {
		log_err("cannot attach the sk_msg program: %s",
			strerror(errno));
		goto out;
	}
	msg_attached = true;
	s->tool_state = &st;
	s->on_interval = sockmap_interval;
	ret = session_start_ring(s, -1, -1, NULL);
	if (ret)
		goto out;
	s->out.cols = sockmap_cols;
	ops_link = bpf_program__attach_cgroup(skel->progs.sockmap_sockops, cg);
	e = libbpf_get_error(ops_link);
	if (e) {
		ops_link = NULL;
		log_err("cannot attach the sockops program to %s: %s",
			s->opts.cgroup, strerror(-e));
		ret = EXIT_RUNTIME;
	} else {
		ret = session_loop(s);
	}
	/* No new sockets first, then no more redirects. */
	bpf_link__destroy(ops_link);
	session_stop(s);
out:
	if (msg_attached)
		bpf_prog_detach2(msg_fd, map_fd, BPF_SK_MSG_VERDICT);
	sockmap_bpf__destroy(skel);
	close(cg);
	return ret;
}

TOOL_SKEL(sockmap);

/* The sockets come from sockops on the cgroup, the messages from sk_msg. */
static const struct hook_probe sockmap_probes[] = {
	{ "sockets", { { { "sockmap_sockops" } } } },
	{ "messages", { { { "sockmap_msg" } } } },
	{ NULL },
};

static const struct tool sockmap_tool = {
	.name = "sockmap",
	.summary = "Bypass the TCP/IP stack between local TCP sockets of a cgroup (sockops + sk_msg), counting messages",
	.examples =
		"  loupe sockmap --cgroup /sys/fs/cgroup/unified/mesh --interval 1\n",
	.common = OPT_CGROUP | OPT_DURATION | OPT_INTERVAL | OPT_JSON |
		  OPT_TIMESTAMP,
	.probes = sockmap_probes,
	.skel = &sockmap_skel,
	.run = sockmap_run,
};
TOOL_REGISTER(sockmap_tool);

/*
 * Loading, test-running and attaching loupe's packet filters. XDP and TC
 * on Linux 6.6+ (tcx) go through BPF links, so the kernel detaches them
 * even if loupe is killed; TC on older kernels through the interface's
 * clsact qdisc, created only if missing and then removed again at the
 * detach (someone else's qdisc stays).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include "hook.h"
#include "log.h"
#include "pktprog.h"
#include "session.h"

#define VERIFIER_LOG_SIZE (1 << 20)

int pktprog_load(const struct sock_filter *cbpf, size_t n,
		 enum xlate_hook hook, const struct bpf_insn *epi, size_t nepi,
		 bool verbose, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts);
	struct xlate_prog prog;
	char *log = NULL;
	int fd;

	if (xlate_cbpf(cbpf, n, hook, epi, nepi, &prog, err, errlen))
		return -1;
	fd = bpf_prog_load(hook == XLATE_XDP ? BPF_PROG_TYPE_XDP :
			   BPF_PROG_TYPE_SCHED_CLS, "loupe_filter", "GPL",
			   prog.insns, prog.n, &opts);
	if (fd < 0) {
		fd = -errno;
		/* Again with the log, only to show why. */
		log = malloc(VERIFIER_LOG_SIZE);
		if (log) {
			opts.log_buf = log;
			opts.log_size = VERIFIER_LOG_SIZE;
			opts.log_level = 1;
			log[0] = '\0';
			bpf_prog_load(hook == XLATE_XDP ? BPF_PROG_TYPE_XDP :
				      BPF_PROG_TYPE_SCHED_CLS, "loupe_filter",
				      "GPL", prog.insns, prog.n, &opts);
			if (verbose)
				fprintf(stderr, "%s", log);
		}
		snprintf(err, errlen, "the kernel refused the %s program: %s%s",
			 hook == XLATE_XDP ? "XDP" : "TC", strerror(-fd),
			 verbose ? "" : " (-v shows the verifier's log)");
		free(log);
		fd = -1;
	}
	xlate_free(&prog);
	return fd;
}

int pktprog_test_run(int fd, const void *pkt, size_t len, unsigned int *ret)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt,
		    .data_size_in = (unsigned int)len, .repeat = 1);

	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
	*ret = opts.retval;
	return 0;
}

int pktprog_counters_create(unsigned int n)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "loupe_counters",
				sizeof(__u32), sizeof(struct xlate_counter), n,
				NULL);

	if (fd < 0)
		log_err("cannot create the counters: %s", strerror(errno));
	return fd;
}

int pktprog_counters_read(int fd, unsigned int n, struct xlate_counter *tot)
{
	int ncpus = libbpf_num_possible_cpus();
	struct xlate_counter *v;

	if (ncpus <= 0)
		return -1;
	v = calloc(ncpus, sizeof(*v));
	if (!v)
		return -1;
	for (__u32 key = 0; key < n; key++) {
		tot[key] = (struct xlate_counter){ 0 };
		if (bpf_map_lookup_elem(fd, &key, v))
			continue;
		for (int c = 0; c < ncpus; c++) {
			tot[key].packets += v[c].packets;
			tot[key].bytes += v[c].bytes;
		}
	}
	free(v);
	return 0;
}

static int where_of(const char *section, enum pktprog_where *where)
{
	struct hook_point pt;

	if (!section || hook_parse_section(section, &pt))
		return -EINVAL;
	if (pt.kind == HOOK_XDP)
		*where = PKTPROG_XDP;
	else if (pt.kind == HOOK_TCX && !strcmp(pt.target, "ingress"))
		*where = PKTPROG_TCX_INGRESS;
	else if (pt.kind == HOOK_TCX && !strcmp(pt.target, "egress"))
		*where = PKTPROG_TCX_EGRESS;
	else if (pt.kind == HOOK_TC && !strcmp(pt.target, "ingress"))
		*where = PKTPROG_TC_INGRESS;
	else if (pt.kind == HOOK_TC && !strcmp(pt.target, "egress"))
		*where = PKTPROG_TC_EGRESS;
	else
		return -EINVAL;
	return 0;
}

int pktprog_choose(struct session *s, enum pktprog_where *where, int n)
{
	int err = session_choose(s, NULL);

	for (int i = 0; !err && i < n; i++) {
		const char *section = session_chosen(s, i);

		if (where_of(section, &where[i])) {
			log_err("hook %s is not a packet hook", section);
			err = EXIT_RUNTIME;
		}
	}
	return err;
}

int pktprog_choose_tc(enum pktprog_where where[2], char *err, size_t errlen)
{
	struct hook_result res[2];

	if (hook_choose(NULL, pktprog_tc_probes, res)) {
		snprintf(err, errlen, "no TC hook works on this kernel: %s",
			 res[0].why[res[0].ncandidates - 1]);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		const struct hook_probe *p = &pktprog_tc_probes[i];

		where_of(p->candidates[res[i].chosen].progs[0], &where[i]);
	}
	return 0;
}

static int attach_xdp(struct pktprog_attach *a, int fd, char *err,
		      size_t errlen)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);

	/* Native where the driver has it (veth does), else generic. */
	a->link_fd = -1;
	if (!a->xdp_want || !strcmp(a->xdp_want, "native")) {
		opts.flags = XDP_FLAGS_DRV_MODE;
		a->link_fd = bpf_link_create(fd, a->ifindex, BPF_XDP, &opts);
		a->xdp_mode = "native";
	}
	if (a->link_fd < 0 &&
	    (!a->xdp_want || !strcmp(a->xdp_want, "generic"))) {
		opts.flags = XDP_FLAGS_SKB_MODE;
		a->link_fd = bpf_link_create(fd, a->ifindex, BPF_XDP, &opts);
		a->xdp_mode = "generic";
	}
	if (a->link_fd < 0) {
		snprintf(err, errlen, "cannot attach the XDP program%s%s: %s%s",
			 a->xdp_want ? " in " : "",
			 a->xdp_want ? a->xdp_want : "",
			 strerror(errno), errno == EBUSY || errno == EEXIST ?
			 " (the interface already has an XDP program)" : "");
		return -1;
	}
	return 0;
}

static int attach_tcx(struct pktprog_attach *a, int fd, char *err,
		      size_t errlen)
{
	a->link_fd = bpf_link_create(fd, a->ifindex,
				     a->where == PKTPROG_TCX_INGRESS ?
				     HOOK_BPF_TCX_INGRESS : HOOK_BPF_TCX_EGRESS,
				     NULL);
	if (a->link_fd < 0) {
		snprintf(err, errlen, "cannot attach the tcx program: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

static void tc_hook(const struct pktprog_attach *a, struct bpf_tc_hook *h)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = a->ifindex;
	h->attach_point = a->where == PKTPROG_TC_INGRESS ? BPF_TC_INGRESS :
			  BPF_TC_EGRESS;
}

static int attach_tc(struct pktprog_attach *a, int fd, char *err,
		     size_t errlen)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = fd);
	struct bpf_tc_hook h;
	int e;

	tc_hook(a, &h);
	e = bpf_tc_hook_create(&h);
	if (e == -ENOENT) {
		/* the kernel knows no qdisc of that kind */
		snprintf(err, errlen,
			 "this kernel has no clsact qdisc (CONFIG_NET_SCH_INGRESS; try modprobe sch_ingress)");
		return -1;
	}
	if (e && e != -EEXIST) {
		snprintf(err, errlen, "cannot add a clsact qdisc: %s",
			 strerror(-e));
		return -1;
	}
	a->created_qdisc = !e;
	e = bpf_tc_attach(&h, &opts);
	if (e) {
		snprintf(err, errlen, "cannot attach the TC program: %s",
			 strerror(-e));
		if (a->created_qdisc) {
			h.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&h);
			a->created_qdisc = false;
		}
		return -1;
	}
	a->handle = opts.handle;
	a->priority = opts.priority;
	return 0;
}

int pktprog_attach(struct pktprog_attach *a, int fd, char *err,
		   size_t errlen)
{
	int e;

	a->link_fd = -1;
	switch (a->where) {
	case PKTPROG_XDP:
		e = attach_xdp(a, fd, err, errlen);
		break;
	case PKTPROG_TCX_INGRESS:
	case PKTPROG_TCX_EGRESS:
		e = attach_tcx(a, fd, err, errlen);
		break;
	default:
		e = attach_tc(a, fd, err, errlen);
		break;
	}
	a->attached = !e;
	return e;
}

void pktprog_detach(struct pktprog_attach *a)
{
	LIBBPF_OPTS(bpf_tc_opts, opts);
	struct bpf_tc_hook h;

	if (!a->attached)
		return;
	a->attached = false;
	if (a->link_fd >= 0) {
		close(a->link_fd);
		a->link_fd = -1;
		return;
	}
	tc_hook(a, &h);
	opts.handle = a->handle;
	opts.priority = a->priority;
	bpf_tc_detach(&h, &opts);
	if (a->created_qdisc) {
		h.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&h);
	}
}

int pktprog_run(struct session *s, const char *iface,
		struct pktprog_attach *at, const int *fds, int n)
{
	char err[512];
	int nat, ret = 0;

	for (nat = 0; nat < n; nat++) {
		if (!at[nat].attached &&
		    pktprog_attach(&at[nat], fds[nat], err, sizeof(err))) {
			log_err("%s: %s", iface, err);
			ret = EXIT_RUNTIME;
			break;
		}
	}
	if (!ret)
		ret = session_loop(s);
	/* In reverse: the qdisc goes with the first attach, if it made it. */
	while (nat-- > 0)
		pktprog_detach(&at[nat]);
	return ret;
}

const struct hook_probe pktprog_tc_probes[] = {
	{ "ingress", { { { "tcx/ingress" } }, { { "tc/ingress" } } } },
	{ "egress", { { { "tcx/egress" } }, { { "tc/egress" } } } },
	{ NULL },
};

const struct hook_probe pktprog_ingress_probes[] = {
	{ "packets", { { { "tcx/ingress" } }, { { "tc/ingress" } } } },
	{ NULL },
};

const struct hook_probe pktprog_egress_probes[] = {
	{ "packets", { { { "tcx/egress" } }, { { "tc/egress" } } } },
	{ NULL },
};

const char *pktprog_where_name(enum pktprog_where where)
{
	static const char *const names[] = {
		[PKTPROG_XDP] = "XDP",
		[PKTPROG_TC_INGRESS] = "TC ingress (clsact)",
		[PKTPROG_TC_EGRESS] = "TC egress (clsact)",
		[PKTPROG_TCX_INGRESS] = "TC ingress (tcx)",
		[PKTPROG_TCX_EGRESS] = "TC egress (tcx)",
	};

	return names[where];
}

bool pktprog_where_tc(enum pktprog_where where)
{
	return where != PKTPROG_XDP;
}

/*
 * Packet filter programs in the kernel: a translated filter loaded as an
 * XDP or TC program, run on a packet (BPF_PROG_TEST_RUN) or attached to
 * an interface and detached again.
 */
#ifndef LOUPE_PKTPROG_H
#define LOUPE_PKTPROG_H

#include <stdbool.h>
#include <stddef.h>
#include "xlate.h"
#include "hook.h"

/*
 * Translates cbpf with the tail epi and loads it for hook: the program's
 * fd, or -1 with a one-line reason in err (the verifier's log goes to
 * stderr when verbose).
 */
int pktprog_load(const struct sock_filter *cbpf, size_t n,
		 enum xlate_hook hook, const struct bpf_insn *epi, size_t nepi,
		 bool verbose, char *err, size_t errlen);

/* Runs the program once on pkt: its return value in *ret; 0 or -errno. */
int pktprog_test_run(int fd, const void *pkt, size_t len, unsigned int *ret);

/*
 * The counters a count tail updates: a per-CPU array of n struct
 * xlate_counter (fd, or -1 after a message), and its entries summed over
 * the CPUs (0 or -1).
 */
int pktprog_counters_create(unsigned int n);
int pktprog_counters_read(int fd, unsigned int n, struct xlate_counter *tot);

enum pktprog_where {
	PKTPROG_XDP,
	PKTPROG_TC_INGRESS,	/* a filter in the clsact qdisc */
	PKTPROG_TC_EGRESS,
	PKTPROG_TCX_INGRESS,	/* a tcx link (Linux 6.6+) */
	PKTPROG_TCX_EGRESS,
};

struct session;

/*
 * Chooses the hooks of the tool's probes (sections: "xdp", "tcx/ingress",
 * "tcx/egress", "tc/ingress", "tc/egress") and puts where probe i's
 * program goes in where[i], for n probes: 0, or an exit status after a
 * one-line message.
 */
int pktprog_choose(struct session *s, enum pktprog_where *where, int n);

/*
 * The same for a caller without a session (the agent): both directions
 * of pktprog_tc_probes; 0, or -1 with a one-line reason in err.
 */
int pktprog_choose_tc(enum pktprog_where where[2], char *err, size_t errlen);

struct pktprog_attach {
	int ifindex;
	enum pktprog_where where;
	/* XDP: "native" or "generic" only; NULL: native, else generic. */
	const char *xdp_want;
	/* What attaching did, for the detach. */
	bool attached;
	int link_fd;		/* XDP, tcx: the link (closing detaches) */
	const char *xdp_mode;	/* "native" or "generic" */
	bool created_qdisc;	/* TC: the clsact qdisc is ours */
	unsigned int handle, priority;
};

/* 0, or -1 with a one-line reason in err. */
int pktprog_attach(struct pktprog_attach *a, int fd, char *err,
		   size_t errlen);
/* Undoes what pktprog_attach() did; safe to call more than once. */
void pktprog_detach(struct pktprog_attach *a);
/*
 * Attaches fds[i] at at[i] for the n of them (those not attached yet),
 * runs the session's loop and detaches them all again (in reverse): the
 * loop's exit status, or EXIT_RUNTIME after a one-line message naming
 * iface.
 */
int pktprog_run(struct session *s, const char *iface,
		struct pktprog_attach *at, const int *fds, int n);

/*
 * Both directions of an interface's TC hooks, as probes 0 and 1: tcx
 * links where the kernel has them, else the clsact qdisc.
 */
extern const struct hook_probe pktprog_tc_probes[];
/* TC ingress alone (tcx, else clsact), as probe 0. */
extern const struct hook_probe pktprog_ingress_probes[];
extern const struct hook_probe pktprog_egress_probes[];

/* The hook's name for messages: "XDP", "tcx ingress", "TC egress"... */
const char *pktprog_where_name(enum pktprog_where where);
/* Whether where is one of the TC hooks (clsact or tcx). */
bool pktprog_where_tc(enum pktprog_where where);

#endif

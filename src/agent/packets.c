/*
 * The agent's packet counters: each packets: entry of the config is a
 * tcpdump expression compiled by libpcap, translated to a TC program per
 * direction (src/net/) that counts matching packets and bytes into one
 * per-CPU array shared by the set, and lets every packet on. A scrape
 * sums the array over the CPUs into loupe_packets_total and
 * loupe_packet_bytes_total{filter, iface, direction}.
 */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "packets.h"
#include "pexpr.h"
#include "pktprog.h"
#include "xlate.h"

#define TC_ACT_UNSPEC_V	(-1)

/* One attached program: entry e's direction dir (0 ingress, 1 egress). */
struct packet_prog {
	int fd;
	int entry, dir;
	struct pktprog_attach at;
};

struct packet_set {
	/* the config's entries (a reload copies the struct config, not them) */
	const struct config_packets *entries;
	int nentries;
	int map_fd;			/* 4 counters per entry */
	struct packet_prog *progs;
	int nprogs;
	struct xlate_counter *now;
};

static const char *const dir_names[] = { "ingress", "egress" };

int packets_count(const struct packet_set *p)
{
	return p ? p->nentries : 0;
}

/* Loads and attaches entry e's program for direction d. */
static int start_prog(struct packet_set *p, int e, int d,
		      const struct sock_filter *cbpf, size_t n,
		      enum pktprog_where where, char *err, size_t errlen)
{
	const struct config_packets *cp = &p->entries[e];
	struct packet_prog *pp = &p->progs[p->nprogs];
	struct bpf_insn epi[XLATE_EPI_MAX];
	char why[512];
	size_t nepi;

	nepi = xlate_epi_count(epi, p->map_fd, 4 * e + 2 * d,
			       TC_ACT_UNSPEC_V, TC_ACT_UNSPEC_V);
	pp->entry = e;
	pp->dir = d;
	pp->at = (struct pktprog_attach){ .link_fd = -1, .where = where };
	pp->at.ifindex = (int)if_nametoindex(cp->iface);
	if (!pp->at.ifindex) {
		snprintf(err, errlen, "packets '%s': no interface '%s'",
			 cp->name, cp->iface);
		return -1;
	}
	pp->fd = pktprog_load(cbpf, n, XLATE_TC, epi, nepi, false, why,
			      sizeof(why));
	if (pp->fd < 0) {
		snprintf(err, errlen, "packets '%s': %s", cp->name, why);
		return -1;
	}
	p->nprogs++;
	if (pktprog_attach(&pp->at, pp->fd, why, sizeof(why))) {
		snprintf(err, errlen, "packets '%s': %s: %s", cp->name,
			 cp->iface, why);
		return -1;
	}
	return 0;
}

static int start_entry(struct packet_set *p, int e,
		       const enum pktprog_where where[2], char *err,
		       size_t errlen)
{
	const struct config_packets *cp = &p->entries[e];
	struct sock_filter *cbpf;
	char why[256];
	size_t n;
	int ret = 0;

	if (pexpr_compile(cp->expr, &cbpf, &n, why, sizeof(why))) {
		snprintf(err, errlen, "packets '%s': invalid expression: %s",
			 cp->name, why);
		return -1;
	}
	if (cp->ingress)
		ret = start_prog(p, e, 0, cbpf, n, where[0], err, errlen);
	if (!ret && cp->egress)
		ret = start_prog(p, e, 1, cbpf, n, where[1], err, errlen);
	free(cbpf);
	return ret;
}

struct packet_set *packets_start(const struct config *c, char *err,
				 size_t errlen)
{
	enum pktprog_where where[2];
	struct packet_set *p = calloc(1, sizeof(*p));

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->entries = c->packets;
	p->nentries = c->npackets;
	p->map_fd = -1;
	if (!c->npackets)
		return p;
	if (pktprog_choose_tc(where, err, errlen))
		goto fail;
	p->progs = calloc(2 * c->npackets, sizeof(*p->progs));
	p->now = calloc(4 * c->npackets, sizeof(*p->now));
	if (!p->progs || !p->now) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	p->map_fd = pktprog_counters_create(4 * c->npackets);
	if (p->map_fd < 0) {
		snprintf(err, errlen, "cannot create the packet counters");
		goto fail;
	}
	for (int e = 0; e < c->npackets; e++)
		if (start_entry(p, e, where, err, errlen))
			goto fail;
	return p;
fail:
	packets_stop(p);
	return NULL;
}

void packets_stop(struct packet_set *p)
{
	if (!p)
		return;
	/* In reverse: a clsact qdisc goes with the attach that made it. */
	for (int i = p->nprogs - 1; i >= 0; i--) {
		pktprog_detach(&p->progs[i].at);
		close(p->progs[i].fd);
	}
	if (p->map_fd >= 0)
		close(p->map_fd);
	free(p->progs);
	free(p->now);
	free(p);
}

int packets_register(struct expo_registry *reg, struct expo_family **pkts,
		     struct expo_family **bytes, char *err, size_t errlen)
{
	static const char *const labels[] = { "filter", "iface", "direction" };

	*pkts = expo_family_add(reg, "loupe_packets_total",
				"Packets matching the filter (config packets:) at the interface",
				EXPO_COUNTER, labels, 3, NULL, 0, err, errlen);
	if (!*pkts)
		return -1;
	*bytes = expo_family_add(reg, "loupe_packet_bytes_total",
				 "Bytes of the packets matching the filter (whole packets, link header included)",
				 EXPO_COUNTER, labels, 3, NULL, 0, err, errlen);
	if (!*bytes) {
		expo_family_remove(*pkts);
		*pkts = NULL;
		return -1;
	}
	return 0;
}

void packets_refresh(struct packet_set *p, struct expo_family *pkts,
		     struct expo_family *bytes)
{
	if (!pkts)
		return;
	expo_family_clear(pkts);
	expo_family_clear(bytes);
	if (!p || !p->nprogs ||
	    pktprog_counters_read(p->map_fd, 4 * p->nentries, p->now))
		return;
	for (int i = 0; i < p->nprogs; i++) {
		const struct packet_prog *pp = &p->progs[i];
		const struct config_packets *cp = &p->entries[pp->entry];
		/* the matched entry of the pair */
		const struct xlate_counter *c = &p->now[4 * pp->entry +
							2 * pp->dir + 1];
		const char *values[] = { cp->name, cp->iface,
					 dir_names[pp->dir] };

		expo_set(pkts, values, (double)c->packets);
		expo_set(bytes, values, (double)c->bytes);
	}
}

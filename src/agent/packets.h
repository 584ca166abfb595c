/*
 * The agent's packet counters: the config's packets: entries, each a
 * tcpdump expression counted at an interface's TC hooks, exported as
 * loupe_packets_total and loupe_packet_bytes_total.
 */
#ifndef LOUPE_AGENT_PACKETS_H
#define LOUPE_AGENT_PACKETS_H

#include <stddef.h>
#include "config.h"
#include "expo.h"

struct packet_set;

/*
 * The programs of c's packets: entries loaded and attached (tcx links
 * where the kernel has them, else the clsact qdisc): the set (also for
 * none; it points into c's entries, which must outlive it), or NULL with
 * a one-line reason in err.
 */
struct packet_set *packets_start(const struct config *c, char *err,
				 size_t errlen);
/* Detaches and frees; NULL is fine. */
void packets_stop(struct packet_set *p);
/* Entries in the set. */
int packets_count(const struct packet_set *p);
/* Registers the two families in reg: 0, or -1 with err. */
int packets_register(struct expo_registry *reg, struct expo_family **pkts,
		     struct expo_family **bytes, char *err, size_t errlen);
/* Reads the counters into the families (their old series forgotten). */
void packets_refresh(struct packet_set *p, struct expo_family *pkts,
		     struct expo_family *bytes);

#endif

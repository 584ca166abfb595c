/* Maps and settings shared by tcprtt's kernel and user halves. */
#ifndef LOUPE_TCPRTT_H
#define LOUPE_TCPRTT_H

#include "event.h"
#include "netsock.h"

#define RTT_SLOTS 64

/* Histogram key: an address with -b/-B, all zero otherwise. */
struct rtt_key {
	__u8 addr[16];
	__u16 family;
	__u16 pad[3];
};

struct rtt_hist {
	__u64 slots[RTT_SLOTS];
	__u64 sum;		/* in the histogram's unit, for -e */
	__u64 count;
};

/* Settings placed in .rodata before load (the filter is tcp_filter). */
struct rtt_cfg {
	__u8 by_laddr;
	__u8 by_raddr;
	__u8 millis;
};

#endif

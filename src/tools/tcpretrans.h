/* Event shared by tcpretrans's kernel and user halves. */
#ifndef LOUPE_TCPRETRANS_H
#define LOUPE_TCPRETRANS_H

#include "event.h"
#include "netsock.h"

enum retrans_type {
	RETRANS_TYPE_RETRANS,	/* "R": a retransmitted segment */
	RETRANS_TYPE_TLP,	/* "L": a tail loss probe */
};

struct retrans_event {
	struct event_hdr hdr;
	struct netsock_tuple t;
	__u32 state;		/* TCP state (TCP_ESTABLISHED = 1, ...) */
	__u32 type;		/* enum retrans_type */
	__u32 context;		/* enum event_context; no task in an irq */
	__u32 pad;
};

#endif

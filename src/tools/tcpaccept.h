/* Event shared by tcpaccept's kernel and user halves. */
#ifndef LOUPE_TCPACCEPT_H
#define LOUPE_TCPACCEPT_H

#include "event.h"
#include "netsock.h"

struct tcpaccept_event {
	struct event_hdr hdr;	/* the accepting task */
	struct netsock_tuple a;	/* s* = local end, d* = remote end */
};

#endif

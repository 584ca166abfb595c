/* Event shared by tcpconnect's kernel and user halves. */
#ifndef LOUPE_TCPCONNECT_H
#define LOUPE_TCPCONNECT_H

#include "event.h"
#include "netsock.h"

struct tcpconnect_event {
	struct event_hdr hdr;
	struct netsock_tuple a;	/* sport is 0 on the state-change hooks */
};

#endif

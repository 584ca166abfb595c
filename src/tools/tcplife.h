/* Event shared by tcplife's kernel and user halves. */
#ifndef LOUPE_TCPLIFE_H
#define LOUPE_TCPLIFE_H

#include "event.h"
#include "netsock.h"

struct tcplife_event {
	struct event_hdr hdr;	/* the task that owned the connection */
	__u64 span_ns;		/* from the last opening state to CLOSE */
	__u64 rx_bytes;		/* payload received in order */
	__u64 tx_bytes;		/* payload the peer acknowledged */
	struct netsock_tuple a;
};

#endif

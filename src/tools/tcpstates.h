/* Event shared by tcpstates' kernel and user halves. */
#ifndef LOUPE_TCPSTATES_H
#define LOUPE_TCPSTATES_H

#include "event.h"
#include "netsock.h"

struct tcpstates_event {
	struct event_hdr hdr;
	__u64 skaddr;
	__u64 delta_ns;		/* time spent in oldstate; 0 if unseen */
	struct netsock_tuple a;
	__s32 oldstate;
	__s32 newstate;
};

#endif

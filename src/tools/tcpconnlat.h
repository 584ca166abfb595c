/* Event shared by tcpconnlat's kernel and user halves. */
#ifndef LOUPE_TCPCONNLAT_H
#define LOUPE_TCPCONNLAT_H

#include "event.h"
#include "netsock.h"

struct tcpconnlat_event {
	struct event_hdr hdr;	/* the task that called connect() */
	__u64 lat_ns;		/* SYN_SENT to ESTABLISHED */
	struct netsock_tuple a;
};

#endif

/* Event shared by solisten's kernel and user halves. */
#ifndef LOUPE_SOLISTEN_H
#define LOUPE_SOLISTEN_H

#include "event.h"
#include "netsock.h"

struct listen_event {
	struct event_hdr hdr;
	__s64 ret;
	struct netsock_tuple t;	/* local address and port once listening */
	__u32 backlog;		/* as passed to listen() */
	__u16 protocol;		/* IPPROTO_* of the socket */
	__u16 pad;
};

#endif

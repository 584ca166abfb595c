/* Event shared by tcptracer's kernel and user halves. */
#ifndef LOUPE_TCPTRACER_H
#define LOUPE_TCPTRACER_H

#include "event.h"
#include "netsock.h"

enum tcptracer_type {
	TCPTRACER_CONNECT = 'C',
	TCPTRACER_ACCEPT = 'A',
	TCPTRACER_CLOSE = 'X',
};

struct tcptracer_event {
	struct event_hdr hdr;
	struct netsock_tuple a;	/* s* = local end, d* = remote end */
	__u32 type;		/* enum tcptracer_type */
	__u32 pad;
};

#endif

/* Event shared by gethostlatency's kernel and user halves. */
#ifndef LOUPE_GETHOSTLATENCY_H
#define LOUPE_GETHOSTLATENCY_H

#include "event.h"
#include "ustr.h"

/* A DNS name has at most 253 characters; longer ones are marked cut. */
#define HOST_LEN 256

enum host_func {
	HOST_GETADDRINFO,
	HOST_GETHOSTBYNAME,
	HOST_GETHOSTBYNAME2,
};

struct host_event {
	struct event_hdr hdr;
	__u64 lat_ns;
	__u32 func;
	__u32 host_state;	/* USTR_* */
	char host[HOST_LEN];
};

#endif

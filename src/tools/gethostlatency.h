/* Event shared by gethostlatency's kernel and user halves. */
#ifndef LOUPE_GETHOSTLATENCY_H
#define LOUPE_GETHOSTLATENCY_H

#include "event.h"

#define HOST_LEN 80

enum host_func {
	HOST_GETADDRINFO,
	HOST_GETHOSTBYNAME,
	HOST_GETHOSTBYNAME2,
};

struct host_event {
	struct event_hdr hdr;
	__u64 lat_ns;
	__u32 func;
	__u32 pad;
	char host[HOST_LEN];
};

#endif

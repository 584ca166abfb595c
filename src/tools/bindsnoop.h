/* Event shared by bindsnoop's kernel and user halves. */
#ifndef LOUPE_BINDSNOOP_H
#define LOUPE_BINDSNOOP_H

#include "event.h"
#include "netsock.h"

/* Socket options that change what bind() does (BCC's OPTS column). */
enum bind_opt {
	BIND_OPT_FREEBIND	= 1 << 0,	/* F: IP_FREEBIND */
	BIND_OPT_TRANSPARENT	= 1 << 1,	/* T: IP_TRANSPARENT */
	BIND_OPT_NO_PORT	= 1 << 2,	/* N: IP_BIND_ADDRESS_NO_PORT */
	BIND_OPT_REUSEADDR	= 1 << 3,	/* R: SO_REUSEADDR */
	BIND_OPT_REUSEPORT	= 1 << 4,	/* r: SO_REUSEPORT */
};

struct bind_event {
	struct event_hdr hdr;
	__s64 ret;
	__u8 addr[16];		/* IPv4 in the first 4 bytes */
	__u32 bound_dev_if;	/* SO_BINDTODEVICE ifindex, 0 if none */
	__u16 family;
	__u16 port;		/* host byte order, as requested */
	__u16 protocol;		/* IPPROTO_* of the socket */
	__u16 sock_type;	/* SOCK_STREAM, SOCK_DGRAM, ... */
	__u8 opts;		/* enum bind_opt bits */
	__u8 pad[7];
};

struct bind_cfg {
	__u16 port;		/* 0 = every port */
};

#endif

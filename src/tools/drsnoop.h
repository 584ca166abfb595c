/* Event shared by drsnoop's kernel and user halves. */
#ifndef LOUPE_DRSNOOP_H
#define LOUPE_DRSNOOP_H

#include "event.h"

/* One direct reclaim, sent when it ends (hdr.ts_ns is the end). */
struct reclaim_event {
	struct event_hdr hdr;
	__u64 lat_ns;
	__u64 pages;		/* pages reclaimed */
	__u64 gfp_flags;	/* of the allocation that had to reclaim */
	__s32 order;
	__u32 memcg;		/* 1: memory cgroup limit reclaim */
};

#endif

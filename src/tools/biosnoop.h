/* Event shared by biosnoop's kernel and user halves. */
#ifndef LOUPE_BIOSNOOP_H
#define LOUPE_BIOSNOOP_H

#include "disk.h"
#include "event.h"

/*
 * One completed request. hdr is the task that created the request (pid 0
 * if it was created before loupe attached), ts_ns the completion time.
 */
struct bio_event {
	struct event_hdr hdr;
	struct disk_io io;
	__u64 queued_ns;	/* creation -> issue, 0 if not seen */
	__u64 lat_ns;		/* issue -> completion */
	__s32 error;
	__u32 pad;
};

#endif

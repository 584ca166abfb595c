/* Event shared by exitsnoop's kernel and user halves. */
#ifndef LOUPE_EXITSNOOP_H
#define LOUPE_EXITSNOOP_H

#include "event.h"

struct exit_event {
	struct event_hdr hdr;
	__u64 start_ns;		/* task start, CLOCK_MONOTONIC */
	__u64 exit_ns;		/* CLOCK_MONOTONIC */
	__u32 exit_code;	/* task->exit_code: code << 8 | core | signal */
	__u32 pad;
};

#endif

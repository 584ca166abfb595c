/* Event shared by runqslower's kernel and user halves. */
#ifndef LOUPE_RUNQSLOWER_H
#define LOUPE_RUNQSLOWER_H

#include "event.h"

struct runqslower_event {
	struct event_hdr hdr;	/* the task that waited */
	__u64 delta_us;		/* wakeup (or preemption) to run */
	__u32 prev_pid;		/* the task it replaced on the CPU */
	__u32 prev_tid;
	char prev_comm[TASK_COMM_LEN];
};

#endif

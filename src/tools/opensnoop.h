/* Event shared by opensnoop's kernel and user halves. */
#ifndef LOUPE_OPENSNOOP_H
#define LOUPE_OPENSNOOP_H

#include "event.h"

#define OPEN_PATH_SIZE 256

enum open_syscall {
	OPEN_SYSCALL_UNKNOWN,	/* below the syscall layer, kernel < 5.15 */
	OPEN_SYSCALL_OPEN,
	OPEN_SYSCALL_OPENAT,
	OPEN_SYSCALL_OPENAT2,
};

struct open_event {
	struct event_hdr hdr;
	__s64 ret;
	__u64 flags;
	__u32 mode;
	__u32 syscall;
	char path[OPEN_PATH_SIZE];
};

#endif

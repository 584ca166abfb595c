/* Event shared by statsnoop's kernel and user halves. */
#ifndef LOUPE_STATSNOOP_H
#define LOUPE_STATSNOOP_H

#include "event.h"

#define STAT_PATH_SIZE 256

enum stat_syscall {
	STAT_SYSCALL_STATFS,
	STAT_SYSCALL_NEWSTAT,
	STAT_SYSCALL_NEWLSTAT,
	STAT_SYSCALL_NEWFSTATAT,
	STAT_SYSCALL_STATX,
};

struct stat_event {
	struct event_hdr hdr;
	__s64 ret;
	__s32 dfd;		/* AT_FDCWD for the path-only calls */
	__u32 syscall;
	char path[STAT_PATH_SIZE];
};

#endif

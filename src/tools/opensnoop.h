/* Event shared by opensnoop's kernel and user halves. */
#ifndef LOUPE_OPENSNOOP_H
#define LOUPE_OPENSNOOP_H

#include "event.h"
#include "ustr.h"

/*
 * A call takes paths of up to PATH_MAX - 1 bytes and refuses longer ones
 * (ENAMETOOLONG); one byte more than PATH_MAX means that every path a call
 * accepted arrives whole, and a cut one (USTR_TRUNCATED) was refused.
 */
#define OPEN_PATH_MAX	4096
#define OPEN_PATH_SIZE	(OPEN_PATH_MAX + 1)

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
	__u32 path_state;	/* USTR_* */
	/* The record ends at the path's NUL: its size varies. */
	char path[OPEN_PATH_SIZE];
};

/*
 * Most paths are short (on a busy machine 99% of those opened had 67 bytes
 * or fewer): a record of this size is reserved in the ring and the path
 * read straight into it, one copy; a longer one is read again into a
 * PATH_MAX building area and copied into the ring. Such a record holds a
 * NUL-terminated path followed by unused bytes.
 */
#define OPEN_RECORD_SHORT	160
#define OPEN_PATH_SHORT	(OPEN_RECORD_SHORT - offsetof(struct open_event, path))

#endif

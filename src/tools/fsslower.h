/* Event shared by fsslower's kernel and user halves. */
#ifndef LOUPE_FSSLOWER_H
#define LOUPE_FSSLOWER_H

#include "event.h"

#define FSSLOWER_FSTYPE_LEN	16
#define FSSLOWER_NAME_LEN	64

/* The T column: what kind of call was slow. */
enum fsslower_op {
	FSSLOWER_READ = 'R',
	FSSLOWER_WRITE = 'W',
	FSSLOWER_OPEN = 'O',
	FSSLOWER_FSYNC = 'S',
};

/*
 * With --raw-syscalls, raw_calls[nr] says what syscall nr is to fsslower:
 * an op, with FSSLOWER_AT if its fourth argument is the file offset, or 0.
 */
#define FSSLOWER_NR_MAX	512
#define FSSLOWER_AT	0x80

struct fsslower_event {
	struct event_hdr hdr;
	__u64 delta_ns;
	__s64 bytes;		/* return value of a read or write */
	__s64 offset;		/* file position the call started at */
	__u32 op;
	__u32 pad;
	char fstype[FSSLOWER_FSTYPE_LEN];
	char file[FSSLOWER_NAME_LEN];
};

#endif

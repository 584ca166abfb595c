/* Event shared by execsnoop's kernel and user halves. */
#ifndef LOUPE_EXECSNOOP_H
#define LOUPE_EXECSNOOP_H

#include "event.h"
#include "ustr.h"

#define EXEC_ARG_SIZE	256
#define EXEC_MAX_ARGS	64
#define EXEC_ARGS_SIZE	8192

struct exec_event {
	struct event_hdr hdr;
	__s32 ret;
	__u32 args_count;
	__u32 args_size;	/* bytes used in args: NUL-separated strings */
	__u32 args_state;	/* USTR_* of the list: cut, or a read failed */
	char args[EXEC_ARGS_SIZE];
};

#endif

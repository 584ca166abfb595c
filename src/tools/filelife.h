/* Event shared by filelife's kernel and user halves. */
#ifndef LOUPE_FILELIFE_H
#define LOUPE_FILELIFE_H

#include "event.h"

#define FILELIFE_NAME_LEN	64
#define FILELIFE_PATH_LEN	256

struct filelife_event {
	struct event_hdr hdr;	/* the task that deleted the file */
	__u64 age_ns;		/* from the open that created it */
	__u64 ino;
	__u32 creator_pid;
	__u32 pad;
	char file[FILELIFE_NAME_LEN];	/* name it was created as */
	char path[FILELIFE_PATH_LEN];	/* given to unlink, if known */
};

#endif

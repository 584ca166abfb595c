/* Map layout shared by filetop's kernel and user halves. */
#ifndef LOUPE_FILETOP_H
#define LOUPE_FILETOP_H

#include "event.h"

#define FILETOP_NAME_LEN 64
#define FILETOP_READ	0
#define FILETOP_WRITE	1

/* The generation tells apart inodes whose number was reused. */
struct filetop_key {
	__u64 ino;
	__u32 dev;
	__u32 tid;
	__u32 gen;
	__u32 pad;
};

struct filetop_value {
	__u64 calls[2];		/* FILETOP_READ, FILETOP_WRITE */
	__u64 bytes[2];
	__u64 cgroup_id;	/* the thread's, for its container */
	__u32 pid;
	char type;		/* R regular, S socket, O other */
	char pad[3];
	char comm[TASK_COMM_LEN];
	char file[FILETOP_NAME_LEN];
};

#endif

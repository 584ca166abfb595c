/* Event shared by mountsnoop's kernel and user halves. */
#ifndef LOUPE_MOUNTSNOOP_H
#define LOUPE_MOUNTSNOOP_H

#include "event.h"
#include "ustr.h"

#define MOUNT_STR_SIZE	256
#define MOUNT_NSTR	4
#define MOUNT_NARGS	6

enum mount_call {
	MOUNT_CALL_MOUNT,
	MOUNT_CALL_UMOUNT,
	MOUNT_CALL_FSOPEN,
	MOUNT_CALL_FSCONFIG,
	MOUNT_CALL_FSMOUNT,
	MOUNT_CALL_MOVE_MOUNT,
	MOUNT_CALL_OPEN_TREE,
	MOUNT_CALL_FSPICK,
	MOUNT_CALL_MOUNT_SETATTR,
	MOUNT_CALL_OPEN_TREE_ATTR,
	MOUNT_CALL_MAX,
};

struct mount_event {
	struct event_hdr hdr;
	__s64 ret;
	__u64 mnt_ns;		/* inode number of the caller's mount ns */
	__u64 args[MOUNT_NARGS];	/* raw syscall arguments */
	__u64 attr[4];		/* struct mount_attr of the *_attr calls */
	__u32 call;		/* enum mount_call */
	__u32 has_attr;
	__u32 strmask;		/* kernel only: which args are strings */
	__u32 attr_arg;		/* kernel only: struct mount_attr arg */
	__u32 str_state[MOUNT_NSTR];	/* USTR_* of each string */
	/* The string arguments, in argument order. */
	char str[MOUNT_NSTR][MOUNT_STR_SIZE];
};

#endif

/* Map value shared by syscount's kernel and user halves. */
#ifndef LOUPE_SYSCOUNT_H
#define LOUPE_SYSCOUNT_H

#include "event.h"

/* Keyed by syscall number, or by process with -P. */
struct syscount_value {
	__u64 count;
	__u64 total_ns;		/* with -L */
	__u64 cgroup_id;	/* with -P: the process's, for its container */
	char comm[TASK_COMM_LEN];	/* with -P */
};

#endif

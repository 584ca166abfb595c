/* Maps shared by bitesize's kernel and user halves. */
#ifndef LOUPE_BITESIZE_H
#define LOUPE_BITESIZE_H

#include "disk.h"
#include "event.h"

#define BITESIZE_SLOTS	32

/* One histogram per process name, as BCC keys it. */
struct bitesize_key {
	char comm[TASK_COMM_LEN];
};

struct bitesize_hist {
	__u64 slots[BITESIZE_SLOTS];
};

#endif

/* Histogram record shared by runqlat's kernel and user halves. */
#ifndef LOUPE_RUNQLAT_H
#define LOUPE_RUNQLAT_H

#include "event.h"

#define RUNQLAT_SLOTS	32	/* log2 slots: up to 2^32 units */

/* One histogram per key (0, a pid, a tid or a pid namespace). */
struct runqlat_hist {
	__u32 slots[RUNQLAT_SLOTS];
	char comm[TASK_COMM_LEN];
};

#endif

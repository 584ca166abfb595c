/* Histogram record shared by cpudist's kernel and user halves. */
#ifndef LOUPE_CPUDIST_H
#define LOUPE_CPUDIST_H

#include "event.h"

#define CPUDIST_SLOTS	32	/* log2 slots: up to 2^32 units */

/* One histogram per key (0, a pid or a tid). */
struct cpudist_hist {
	__u32 slots[CPUDIST_SLOTS];
	char comm[TASK_COMM_LEN];
};

#endif

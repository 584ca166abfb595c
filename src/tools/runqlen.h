/* Histogram record shared by runqlen's kernel and user halves. */
#ifndef LOUPE_RUNQLEN_H
#define LOUPE_RUNQLEN_H

#include "event.h"

#define RUNQLEN_SLOTS	64	/* linear: queue lengths 0 .. 63 and more */
#define RUNQLEN_FREQ	99	/* samples per second per CPU, like BCC */

/* One per CPU (a per-CPU map value). */
struct runqlen_hist {
	__u64 slots[RUNQLEN_SLOTS];
};

#endif

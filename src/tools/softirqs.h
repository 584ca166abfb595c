/* Map key and value shared by softirqs' kernel and user halves. */
#ifndef LOUPE_SOFTIRQS_H
#define LOUPE_SOFTIRQS_H

#include "event.h"

#define SOFTIRQS_SLOTS		32

/* Keyed by softirq vector number (0 = HI_SOFTIRQ ... 9 = RCU_SOFTIRQ). */
struct softirqs_value {
	__u64 count;
	__u64 total_ns;
	__u32 slots[SOFTIRQS_SLOTS];	/* with -d */
};

#endif

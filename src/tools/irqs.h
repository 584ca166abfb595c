/* Map keys and values shared by hardirqs' and softirqs' kernel and user halves. */
#ifndef LOUPE_IRQS_H
#define LOUPE_IRQS_H

#include "event.h"

#define IRQS_SLOTS		32
#define HARDIRQS_NAME_LEN	32
#define SOFTIRQS_VECTORS	16	/* room above today's 10 vectors */

struct hardirqs_key {
	char name[HARDIRQS_NAME_LEN];	/* the handler's name (irqaction) */
};

/*
 * Per handler name (hardirqs' hash map) or per vector number, 0 =
 * HI_SOFTIRQ ... 9 = RCU_SOFTIRQ (softirqs' array).
 */
struct irqs_value {
	__u64 count;
	__u64 total_ns;
	__u32 slots[IRQS_SLOTS];	/* with -d */
};

#endif

/* Map key and value shared by hardirqs' kernel and user halves. */
#ifndef LOUPE_HARDIRQS_H
#define LOUPE_HARDIRQS_H

#include "event.h"

#define HARDIRQS_NAME_LEN	32
#define HARDIRQS_SLOTS		32

struct hardirqs_key {
	char name[HARDIRQS_NAME_LEN];	/* the handler's name (irqaction) */
};

struct hardirqs_value {
	__u64 count;
	__u64 total_ns;
	__u32 slots[HARDIRQS_SLOTS];	/* with -d */
};

#endif

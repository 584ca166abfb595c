/* Map value shared by biopattern's kernel and user halves. */
#ifndef LOUPE_BIOPATTERN_H
#define LOUPE_BIOPATTERN_H

#include "disk.h"
#include "event.h"

/*
 * Per disk, since loupe started. Counters only grow; user space prints
 * the difference between intervals, so nothing is ever reset under the
 * kernel's feet.
 */
struct biopattern_counts {
	__u64 next_sector;	/* where the last request ended, 0 = none */
	__u64 sequential;
	__u64 random;
	__u64 bytes;
};

#endif

/* Maps shared by biolatency's kernel and user halves. */
#ifndef LOUPE_BIOLATENCY_H
#define LOUPE_BIOLATENCY_H

#include "disk.h"
#include "event.h"

#define BIOLAT_SLOTS	32

/* One histogram: all I/O, one disk (-D) or one kind of request (-F). */
struct biolat_key {
	__u32 dev;		/* 0 unless -D */
	__u32 pad;
	char rwbs[DISK_RWBS_LEN];	/* empty unless -F */
};

struct biolat_hist {
	__u64 slots[BIOLAT_SLOTS];
};

#endif

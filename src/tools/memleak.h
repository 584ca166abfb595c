/* Types shared by memleak's kernel and user halves. */
#ifndef LOUPE_MEMLEAK_H
#define LOUPE_MEMLEAK_H

#include "event.h"

#define MEMLEAK_STACK_DEPTH 127

/* One outstanding allocation, keyed by its address (or pfn for pages). */
struct alloc_info {
	__u64 size;
	__u64 ts_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__s64 stack_id;		/* < 0: the stack could not be taken */
};

#endif

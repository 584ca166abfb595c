/* Types shared by offcputime's kernel and user halves. */
#ifndef LOUPE_OFFCPUTIME_H
#define LOUPE_OFFCPUTIME_H

#include "stacks.h"

#define OFFCPU_MAX_BLOCKED	32768	/* threads off CPU at once */

/* A thread switched out: when, and what it was doing. */
struct offcpu_start {
	__u64 ts_ns;
	struct stack_key key;
	__u32 copied;		/* --unwind dwarf: user stack sent at ts_ns */
	__u32 pad;
};

#endif

/*
 * The in-kernel unwinding prototype (bench/ktab, issue 16's design (b)):
 * the layout both halves share. User space compiles each mapped object's
 * .eh_frame into rows "from pc on, CFA = rsp|rbp + off, rbp saved at
 * CFA + off" (x86-64), and the perf-event program walks a sampled user
 * stack with them, reading only the return addresses and saved rbp.
 */
#ifndef KTAB_H
#define KTAB_H

#define KTAB_MAX_MAPS	256	/* executable mappings of the process */
#define KTAB_DEPTH	64	/* frames walked at most */
#define KTAB_MAP_STEPS	9	/* binary search: 2^9 > KTAB_MAX_MAPS */
#define KTAB_ROW_STEPS	24	/* binary search: 16M rows */

enum ktab_cfa {
	KTAB_CFA_RSP = 1,	/* CFA = rsp + cfa_off */
	KTAB_CFA_RBP = 2,	/* CFA = rbp + cfa_off */
};

enum ktab_kind {
	KTAB_ROW_OK,
	KTAB_ROW_END,		/* no caller: the outermost frame */
	KTAB_ROW_NONE,		/* no CFI covers this pc */
	KTAB_ROW_UNSUPPORTED,	/* a rule the table cannot hold (expressions) */
};

/* 16 bytes: rows of one object are sorted by pc. */
struct ktab_row {
	__u64 pc;		/* ELF virtual address where the row begins */
	__s32 cfa_off;
	__s16 rbp_off;		/* 0: rbp unchanged, else saved at CFA + it */
	__u8 cfa_reg;		/* enum ktab_cfa */
	__u8 kind;		/* enum ktab_kind */
};

/* One executable mapping; maps are sorted by start. */
struct ktab_map {
	__u64 start, end;
	__u64 bias;		/* ELF vaddr = address - bias */
	__u32 first, n;		/* its rows */
};

struct ktab_stack {
	__u64 ips[KTAB_DEPTH];
};

enum ktab_stat {
	KTAB_SAMPLES,		/* samples of the process */
	KTAB_WHOLE,		/* walked to the outermost frame */
	KTAB_NO_MAP,		/* a pc in no mapping (JIT, vdso...) */
	KTAB_NO_ROW,		/* a pc without a usable row */
	KTAB_READ_FAIL,		/* a stack word could not be read */
	KTAB_TOO_DEEP,
	KTAB_FRAMES,		/* frames walked, all samples */
	KTAB_NSTATS,
};

#endif

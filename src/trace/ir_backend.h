/*
 * Private interface between the trace compiler's back-end files: the
 * register allocator (regalloc.c) hands emit.c a home for every virtual
 * register, and ir.c shares the helper-name table and the source-line
 * printer with the disassembler.
 * Nothing outside src/trace/{ir,regalloc,emit}.c should include it.
 */
#ifndef LOUPE_TRACE_IR_BACKEND_H
#define LOUPE_TRACE_IR_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include "ir.h"

/*
 * BPF registers the allocator never hands out: r0 and r5 are the scratch
 * pair for reloading spilled operands, materialising wide immediates and
 * breaking cycles in call argument moves; r10 is the frame pointer.
 */
#define IR_SCRATCH1	0
#define IR_SCRATCH2	5

struct ir_home {
	int reg;		/* BPF register, or -1 when spilled/unused */
	int slot;		/* stack offset from r10 when spilled */
};

struct ir_alloc {
	struct ir_home *home;	/* indexed by virtual register */
	bool *reachable;	/* per IR instruction: emit it at all */
	bool ctx_live;		/* IR_CTX is read before being redefined */
	int frame;		/* total stack bytes incl. spill slots */
	int nspills;		/* spill slots used */
};

/*
 * Checks the function, computes liveness and assigns homes. Returns 0 or
 * -1 with a one-line reason in err.
 */
int ir_alloc_run(const struct ir_func *f, struct ir_alloc *ra, char *err,
		 size_t errlen);
void ir_alloc_free(struct ir_alloc *ra);

/* "bpf_map_lookup_elem" for 1; NULL when the id is unknown. */
const char *ir_helper_name(int id);

/* "; text" of line `line` (1-based) of src, without its indentation. */
void ir_print_src_line(FILE *out, const char *src, int line);

#endif

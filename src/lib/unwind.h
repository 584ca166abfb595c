/*
 * User stacks walked in user space (--unwind dwarf): the kernel sends the
 * user registers and a copy of the top of the stack (struct
 * stacks_sample), and the walk follows the call frame information
 * (.eh_frame, .debug_frame) of the process's binaries through libdw, the
 * way perf's --call-graph dwarf does. Binaries without frame pointers,
 * and leaf functions without a frame, then still show every caller.
 */
#ifndef LOUPE_UNWIND_H
#define LOUPE_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct unwinder;

/*
 * At most max_procs processes' sessions stay open (the least recently
 * used are closed): the unwinder's memory is about max_procs processes'
 * modules.
 */
#define UNWIND_MAX_PROCS	256	/* the stack tools' */
struct unwinder *unwind_new(size_t max_procs);
void unwind_free(struct unwinder *u);
/*
 * At most about bytes of heap for the sessions (0: no limit, the
 * default): past it the least recently used are closed, all but the
 * one in use. Measured as the heap's growth while a session opens and,
 * for a sample of its walks, while it walks (see unwind.c).
 */
void unwind_set_budget(struct unwinder *u, size_t bytes);
/* Sessions open, and the bytes they hold as measured. */
void unwind_stats(const struct unwinder *u, size_t *sessions, size_t *bytes);

/*
 * Reads the modules (executable, libraries) process pid maps now, while
 * it lives, if not done yet or if its mappings changed: 0 or -errno.
 */
int unwind_prepare(struct unwinder *u, int pid);

/*
 * Walks one sample of thread tid of process pid: regs in the DWARF
 * numbering (rsp is 7, rip is 16), stack the len bytes copied from rsp
 * up. Fills ips with at most max addresses, the interrupted one first,
 * then return addresses; the number filled (0 if none).
 */
int unwind_stack(struct unwinder *u, int pid, int tid, const uint64_t *regs,
		 int nregs, const void *stack, size_t len, uint64_t *ips,
		 int max);

/*
 * Whether process pid's executable keeps frame pointers (--unwind auto):
 * at least 95 % of its global functions (at most 256 looked at) begin by
 * pushing %rbp and copying %rsp into it. A stripped executable counts as
 * without.
 */
bool unwind_exe_has_fp(int pid);

#endif

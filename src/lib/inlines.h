/*
 * Inlined functions at a user address, from the DWARF of its object (in
 * the file itself or in a debug file found by build id or
 * .gnu_debuglink): what perf report --inline and addr2line -i show, so
 * that a function the compiler folded into its caller still appears as a
 * frame of its own, marked inlined.
 */
#ifndef LOUPE_INLINES_H
#define LOUPE_INLINES_H

#include <stddef.h>
#include <stdint.h>

struct inlines;
struct syms_cache;

/* Upper bound of the inlined functions reported at one address. */
#define INLINES_MAX_DEPTH	32

/*
 * A cache of objects' debug information: at most budget bytes of DWARF
 * sections open at once (the least recently used object is closed past
 * it; 0: the default, 64 MB), and the answers per address.
 */
struct inlines *inlines_new(size_t budget);
void inlines_free(struct inlines *in);

/*
 * The functions inlined at addr of process pid, innermost first: their
 * names into names (at most max), the number filled, 0 if none or if the
 * object has no DWARF. The caller's own function is not among them (its
 * symbol names it). The mapping is the one syms last captured for pid;
 * names live as long as in.
 */
int inlines_user(struct inlines *in, struct syms_cache *syms, int pid,
		 uint64_t addr, const char **names, int max);

/* Objects open and their DWARF bytes, for tests and the docs' figures. */
void inlines_stats(const struct inlines *in, size_t *objs, size_t *bytes);

#endif

/*
 * ustack(dwarf) of trace programs, the user-space half: the copies the
 * probes send (TREC_UCOPY) are walked by CFI (unwind.h) as they arrive,
 * each walked stack kept once, and the 16-byte ustack values that hold a
 * copy's tag (ttype.h) are resolved to it: when printed, and in map keys,
 * where tprint_map_rekey() folds each tag's entry into the entry of its
 * walked stack so that equal stacks are one key, as fp stacks are.
 */
#ifndef LOUPE_TRACE_TUSTACK_H
#define LOUPE_TRACE_TUSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct syms_cache;
struct trace_ucopy;
struct tustacks;

/*
 * fp_pids_fd: ustack(auto)'s map, where the first copy of each process
 * says whether its executable keeps frame pointers (-1: none).
 */
struct tustacks *tustacks_new(int fp_pids_fd);
void tustacks_free(struct tustacks *u);

/*
 * A TREC_UCOPY of len bytes: walks it (at most limit frames, 0: all) and
 * notes its tag. syms captures the process so its frames still resolve
 * once it has exited.
 */
void tustacks_copy(struct tustacks *u, struct syms_cache *syms,
		   const struct trace_ucopy *c, size_t len, int limit);

/*
 * The walked frames of a tagged or walked ustack value (16 bytes): their
 * number and *ips, or -1 if its copy has not come (or was lost).
 */
int tustacks_frames(const struct tustacks *u, const uint8_t *val,
		    const uint64_t **ips);

/*
 * A map key's ustack value, tagged: rewritten in place to its walked
 * stack if the copy came and the tag is older than before_ns (the probe
 * that made the key has finished with it), 1; 0 if it is to stay; -1 if
 * its copy never came (lost: the entry is to go).
 */
int tustacks_rekey(struct tustacks *u, uint8_t *val, uint64_t before_ns);

/*
 * Once a second: the processes copies came from since the last call have
 * their modules read again if their mappings changed (dlopen, exec), so
 * the next walks see them.
 */
void tustacks_tick(struct tustacks *u);

/* Forgets tags older than before_ns: no map key or record holds them. */
void tustacks_forget(struct tustacks *u, uint64_t before_ns);

#endif

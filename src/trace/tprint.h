/*
 * What a trace program prints, exactly as bpftrace prints it: printf()
 * with bpftrace's format specifiers, print()/the end-of-run dump of maps
 * (sorted like bpftrace, with its hist/lhist/stats layouts), time(), and
 * the same in bpftrace's JSON output format (-j, like `bpftrace -f json`).
 *
 * The BPF side sends ring-buffer records that start with struct trace_rec
 * and carry values laid out as ttype.h describes; maps are read with
 * bpf_map_get_next_key()/bpf_map_lookup_elem().
 */
#ifndef LOUPE_TRACE_TPRINT_H
#define LOUPE_TRACE_TPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ttype.h"

struct inlines;
struct syms_cache;
struct tustacks;

/* Ring-buffer record kinds (struct trace_rec.action). */
enum trace_action {
	TREC_PRINTF = 1,	/* id: printf index; payload: the args tuple */
	TREC_EXIT,		/* exit() */
	TREC_PRINT_MAP,		/* id: map index; payload struct trace_print_map */
	TREC_CLEAR,		/* id: map index */
	TREC_ZERO,		/* id: map index */
	TREC_TIME,		/* id: index of the format in time_fmts */
	TREC_PRINT_VALUE,	/* id: print-value index; payload: the value */
	TREC_SYSTEM,		/* system(): as TREC_PRINTF, then run */
	TREC_CAT,		/* cat(): as TREC_PRINTF, the file's text */
	TREC_UCOPY,		/* id: frame limit (0: all); struct trace_ucopy */
};

struct trace_rec {
	uint32_t action;
	uint32_t id;
	/* payload, 8-byte aligned */
};

/*
 * ustack(dwarf): what user space walks the stack from, sent before the
 * record or map update that holds the ustack value (tag, cpu1), in the
 * same ring, so a printf finds its stack walked already.
 */
#define TRACE_UCOPY_MAX		16384	/* stacks.h's STACKS_COPY_MAX; a power
					 * of 2: less a byte is copied */
#define TRACE_UCOPY_NREGS	21	/* x86-64 struct pt_regs */

struct trace_ucopy {
	uint64_t tag;		/* bpf_ktime_get_ns() */
	uint32_t cpu1;		/* CPU + 1 */
	uint32_t pid;
	uint32_t tid;
	uint32_t size;		/* bytes of stack copied */
	uint64_t regs[TRACE_UCOPY_NREGS];	/* the task's user registers */
	uint8_t stack[TRACE_UCOPY_MAX];	/* from regs' sp up */
};

struct trace_print_map {
	int64_t top;	/* 0: all entries */
	int64_t div;	/* 0 or 1: as is */
};

/* One @map of a compiled program. */
#define TRACE_MAP_ENTRIES	4096

struct trace_map {
	char *name;		/* "@" or "@x" */
	/*
	 * TT_NONE: the map has no key (one value, stored under a u64 0
	 * key); a single key's type; or TT_TUPLE for @m[a, b].
	 */
	struct ttype key;
	/* TT_COUNT .. TT_LHIST (per-CPU) or a plain value type */
	struct ttype value;
	unsigned int key_size;	/* bytes of a key in the BPF map */
	bool percpu;		/* aggregations: a per-CPU hash */
	unsigned int entries;	/* most keys; 0: TRACE_MAP_ENTRIES */
	int fd;
};

struct tprint {
	FILE *out;
	bool json;
	struct syms_cache *syms;	/* created on first need */
	bool no_demangle;	/* user names as in the symbol table */
	int kstack_fd;		/* stack maps of the program, -1 if none */
	int ustack_fd;
	const struct trace_stack_map *stack_maps;	/* kstack(N)... */
	int nstack_maps;
	int ncpus;		/* possible CPUs, for per-CPU values */
	struct tustacks *ustacks;	/* ustack(dwarf)'s walks, or NULL */
	struct inlines *inlines;	/* --inline, or NULL */
};

void tprint_init(struct tprint *p, FILE *out, bool json);
void tprint_fini(struct tprint *p);

/*
 * Checks fmt against the argument types at compile time. Returns 0, or -1
 * with a message in err and *bad_arg set to the argument's index (-1 when
 * the problem is in the format itself, e.g. too few arguments).
 */
int tprint_check_format(const char *fmt, const struct ttype *args,
			int *bad_arg, char *err, size_t errlen);

/* printf(fmt, args...): args is a TT_TUPLE (nelems may be 0). */
void tprint_printf(struct tprint *p, const char *fmt,
		   const struct ttype *args, const void *data);
/* system(fmt, args...) (--unsafe): formatted as printf, run by sh. */
void tprint_system(struct tprint *p, const char *fmt,
		   const struct ttype *args, const void *data);
/* cat(fmt, args...): the file the formatted path names, printed. */
void tprint_cat(struct tprint *p, const char *fmt, const struct ttype *args,
		const void *data);
/* print(value) of a non-map value, and the value part of map entries. */
void tprint_value(struct tprint *p, const struct ttype *t, const void *data);
/* time(fmt): the local time now, strftime-formatted. */
void tprint_time(struct tprint *p, const char *fmt);
/* "Attaching N probes..." (or its JSON record). */
void tprint_attached(struct tprint *p, int nprobes);
/* print(@m, top, div) and the end-of-run dump; 0 or -errno. */
int tprint_map(struct tprint *p, const struct trace_map *m, long long top,
	       long long div);
/*
 * Calls fn for each entry of m, its per-CPU values folded into one value
 * (as print shows it; ncpus: possible CPUs), in no particular order: the
 * one reader of trace maps for whoever else reads them (the agent).
 * 0 or -errno.
 */
int tprint_map_each(const struct trace_map *m, int ncpus,
		    void (*fn)(void *ctx, const void *key, const void *value),
		    void *ctx);
/* A TREC_UCOPY record (payload, len bytes): walked for ustack(dwarf). */
void tprint_ucopy(struct tprint *p, const void *payload, size_t len,
		  int limit);
/*
 * ustack(dwarf) in m's keys: every entry whose key holds a tag older than
 * before_ns is folded into the entry of its walked stack (created if
 * new) and deleted; one whose copy never came is deleted. 0 or -errno.
 */
int tprint_map_rekey(struct tprint *p, const struct trace_map *m,
		     uint64_t before_ns);
/* clear(@m) and zero(@m). */
int tprint_clear_map(const struct trace_map *m);
int tprint_zero_map(struct tprint *p, const struct trace_map *m);

#endif

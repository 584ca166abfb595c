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

struct syms_cache;

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
};

struct trace_rec {
	uint32_t action;
	uint32_t id;
	/* payload, 8-byte aligned */
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
/* clear(@m) and zero(@m). */
int tprint_clear_map(const struct trace_map *m);
int tprint_zero_map(struct tprint *p, const struct trace_map *m);

#endif

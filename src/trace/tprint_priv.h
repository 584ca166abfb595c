/*
 * Internals shared by tprint.c (printf, values) and tprint_map.c (maps):
 * a growable string and value formatting. Not part of the contract.
 */
#ifndef LOUPE_TRACE_TPRINT_PRIV_H
#define LOUPE_TRACE_TPRINT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "tprint.h"

struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

void sb_add(struct sbuf *b, const char *s, size_t n);
void sb_puts(struct sbuf *b, const char *s);
void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_free(struct sbuf *b);
const char *sb_str(const struct sbuf *b);
/* Writes the buffer to p->out and empties it. */
void sb_flush(struct tprint *p, struct sbuf *b);
/* bpftrace's JSON string escaping (without the quotes). */
void sb_json_str(struct sbuf *b, const char *s, size_t n);

/* The elements of a map key (a tuple's, or the key itself): how many. */
int tp_key_elems(const struct ttype *k, const struct ttype **elems,
		 const unsigned int **offs);
/* Unaligned little-endian fields of records, keys and values. */
static inline uint64_t tp_rd64(const void *d)
{
	uint64_t v;

	memcpy(&v, d, 8);
	return v;
}

static inline uint32_t tp_rd32(const void *d)
{
	uint32_t v;

	memcpy(&v, d, 4);
	return v;
}

/* A TT_INT of any size, sign- or zero-extended. */
int64_t tp_read_int(const struct ttype *t, const void *data);
/*
 * The text (or JSON) form of a non-aggregate value; stacks indent their
 * frames by indent spaces (8 in values, 4 in map keys).
 */
void tp_format_value(struct tprint *p, struct sbuf *b, const struct ttype *t,
		     const void *data, bool json, int indent);

#endif

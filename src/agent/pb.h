/*
 * A protocol buffers writer of the few wire forms pprof's profile.proto
 * uses: varints, length-delimited fields (strings and nested messages
 * built in a buffer of their own) and packed repeated varints.
 */
#ifndef LOUPE_AGENT_PB_H
#define LOUPE_AGENT_PB_H

#include <stddef.h>
#include <stdint.h>
#include "out.h"

void pb_varint(struct out_buf *b, uint64_t v);
/* Field number field as a varint (wire type 0). */
void pb_uint(struct out_buf *b, int field, uint64_t v);
/* Field number field as n bytes (wire type 2): a string or a message. */
void pb_bytes(struct out_buf *b, int field, const void *data, size_t n);
void pb_str(struct out_buf *b, int field, const char *s);
/* A packed repeated varint field; nothing when n is 0. */
void pb_packed(struct out_buf *b, int field, const uint64_t *v, size_t n);

#endif

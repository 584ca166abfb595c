/*
 * The protobuf wire encoding of the agent's pprof profiles (pb.h). Small
 * enough to test by the byte, so no library is linked for it.
 */
#include <stdlib.h>
#include <string.h>
#include "pb.h"

#define PB_VARINT	0
#define PB_LEN		2

void pb_varint(struct out_buf *b, uint64_t v)
{
	char tmp[10];
	size_t n = 0;

	do {
		tmp[n] = v & 0x7f;
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	out_buf_add(b, tmp, n);
}

static void key(struct out_buf *b, int field, int wire)
{
	pb_varint(b, (uint64_t)field << 3 | wire);
}

void pb_uint(struct out_buf *b, int field, uint64_t v)
{
	key(b, field, PB_VARINT);
	pb_varint(b, v);
}

void pb_bytes(struct out_buf *b, int field, const void *data, size_t n)
{
	key(b, field, PB_LEN);
	pb_varint(b, n);
	out_buf_add(b, data, n);
}

void pb_str(struct out_buf *b, int field, const char *s)
{
	pb_bytes(b, field, s, strlen(s));
}

void pb_packed(struct out_buf *b, int field, const uint64_t *v, size_t n)
{
	struct out_buf tmp = { 0 };

	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		pb_varint(&tmp, v[i]);
	pb_bytes(b, field, tmp.data, tmp.len);
	free(tmp.data);
}

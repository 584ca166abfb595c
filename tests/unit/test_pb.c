/* Unit tests of the protobuf writer behind the agent's pprof profiles. */
#include <stdlib.h>
#include <string.h>
#include "pb.h"
#include "unit.h"

static bool bytes_are(const struct out_buf *b, const char *want, size_t n)
{
	return b->len == n && !memcmp(b->data, want, n);
}

static void test_varint(void)
{
	struct out_buf b = { 0 };

	pb_varint(&b, 0);
	CHECK(bytes_are(&b, "\x00", 1));
	b.len = 0;
	pb_varint(&b, 1);
	CHECK(bytes_are(&b, "\x01", 1));
	b.len = 0;
	pb_varint(&b, 300);	/* the encoding guide's example */
	CHECK(bytes_are(&b, "\xac\x02", 2));
	b.len = 0;
	pb_varint(&b, UINT64_MAX);
	CHECK(bytes_are(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10));
	free(b.data);
}

static void test_fields(void)
{
	struct out_buf b = { 0 };
	const uint64_t v[] = { 3, 270, 86942 };

	pb_uint(&b, 1, 150);
	CHECK(bytes_are(&b, "\x08\x96\x01", 3));
	b.len = 0;
	pb_str(&b, 2, "testing");
	CHECK(bytes_are(&b, "\x12\x07testing", 9));
	b.len = 0;
	pb_str(&b, 6, "");	/* pprof's string 0 */
	CHECK(bytes_are(&b, "\x32\x00", 2));
	b.len = 0;
	pb_packed(&b, 4, v, 3);
	CHECK(bytes_are(&b, "\x22\x06\x03\x8e\x02\x9e\xa7\x05", 8));
	b.len = 0;
	pb_packed(&b, 4, v, 0);
	CHECK(b.len == 0);
	b.len = 0;
	pb_uint(&b, 16, 1);	/* a two-byte key */
	CHECK(bytes_are(&b, "\x80\x01\x01", 3));
	free(b.data);
}

const struct unit_test pb_tests[] = {
	{ "pb/varint", test_varint },
	{ "pb/fields", test_fields },
	{ NULL },
};
UNIT_GROUP(pb_tests)

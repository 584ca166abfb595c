/*
 * Unit tests of the PT_LOAD arithmetic uprobes, USDT notes and symbols
 * share: a code segment and a data segment whose memory outruns its file
 * part (.bss, where a USDT semaphore may live).
 */
#include <errno.h>
#include "addr.h"
#include "unit.h"

static const struct addr_seg segs[] = {
	{ .offset = 0x1000, .filesz = 0x2000, .memsz = 0x2000,
	  .vaddr = 0x401000 },
	{ .offset = 0x3000, .filesz = 0x100, .memsz = 0x1000,
	  .vaddr = 0x404000 },
};

static void test_vaddr_to_offset(void)
{
	uint64_t off = 0;

	CHECK(!addr_seg_offset(segs, 2, 0x401010, true, &off) &&
	      off == 0x1010);
	CHECK(!addr_seg_offset(segs, 2, 0x4040ff, true, &off) &&
	      off == 0x30ff);
	/* Past the file part: only a semaphore may be there. */
	CHECK(addr_seg_offset(segs, 2, 0x404800, true, &off) == -ERANGE);
	CHECK(!addr_seg_offset(segs, 2, 0x404800, false, &off) &&
	      off == 0x3800);
	CHECK(addr_seg_offset(segs, 2, 0x405000, false, &off) == -ERANGE);
	CHECK(addr_seg_offset(segs, 2, 0x400fff, false, &off) == -ERANGE);
}

static void test_offset_to_vaddr(void)
{
	CHECK(addr_seg_vaddr(segs, 2, 0x1010) == 0x401010);
	CHECK(addr_seg_vaddr(segs, 2, 0x3000) == 0x404000);
	/* In no segment: the offset itself (an object without headers). */
	CHECK(addr_seg_vaddr(segs, 2, 0x3100) == 0x3100);
	CHECK(addr_seg_vaddr(segs, 0, 0x1010) == 0x1010);
}

const struct unit_test addr_tests[] = {
	{ "addr/vaddr_to_offset", test_vaddr_to_offset },
	{ "addr/offset_to_vaddr", test_offset_to_vaddr },
	{ NULL },
};
UNIT_GROUP(addr_tests)

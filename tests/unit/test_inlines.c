/*
 * Unit tests of inlined frames (inlines.h) on this very process: a
 * function forced inline into another, whose call out of the inlined body
 * gives an address inside it; the DWARF of the unit test binary (built
 * with -g) names the inlined function there, and only there.
 */
#include <stdint.h>
#include <unistd.h>
#include "inlines.h"
#include "syms.h"
#include "unit.h"

volatile int inlines_unit_sink;

__attribute__((noinline)) static uintptr_t inlines_unit_where(void)
{
	inlines_unit_sink++;
	return (uintptr_t)__builtin_return_address(0);
}

static inline __attribute__((always_inline)) uintptr_t
inlines_unit_inner(void)
{
	inlines_unit_sink += 3;
	return inlines_unit_where();
}

__attribute__((noinline)) uintptr_t inlines_unit_outer(void)
{
	uintptr_t ra = inlines_unit_inner();

	inlines_unit_sink++;
	return ra;
}

static void test_inlined_at_call(void)
{
	struct syms_cache *c = syms_cache_new();
	struct inlines *in = inlines_new(0);
	/* the call instruction, one byte before where it returns */
	uintptr_t call = inlines_unit_outer() - 1;
	const char *names[4];
	struct syms_frame f;
	size_t objs, bytes;
	int n;

	CHECK(!syms_user(c, getpid(), call, &f));
	CHECK_STR(f.name, "inlines_unit_outer");
	n = inlines_user(in, c, getpid(), call, names, 4);
	CHECK(n == 1);
	if (n == 1)
		CHECK_STR(names[0], "inlines_unit_inner");
	/* asked again: the cached answer, the same interned name */
	CHECK(inlines_user(in, c, getpid(), call, names + 1, 3) == 1);
	CHECK(names[1] == names[0]);
	inlines_stats(in, &objs, &bytes);
	CHECK(objs == 1 && bytes > 0);
	/* a function with nothing inlined, and an address in no object */
	CHECK(inlines_user(in, c, getpid(), (uintptr_t)&inlines_unit_where,
			   names, 4) == 0);
	CHECK(inlines_user(in, c, getpid(), 8, names, 4) == 0);
	inlines_free(in);
	syms_cache_free(c);
}

/* A budget of one byte still answers: the object in use stays open. */
static void test_budget(void)
{
	struct syms_cache *c = syms_cache_new();
	struct inlines *in = inlines_new(1);
	uintptr_t call = inlines_unit_outer() - 1;
	const char *names[4];
	size_t objs, bytes;

	/* inlines_user() reads the mappings syms captured */
	CHECK(inlines_user(in, c, getpid(), call, names, 4) == 0);
	CHECK(!syms_capture(c, getpid()));
	CHECK(inlines_user(in, c, getpid(), call, names, 4) == 1);
	inlines_stats(in, &objs, &bytes);
	CHECK(objs == 1);
	inlines_free(in);
	syms_cache_free(c);
}

const struct unit_test inlines_tests[] = {
	{ "inlines/inlined_at_call", test_inlined_at_call },
	{ "inlines/budget", test_budget },
	{ NULL },
};
UNIT_GROUP(inlines_tests)

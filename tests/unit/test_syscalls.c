/* Unit tests of the syscall name table. */
#include <stddef.h>
#include "syscalls.h"
#include "unit.h"

static void test_known_numbers(void)
{
#if defined(__x86_64__)
	CHECK_STR(syscalls_name(0), "read");
	CHECK_STR(syscalls_name(110), "getppid");
	CHECK_STR(syscalls_name(257), "openat");
	CHECK(syscalls_lookup("getppid") == 110);
	CHECK(syscalls_lookup("close") == 3);
#elif defined(__aarch64__)
	CHECK_STR(syscalls_name(63), "read");
	CHECK_STR(syscalls_name(173), "getppid");
	CHECK_STR(syscalls_name(79), "newfstatat");
	CHECK(syscalls_lookup("getppid") == 173);
#endif
}

static void test_out_of_range(void)
{
	CHECK(syscalls_name(-1) == NULL);
	CHECK(syscalls_name(syscalls_count()) == NULL);
	CHECK(syscalls_name(1 << 20) == NULL);
	CHECK(syscalls_lookup("nosuchsyscall") == -1);
	CHECK(syscalls_lookup("") == -1);
	CHECK(syscalls_lookup(NULL) == -1);
}

/* Every name maps back to its own number: no duplicates in the table. */
static void test_round_trip(void)
{
	int named = 0;

	for (int nr = 0; nr < syscalls_count(); nr++) {
		const char *name = syscalls_name(nr);

		if (!name)
			continue;
		named++;
		if (syscalls_lookup(name) != nr) {
			printf("  %s: lookup gives %d, not %d\n", name,
			       syscalls_lookup(name), nr);
			unit_failed_checks++;
		}
	}
#if defined(__x86_64__) || defined(__aarch64__)
	CHECK(named > 300);
#endif
}

const struct unit_test syscalls_tests[] = {
	{ "syscalls/known_numbers", test_known_numbers },
	{ "syscalls/out_of_range", test_out_of_range },
	{ "syscalls/round_trip", test_round_trip },
	{ NULL },
};
UNIT_GROUP(syscalls_tests)

/* Unit tests of signal names and exit statuses. */
#include "signame.h"
#include "unit.h"

static void test_exit_status(void)
{
	char buf[64];

	signame_exit(0, buf, sizeof(buf));
	CHECK_STR(buf, "0");
	signame_exit(42 << 8, buf, sizeof(buf));
	CHECK_STR(buf, "code 42");
	signame_exit(9, buf, sizeof(buf));
	CHECK_STR(buf, "signal 9 (SIGKILL)");
	signame_exit(0x80 | 11, buf, sizeof(buf));
	CHECK_STR(buf, "signal 11 (SIGSEGV), core dumped");
	CHECK_STR(signame_of(15), "SIGTERM");
	CHECK_STR(signame_of(34), "SIGRTMIN+2");
	CHECK(signame_of(0) == NULL);
	CHECK(signame_of(99) == NULL);
}

const struct unit_test signame_tests[] = {
	{ "signame/exit_status", test_exit_status },
	{ NULL },
};
UNIT_GROUP(signame_tests)

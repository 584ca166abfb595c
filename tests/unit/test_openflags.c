/* Unit tests of open(2) flag names. */
#include <fcntl.h>
#include "openflags.h"
#include "unit.h"

static void test_open_flags(void)
{
	char buf[256];

	openflags_format(O_RDONLY, buf, sizeof(buf));
	CHECK_STR(buf, "O_RDONLY");
	openflags_format(O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, buf,
			 sizeof(buf));
	CHECK_STR(buf, "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC");
	openflags_format(O_RDWR | O_SYNC, buf, sizeof(buf));
	CHECK_STR(buf, "O_RDWR|O_SYNC");
	openflags_format(O_RDONLY | O_DIRECTORY | 0x40000000, buf,
			 sizeof(buf));
	CHECK_STR(buf, "O_RDONLY|O_DIRECTORY|0x40000000");
}

const struct unit_test openflags_tests[] = {
	{ "openflags/format", test_open_flags },
	{ NULL },
};
UNIT_GROUP(openflags_tests)

/* Unit tests of the decoders: exit statuses, signals, flags, containers. */
#include <fcntl.h>
#include "decode.h"
#include "unit.h"

static void test_exit_status(void)
{
	char buf[64];

	decode_exit(0, buf, sizeof(buf));
	CHECK_STR(buf, "0");
	decode_exit(42 << 8, buf, sizeof(buf));
	CHECK_STR(buf, "code 42");
	decode_exit(9, buf, sizeof(buf));
	CHECK_STR(buf, "signal 9 (SIGKILL)");
	decode_exit(0x80 | 11, buf, sizeof(buf));
	CHECK_STR(buf, "signal 11 (SIGSEGV), core dumped");
	CHECK_STR(decode_signal(15), "SIGTERM");
	CHECK_STR(decode_signal(34), "SIGRTMIN+2");
	CHECK(decode_signal(0) == NULL);
	CHECK(decode_signal(99) == NULL);
}

static void test_open_flags(void)
{
	char buf[256];

	decode_open_flags(O_RDONLY, buf, sizeof(buf));
	CHECK_STR(buf, "O_RDONLY");
	decode_open_flags(O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, buf,
			  sizeof(buf));
	CHECK_STR(buf, "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC");
	decode_open_flags(O_RDWR | O_SYNC, buf, sizeof(buf));
	CHECK_STR(buf, "O_RDWR|O_SYNC");
	decode_open_flags(O_RDONLY | O_DIRECTORY | 0x40000000, buf,
			  sizeof(buf));
	CHECK_STR(buf, "O_RDONLY|O_DIRECTORY|0x40000000");
}

static void test_container_id(void)
{
	const char *id = "0123456789abcdef0123456789abcdef"
			 "0123456789abcdef0123456789abcdef";
	char path[256], buf[65];

	snprintf(path, sizeof(path), "/system.slice/docker-%s.scope", id);
	CHECK_STR(decode_container_id(path, buf, sizeof(buf)), id);
	snprintf(path, sizeof(path),
		 "/kubepods/burstable/pod1234/cri-containerd-%s.scope", id);
	CHECK_STR(decode_container_id(path, buf, sizeof(buf)), id);
	snprintf(path, sizeof(path), "/docker/%s", id);
	CHECK_STR(decode_container_id(path, buf, sizeof(buf)), id);
	CHECK(decode_container_id("/user.slice/session-2.scope", buf,
				  sizeof(buf)) == NULL);
	/* 65 hex digits is not an id. */
	snprintf(path, sizeof(path), "/x/%sa", id);
	CHECK(decode_container_id(path, buf, sizeof(buf)) == NULL);
	CHECK(decode_container_id(NULL, buf, sizeof(buf)) == NULL);
}

const struct unit_test decode_tests[] = {
	{ "decode/exit_status", test_exit_status },
	{ "decode/open_flags", test_open_flags },
	{ "decode/container_id", test_container_id },
	{ NULL },
};
UNIT_GROUP(decode_tests)

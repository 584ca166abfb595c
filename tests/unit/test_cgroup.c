/* Unit tests of the container id found in a cgroup path. */
#include "cgroup.h"
#include "unit.h"

static void test_container_id(void)
{
	const char *id = "0123456789abcdef0123456789abcdef"
			 "0123456789abcdef0123456789abcdef";
	char path[256], buf[65];

	snprintf(path, sizeof(path), "/system.slice/docker-%s.scope", id);
	CHECK_STR(cgroup_container_id(path, buf, sizeof(buf)), id);
	snprintf(path, sizeof(path),
		 "/kubepods/burstable/pod1234/cri-containerd-%s.scope", id);
	CHECK_STR(cgroup_container_id(path, buf, sizeof(buf)), id);
	snprintf(path, sizeof(path), "/docker/%s", id);
	CHECK_STR(cgroup_container_id(path, buf, sizeof(buf)), id);
	CHECK(cgroup_container_id("/user.slice/session-2.scope", buf,
				  sizeof(buf)) == NULL);
	/* 65 hex digits is not an id. */
	snprintf(path, sizeof(path), "/x/%sa", id);
	CHECK(cgroup_container_id(path, buf, sizeof(buf)) == NULL);
	CHECK(cgroup_container_id(NULL, buf, sizeof(buf)) == NULL);
}

const struct unit_test cgroup_tests[] = {
	{ "cgroup/container_id", test_container_id },
	{ NULL },
};
UNIT_GROUP(cgroup_tests)

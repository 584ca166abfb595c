/*
 * Unit tests of symbolization: addresses of this very process's code and
 * of the kernel (from /proc/kallsyms) back to "name+0xoff [module]".
 */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "syms.h"
#include "unit.h"

__attribute__((noinline, used)) int syms_unit_target(int x)
{
	return x * 5 + 2;
}

static void test_user_own_function(void)
{
	struct syms_proc *p = syms_proc_open(getpid());
	void *(*volatile fn)(size_t) = malloc;
	char buf[256];

	CHECK(p != NULL);
	syms_proc_format(p, (uintptr_t)&syms_unit_target + 3, buf,
			 sizeof(buf));
	CHECK_STR(buf, "syms_unit_target+0x3 [unit_tests]");
	/* libc's .dynsym, with the version stripped from the name. */
	syms_proc_format(p, (uintptr_t)fn, buf, sizeof(buf));
	CHECK(!strncmp(buf, "malloc+0x0 [libc", 16) ||
	      !strncmp(buf, "__libc_malloc+0x0 [libc", 23));
	syms_proc_format(p, 8, buf, sizeof(buf));
	CHECK_STR(buf, "[unknown]");
	syms_proc_close(p);
}

static void test_kernel_symbol(void)
{
	char line[512], name[256], want[300], buf[300], type;
	unsigned long long addr = 0;
	FILE *f = fopen("/proc/kallsyms", "r");

	CHECK(f != NULL);
	if (!f)
		return;
	/* A core-kernel text symbol that has no twin at the same address. */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 &&
		    type == 'T' && addr && !strchr(line, '[') &&
		    !strcmp(name, "schedule"))
			break;
		addr = 0;
	}
	fclose(f);
	CHECK(addr != 0);
	if (!addr)
		return;
	snprintf(want, sizeof(want), "%s+0x2 [kernel]", name);
	syms_kernel_format(addr + 2, buf, sizeof(buf));
	CHECK_STR(buf, want);
	syms_kernel_format(1, buf, sizeof(buf));
	CHECK_STR(buf, "[unknown]");
	syms_free();
}

const struct unit_test syms_tests[] = {
	{ "syms/user_own_function", test_user_own_function },
	{ "syms/kernel_symbol", test_kernel_symbol },
	{ NULL },
};
UNIT_GROUP(syms_tests)

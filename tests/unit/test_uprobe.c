/*
 * Unit tests of uprobe target resolution: symbols of this very binary and
 * of the libc it runs on are turned into file offsets, and those offsets
 * are checked against where the functions really are in memory.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include "uprobe.h"
#include "unit.h"

__attribute__((noinline, used)) int uprobe_unit_target(int x)
{
	return x * 3 + 1;
}

/* Where file offset off of path is mapped in this process, or 0. */
static unsigned long runtime_addr(const char *path, unsigned long off)
{
	char line[PATH_MAX + 128], real[PATH_MAX], want[PATH_MAX];
	unsigned long start, end, moff, addr = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f || !realpath(path, want))
		goto out;
	while (fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/');

		if (!file || sscanf(line, "%lx-%lx %*s %lx", &start, &end,
				    &moff) != 3)
			continue;
		file[strcspn(file, "\n")] = '\0';
		if (!realpath(file, real) || strcmp(real, want))
			continue;
		if (off >= moff && off < moff + (end - start)) {
			addr = start + off - moff;
			break;
		}
	}
out:
	if (f)
		fclose(f);
	return addr;
}

static void test_parse_spec(void)
{
	char bin[64], func[64];

	CHECK(!uprobe_parse_spec("c:malloc", bin, sizeof(bin), func,
				 sizeof(func)));
	CHECK_STR(bin, "c");
	CHECK_STR(func, "malloc");
	CHECK(!uprobe_parse_spec("/a:b/bin:main", bin, sizeof(bin), func,
				 sizeof(func)));
	CHECK_STR(bin, "/a:b/bin");
	CHECK_STR(func, "main");
	CHECK(uprobe_parse_spec("malloc", bin, sizeof(bin), func,
				sizeof(func)) == -EINVAL);
	CHECK(uprobe_parse_spec(":malloc", bin, sizeof(bin), func,
				sizeof(func)) == -EINVAL);
	CHECK(uprobe_parse_spec("c:", bin, sizeof(bin), func,
				sizeof(func)) == -EINVAL);
}

static void test_own_symbol(void)
{
	struct uprobe_target t;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	CHECK(n > 0);
	if (n <= 0)
		return;
	exe[n] = '\0';
	CHECK(!uprobe_resolve(exe, "uprobe_unit_target", 0, &t));
	CHECK(t.offset != 0);
	CHECK(runtime_addr(exe, t.offset) ==
	      (unsigned long)&uprobe_unit_target);
	CHECK(uprobe_resolve(exe, "uprobe_no_such_function", 0, &t) ==
	      -ENOENT);
}

static void test_libc_symbol(void)
{
	void *(*volatile fn)(size_t) = malloc;
	unsigned long off_plain, off_versioned;
	struct uprobe_target t;
	char path[PATH_MAX];
	const char *base;

	/* System-wide lookup: libc.so.6, never libcap or libcusolver. */
	CHECK(!uprobe_find_library("libc", 0, path, sizeof(path)));
	base = strrchr(path, '/');
	CHECK_STR(base, "/libc.so.6");
	CHECK(!uprobe_find_library("c", 0, path, sizeof(path)));
	CHECK_STR(strrchr(path, '/'), "/libc.so.6");
	/* As this process maps it, through /proc/PID/root. */
	CHECK(!uprobe_resolve("libc", "malloc", getpid(), &t));
	CHECK(!strncmp(t.path, "/proc/", 6) && strstr(t.path, "/root/"));
	off_plain = t.offset;
#ifndef __SANITIZE_ADDRESS__
	/* under AddressSanitizer malloc is the sanitizer's own */
	CHECK(runtime_addr(t.path, t.offset) == (unsigned long)fn);
#else
	(void)fn;
#endif
	CHECK(!uprobe_func_offset(t.path, "malloc@@GLIBC_2.2.5",
				  &off_versioned) ||
	      !uprobe_func_offset(t.path, "malloc@@GLIBC_2.17",
				  &off_versioned));
	CHECK(off_versioned == off_plain);
}

static void test_binary_lookup(void)
{
	char path[PATH_MAX], want[PATH_MAX], got[PATH_MAX];
	unsigned long off;

	CHECK(!uprobe_find_binary("true", 0, path, sizeof(path)));
	CHECK(realpath("/bin/true", want) && realpath(path, got));
	CHECK_STR(got, want);
	CHECK(uprobe_find_binary("no-such-binary-xyz", 0, path,
				 sizeof(path)) == -ENOENT);
	/* /bin/true's libc has getaddrinfo in .dynsym. */
	CHECK(!uprobe_find_library("libc", 0, path, sizeof(path)));
	CHECK(!uprobe_func_offset(path, "getaddrinfo", &off) && off);
	CHECK(uprobe_is_section("uretprobe"));
	CHECK(!uprobe_is_section("tracepoint/kmem/kfree"));
}

const struct unit_test uprobe_tests[] = {
	{ "uprobe/parse_spec", test_parse_spec },
	{ "uprobe/own_symbol", test_own_symbol },
	{ "uprobe/libc_symbol", test_libc_symbol },
	{ "uprobe/binary_lookup", test_binary_lookup },
	{ NULL },
};
UNIT_GROUP(uprobe_tests)

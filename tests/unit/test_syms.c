/*
 * Unit tests of symbolization (syms.h) and of the folded-stack line
 * (stacks.h): kallsyms parsing from a fixture, /proc/PID/maps lines, this
 * very process's functions, a stripped program resolved through its
 * .gnu_debuglink and its build id, a JIT perf map, and the real kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "stacks.h"
#include "syms.h"
#include "unit.h"

#define FIXTURE		"build/syms_fixture"
#define FIXTURE_NOLINK	"build/syms_fixture.nolink"
#define FIXTURE_DEBUG	"build/syms_fixture.debug"

__attribute__((noinline, used)) int syms_unit_target(int x)
{
	return x * 5 + 2;
}

static const char kallsyms[] =
	"ffffffff81000000 T _stext\n"
	"ffffffff81000100 t helper_b\n"
	"ffffffff81000040 T helper_a\n"
	"ffffffff81000200 D some_data\n"
	"ffffffffc0001000 t mod_fn\t[mymod]\n"
	"ffffffffc0001080 t mod_fn2\t[mymod]\n"
	"garbage line\n"
	"ffffffffc0002000 t bpf_prog_abc_fn\t[bpf]";

static void test_kallsyms_fixture(void)
{
	struct syms_cache *c = syms_cache_new();
	FILE *f = fmemopen((void *)kallsyms, sizeof(kallsyms) - 1, "r");
	const char *mod = "x";
	uint64_t off = 0;

	CHECK(c && f && !syms_load_kallsyms(c, f));
	fclose(f);
	/* Unsorted input is sorted; lookups land in the preceding symbol. */
	CHECK_STR(syms_kernel(c, 0xffffffff81000050ULL, &off, &mod),
		  "helper_a");
	CHECK(off == 0x10 && mod == NULL);
	CHECK_STR(syms_kernel(c, 0xffffffff81000100ULL, &off, NULL),
		  "helper_b");
	CHECK(off == 0);
	/* Data symbols are not code: helper_b still covers this. */
	CHECK_STR(syms_kernel(c, 0xffffffff81000210ULL, NULL, NULL),
		  "helper_b");
	CHECK_STR(syms_kernel(c, 0xffffffffc0001084ULL, &off, &mod),
		  "mod_fn2");
	CHECK(off == 4);
	CHECK_STR(mod, "mymod");
	CHECK(syms_kernel(c, 0xffffffff80000000ULL, NULL, NULL) == NULL);
	/* Far past the last symbol is not kernel text. */
	CHECK(syms_kernel(c, 0xffffffffc1000000ULL, NULL, NULL) == NULL);
	syms_cache_free(c);
}

static void test_kallsyms_hidden(void)
{
	static const char hidden[] = "0000000000000000 T _stext\n"
				     "0000000000000000 T schedule\n";
	struct syms_cache *c = syms_cache_new();
	FILE *f = fmemopen((void *)hidden, sizeof(hidden) - 1, "r");

	CHECK(syms_load_kallsyms(c, f) < 0);
	fclose(f);
	CHECK(syms_kernel(c, 0x10, NULL, NULL) == NULL);
	syms_cache_free(c);
}

static void test_maps_lines(void)
{
	char a[] = "55d0c0a00000-55d0c0a21000 r-xp 00002000 fd:01 1234567"
		   "                    /usr/bin/my prog (deleted)\n";
	char b[] = "7ffd5e9f0000-7ffd5e9f2000 r-xp 00000000 00:00 0"
		   "                          [vdso]\n";
	char d[] = "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n";
	char bad[] = "not a mapping\n";
	struct syms_mapping m;

	CHECK(!syms_parse_maps_line(a, &m));
	CHECK(m.start == 0x55d0c0a00000ULL && m.end == 0x55d0c0a21000ULL);
	CHECK(m.offset == 0x2000 && m.dev_major == 0xfd &&
	      m.dev_minor == 1 && m.inode == 1234567);
	CHECK_STR(m.perms, "r-xp");
	CHECK_STR(m.path, "/usr/bin/my prog");
	CHECK(m.deleted);
	CHECK(!syms_parse_maps_line(b, &m));
	CHECK_STR(m.path, "[vdso]");
	CHECK(!m.deleted && m.inode == 0);
	CHECK(!syms_parse_maps_line(d, &m));
	CHECK_STR(m.path, "");
	CHECK(syms_parse_maps_line(bad, &m) < 0);
}

static void test_user_own_function(void)
{
	struct syms_cache *c = syms_cache_new();
	void *(*volatile fn)(size_t) = malloc;
	struct syms_frame f;
	char buf[256], want[256];

	CHECK(!syms_user(c, getpid(), (uintptr_t)&syms_unit_target + 3, &f));
	CHECK(f.kind == SYMS_USER);
	CHECK_STR(f.name, "syms_unit_target");
	CHECK(f.offset == 3);
	syms_format(&f, buf, sizeof(buf));
	snprintf(want, sizeof(want), "syms_unit_target+0x3 [%s]",
		 program_invocation_short_name);
	CHECK_STR(buf, want);
#ifndef __SANITIZE_ADDRESS__
	/*
	 * libc's symbols, with the version stripped from the name (under
	 * AddressSanitizer malloc is the sanitizer's own).
	 */
	CHECK(!syms_user(c, getpid(), (uintptr_t)fn, &f));
	syms_format(&f, buf, sizeof(buf));
	CHECK(!strncmp(buf, "malloc+0x0 [libc", 16));
#else
	(void)fn;
#endif
	CHECK(syms_user(c, getpid(), 8, &f) == -ENOENT);
	CHECK(f.kind == SYMS_UNKNOWN && !f.name);
	syms_format(&f, buf, sizeof(buf));
	CHECK_STR(buf, "[unknown]");
	syms_cache_free(c);
}

/* The address fixture_beta has in the unstripped debug file. */
static uint64_t fixture_addr(const char *want)
{
	uint64_t addr = 0;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf *e;
	int fd;

	elf_version(EV_CURRENT);
	fd = open(FIXTURE_DEBUG, O_RDONLY);
	if (fd < 0)
		return 0;
	e = elf_begin(fd, ELF_C_READ, NULL);
	while (e && !addr && (scn = elf_nextscn(e, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;

			if (!gelf_getsym(d, i, &s))
				break;
			n = elf_strptr(e, sh.sh_link, s.st_name);
			if (n && !strcmp(n, want))
				addr = s.st_value;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return addr;
}

static void test_debuglink(void)
{
	struct syms_cache *c = syms_cache_new();
	uint64_t beta = fixture_addr("fixture_beta");
	struct syms_frame f;

	CHECK(beta != 0);
	CHECK(!syms_file(c, FIXTURE, beta + 2, &f));
	CHECK_STR(f.name, "fixture_beta");
	CHECK(f.offset == 2 && f.kind == SYMS_USER);
	CHECK_STR(f.module, FIXTURE);
	/* Without a link or an installed build-id file: no symbol. */
	CHECK(syms_file(c, FIXTURE_NOLINK, beta + 2, &f) == -ENOENT);
	syms_cache_free(c);
}

/* The build id of the fixture as hex, read with libelf. */
static bool fixture_build_id(char *hex, size_t len)
{
	Elf_Scn *scn = NULL;
	bool found = false;
	GElf_Shdr sh;
	Elf *e;
	int fd = open(FIXTURE_NOLINK, O_RDONLY);

	if (fd < 0)
		return false;
	e = elf_begin(fd, ELF_C_READ, NULL);
	while (e && !found && (scn = elf_nextscn(e, scn))) {
		size_t off = 0, noff, doff;
		Elf_Data *d;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		while (d && (off = gelf_getnote(d, off, &nh, &noff, &doff))) {
			const unsigned char *p =
				(const unsigned char *)d->d_buf + doff;

			if (nh.n_type != NT_GNU_BUILD_ID ||
			    nh.n_descsz * 2 + 1 > len)
				continue;
			for (size_t i = 0; i < nh.n_descsz; i++)
				snprintf(hex + 2 * i, 3, "%02x", p[i]);
			found = true;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return found;
}

static void test_build_id(void)
{
	char root[] = "/tmp/loupe-unit-XXXXXX", dir[PATH_MAX];
	char link[PATH_MAX + 256], target[PATH_MAX], hex[128], top[PATH_MAX];
	uint64_t alpha = fixture_addr("fixture_alpha");
	struct syms_cache *c = syms_cache_new();
	struct syms_frame f;

	CHECK(fixture_build_id(hex, sizeof(hex)));
	CHECK(mkdtemp(root) != NULL);
	snprintf(dir, sizeof(dir), "%s/.build-id/%.2s", root, hex);
	snprintf(link, sizeof(link), "%s/%s.debug", dir, hex + 2);
	CHECK(realpath(FIXTURE_DEBUG, target) != NULL);
	snprintf(top, sizeof(top), "%s/.build-id", root);
	CHECK(!mkdir(top, 0755) && !mkdir(dir, 0755));
	CHECK(!symlink(target, link));
	syms_set_debug_dir(c, root);
	CHECK(!syms_file(c, FIXTURE_NOLINK, alpha, &f));
	CHECK_STR(f.name, "fixture_alpha");
	CHECK(f.offset == 0);
	unlink(link);
	rmdir(dir);
	rmdir(top);
	rmdir(root);
	syms_cache_free(c);
}

static void test_jit_perf_map(void)
{
	struct syms_cache *c = syms_cache_new();
	char path[64], buf[128];
	struct syms_frame f;
	uintptr_t base;
	void *code;
	FILE *m;

	code = mmap(NULL, 8192, PROT_READ | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(code != MAP_FAILED);
	if (code == MAP_FAILED)
		return;
	base = (uintptr_t)code;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
	m = fopen(path, "w");
	CHECK(m != NULL);
	if (m) {
		fprintf(m, "%lx 40 LazyCompile:~handler app.js:3\n", base);
		fprintf(m, "%lx 20 Builtin:Call\n", base + 0x100);
		fclose(m);
	}
	CHECK(!syms_user(c, getpid(), base + 0x10, &f));
	CHECK(f.kind == SYMS_JIT && f.offset == 0x10);
	CHECK_STR(f.name, "LazyCompile:~handler app.js:3");
	syms_format(&f, buf, sizeof(buf));
	CHECK_STR(buf, "LazyCompile:~handler app.js:3+0x10 [jit]");
	CHECK(syms_user(c, getpid(), base + 0x80, &f) == -ENOENT);
	unlink(path);
	munmap(code, 8192);
	syms_cache_free(c);
}

static void test_kernel_real(void)
{
	char line[512], name[256], type;
	unsigned long long addr = 0;
	struct syms_cache *c = syms_cache_new();
	struct syms_frame f;
	FILE *k = fopen("/proc/kallsyms", "r");
	char buf[300];

	CHECK(k != NULL);
	if (!k)
		return;
	while (fgets(line, sizeof(line), k)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 &&
		    type == 'T' && addr && !strcmp(name, "schedule"))
			break;
		addr = 0;
	}
	fclose(k);
	CHECK(addr != 0);
	CHECK(!syms_kernel_frame(c, addr + 2, &f));
	CHECK(f.kind == SYMS_KERNEL);
	syms_format(&f, buf, sizeof(buf));
	CHECK_STR(buf, "schedule+0x2 [kernel]");
	syms_cache_free(c);
}

/*
 * Code symbols of the running kernel, a few bytes in: every step-th into
 * addrs (at most max), and the one numbered other_at into *other.
 */
static size_t pick_kernel_addrs(unsigned int step, uint64_t off,
				unsigned int other_at, uint64_t *addrs,
				size_t max, uint64_t *other)
{
	unsigned long long addr;
	char line[512], name[256], type;
	size_t n = 0, seen = 0;
	FILE *k = fopen("/proc/kallsyms", "r");

	*other = 0;
	CHECK(k != NULL);
	if (!k)
		return 0;
	while (fgets(line, sizeof(line), k) && n < max) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 ||
		    !addr || (type != 't' && type != 'T'))
			continue;
		if (++seen % step == 0)
			addrs[n++] = addr + off;
		else if (seen == other_at)
			*other = addr + 1;
	}
	fclose(k);
	return n;
}

/*
 * A cache prepared for some addresses resolves them exactly as a cache
 * with every kernel symbol does, and still resolves others afterwards.
 */
static void test_kernel_prepare(void)
{
	struct syms_cache *full = syms_cache_new(), *part = syms_cache_new();
	uint64_t addrs[64], other;
	/* every 997th code symbol, a few bytes in; and one left unprepared */
	size_t n = pick_kernel_addrs(997, 3, 500, addrs, 64, &other);

	CHECK(n >= 10 && other);
	CHECK(!syms_kernel_prepare(part, addrs, n));
	for (size_t i = 0; i < n; i++) {
		struct syms_frame a, b;
		char fa[300], fb[300];

		CHECK(!syms_kernel_frame(full, addrs[i], &a));
		CHECK(!syms_kernel_frame(part, addrs[i], &b));
		syms_format(&a, fa, sizeof(fa));
		syms_format(&b, fb, sizeof(fb));
		CHECK_STR(fb, fa);
	}
	if (other) {
		struct syms_frame a, b;
		char fa[300], fb[300];

		CHECK(!syms_kernel_frame(full, other, &a));
		CHECK(!syms_kernel_frame(part, other, &b));
		syms_format(&a, fa, sizeof(fa));
		syms_format(&b, fb, sizeof(fb));
		CHECK_STR(fb, fa);
	}
	syms_cache_free(full);
	syms_cache_free(part);
}

/*
 * Names handed out before the prepared table is replaced by the full one
 * (a lookup of an address that was not prepared) stay valid: profile and
 * offcputime hold a whole stack's frames while they resolve it. Run under
 * AddressSanitizer (build/unit_tests_asan), a freed name is a report.
 */
static void test_kernel_names_outlive_reload(void)
{
	struct syms_cache *full = syms_cache_new(), *part = syms_cache_new();
	uint64_t addrs[64], other;
	struct syms_frame held[64];
	size_t n = pick_kernel_addrs(991, 8, 700, addrs, 64, &other);

	CHECK(n >= 10 && other);
	CHECK(!syms_kernel_prepare(part, addrs, n));
	for (size_t i = 0; i < n; i++)
		CHECK(!syms_kernel_frame(part, addrs[i], &held[i]));
	if (other) {
		struct syms_frame f;

		/* return addresses are looked up by the byte before them */
		CHECK(!syms_kernel_frame(part, addrs[0] - 1, &f));
		CHECK(!syms_kernel_frame(part, other, &f));
	}
	for (size_t i = 0; i < n; i++) {
		struct syms_frame a;
		char fa[300], fb[300];

		CHECK(!syms_kernel_frame(full, addrs[i], &a));
		syms_format(&a, fa, sizeof(fa));
		syms_format(&held[i], fb, sizeof(fb));
		CHECK_STR(fb, fa);
	}
	syms_cache_free(full);
	syms_cache_free(part);
}

/*
 * A large real object: libLLVM (bpftrace's and clang's), else
 * libclang-cpp, else libc. NULL if none is installed.
 */
static const char *large_object(const char *skip)
{
	static const char *const paths[] = {
		"/usr/lib/x86_64-linux-gnu/libLLVM-14.so.1",
		"/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1",
		"/usr/lib/x86_64-linux-gnu/libclang-cpp.so.14",
		"/usr/lib/x86_64-linux-gnu/libc.so.6",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!access(paths[i], R_OK) && (!skip || strcmp(skip, paths[i])))
			return paths[i];
	return NULL;
}

/*
 * The function symbols of path's .dynsym: how many (with a size), and
 * the address and names of the one at about `at` of those 8 bytes or
 * more (every name that address has, '|'-separated, in names).
 */
static size_t dynsym_pick(const char *path, double at, uint64_t *addr,
			  char *names, size_t len)
{
	size_t n = 0, nbig = 0, want;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf_Data *d = NULL;
	int fd = open(path, O_RDONLY);
	Elf *e;

	*addr = 0;
	names[0] = '\0';
	elf_version(EV_CURRENT);
	e = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	while (e && (scn = elf_nextscn(e, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_DYNSYM)
			break;
	if (scn)
		d = elf_getdata(scn, NULL);
	for (int pass = 0; d && pass < 2; pass++) {
		size_t k = 0;

		want = nbig * at;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			int type;

			if (!gelf_getsym(d, i, &s))
				break;
			type = GELF_ST_TYPE(s.st_info);
			if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
			    s.st_shndx == SHN_UNDEF || !s.st_value ||
			    !s.st_size)
				continue;
			if (!pass)
				n++;
			if (s.st_size < 8)
				continue;
			if (!pass)
				nbig++;
			else if (k++ == want)
				*addr = s.st_value;
		}
		for (size_t i = 0; pass && *addr &&
		     i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *nm;

			if (gelf_getsym(d, i, &s) && s.st_value == *addr &&
			    (nm = elf_strptr(e, sh.sh_link, s.st_name))) {
				snprintf(names + strlen(names),
					 len - strlen(names), "|%.*s|",
					 (int)strcspn(nm, "@"), nm);
			}
		}
	}
	if (e)
		elf_end(e);
	if (fd >= 0)
		close(fd);
	return n;
}

/* Whether name is one of the '|'-separated names. */
static bool name_among(const char *name, const char *names)
{
	char want[1200];

	snprintf(want, sizeof(want), "|%s|", name ? name : "");
	return name && strstr(names, want);
}

/*
 * A large real object resolves through its compact index: a function in
 * the middle of libLLVM's 40,000, at 16 bytes per function at most, and
 * the heap grows by far less than the 4.5 MB its names and a pointer
 * table would take.
 */
static void test_large_object(void)
{
	const char *path = large_object(NULL);
	struct syms_cache *c = syms_cache_new();
	char names[4096];
	struct syms_frame f;
	uint64_t addr;
	size_t n, heap0;

	CHECK(path != NULL);
	if (!path)
		return;
	syms_set_demangle(c, false);
	n = dynsym_pick(path, 0.5, &addr, names, sizeof(names));
	CHECK(n > 1000 && addr);
	heap0 = mallinfo2().uordblks;
	CHECK(!syms_file(c, path, addr + 4, &f));
	CHECK(name_among(f.name, names));
	CHECK(f.offset == 4 && f.kind == SYMS_USER);
	CHECK(syms_open_bytes(c) <= n * 16 + 4096);
#ifndef __SANITIZE_ADDRESS__
	CHECK(mallinfo2().uordblks - heap0 < n * 16 + 512 * 1024);
#else
	(void)heap0;
#endif
	/* the first and last functions too */
	dynsym_pick(path, 0.0, &addr, names, sizeof(names));
	CHECK(!syms_file(c, path, addr, &f) && name_among(f.name, names));
	dynsym_pick(path, 0.999, &addr, names, sizeof(names));
	CHECK(!syms_file(c, path, addr + 1, &f) && name_among(f.name, names));
	syms_cache_free(c);
}

/*
 * The budget is a hard cap: with room for one of two large objects,
 * lookups alternating between them close and open them again, the
 * open bytes never pass it, and names handed out before a close stay
 * valid (AddressSanitizer would see them freed). An object alone over
 * the budget has no names but keeps its module.
 */
static void test_budget(void)
{
	const char *a = large_object(NULL), *b = large_object(a);
	char na[4096], nb[4096], held[1200];
	struct syms_cache *c = syms_cache_new();
	size_t sa, sb, budget;
	uint64_t xa, xb;
	struct syms_frame f;
	const char *first;

	CHECK(a && b);
	if (!a || !b)
		return;
	syms_set_demangle(c, false);
	sa = dynsym_pick(a, 0.3, &xa, na, sizeof(na));
	sb = dynsym_pick(b, 0.6, &xb, nb, sizeof(nb));
	budget = (sa > sb ? sa : sb) * 16 + 8192;
	syms_set_budget(c, budget);
	CHECK(!syms_file(c, a, xa, &f) && name_among(f.name, na));
	first = f.name;
	snprintf(held, sizeof(held), "%s", first ? first : "");
	for (int i = 0; i < 6; i++) {
		CHECK(!syms_file(c, b, xb + 1, &f) && name_among(f.name, nb));
		CHECK(syms_open_bytes(c) <= budget);
		CHECK(!syms_file(c, a, xa + 2, &f) && name_among(f.name, na));
		CHECK(syms_open_bytes(c) <= budget);
	}
	CHECK_STR(first, held);
	syms_set_budget(c, 1024);
	CHECK(syms_open_bytes(c) <= 1024);
	CHECK(syms_file(c, b, xb + 3, &f) == -ENOENT);
	CHECK(f.kind == SYMS_UNKNOWN && !f.name);
	CHECK_STR(f.module, b);
	CHECK(syms_open_bytes(c) <= 1024);
	syms_cache_free(c);
}

static void test_folded_line(void)
{
	struct syms_frame user[] = {
		{ .kind = SYMS_USER, .name = "spin" },
		{ .kind = SYMS_UNKNOWN },
		{ .kind = SYMS_JIT, .name = "js;handler" },
		{ .kind = SYMS_USER, .name = "main" },
	};
	struct syms_frame kern[] = {
		{ .kind = SYMS_KERNEL, .name = "__schedule" },
		{ .kind = SYMS_KERNEL, .name = "schedule" },
	};
	struct stacks_half u = { user, 4, false }, k = { kern, 2, false };
	struct stacks_half none = { NULL, 0, false };
	struct stacks_half missed = { NULL, 0, true };
	struct out_buf b = { 0 };

	stacks_fold(&b, "my app", &u, &k, 42);
	out_buf_add(&b, "", 1);
	CHECK_STR(b.data, "my app;main;js_handler_[j];[unknown];spin;"
		  "schedule_[k];__schedule_[k] 42\n");
	b.len = 0;
	stacks_fold(&b, "kworker/0:1", &none, &k, 7);
	out_buf_add(&b, "", 1);
	CHECK_STR(b.data, "kworker/0:1;schedule_[k];__schedule_[k] 7\n");
	b.len = 0;
	stacks_fold(&b, "a;b", &missed, NULL, 1);
	out_buf_add(&b, "", 1);
	CHECK_STR(b.data, "a_b;[Missed User Stack] 1\n");
	free(b.data);
}

const struct unit_test syms_tests[] = {
	{ "syms/kallsyms_fixture", test_kallsyms_fixture },
	{ "syms/kallsyms_hidden", test_kallsyms_hidden },
	{ "syms/maps_lines", test_maps_lines },
	{ "syms/user_own_function", test_user_own_function },
	{ "syms/debuglink", test_debuglink },
	{ "syms/build_id", test_build_id },
	{ "syms/jit_perf_map", test_jit_perf_map },
	{ "syms/kernel_real", test_kernel_real },
	{ "syms/kernel_prepare", test_kernel_prepare },
	{ "syms/kernel_names_outlive_reload",
	  test_kernel_names_outlive_reload },
	{ "syms/large_object", test_large_object },
	{ "syms/budget", test_budget },
	{ "syms/folded_line", test_folded_line },
	{ NULL },
};
UNIT_GROUP(syms_tests)

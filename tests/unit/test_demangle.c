/*
 * Unit tests of the names syms.h shows for user symbols: C++ (Itanium
 * ABI, namespaces and templates) and Rust (legacy and v0) demangled, a
 * plain C name and a malformed mangled one left as they are, and every
 * name as the symbol table has it once demangling is turned off
 * (--no-demangle). The symbols are this program's own functions, named
 * with the mangled names real compilers emit (g++ 12, rustc).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <unistd.h>
#include "syms.h"
#include "unit.h"

/* Bodies differ, so that no two are folded into one symbol. */
#define DEMANGLE_FN(fn, sym, k)						\
	__attribute__((noinline, used)) int fn(int x) __asm__(sym);	\
	__attribute__((noinline, used)) int fn(int x)			\
	{								\
		return x * (k) + 17;					\
	}

DEMANGLE_FN(dm_cxx_method, "_ZNK4shop6BasketIiE5totalEi", 3)
DEMANGLE_FN(dm_cxx_ref, "_ZN4shop8checkoutERKNS_6BasketIiEE", 5)
DEMANGLE_FN(dm_cxx_tmpl, "_ZN3app6detail3mapISt6vectorIiSaIiEEEEvRKT_", 7)
DEMANGLE_FN(dm_rust_legacy,
	    "_ZN5shopr4shop15Basket$LT$T$GT$5total17h8c8d6c278369f47cE", 9)
DEMANGLE_FN(dm_rust_v0,
	    "_RNvMNtCs9HtIBj69U6B_5shopr4shopINtB2_6BasketmE5totalB4_", 11)
DEMANGLE_FN(dm_plain, "dm_plain_c_name", 13)
DEMANGLE_FN(dm_bad_cxx, "_ZN4shop6Basket", 15)
DEMANGLE_FN(dm_bad_rust, "_RNvC", 19)

static const struct {
	int (*fn)(int);
	const char *mangled, *shown;
} names[] = {
	{ dm_cxx_method, "_ZNK4shop6BasketIiE5totalEi",
	  "shop::Basket<int>::total(int) const" },
	{ dm_cxx_ref, "_ZN4shop8checkoutERKNS_6BasketIiEE",
	  "shop::checkout(shop::Basket<int> const&)" },
	{ dm_cxx_tmpl, "_ZN3app6detail3mapISt6vectorIiSaIiEEEEvRKT_",
	  "void app::detail::map<std::vector<int, std::allocator<int> > >"
	  "(std::vector<int, std::allocator<int> > const&)" },
	/* Legacy Rust: the generic function, its hash dropped. */
	{ dm_rust_legacy,
	  "_ZN5shopr4shop15Basket$LT$T$GT$5total17h8c8d6c278369f47cE",
	  "shopr::shop::Basket<T>::total" },
	/* v0: the instance, without the crate's disambiguator. */
	{ dm_rust_v0,
	  "_RNvMNtCs9HtIBj69U6B_5shopr4shopINtB2_6BasketmE5totalB4_",
	  "<shopr::shop::Basket<u32>>::total" },
	{ dm_plain, "dm_plain_c_name", "dm_plain_c_name" },
	/* Cut short: the demangler gives up, the name stays. */
	{ dm_bad_cxx, "_ZN4shop6Basket", "_ZN4shop6Basket" },
	{ dm_bad_rust, "_RNvC", "_RNvC" },
};

static void check_names(bool demangle)
{
	struct syms_cache *c = syms_cache_new();

	CHECK(c != NULL);
	if (!c)
		return;
	syms_set_demangle(c, demangle);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct syms_frame f;

		CHECK(!syms_user(c, getpid(), (uintptr_t)names[i].fn + 1, &f));
		CHECK_STR(f.name, demangle ? names[i].shown :
					     names[i].mangled);
		CHECK(f.offset == 1 && f.kind == SYMS_USER);
		/* Twice: the second answer comes from the cache. */
		CHECK(!syms_user(c, getpid(), (uintptr_t)names[i].fn, &f));
		CHECK_STR(f.name, demangle ? names[i].shown :
					     names[i].mangled);
	}
	syms_cache_free(c);
}

static void test_demangled(void)
{
	check_names(true);
}

static void test_no_demangle(void)
{
	check_names(false);
}

static const struct unit_test demangle_tests[] = {
	{ "demangle/cxx_rust_plain_malformed", test_demangled },
	{ "demangle/no_demangle", test_no_demangle },
	{ NULL, NULL },
};
UNIT_GROUP(demangle_tests);

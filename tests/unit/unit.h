/* A minimal unit-test harness: CHECK records a failure and goes on. */
#ifndef LOUPE_UNIT_H
#define LOUPE_UNIT_H

#include <stdio.h>
#include <string.h>

extern int unit_failed_checks;

#define CHECK(cond) do { \
	if (!(cond)) { \
		printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, \
		       #cond); \
		unit_failed_checks++; \
	} \
} while (0)

#define CHECK_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	if (!g_ || strcmp(g_, w_)) { \
		printf("  %s:%d: got \"%s\", want \"%s\"\n", __FILE__, \
		       __LINE__, g_ ? g_ : "(null)", w_); \
		unit_failed_checks++; \
	} \
} while (0)

struct unit_test {
	const char *name;
	void (*fn)(void);
};


/*
 * Each test file registers its group itself, so adding a file needs no
 * edit elsewhere: UNIT_GROUP(foo_tests) after the array.
 */
void unit_register(const struct unit_test *group);

#define UNIT_GROUP(group) \
	static void __attribute__((constructor)) register_##group(void) \
	{ \
		unit_register(group); \
	}

#endif

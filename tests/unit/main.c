/* Runs every unit test group; the last line is "N passed, N failed". */
#include "unit.h"

int unit_failed_checks;

#define MAX_GROUPS 64

static const struct unit_test *groups[MAX_GROUPS];
static size_t ngroups;

void unit_register(const struct unit_test *group)
{
	if (ngroups < MAX_GROUPS)
		groups[ngroups++] = group;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	for (size_t g = 0; g < ngroups; g++) {
		for (const struct unit_test *t = groups[g]; t->name; t++) {
			int before = unit_failed_checks;

			if (argc > 1 && !strstr(t->name, argv[1]))
				continue;
			t->fn();
			if (unit_failed_checks == before) {
				printf("PASS unit/%s\n", t->name);
				passed++;
			} else {
				printf("FAIL unit/%s\n", t->name);
				failed++;
			}
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

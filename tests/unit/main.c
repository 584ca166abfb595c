/* Runs every unit test group; the last line is "N passed, N failed". */
#include "unit.h"

int unit_failed_checks;

int main(int argc, char **argv)
{
	const struct unit_test *groups[] = {
		out_tests, opts_tests, hook_tests, decode_tests, hist_tests,
		syscalls_tests, uprobe_tests, syms_tests, flame_tests,
	};
	int passed = 0, failed = 0;

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
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

/*
 * The tool table: every TOOL_REGISTER'd tool, gathered by the linker into
 * the loupe_tools section, sorted by name for lookups, list and help.
 */
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "tool.h"

/*
 * Bounds of the loupe_tools section, set by the linker. Weak: a program
 * linked without tools (the unit tests) has no such section, and so an
 * empty table.
 */
extern const struct tool *const __start_loupe_tools[] __attribute__((weak));
extern const struct tool *const __stop_loupe_tools[] __attribute__((weak));

static int tool_cmp(const void *a, const void *b)
{
	const struct tool *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* The section is in link order: sorted here, once, for list and help. */
const struct tool *const *tool_table(void)
{
	static const struct tool **table;
	size_t n = __stop_loupe_tools - __start_loupe_tools;

	if (table)
		return table;
	table = calloc(n + 1, sizeof(*table));
	if (!table) {
		log_err("out of memory");
		exit(EXIT_RUNTIME);
	}
	memcpy(table, __start_loupe_tools, n * sizeof(*table));
	qsort(table, n, sizeof(*table), tool_cmp);
	return table;
}

const struct tool *tool_find(const char *name)
{
	const struct tool *const *tools = tool_table();

	for (int i = 0; tools[i]; i++)
		if (!strcmp(tools[i]->name, name))
			return tools[i];
	return NULL;
}


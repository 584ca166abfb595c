/*
 * Shared by the tools that print a table per interval (filetop, tcptop):
 * the banner BCC's top tools print above each table, and when to clear
 * the screen.
 */
#ifndef LOUPE_TOP_H
#define LOUPE_TOP_H

#include <stdbool.h>
#include "out.h"

bool top_should_clear(const struct out *o, bool noclear);
/*
 * Clears the screen if clear, then the time and load average and a blank
 * line, or without summary the blank line only.
 */
void top_banner(struct out *o, bool clear, bool summary);

#endif

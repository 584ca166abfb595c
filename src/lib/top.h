/*
 * Shared by the tools that print a table per interval (filetop, vfsstat,
 * cachestat): the banner BCC's top tools print above each table, and when
 * to clear the screen.
 */
#ifndef LOUPE_TOP_H
#define LOUPE_TOP_H

#include <stdbool.h>
#include "out.h"

bool top_should_clear(const struct out *o, bool noclear);
void top_banner(struct out *o, bool clear);
void top_time(char *buf, unsigned long size);

#endif

/*
 * Interval tables. BCC's top tools clear the screen before each table; so
 * does loupe, but only on a terminal: cleared output piped to a file or a
 * script is just noise.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "top.h"

bool top_should_clear(const struct out *o, bool noclear)
{
	return !noclear && !o->json && isatty(fileno(o->file));
}

/* "HH:MM:SS loadavg: 0.10 0.05 0.01 1/123 4567" and a blank line. */
void top_banner(struct out *o, bool clear, bool summary)
{
	char load[128] = "", when[16];
	FILE *f;

	if (o->json)
		return;
	if (clear)
		out_text(o, "\033[H\033[2J");
	if (!summary) {
		out_line(o, "%s", "");
		return;
	}
	f = fopen("/proc/loadavg", "r");
	if (f) {
		if (!fgets(load, sizeof(load), f))
			load[0] = '\0';
		fclose(f);
	}
	load[strcspn(load, "\n")] = '\0';
	out_line(o, "%-8s loadavg: %s\n",
		 out_strftime(when, sizeof(when), OUT_HMS, out_now_ns()), load);
}

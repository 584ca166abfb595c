/*
 * The wildcard match every probe enumeration filters with (tracefs,
 * BTF, ftrace in tprobe.c; ELF symbols and USDT notes in usdt.c), kept
 * below both so that neither needs the other for it.
 */
#include <fnmatch.h>
#include "tprobe_match.h"

bool tprobe_match(const char *pattern, const char *s)
{
	return !pattern || !fnmatch(pattern, s, 0);
}

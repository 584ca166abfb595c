/* open(2) flags as names. */
#ifndef LOUPE_OPENFLAGS_H
#define LOUPE_OPENFLAGS_H

#include <stddef.h>
#include <stdint.h>

void openflags_format(uint64_t flags, char *buf, size_t len);

#endif

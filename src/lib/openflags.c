/* open(2) flags as names: "O_WRONLY|O_CREAT|O_CLOEXEC". A pure function. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include "openflags.h"

static const struct {
	uint64_t bit;
	const char *name;
} open_flags[] = {
	/* Flags that include others come first. */
	{ 04000000 | 010000, "O_SYNC" }, { 020000000 | 0200000, "O_TMPFILE" },
	{ O_CREAT, "O_CREAT" },		{ O_EXCL, "O_EXCL" },
	{ O_NOCTTY, "O_NOCTTY" },	{ O_TRUNC, "O_TRUNC" },
	{ O_APPEND, "O_APPEND" },	{ O_NONBLOCK, "O_NONBLOCK" },
	{ O_DSYNC, "O_DSYNC" },		{ 020000, "O_ASYNC" },
	{ 040000, "O_DIRECT" },		{ 0100000, "O_LARGEFILE" },
	{ 0200000, "O_DIRECTORY" },	{ 0400000, "O_NOFOLLOW" },
	{ 01000000, "O_NOATIME" },	{ 02000000, "O_CLOEXEC" },
	{ 010000000, "O_PATH" },
};

/* e.g. "O_WRONLY|O_CREAT|O_CLOEXEC"; unknown bits in hex. */
void openflags_format(uint64_t flags, char *buf, size_t len)
{
	static const char *const modes[] = {
		"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE",
	};
	size_t n;

	snprintf(buf, len, "%s", modes[flags & 3]);
	flags &= ~3ULL;
	for (size_t i = 0; i < sizeof(open_flags) / sizeof(open_flags[0]); i++) {
		if ((flags & open_flags[i].bit) != open_flags[i].bit)
			continue;
		n = strlen(buf);
		snprintf(buf + n, len - n, "|%s", open_flags[i].name);
		flags &= ~open_flags[i].bit;
	}
	if (flags) {
		n = strlen(buf);
		snprintf(buf + n, len - n, "|0x%llx",
			 (unsigned long long)flags);
	}
}

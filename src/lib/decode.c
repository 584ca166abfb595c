/*
 * Decoders for signal numbers, exit statuses, open(2) flags and container
 * ids in cgroup paths; pure functions, shared by the tools.
 */
#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "decode.h"

static const char *const signal_names[] = {
	[SIGHUP] = "SIGHUP",	[SIGINT] = "SIGINT",	[SIGQUIT] = "SIGQUIT",
	[SIGILL] = "SIGILL",	[SIGTRAP] = "SIGTRAP",	[SIGABRT] = "SIGABRT",
	[SIGBUS] = "SIGBUS",	[SIGFPE] = "SIGFPE",	[SIGKILL] = "SIGKILL",
	[SIGUSR1] = "SIGUSR1",	[SIGSEGV] = "SIGSEGV",	[SIGUSR2] = "SIGUSR2",
	[SIGPIPE] = "SIGPIPE",	[SIGALRM] = "SIGALRM",	[SIGTERM] = "SIGTERM",
	[SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",
	[SIGSTOP] = "SIGSTOP",	[SIGTSTP] = "SIGTSTP",	[SIGTTIN] = "SIGTTIN",
	[SIGTTOU] = "SIGTTOU",	[SIGURG] = "SIGURG",	[SIGXCPU] = "SIGXCPU",
	[SIGXFSZ] = "SIGXFSZ",	[SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
	[SIGWINCH] = "SIGWINCH", [SIGIO] = "SIGIO",	[SIGPWR] = "SIGPWR",
	[SIGSYS] = "SIGSYS",
};

/* Name of a signal; real-time signals as SIGRTMIN+N; NULL if unknown. */
const char *decode_signal(int sig)
{
	static char rt[16];

	if (sig > 0 && sig < (int)(sizeof(signal_names) /
				   sizeof(signal_names[0])) &&
	    signal_names[sig])
		return signal_names[sig];
	/* glibc reserves the first two; the kernel's SIGRTMIN is 32. */
	if (sig >= 32 && sig <= 64) {
		snprintf(rt, sizeof(rt), "SIGRTMIN+%d", sig - 32);
		return rt;
	}
	return NULL;
}

/* task->exit_code as BCC's exitsnoop prints it. */
void decode_exit(uint32_t exit_code, char *buf, size_t len)
{
	int sig = exit_code & 0x7f, code = (exit_code >> 8) & 0xff;
	const char *name;

	if (!sig) {
		if (code)
			snprintf(buf, len, "code %d", code);
		else
			snprintf(buf, len, "0");
		return;
	}
	name = decode_signal(sig);
	snprintf(buf, len, "signal %d (%s)%s", sig, name ? name : "unknown",
		 exit_code & 0x80 ? ", core dumped" : "");
}

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
void decode_open_flags(uint64_t flags, char *buf, size_t len)
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

/*
 * Container runtimes name cgroups after the 64-hex-digit container id
 * (docker-ID.scope, cri-containerd-ID.scope, /docker/ID, crio-ID); the
 * last such id in the path is the innermost container.
 */
const char *decode_container_id(const char *path, char *buf, size_t len)
{
	const char *found = NULL;
	size_t run = 0;

	if (!path)
		return NULL;
	for (const char *p = path;; p++) {
		if (*p && isxdigit((unsigned char)*p) &&
		    !isupper((unsigned char)*p)) {
			run++;
			continue;
		}
		if (run == 64)
			found = p - 64;
		run = 0;
		if (!*p)
			break;
	}
	if (!found || len < 65)
		return NULL;
	memcpy(buf, found, 64);
	buf[64] = '\0';
	return buf;
}

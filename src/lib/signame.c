/*
 * Signal numbers and exit statuses (task->exit_code) as users know them:
 * SIGTERM, "signal 9 (SIGKILL)". Pure functions, shared by the tools.
 */
#include <signal.h>
#include <stdio.h>
#include "signame.h"

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
const char *signame_of(int sig)
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
void signame_exit(uint32_t exit_code, char *buf, size_t len)
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
	name = signame_of(sig);
	snprintf(buf, len, "signal %d (%s)%s", sig, name ? name : "unknown",
		 exit_code & 0x80 ? ", core dumped" : "");
}

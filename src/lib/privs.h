/*
 * Privileges: what loupe needs from the kernel to trace, checked by really
 * asking for it, and one message naming everything missing.
 */
#ifndef LOUPE_PRIVS_H
#define LOUPE_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/capability.h>

/* Older uapi headers predate the split of CAP_SYS_ADMIN (Linux 5.8). */
#ifndef CAP_PERFMON
#define CAP_PERFMON	38
#endif
#ifndef CAP_BPF
#define CAP_BPF		39
#endif

/* What a caller may need besides loading BPF programs. */
enum {
	PRIVS_TRACEFS	= 1 << 0,	/* tracepoints: reads tracefs */
	PRIVS_UPROBE	= 1 << 1,	/* attaches uprobes */
};

/*
 * 0 if this process may load BPF tracing programs; else EXIT_RUNTIME
 * after one message, which also names what the needs (PRIVS_*) lack.
 */
int privs_check(unsigned int needs);
/*
 * After no hook of a tool worked: EXIT_RUNTIME after the message if a
 * lack of privilege on tracefs was the cause, else 0.
 */
int privs_check_tracefs(void);
/*
 * After the kernel refused to attach a uprobe with -err: EXIT_RUNTIME
 * after the message if a missing privilege explains it, else 0.
 */
int privs_check_uprobe(int err);
/*
 * For long-running commands once their probes are attached: keeps only
 * the capabilities in keep (CAP_* numbers) in every set of the calling
 * thread and in the bounding set, clears the ambient set and sets
 * no_new_privs, so neither this process nor anything it runs can get
 * the rest back. Threads inherit the result: call it before starting
 * any. 0 or -errno.
 */
int privs_drop(const int *keep, int nkeep);
/*
 * The calling thread's effective set: its whole permitted set (on), or
 * nothing (off), e.g. kept permitted but used only while loading. 0 or
 * -errno.
 */
int privs_effective(bool on);
/*
 * The calling thread's effective set: only caps (which must be
 * permitted), for a thread that needs a few capabilities the others do
 * not. 0 or -errno.
 */
int privs_effective_only(const int *caps, int n);
/* The effective set as /proc/self/status shows it (CapEff, in hex). */
int privs_cap_eff(char *buf, size_t len);

#endif

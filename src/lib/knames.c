/*
 * Names of numbers the kernel reports that people know by name: errnos
 * and softirq vectors. The C library names the errnos of the UAPI; the
 * kernel's own (include/linux/errno.h) never reach a program, but system
 * call tracepoints see them before signal handling restarts the call.
 */
#define _GNU_SOURCE	/* strerrorname_np() */
#include <string.h>
#include "knames.h"

#define KERNEL_ERRNO_FIRST	512

static const char *const kernel_errnos[] = {
	"ERESTARTSYS",		/* 512 */
	"ERESTARTNOINTR",
	"ERESTARTNOHAND",
	"ENOIOCTLCMD",
	"ERESTART_RESTARTBLOCK",
	"EPROBE_DEFER",
	"EOPENSTALE",
	"ENOPARAM",		/* 519 */
	NULL,
	"EBADHANDLE",		/* 521: the NFS errnos */
	"ENOTSYNC",
	"EBADCOOKIE",
	"ENOTSUPP",
	"ETOOSMALL",
	"ESERVERFAULT",
	"EBADTYPE",
	"EJUKEBOX",
	"EIOCBQUEUED",
	"ERECALLCONFLICT",
	"ENOGRACE",		/* 531 */
};

/* The order of enum softirq vectors (include/linux/interrupt.h). */
static const char *const softirq_names[] = {
	"hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet",
	"sched", "hrtimer", "rcu",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

const char *knames_errno(int err)
{
	if (err >= KERNEL_ERRNO_FIRST &&
	    err < KERNEL_ERRNO_FIRST + (int)ARRAY_LEN(kernel_errnos))
		return kernel_errnos[err - KERNEL_ERRNO_FIRST];
	if (err <= 0)
		return NULL;
	return strerrorname_np(err);
}

const char *knames_softirq(unsigned int vec)
{
	return vec < ARRAY_LEN(softirq_names) ? softirq_names[vec] : NULL;
}

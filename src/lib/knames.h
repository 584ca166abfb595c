/* Names of the kernel's small number spaces: errnos, softirq vectors. */
#ifndef LOUPE_KNAMES_H
#define LOUPE_KNAMES_H

/* "ENOENT" for 2, the kernel's own (512 on, e.g. "ERESTARTSYS") too;
 * NULL if the number has no name. */
const char *knames_errno(int err);
/* "timer" for vector 1, as the softirq tracepoints number them; NULL
 * past the last vector. */
const char *knames_softirq(unsigned int vec);

#endif

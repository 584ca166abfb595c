/* Syscall names of the running architecture (see syscalls.c). */
#ifndef LOUPE_SYSCALLS_H
#define LOUPE_SYSCALLS_H

/* Numbers 0 .. syscalls_count() - 1 may have names. */
int syscalls_count(void);
/* The name of syscall nr, or NULL if there is none. */
const char *syscalls_name(int nr);
/* The number of a syscall by name, or -1. */
int syscalls_lookup(const char *name);

#endif

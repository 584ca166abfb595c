/*
 * Addresses to symbol names: kernel addresses through /proc/kallsyms
 * (loaded once), user addresses through the ELF symbol tables of the
 * files a process maps (each file read once, cached by device and inode).
 */
#ifndef LOUPE_SYMS_H
#define LOUPE_SYMS_H

#include <stddef.h>
#include <stdint.h>

struct syms_proc;

/* "name+0xoff [module]", or "[unknown]" when nothing resolves it. */
void syms_kernel_format(uint64_t addr, char *buf, size_t len);

struct syms_proc *syms_proc_open(int pid);
void syms_proc_format(struct syms_proc *p, uint64_t addr, char *buf,
		      size_t len);
void syms_proc_close(struct syms_proc *p);

/* Frees the kallsyms table and the per-file cache. */
void syms_free(void);

#endif

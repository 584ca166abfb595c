/*
 * Probe enumeration read from ELF files (usdt.c): a binary's function
 * symbols (uprobe targets) and its USDT probes (.note.stapsdt).
 */
#ifndef LOUPE_TRACE_USDT_H
#define LOUPE_TRACE_USDT_H

#include <stdint.h>
#include "tprobe_match.h"

/* Function symbols of an ELF file: cb(ctx, name, NULL); sorted, unique. */
int tprobe_elf_funcs(const char *path, const char *pat, tprobe_cb cb,
		     void *ctx);

/* One USDT probe of an ELF file (.note.stapsdt). */
struct usdt_note {
	char provider[64];
	char name[64];
	uint64_t pc;		/* file offset of the probe's nop */
	uint64_t semaphore;	/* file offset of the semaphore, 0 if none */
	char args[256];		/* e.g. "-4@%eax 8@-8(%rbp)" */
};
typedef int (*usdt_cb)(void *ctx, const struct usdt_note *n);
int tprobe_usdt(const char *path, const char *prov_pat, const char *name_pat,
		usdt_cb cb, void *ctx);

#endif

/*
 * What can be probed on this machine, for `loupe trace -l` and for
 * expanding wildcards in attach points: tracepoints (tracefs), raw
 * tracepoints and kernel functions (vmlinux BTF), a binary's function
 * symbols and its USDT probes (ELF, usdt.h); and the format of a
 * tracepoint's record (its args).
 */
#ifndef LOUPE_TRACE_TPROBE_H
#define LOUPE_TRACE_TPROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "tprobe_match.h"
#include "usdt.h"

/* One field of a tracepoint record (common_* fields excluded). */
struct tp_field {
	char name[64];
	char type[128];		/* as tracefs writes it: "const char *" */
	int offset;
	int size;
	bool is_signed;
	bool data_loc;		/* __data_loc: u32 (len << 16 | offset) */
	int array_len;		/* char comm[16] -> 16; 0 if not an array */
	bool is_pointer;
	bool is_string;		/* char array, data_loc char[], or
				 * "const char *" of syscall entry args */
};

struct tp_format {
	char category[64];
	char name[128];
	int id;
	int nfields;
	struct tp_field *fields;
};

/* Reads events/CAT/NAME/format; 0, or -1 with a one-line reason in err. */
int tp_format_load(const char *category, const char *name,
		   struct tp_format *out, char *err, size_t errlen);
void tp_format_free(struct tp_format *f);

/* Tracepoints: cb(ctx, category, name); sorted. 0 or -errno. */
int tprobe_tracepoints(const char *cat_pat, const char *name_pat,
		       tprobe_cb cb, void *ctx);
/* Raw tracepoints with a BTF prototype (btf_trace_NAME): cb(ctx, name, NULL). */
int tprobe_rawtps(const char *pat, tprobe_cb cb, void *ctx);
/* Kernel functions in vmlinux BTF that ftrace can attach to. */
int tprobe_kfuncs(const char *pat, tprobe_cb cb, void *ctx);

/*
 * `loupe trace -l [PATTERN]`: every probe matching PATTERN, one per line,
 * in bpftrace -l's spelling and order; with verbose, each probe's
 * arguments indented below it like bpftrace -lv. 0, or 2 for a bad
 * pattern (message printed), 1 on a runtime failure.
 */
int tprobe_list(FILE *out, const char *pattern, bool verbose);

#endif

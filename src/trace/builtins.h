/*
 * The builtins table (builtins.c): semantic analysis finds a builtin and
 * types it there; lowering computes it by its op.
 */
#ifndef LOUPE_TRACE_BUILTINS_H
#define LOUPE_TRACE_BUILTINS_H

#include <stdbool.h>
#include "trace.h"

enum builtin_op {
	BO_HELPER,	/* a BPF helper's result >> shift, keeping bytes */
	BO_ELAPSED,	/* ns since the program was compiled */
	BO_TARGET_PID,	/* -c's command */
	BO_COMM,
	BO_FUNC,	/* the probed function's name */
	BO_PROBE,	/* the probe's full name */
	BO_KSTACK,
	BO_USTACK,
	BO_RETVAL,
	BO_ARG,		/* argN, by probe kind */
};

struct builtin {
	const char *name;
	unsigned int kinds;	/* 1 << PK_x where it is known; 0: all */
	enum builtin_op op;
	int helper;		/* BO_HELPER */
	int shift;		/* BO_HELPER: result >> shift */
	int bytes;		/* BO_HELPER: then keep the low bytes */
	/* sets n->type where it depends on the probe; NULL: an integer
	 * (or a string if is_string) */
	int (*check)(struct trace_prog *p, const struct trace_inst *inst,
		     struct ast_node *n);
	bool is_string;
};

const struct builtin *builtin_find(const char *name);
/* Types identifier n in inst, or reports why it is not known there. */
int builtin_check(struct trace_prog *p, const struct trace_inst *inst,
		  struct ast_node *n);

#endif

/*
 * The functions table (sema.c): type checking finds a call's row there
 * and types the call with the row's check; lowering (lower.c) computes
 * it by the row's op.
 */
#ifndef LOUPE_TRACE_SEMA_H
#define LOUPE_TRACE_SEMA_H

#include "trace.h"

enum func_op {
	FO_NONE,	/* aggregations: lowered with their map assignment */
	FO_PRINTF,
	FO_PRINT,
	FO_CLEAR,
	FO_ZERO,
	FO_DELETE,
	FO_EXIT,
	FO_TIME,
	FO_STR,
	FO_KSYM,
	FO_USYM,
	FO_KADDR,
	FO_NTOP,
	FO_STRFTIME,
	FO_STACK,
	FO_SYSTEM,
	FO_SIGNAL,
	FO_OVERRIDE,
	FO_STRNCMP,
	FO_CONST,	/* sizeof, offsetof, cgroupid: n->ival */
	FO_CGROUP_PATH,
	FO_BUF,
	FO_MACADDR,
	FO_REG,
	FO_CAT,
};

struct sema_ctx;

struct trace_func {
	const char *name;
	/* sema counts the arguments before check(); max -1: check() does */
	int min_args, max_args;
	int (*check)(struct sema_ctx *c, struct ast_node *n);
	enum func_op op;
	bool has_value;
	/* TT_COUNT..TT_LHIST: an aggregation, only ever in @m = f(...) */
	enum ttype_kind aggregation;
};

/* The row of function `name`; NULL if there is none. */
const struct trace_func *sema_func_find(const char *name);

#endif

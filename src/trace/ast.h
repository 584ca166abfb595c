/*
 * The abstract syntax tree of a loupe trace program (bpftrace's language):
 * what the parser builds, semantic analysis annotates, and lowering to IR
 * reads. Every node carries the source location it came from, so errors at
 * any stage point at the script.
 */
#ifndef LOUPE_TRACE_AST_H
#define LOUPE_TRACE_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "ttype.h"

/* 1-based line and column of a node's first character. */
struct src_loc {
	int line;
	int col;
};

/* The script as text, for diagnostics that quote the offending line. */
struct src_file {
	const char *name;	/* file name, or "stdin"/"-e" */
	const char *text;	/* whole text, NUL-terminated */
	size_t len;
};

enum ast_kind {
	/* expressions */
	AST_INT,	/* ival; is_signed false for hex literals */
	AST_STR,	/* str, str_len (escapes already decoded) */
	AST_IDENT,	/* name: a builtin (pid, comm, args...) or a
			 * bare identifier sema must resolve */
	AST_VAR,	/* name: "$x" (with the '$') */
	AST_POSITIONAL,	/* ival: N of $N; name "$N" */
	AST_MAP,	/* name: "@" or "@x"; list: keys (nlist 0: none) */
	AST_CALL,	/* name: function; list: arguments */
	AST_UNOP,	/* op: '-', '!', '~', '*' (deref), '&'; a */
	AST_INCDEC,	/* op: TOK_INC/TOK_DEC; ival 1 = prefix; a: var or
			 * map */
	AST_BINOP,	/* op: a token (TOK_EQ, '+', TOK_LAND ...); a, b */
	AST_TERNARY,	/* a ? b : c */
	AST_FIELD,	/* a.name (op '.') or a->name (op TOK_ARROW) */
	AST_INDEX,	/* a[b] */
	AST_CAST,	/* (type_name)a; type_name as written, e.g.
			 * "uint32", "struct task_struct *" */
	AST_TUPLE,	/* (list...), two or more elements */
	/* statements */
	AST_EXPR_STMT,	/* a */
	AST_ASSIGN,	/* a (var or map) op b; op '=' or a compound
			 * token (TOK_ADD_ASSIGN ...) */
	AST_IF,		/* if (a) b else c (c may be NULL); b, c are
			 * AST_BLOCK (else-if: c is a block holding an
			 * AST_IF) */
	AST_WHILE,	/* while (a) b */
	AST_UNROLL,	/* unroll (ival) b; ival checked 1..100 */
	AST_RETURN,	/* return */
	AST_BREAK,
	AST_CONTINUE,
	AST_BLOCK,	/* list: statements */
	/* top level */
	AST_PROBE,	/* list: attach points (AST_ATTACH); a: predicate
			 * or NULL; b: body (AST_BLOCK) */
	AST_ATTACH,	/* str: the attach point exactly as written with
			 * quotes removed, e.g. "uprobe:/bin/bash:readline",
			 * "t:syscalls:sys_enter_*", "BEGIN", "interval:s:1" */
	AST_STRUCT,	/* struct name { members }: name "struct NAME";
			 * list: AST_MEMBER */
	AST_MEMBER,	/* type_name name[ival]; ival 0: not an array */
	AST_PROGRAM,	/* list: struct definitions, then probes */
};

struct ast_node {
	enum ast_kind kind;
	struct src_loc loc;
	int op;			/* token kind for operators */
	long long ival;
	bool is_signed;		/* AST_INT: decimal literal */
	char *name;		/* owned */
	char *str;		/* owned; AST_STR/AST_ATTACH */
	size_t str_len;
	char *type_name;	/* owned; AST_CAST */
	struct ast_node *a, *b, *c;
	struct ast_node **list;	/* owned array of owned nodes */
	int nlist;

	/* Filled by semantic analysis. */
	struct ttype type;
	int sym;		/* index into the program's maps/vars/... */
	void *sema;		/* stage-private annotation */
};

/*
 * Token kinds beyond single characters (single-character tokens use their
 * character value, e.g. '+', '{').
 */
enum tok_kind {
	TOK_EOF = 0,
	TOK_INT = 256,
	TOK_STR,
	TOK_IDENT,
	TOK_VAR,	/* $x */
	TOK_POSITIONAL,	/* $1 */
	TOK_MAP,	/* @x or @ */
	TOK_ATTACH,	/* an attach point (parser-driven lexer state) */
	TOK_ARROW,	/* -> */
	TOK_INC, TOK_DEC,
	TOK_EQ, TOK_NE, TOK_LE, TOK_GE,
	TOK_LAND, TOK_LOR,
	TOK_SHL, TOK_SHR,
	TOK_ADD_ASSIGN, TOK_SUB_ASSIGN, TOK_MUL_ASSIGN, TOK_DIV_ASSIGN,
	TOK_MOD_ASSIGN, TOK_AND_ASSIGN, TOK_OR_ASSIGN, TOK_XOR_ASSIGN,
	TOK_SHL_ASSIGN, TOK_SHR_ASSIGN,
	TOK_IF, TOK_ELSE, TOK_WHILE, TOK_UNROLL, TOK_RETURN, TOK_BREAK,
	TOK_CONTINUE,
};

/* Name of a token kind for messages and dumps: "'+'", "'->'", "integer". */
const char *ast_tok_name(int tok);

/*
 * Parses a whole program. On success returns the AST_PROGRAM root. On a
 * syntax error prints "FILE:LINE:COL: message", the source line and a
 * caret to err (through diag_error) and returns NULL.
 */
struct ast_node *ast_parse(const struct src_file *src, FILE *err);
void ast_free(struct ast_node *n);
/* Indented tree with locations (and types once sema has run). */
void ast_dump(FILE *f, const struct ast_node *n);

/* Allocation helpers the parser (and sema, for rewrites) use. */
struct ast_node *ast_new(enum ast_kind kind, struct src_loc loc);
void ast_append(struct ast_node *parent, struct ast_node *child);

/*
 * Diagnostics in one format for every stage:
 *   FILE:LINE:COL: error: message
 *       the source line
 *           ^
 * Returns the number of errors reported so far through this src.
 */
void diag_error(FILE *f, const struct src_file *src, struct src_loc loc,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void diag_warn(FILE *f, const struct src_file *src, struct src_loc loc,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif

/*
 * The trace language's lexer, private to the front end (lex.c, parse.c).
 * Tokens are spans of the source text: nothing is allocated while lexing,
 * so the parser can look ahead by copying the lexer and throwing the copy
 * away. The parser asks for an attach point explicitly (lex_attach) where
 * a probe may start, because attach points ("uprobe:/bin/bash:readline")
 * do not lex like expressions.
 */
#ifndef LOUPE_TRACE_LEX_H
#define LOUPE_TRACE_LEX_H

#include <stdarg.h>
#include "ast.h"

/* Returned after an error was reported; the parser just gives up. */
#define TOK_ERROR	(-1)

struct token {
	int kind;
	struct src_loc loc;
	size_t start, len;	/* span in the source text */
	unsigned long long ival;	/* TOK_INT, TOK_POSITIONAL */
	bool is_signed;		/* TOK_INT: decimal and fits in int64 */
};

struct lexer {
	const struct src_file *src;
	FILE *err;
	size_t pos;
	int line, col;
	struct src_loc end;	/* just past the last token: where EOF is */
	int errors;
	bool quiet;		/* a look-ahead copy: report nothing */
};

void lex_init(struct lexer *lx, const struct src_file *src, FILE *err);
/* The next token of a probe body, predicate or separator. */
int lex_next(struct lexer *lx, struct token *t);
/*
 * The next token where an attach point may start: TOK_ATTACH if the text
 * there starts with a letter or '_', otherwise what lex_next would give.
 */
int lex_attach(struct lexer *lx, struct token *t);

/* Reports the first error only (later ones are usually consequences). */
void lex_error(struct lexer *lx, struct src_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Owned copies of a token's value. */
char *lex_text(const struct lexer *lx, const struct token *t);
char *lex_string(const struct lexer *lx, const struct token *t,
		 size_t *len);
char *lex_attach_text(const struct lexer *lx, const struct token *t);
/* "'printf'", "end of input", "'+'" ...: what a message says was found. */
void lex_describe(const struct lexer *lx, const struct token *t, char *buf,
		  size_t len);

#endif

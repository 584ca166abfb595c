/*
 * AST nodes of trace programs: allocation, freeing, token names for
 * messages, and the indented dump behind `loupe trace --dump ast`.
 */
#include <stdlib.h>
#include <string.h>
#include "ast.h"

/* Out of memory is not an input error: the front end gives up at once. */
static void *ast_oom(void)
{
	fputs("loupe: out of memory\n", stderr);
	abort();
}

struct ast_node *ast_new(enum ast_kind kind, struct src_loc loc)
{
	struct ast_node *n = calloc(1, sizeof(*n));

	if (!n)
		return ast_oom();
	n->kind = kind;
	n->loc = loc;
	n->sym = -1;
	return n;
}

void ast_append(struct ast_node *parent, struct ast_node *child)
{
	/* Grow by powers of two: nlist is a power of two when full. */
	if ((parent->nlist & (parent->nlist - 1)) == 0) {
		int cap = parent->nlist ? parent->nlist * 2 : 1;
		struct ast_node **l = realloc(parent->list,
					      cap * sizeof(*l));

		if (!l)
			ast_oom();
		parent->list = l;
	}
	parent->list[parent->nlist++] = child;
}

void ast_free(struct ast_node *n)
{
	if (!n)
		return;
	ast_free(n->a);
	ast_free(n->b);
	ast_free(n->c);
	for (int i = 0; i < n->nlist; i++)
		ast_free(n->list[i]);
	free(n->list);
	free(n->name);
	free(n->str);
	free(n->type_name);
	free(n);
}

const char *ast_tok_name(int tok)
{
	static const char *const names[] = {
		[TOK_EOF] = "end of input",
		['+'] = "'+'", ['-'] = "'-'", ['*'] = "'*'", ['/'] = "'/'",
		['%'] = "'%'", ['&'] = "'&'", ['|'] = "'|'", ['^'] = "'^'",
		['~'] = "'~'", ['!'] = "'!'", ['<'] = "'<'", ['>'] = "'>'",
		['='] = "'='", ['?'] = "'?'", [':'] = "':'", [';'] = "';'",
		[','] = "','", ['.'] = "'.'", ['('] = "'('", [')'] = "')'",
		['['] = "'['", [']'] = "']'", ['{'] = "'{'", ['}'] = "'}'",
		[TOK_INT] = "integer", [TOK_STR] = "string",
		[TOK_IDENT] = "identifier", [TOK_VAR] = "variable",
		[TOK_POSITIONAL] = "positional parameter", [TOK_MAP] = "map",
		[TOK_ATTACH] = "attach point", [TOK_ARROW] = "'->'",
		[TOK_INC] = "'++'", [TOK_DEC] = "'--'", [TOK_EQ] = "'=='",
		[TOK_NE] = "'!='", [TOK_LE] = "'<='", [TOK_GE] = "'>='",
		[TOK_LAND] = "'&&'", [TOK_LOR] = "'||'", [TOK_SHL] = "'<<'",
		[TOK_SHR] = "'>>'", [TOK_ADD_ASSIGN] = "'+='",
		[TOK_SUB_ASSIGN] = "'-='", [TOK_MUL_ASSIGN] = "'*='",
		[TOK_DIV_ASSIGN] = "'/='", [TOK_MOD_ASSIGN] = "'%='",
		[TOK_AND_ASSIGN] = "'&='", [TOK_OR_ASSIGN] = "'|='",
		[TOK_XOR_ASSIGN] = "'^='", [TOK_SHL_ASSIGN] = "'<<='",
		[TOK_SHR_ASSIGN] = "'>>='", [TOK_IF] = "'if'",
		[TOK_ELSE] = "'else'", [TOK_WHILE] = "'while'",
		[TOK_UNROLL] = "'unroll'", [TOK_RETURN] = "'return'",
		[TOK_BREAK] = "'break'", [TOK_CONTINUE] = "'continue'",
	};

	if (tok >= 0 && (size_t)tok < sizeof(names) / sizeof(names[0]) &&
	    names[tok])
		return names[tok];
	return "invalid token";
}

static const char *const kind_names[] = {
	[AST_INT] = "int", [AST_STR] = "str", [AST_IDENT] = "ident",
	[AST_VAR] = "var", [AST_POSITIONAL] = "positional", [AST_MAP] = "map",
	[AST_CALL] = "call", [AST_UNOP] = "unop", [AST_INCDEC] = "incdec",
	[AST_BINOP] = "binop", [AST_TERNARY] = "ternary",
	[AST_FIELD] = "field", [AST_INDEX] = "index", [AST_CAST] = "cast",
	[AST_TUPLE] = "tuple", [AST_EXPR_STMT] = "expr",
	[AST_ASSIGN] = "assign", [AST_IF] = "if", [AST_WHILE] = "while",
	[AST_UNROLL] = "unroll", [AST_RETURN] = "return",
	[AST_BREAK] = "break", [AST_CONTINUE] = "continue",
	[AST_BLOCK] = "block", [AST_PROBE] = "probe", [AST_ATTACH] = "attach",
	[AST_STRUCT] = "struct", [AST_MEMBER] = "member",
	[AST_PROGRAM] = "program",
};

/* A string as a C literal, so escapes and control bytes stay visible. */
static void dump_quoted(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		switch (c) {
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\\':
		case '"':
			fprintf(f, "\\%c", c);
			break;
		default:
			if (c < ' ' || c >= 127)
				fprintf(f, "\\x%02x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

/* The operator/name/value part of a node's line. */
static void dump_detail(FILE *f, const struct ast_node *n)
{
	switch (n->kind) {
	case AST_INT:
		if (n->is_signed)
			fprintf(f, " %lld", n->ival);
		else
			fprintf(f, " %llu", (unsigned long long)n->ival);
		break;
	case AST_STR:
		fputc(' ', f);
		dump_quoted(f, n->str ? n->str : "", n->str ? n->str_len : 0);
		break;
	case AST_ATTACH:
		fprintf(f, " %s", n->str ? n->str : "");
		break;
	case AST_IDENT:
	case AST_VAR:
	case AST_POSITIONAL:
	case AST_MAP:
	case AST_CALL:
		fprintf(f, " %s", n->name ? n->name : "?");
		break;
	case AST_UNOP:
	case AST_BINOP:
	case AST_ASSIGN:
		fprintf(f, " %s", n->op == '*' && n->kind == AST_UNOP ?
			"'*' (deref)" : ast_tok_name(n->op));
		break;
	case AST_INCDEC:
		fprintf(f, " %s %s", ast_tok_name(n->op),
			n->ival ? "prefix" : "postfix");
		break;
	case AST_FIELD:
		fprintf(f, " %s %s", ast_tok_name(n->op),
			n->name ? n->name : "?");
		break;
	case AST_CAST:
		fprintf(f, " (%s)", n->type_name ? n->type_name : "?");
		break;
	case AST_UNROLL:
		fprintf(f, " %lld", n->ival);
		break;
	default:
		break;
	}
}

static void dump_node(FILE *f, const struct ast_node *n, int depth,
		      const char *role)
{
	if (!n)
		return;
	fprintf(f, "%*s%d:%d ", depth * 2, "", n->loc.line, n->loc.col);
	if (role)
		fprintf(f, "%s: ", role);
	if ((unsigned int)n->kind < sizeof(kind_names) / sizeof(kind_names[0]))
		fputs(kind_names[n->kind], f);
	else
		fputs("?", f);
	dump_detail(f, n);
	if (n->type.kind != TT_NONE) {
		char type[128];

		ttype_name(&n->type, type, sizeof(type));
		fprintf(f, " :: %s", type);
	}
	fputc('\n', f);
	/* A probe lists its attach points before its predicate and body. */
	if (n->kind == AST_PROBE)
		for (int i = 0; i < n->nlist; i++)
			dump_node(f, n->list[i], depth + 1, NULL);
	dump_node(f, n->a, depth + 1, n->kind == AST_PROBE ? "pred" : NULL);
	dump_node(f, n->b, depth + 1, NULL);
	dump_node(f, n->c, depth + 1, n->kind == AST_IF ? "else" : NULL);
	if (n->kind != AST_PROBE)
		for (int i = 0; i < n->nlist; i++)
			dump_node(f, n->list[i], depth + 1, NULL);
}

void ast_dump(FILE *f, const struct ast_node *n)
{
	dump_node(f, n, 0, NULL);
}

/*
 * Parser of the trace language: recursive descent for probes and
 * statements, precedence climbing for expressions (C's precedence, as in
 * bpftrace). It stops at the first syntax error, which names what was
 * expected and what was found at its exact location; every partial tree
 * is freed on the way out.
 *
 * Input is untrusted (the fuzzer feeds it anything), so nesting and the
 * size of one expression are bounded: the later stages walk the tree
 * recursively, and a depth bound here keeps all of them off the end of
 * the stack.
 */
#include <stdlib.h>
#include <string.h>
#include "lex.h"

/* Nesting of parentheses, unary operators, blocks and else-ifs. */
#define PARSE_MAX_NEST		200
/* Nodes of one statement's expressions: bounds the tree's depth. */
#define PARSE_MAX_EXPR_NODES	2000

struct parser {
	struct lexer lx;
	struct token tok;	/* the current, not yet consumed, token */
	int nest;
	int expr_nodes;
	int pred;		/* inside a predicate: "/ {" ends it */
};

static void next(struct parser *p)
{
	lex_next(&p->lx, &p->tok);
}

/* The kind of the token after the current one, reporting nothing. */
static int peek_token(struct parser *p, struct token *t)
{
	struct lexer copy = p->lx;

	copy.quiet = true;
	return lex_next(&copy, t);
}

static void expected(struct parser *p, const char *what)
{
	char found[96];

	lex_describe(&p->lx, &p->tok, found, sizeof(found));
	lex_error(&p->lx, p->tok.loc, "expected %s, found %s", what, found);
}

/* Consumes the token `kind` or reports "expected <what>". */
static bool expect(struct parser *p, int kind, const char *what)
{
	if (p->tok.kind != kind) {
		expected(p, what);
		return false;
	}
	next(p);
	return true;
}

static bool enter(struct parser *p)
{
	if (++p->nest > PARSE_MAX_NEST) {
		lex_error(&p->lx, p->tok.loc, "nesting deeper than %d levels",
			  PARSE_MAX_NEST);
		p->nest--;
		return false;
	}
	return true;
}

static void leave(struct parser *p)
{
	p->nest--;
}

/* An expression node, within the statement's budget. */
static struct ast_node *expr_node(struct parser *p, enum ast_kind kind,
				  struct src_loc loc)
{
	if (++p->expr_nodes > PARSE_MAX_EXPR_NODES) {
		lex_error(&p->lx, loc, "expression too large (more than %d "
			  "nodes in one statement)", PARSE_MAX_EXPR_NODES);
		return NULL;
	}
	return ast_new(kind, loc);
}

static struct ast_node *parse_expr(struct parser *p);
static struct ast_node *parse_unary(struct parser *p);

static bool tok_is(const struct parser *p, const struct token *t,
		   const char *word)
{
	return t->kind == TOK_IDENT && strlen(word) == t->len &&
	       !memcmp(p->lx.src->text + t->start, word, t->len);
}

static bool is_int_type(const struct parser *p, const struct token *t)
{
	static const char *const names[] = {
		"int8", "int16", "int32", "int64",
		"uint8", "uint16", "uint32", "uint64",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (tok_is(p, t, names[i]))
			return true;
	return false;
}

/* Whether '(' followed by t starts a cast rather than an expression. */
static bool starts_type(const struct parser *p, const struct token *t)
{
	return is_int_type(p, t) || tok_is(p, t, "struct") ||
	       tok_is(p, t, "union") || tok_is(p, t, "enum");
}

/* Comma-separated expressions up to `close`, appended to n. */
static bool parse_list(struct parser *p, struct ast_node *n, int close,
		       const char *what)
{
	for (;;) {
		struct ast_node *e = parse_expr(p);

		if (!e)
			return false;
		ast_append(n, e);
		if (p->tok.kind == ',') {
			next(p);
			continue;
		}
		if (p->tok.kind == close) {
			next(p);
			return true;
		}
		expected(p, what);
		return false;
	}
}

/*
 * A type name, current token first: "uint32", "struct x **"; as written
 * with one space before the stars. NULL after an error.
 */
static char *parse_type_name(struct parser *p)
{
	char *base, *name, *type_name;
	int stars = 0;
	size_t len;

	if (is_int_type(p, &p->tok)) {
		base = lex_text(&p->lx, &p->tok);
		next(p);
	} else {
		char *tag = lex_text(&p->lx, &p->tok);

		next(p);
		if (p->tok.kind != TOK_IDENT) {
			char what[64];

			snprintf(what, sizeof(what), "a name after '%s'", tag);
			free(tag);
			expected(p, what);
			return NULL;
		}
		name = lex_text(&p->lx, &p->tok);
		base = malloc(strlen(tag) + strlen(name) + 2);
		if (!base) {
			fputs("loupe: out of memory\n", stderr);
			abort();
		}
		sprintf(base, "%s %s", tag, name);
		free(tag);
		free(name);
		next(p);
	}
	while (p->tok.kind == '*') {
		stars++;
		next(p);
	}
	len = strlen(base);
	type_name = realloc(base, len + stars + 2);
	if (!type_name) {
		fputs("loupe: out of memory\n", stderr);
		abort();
	}
	if (stars) {
		type_name[len++] = ' ';
		memset(type_name + len, '*', stars);
		type_name[len + stars] = '\0';
	}
	return type_name;
}

/* After '(' with a type name current: "(uint32)e", "(struct x *)e". */
static struct ast_node *parse_cast(struct parser *p, struct src_loc loc)
{
	struct ast_node *n, *operand;
	char *type_name = parse_type_name(p);

	if (!type_name)
		return NULL;
	if (!expect(p, ')', "'*' or ')' in cast")) {
		free(type_name);
		return NULL;
	}
	n = expr_node(p, AST_CAST, loc);
	if (!n) {
		free(type_name);
		return NULL;
	}
	n->type_name = type_name;
	operand = parse_unary(p);
	if (!operand) {
		ast_free(n);
		return NULL;
	}
	n->a = operand;
	return n;
}

/*
 * sizeof(TYPE) and offsetof(struct X, field): the type is kept in
 * type_name, the field as an identifier argument. After '('.
 */
static bool parse_type_arg(struct parser *p, struct ast_node *n)
{
	struct ast_node *field;

	n->type_name = parse_type_name(p);
	if (!n->type_name)
		return false;
	if (!strcmp(n->name, "offsetof")) {
		if (!expect(p, ',', "',' after the type in offsetof()"))
			return false;
		if (p->tok.kind != TOK_IDENT) {
			expected(p, "a field name");
			return false;
		}
		field = expr_node(p, AST_IDENT, p->tok.loc);
		if (!field)
			return false;
		field->name = lex_text(&p->lx, &p->tok);
		ast_append(n, field);
		next(p);
	}
	return expect(p, ')', "')' after the type");
}

/* After '(': a parenthesized expression or a tuple. */
static struct ast_node *parse_paren(struct parser *p, struct src_loc loc)
{
	struct ast_node *e = parse_expr(p), *t;

	if (!e)
		return NULL;
	if (p->tok.kind == ')') {
		next(p);
		return e;
	}
	if (p->tok.kind != ',') {
		expected(p, "',' or ')'");
		ast_free(e);
		return NULL;
	}
	next(p);
	t = expr_node(p, AST_TUPLE, loc);
	if (!t) {
		ast_free(e);
		return NULL;
	}
	ast_append(t, e);
	if (!parse_list(p, t, ')', "',' or ')' in tuple")) {
		ast_free(t);
		return NULL;
	}
	return t;
}

static struct ast_node *parse_primary(struct parser *p)
{
	struct token t = p->tok;
	struct ast_node *n = NULL;

	switch (t.kind) {
	case TOK_INT:
		n = expr_node(p, AST_INT, t.loc);
		if (!n)
			return NULL;
		n->ival = (long long)t.ival;
		n->is_signed = t.is_signed;
		next(p);
		return n;
	case TOK_STR:
		n = expr_node(p, AST_STR, t.loc);
		if (!n)
			return NULL;
		n->str = lex_string(&p->lx, &t, &n->str_len);
		next(p);
		return n;
	case TOK_VAR:
	case TOK_POSITIONAL:
		n = expr_node(p, t.kind == TOK_VAR ? AST_VAR : AST_POSITIONAL,
			      t.loc);
		if (!n)
			return NULL;
		n->name = lex_text(&p->lx, &t);
		n->ival = (long long)t.ival;
		next(p);
		return n;
	case TOK_IDENT:
		next(p);
		n = expr_node(p, p->tok.kind == '(' ? AST_CALL : AST_IDENT,
			      t.loc);
		if (!n)
			return NULL;
		n->name = lex_text(&p->lx, &t);
		if (n->kind == AST_IDENT)
			return n;
		next(p);
		if ((!strcmp(n->name, "sizeof") ||
		     !strcmp(n->name, "offsetof")) && starts_type(p, &p->tok)) {
			if (parse_type_arg(p, n))
				return n;
			ast_free(n);
			return NULL;
		}
		if (p->tok.kind == ')') {
			next(p);
			return n;
		}
		if (!parse_list(p, n, ')', "',' or ')' in argument list")) {
			ast_free(n);
			return NULL;
		}
		return n;
	case TOK_MAP:
		n = expr_node(p, AST_MAP, t.loc);
		if (!n)
			return NULL;
		n->name = lex_text(&p->lx, &t);
		next(p);
		if (p->tok.kind != '[')
			return n;
		next(p);
		if (!parse_list(p, n, ']', "',' or ']' after map key")) {
			ast_free(n);
			return NULL;
		}
		return n;
	case '(':
		next(p);
		return parse_paren(p, t.loc);
	default:
		expected(p, "expression");
		return NULL;
	}
}

static bool check_incdec(struct parser *p, const struct ast_node *target,
			 int op)
{
	if (target->kind == AST_VAR || target->kind == AST_MAP)
		return true;
	lex_error(&p->lx, target->loc, "%s needs a variable or a map",
		  ast_tok_name(op));
	return false;
}

/* Calls are made in parse_primary; here: fields, indexes, x++ / x--. */
static struct ast_node *parse_postfix(struct parser *p)
{
	struct ast_node *n = parse_primary(p), *m;

	while (n) {
		struct token op = p->tok;

		if (op.kind == '.' || op.kind == TOK_ARROW) {
			next(p);
			/* Tuple elements are fields named by number: $t.0 */
			if (p->tok.kind != TOK_IDENT &&
			    !(p->tok.kind >= TOK_IF &&
			      p->tok.kind <= TOK_CONTINUE) &&
			    !(op.kind == '.' && p->tok.kind == TOK_INT)) {
				const char *what = op.kind == '.' ?
					"a field or tuple index after '.'" :
					"a field name after '->'";

				expected(p, what);
				break;
			}
			m = expr_node(p, AST_FIELD, p->tok.loc);
			if (!m)
				break;
			m->op = op.kind;
			m->name = lex_text(&p->lx, &p->tok);
			m->a = n;
			n = m;
			next(p);
		} else if (op.kind == '[') {
			struct ast_node *idx;

			next(p);
			m = expr_node(p, AST_INDEX, op.loc);
			if (!m)
				break;
			m->a = n;
			n = m;
			idx = parse_expr(p);
			if (!idx)
				break;
			n->b = idx;
			if (!expect(p, ']', "']' after index"))
				break;
		} else if (op.kind == TOK_INC || op.kind == TOK_DEC) {
			if (!check_incdec(p, n, op.kind))
				break;
			m = expr_node(p, AST_INCDEC, op.loc);
			if (!m)
				break;
			m->op = op.kind;
			m->a = n;
			n = m;
			next(p);
		} else {
			return n;
		}
	}
	ast_free(n);
	return NULL;
}

static struct ast_node *parse_unary(struct parser *p)
{
	struct token op = p->tok;
	struct ast_node *n, *operand;

	switch (op.kind) {
	case '-':
	case '!':
	case '~':
	case '*':
	case '&':
	case TOK_INC:
	case TOK_DEC:
		break;
	case '(': {
		struct token t;

		peek_token(p, &t);
		if (!starts_type(p, &t))
			return parse_postfix(p);
		if (!enter(p))
			return NULL;
		next(p);
		n = parse_cast(p, op.loc);
		leave(p);
		return n;
	}
	default:
		return parse_postfix(p);
	}
	if (!enter(p))
		return NULL;
	next(p);
	operand = parse_unary(p);
	leave(p);
	if (!operand)
		return NULL;
	if ((op.kind == TOK_INC || op.kind == TOK_DEC) &&
	    !check_incdec(p, operand, op.kind)) {
		ast_free(operand);
		return NULL;
	}
	n = expr_node(p, op.kind == TOK_INC || op.kind == TOK_DEC ?
		      AST_INCDEC : AST_UNOP, op.loc);
	if (!n) {
		ast_free(operand);
		return NULL;
	}
	n->op = op.kind;
	n->ival = n->kind == AST_INCDEC;
	n->a = operand;
	return n;
}

/* Binding strength of binary operators (0: not one). */
static int binop_prec(int tok)
{
	switch (tok) {
	case TOK_LOR:
		return 1;
	case TOK_LAND:
		return 2;
	case '|':
		return 3;
	case '^':
		return 4;
	case '&':
		return 5;
	case TOK_EQ:
	case TOK_NE:
		return 6;
	case '<':
	case '>':
	case TOK_LE:
	case TOK_GE:
		return 7;
	case TOK_SHL:
	case TOK_SHR:
		return 8;
	case '+':
	case '-':
		return 9;
	case '*':
	case '/':
	case '%':
		return 10;
	default:
		return 0;
	}
}

/* Precedence climbing: operators of at least min_prec, left-assoc. */
static struct ast_node *parse_binary(struct parser *p, int min_prec)
{
	struct ast_node *left = parse_unary(p), *right, *n;

	while (left) {
		struct token op = p->tok;
		int prec = binop_prec(op.kind);

		if (!prec || prec < min_prec)
			return left;
		if (op.kind == '/' && p->pred) {
			struct token t;

			/* "/pid == 1/ {": the '/' closes the predicate */
			if (peek_token(p, &t) == '{')
				return left;
		}
		next(p);
		right = parse_binary(p, prec + 1);
		if (!right)
			break;
		n = expr_node(p, AST_BINOP, op.loc);
		if (!n) {
			ast_free(right);
			break;
		}
		n->op = op.kind;
		n->a = left;
		n->b = right;
		left = n;
	}
	ast_free(left);
	return NULL;
}

static struct ast_node *parse_expr(struct parser *p)
{
	struct ast_node *cond, *n = NULL;
	struct token q;

	if (!enter(p))
		return NULL;
	cond = parse_binary(p, 1);
	q = p->tok;
	if (!cond || q.kind != '?') {
		leave(p);
		return cond;
	}
	next(p);
	n = expr_node(p, AST_TERNARY, q.loc);
	if (!n)
		goto fail;
	n->a = cond;
	cond = NULL;
	n->b = parse_expr(p);
	if (!n->b || !expect(p, ':', "':' in conditional expression"))
		goto fail;
	/* right-associative: a ? b : c ? d : e */
	n->c = parse_expr(p);
	if (!n->c)
		goto fail;
	leave(p);
	return n;
fail:
	leave(p);
	ast_free(cond);
	ast_free(n);
	return NULL;
}

static bool is_assign_op(int tok)
{
	return tok == '=' || (tok >= TOK_ADD_ASSIGN && tok <= TOK_SHR_ASSIGN);
}

static struct ast_node *parse_block(struct parser *p, bool probe_body);

/* "( expr )" after if/while. */
static struct ast_node *parse_cond(struct parser *p, const char *keyword)
{
	char what[32];
	struct ast_node *e;

	snprintf(what, sizeof(what), "'(' after '%s'", keyword);
	if (!expect(p, '(', what))
		return NULL;
	p->expr_nodes = 0;
	e = parse_expr(p);
	if (e && !expect(p, ')', "')' after condition")) {
		ast_free(e);
		return NULL;
	}
	return e;
}

static struct ast_node *parse_if(struct parser *p)
{
	struct ast_node *n = ast_new(AST_IF, p->tok.loc);

	if (!enter(p)) {
		ast_free(n);
		return NULL;
	}
	next(p);
	n->a = parse_cond(p, "if");
	if (!n->a)
		goto fail;
	n->b = parse_block(p, false);
	if (!n->b)
		goto fail;
	if (p->tok.kind == TOK_ELSE) {
		next(p);
		if (p->tok.kind == TOK_IF) {
			struct ast_node *inner;

			n->c = ast_new(AST_BLOCK, p->tok.loc);
			inner = parse_if(p);
			if (!inner)
				goto fail;
			ast_append(n->c, inner);
		} else {
			n->c = parse_block(p, false);
			if (!n->c)
				goto fail;
		}
	}
	leave(p);
	return n;
fail:
	leave(p);
	ast_free(n);
	return NULL;
}

static struct ast_node *parse_unroll(struct parser *p)
{
	struct ast_node *n = ast_new(AST_UNROLL, p->tok.loc);

	next(p);
	if (!expect(p, '(', "'(' after 'unroll'"))
		goto fail;
	if (p->tok.kind != TOK_INT) {
		expected(p, "an integer count in 'unroll'");
		goto fail;
	}
	if (p->tok.ival < 1 || p->tok.ival > 100) {
		lex_error(&p->lx, p->tok.loc,
			  "unroll count must be between 1 and 100");
		goto fail;
	}
	n->ival = (long long)p->tok.ival;
	next(p);
	if (!expect(p, ')', "')' after the unroll count"))
		goto fail;
	n->b = parse_block(p, false);
	if (!n->b)
		goto fail;
	return n;
fail:
	ast_free(n);
	return NULL;
}

/*
 * One statement. *block_like is set for those ending in a block, which
 * need no ';' after them.
 */
static struct ast_node *parse_statement(struct parser *p, bool *block_like)
{
	struct token t = p->tok;
	struct ast_node *n, *e;

	*block_like = false;
	p->expr_nodes = 0;
	switch (t.kind) {
	case TOK_IF:
		*block_like = true;
		return parse_if(p);
	case TOK_WHILE:
		*block_like = true;
		n = ast_new(AST_WHILE, t.loc);
		next(p);
		n->a = parse_cond(p, "while");
		if (n->a)
			n->b = parse_block(p, false);
		if (!n->b) {
			ast_free(n);
			return NULL;
		}
		return n;
	case TOK_UNROLL:
		*block_like = true;
		return parse_unroll(p);
	case '{':
		*block_like = true;
		return parse_block(p, false);
	case TOK_RETURN:
	case TOK_BREAK:
	case TOK_CONTINUE:
		next(p);
		return ast_new(t.kind == TOK_RETURN ? AST_RETURN :
			       t.kind == TOK_BREAK ? AST_BREAK : AST_CONTINUE,
			       t.loc);
	case TOK_ELSE:
		lex_error(&p->lx, t.loc, "'else' without a matching 'if'");
		return NULL;
	default:
		break;
	}
	e = parse_expr(p);
	if (!e)
		return NULL;
	if (is_assign_op(p->tok.kind)) {
		int op = p->tok.kind;

		if (e->kind != AST_VAR && e->kind != AST_MAP) {
			lex_error(&p->lx, p->tok.loc, "the left side of %s "
				  "must be a variable or a map",
				  ast_tok_name(op));
			ast_free(e);
			return NULL;
		}
		next(p);
		n = ast_new(AST_ASSIGN, e->loc);
		n->op = op;
		n->a = e;
		n->b = parse_expr(p);
		if (!n->b) {
			ast_free(n);
			return NULL;
		}
		return n;
	}
	n = ast_new(AST_EXPR_STMT, t.loc);
	n->a = e;
	return n;
}

/*
 * "{ statements }". A probe's body is followed by the next probe, so the
 * token after its '}' is lexed as an attach point.
 */
static struct ast_node *parse_block(struct parser *p, bool probe_body)
{
	struct ast_node *blk;

	if (p->tok.kind != '{') {
		expected(p, "'{'");
		return NULL;
	}
	if (!enter(p))
		return NULL;
	blk = ast_new(AST_BLOCK, p->tok.loc);
	next(p);
	for (;;) {
		struct ast_node *s;
		bool block_like;

		while (p->tok.kind == ';')
			next(p);
		if (p->tok.kind == '}')
			break;
		if (p->tok.kind == TOK_EOF) {
			expected(p, "statement or '}'");
			goto fail;
		}
		s = parse_statement(p, &block_like);
		if (!s)
			goto fail;
		ast_append(blk, s);
		if (p->tok.kind == ';' || p->tok.kind == '}' || block_like)
			continue;
		expected(p, "';' or '}' after statement");
		goto fail;
	}
	if (probe_body)
		lex_attach(&p->lx, &p->tok);
	else
		next(p);
	leave(p);
	return blk;
fail:
	leave(p);
	ast_free(blk);
	return NULL;
}

static struct ast_node *parse_attach(struct parser *p)
{
	struct ast_node *a;

	if (p->tok.kind != TOK_ATTACH) {
		expected(p, "attach point");
		return NULL;
	}
	a = ast_new(AST_ATTACH, p->tok.loc);
	a->str = lex_attach_text(&p->lx, &p->tok);
	a->str_len = strlen(a->str);
	next(p);
	return a;
}

/*
 * "unsigned long x", "struct point *next", "u8 mac": C words up to the
 * stars; the last word is the name when there are none.
 */
static int parse_member_decl(struct parser *p, struct ast_node *m)
{
	char type[128] = "", *word;
	int stars = 0;
	size_t used = 0;

	while (p->tok.kind == TOK_IDENT) {
		word = lex_text(&p->lx, &p->tok);
		next(p);
		if (p->tok.kind != TOK_IDENT && p->tok.kind != '*' && used) {
			m->name = word;	/* the last word: the name */
			break;
		}
		used += snprintf(type + used, used < sizeof(type) ?
				 sizeof(type) - used : 0, "%s%s",
				 used ? " " : "", word);
		free(word);
	}
	if (used >= sizeof(type)) {
		expected(p, "a shorter member type");
		return -1;
	}
	while (!m->name && p->tok.kind == '*') {
		stars++;
		next(p);
	}
	if (!m->name) {
		if (p->tok.kind != TOK_IDENT || !used) {
			expected(p, "a member name");
			return -1;
		}
		m->name = lex_text(&p->lx, &p->tok);
		next(p);
	}
	m->type_name = malloc(used + stars + 2);
	if (!m->type_name) {
		fputs("loupe: out of memory\n", stderr);
		abort();
	}
	snprintf(m->type_name, used + 1, "%s", type);
	if (stars) {
		m->type_name[used] = ' ';
		memset(m->type_name + used + 1, '*', stars);
		m->type_name[used + 1 + stars] = '\0';
	}
	return 0;
}

/*
 * struct NAME { TYPE FIELD; TYPE FIELD[N]; ... }; (the "struct" attach
 * token is current): a C struct for casts in the probes, as bpftrace
 * takes from a script's #include-free definitions.
 */
static struct ast_node *parse_struct(struct parser *p)
{
	struct ast_node *s = ast_new(AST_STRUCT, p->tok.loc), *m;
	char *tag;

	next(p);
	if (p->tok.kind != TOK_IDENT) {
		expected(p, "a struct name");
		goto fail;
	}
	tag = lex_text(&p->lx, &p->tok);
	s->name = malloc(strlen(tag) + 8);
	if (!s->name) {
		fputs("loupe: out of memory\n", stderr);
		abort();
	}
	sprintf(s->name, "struct %s", tag);
	free(tag);
	next(p);
	if (!expect(p, '{', "'{' after the struct name"))
		goto fail;
	while (p->tok.kind != '}') {
		if (p->tok.kind != TOK_IDENT) {
			expected(p, "a member type or '}'");
			goto fail;
		}
		m = ast_new(AST_MEMBER, p->tok.loc);
		ast_append(s, m);
		if (parse_member_decl(p, m))
			goto fail;
		if (p->tok.kind == '[') {
			next(p);
			if (p->tok.kind != TOK_INT || p->tok.ival < 1) {
				expected(p, "an array length");
				goto fail;
			}
			m->ival = p->tok.ival;
			next(p);
			if (!expect(p, ']', "']'"))
				goto fail;
		}
		if (!expect(p, ';', "';' after the member"))
			goto fail;
	}
	/* the '}' and an optional ';', then the next attach point */
	lex_attach(&p->lx, &p->tok);
	if (p->tok.kind == ';')
		lex_attach(&p->lx, &p->tok);
	return s;
fail:
	ast_free(s);
	return NULL;
}

/* attach points [, ...] [/predicate/] { body } */
static struct ast_node *parse_probe(struct parser *p)
{
	struct ast_node *probe = ast_new(AST_PROBE, p->tok.loc), *a;

	for (;;) {
		a = parse_attach(p);
		if (!a)
			goto fail;
		ast_append(probe, a);
		if (p->tok.kind != ',')
			break;
		lex_attach(&p->lx, &p->tok);
	}
	if (p->tok.kind == '/') {
		next(p);
		p->expr_nodes = 0;
		p->pred++;
		probe->a = parse_expr(p);
		p->pred--;
		if (!probe->a)
			goto fail;
		if (!expect(p, '/', "'/' to end the predicate"))
			goto fail;
		if (p->tok.kind != '{') {
			expected(p, "'{' after the predicate");
			goto fail;
		}
	} else if (p->tok.kind != '{') {
		expected(p, "',', '/' or '{' after attach point");
		goto fail;
	}
	probe->b = parse_block(p, true);
	if (!probe->b)
		goto fail;
	return probe;
fail:
	ast_free(probe);
	return NULL;
}

struct ast_node *ast_parse(const struct src_file *src, FILE *err)
{
	struct ast_node *prog = ast_new(AST_PROGRAM,
					(struct src_loc){ 1, 1 });
	struct parser p = { 0 };
	int nprobes = 0;

	lex_init(&p.lx, src, err);
	lex_attach(&p.lx, &p.tok);
	while (p.tok.kind != TOK_EOF) {
		struct ast_node *probe;

		if (p.tok.kind == TOK_ATTACH && p.tok.len == 6 &&
		    !strncmp(src->text + p.tok.start, "struct", 6)) {
			probe = parse_struct(&p);
		} else {
			probe = parse_probe(&p);
			nprobes++;
		}
		if (!probe)
			goto fail;
		ast_append(prog, probe);
	}
	if (!nprobes) {
		lex_error(&p.lx, p.tok.loc, "the program has no probes");
		goto fail;
	}
	if (p.lx.errors)
		goto fail;
	return prog;
fail:
	/* a lexer error may have been read past without a report */
	if (!p.lx.errors)
		lex_error(&p.lx, p.tok.loc, "syntax error");
	ast_free(prog);
	return NULL;
}

/*
 * Lexer of the trace language (bpftrace's syntax). Tokens are spans of the
 * source; values (identifier text, decoded strings) are copied out only
 * when the parser keeps them, so look-ahead is a struct copy. Attach
 * points are lexed in a separate mode the parser selects, since
 * "uprobe:/bin/bash:readline" is one token there and an expression
 * elsewhere.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lex.h"

static void *lex_oom(void)
{
	fputs("loupe: out of memory\n", stderr);
	abort();
}

void lex_init(struct lexer *lx, const struct src_file *src, FILE *err)
{
	memset(lx, 0, sizeof(*lx));
	lx->src = src;
	lx->err = err;
	lx->line = 1;
	lx->col = 1;
	lx->end.line = 1;
	lx->end.col = 1;
}

void lex_error(struct lexer *lx, struct src_loc loc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (lx->quiet || lx->errors++)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error(lx->err, lx->src, loc, "%s", msg);
}

/* The character off bytes ahead, or -1 past the end (NULs are chars). */
static int peek(const struct lexer *lx, size_t off)
{
	if (lx->pos + off >= lx->src->len)
		return -1;
	return (unsigned char)lx->src->text[lx->pos + off];
}

static void advance(struct lexer *lx)
{
	if (lx->pos >= lx->src->len)
		return;
	if (lx->src->text[lx->pos] == '\n') {
		lx->line++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	lx->pos++;
}

static struct src_loc here(const struct lexer *lx)
{
	return (struct src_loc){ lx->line, lx->col };
}

static bool is_ident_start(int c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_ident_char(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* Only blanks precede pos on its line: a preprocessor line may start. */
static bool at_line_start(const struct lexer *lx)
{
	for (size_t i = lx->pos; i > 0; i--) {
		char c = lx->src->text[i - 1];

		if (c == '\n')
			return true;
		if (c != ' ' && c != '\t')
			return false;
	}
	return true;
}

/*
 * Skips blanks, comments, "#include" lines (bpftrace hands those to
 * clang for struct definitions; loupe reads types from BTF instead) and
 * the "#!/usr/bin/env bpftrace" line scripts start with.
 */
static int skip_space(struct lexer *lx)
{
	for (;;) {
		int c = peek(lx, 0);

		if (is_space(c)) {
			advance(lx);
		} else if (c == '/' && peek(lx, 1) == '/') {
			while (peek(lx, 0) != -1 && peek(lx, 0) != '\n')
				advance(lx);
		} else if (c == '/' && peek(lx, 1) == '*') {
			struct src_loc start = here(lx);

			advance(lx);
			advance(lx);
			while (!(peek(lx, 0) == '*' && peek(lx, 1) == '/')) {
				if (peek(lx, 0) == -1) {
					lex_error(lx, start,
						  "unterminated comment");
					return TOK_ERROR;
				}
				advance(lx);
			}
			advance(lx);
			advance(lx);
		} else if (c == '#' && at_line_start(lx) &&
			   ((lx->src->len - lx->pos >= 8 &&
			     !memcmp(lx->src->text + lx->pos, "#include", 8)) ||
			    (lx->pos == 0 && peek(lx, 1) == '!'))) {
			/* #include lines, and a "#!" interpreter line */
			while (peek(lx, 0) != -1 && peek(lx, 0) != '\n')
				advance(lx);
		} else {
			return 0;
		}
	}
}

static int finish(struct lexer *lx, struct token *t, int kind)
{
	t->kind = kind;
	t->len = lx->pos - t->start;
	lx->end = here(lx);
	return kind;
}

static const struct {
	const char *word;
	int tok;
} keywords[] = {
	{ "if", TOK_IF }, { "else", TOK_ELSE }, { "while", TOK_WHILE },
	{ "unroll", TOK_UNROLL }, { "return", TOK_RETURN },
	{ "break", TOK_BREAK }, { "continue", TOK_CONTINUE },
};

static int lex_ident(struct lexer *lx, struct token *t)
{
	size_t n;

	while (is_ident_char(peek(lx, 0)))
		advance(lx);
	n = lx->pos - t->start;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strlen(keywords[i].word) == n &&
		    !memcmp(lx->src->text + t->start, keywords[i].word, n))
			return finish(lx, t, keywords[i].tok);
	return finish(lx, t, TOK_IDENT);
}

static int digit_value(int c, int base)
{
	int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return v < base ? v : -1;
}

/*
 * Digits of one base with '_' allowed between two digits. Returns the
 * number of digits, -1 on overflow (the digits are consumed either way).
 */
static int lex_digits(struct lexer *lx, int base, unsigned long long *val)
{
	int ndigits = 0;
	bool overflow = false;

	for (;;) {
		int c = peek(lx, 0), v;

		if (c == '_' && ndigits &&
		    digit_value(peek(lx, 1), base) >= 0) {
			advance(lx);
			continue;
		}
		v = digit_value(c, base);
		if (v < 0)
			break;
		if (__builtin_mul_overflow(*val, (unsigned long long)base,
					   val) ||
		    __builtin_add_overflow(*val, (unsigned long long)v, val))
			overflow = true;
		ndigits++;
		advance(lx);
	}
	return overflow ? -1 : ndigits;
}

/* Decimal (with bpftrace's 1e6 exponent form), 0x hex or 0 octal. */
static int lex_number(struct lexer *lx, struct token *t)
{
	unsigned long long val = 0;
	bool decimal = false;
	int n;

	if (peek(lx, 0) == '0' && (peek(lx, 1) == 'x' || peek(lx, 1) == 'X')) {
		advance(lx);
		advance(lx);
		n = lex_digits(lx, 16, &val);
		if (n == 0) {
			lex_error(lx, t->loc,
				  "hexadecimal literal has no digits");
			return TOK_ERROR;
		}
	} else if (peek(lx, 0) == '0' && (isdigit(peek(lx, 1)) ||
					  peek(lx, 1) == '_')) {
		advance(lx);
		n = lex_digits(lx, 8, &val);
		if (isdigit(peek(lx, 0))) {
			lex_error(lx, here(lx),
				  "invalid digit '%c' in octal literal",
				  peek(lx, 0));
			return TOK_ERROR;
		}
	} else {
		decimal = true;
		n = lex_digits(lx, 10, &val);
		if (n > 0 && peek(lx, 0) == 'e' && isdigit(peek(lx, 1))) {
			unsigned long long exp = 0;

			advance(lx);
			if (lex_digits(lx, 10, &exp) < 0)
				exp = ~0ULL;
			while (exp-- && val && n > 0)
				if (__builtin_mul_overflow(val, 10ULL, &val))
					n = -1;
		}
	}
	if (is_ident_char(peek(lx, 0))) {
		while (is_ident_char(peek(lx, 0)))
			advance(lx);
		lex_error(lx, t->loc, "invalid integer literal '%.*s'",
			  (int)(lx->pos - t->start > 40 ? 40 :
				lx->pos - t->start),
			  lx->src->text + t->start);
		return TOK_ERROR;
	}
	if (n < 0) {
		lex_error(lx, t->loc,
			  "integer literal '%.*s' does not fit in 64 bits",
			  (int)(lx->pos - t->start > 40 ? 40 :
				lx->pos - t->start),
			  lx->src->text + t->start);
		return TOK_ERROR;
	}
	t->ival = val;
	t->is_signed = decimal && val <= INT64_MAX;
	return finish(lx, t, TOK_INT);
}

/*
 * Decodes one escape sequence at s[*i] (just past the backslash). Returns
 * the byte, or -1 if the sequence is invalid.
 */
static int decode_escape(const char *s, size_t len, size_t *i)
{
	int c = *i < len ? (unsigned char)s[*i] : -1, v = 0, n;

	(*i)++;
	switch (c) {
	case 'n':
		return '\n';
	case 't':
		return '\t';
	case 'r':
		return '\r';
	case '\\':
	case '"':
	case '\'':
		return c;
	case 'x':
		for (n = 0; n < 2 && *i < len; n++, (*i)++) {
			int d = digit_value((unsigned char)s[*i], 16);

			if (d < 0)
				break;
			v = v * 16 + d;
		}
		return n ? v : -1;
	default:
		if (c < '0' || c > '7')
			return -1;
		v = c - '0';
		for (n = 1; n < 3 && *i < len; n++, (*i)++) {
			int d = digit_value((unsigned char)s[*i], 8);

			if (d < 0)
				break;
			v = v * 8 + d;
		}
		return v <= 255 ? v : -1;
	}
}

static int lex_str(struct lexer *lx, struct token *t)
{
	advance(lx);
	for (;;) {
		int c = peek(lx, 0);

		if (c == -1 || c == '\n') {
			lex_error(lx, t->loc, "unterminated string literal");
			return TOK_ERROR;
		}
		if (c == '"')
			break;
		if (c == '\\') {
			struct src_loc at = here(lx);
			size_t i = lx->pos + 1, from = i;

			if (decode_escape(lx->src->text, lx->src->len,
					  &i) < 0) {
				int e = peek(lx, 1);

				if (e == 'x')
					lex_error(lx, at, "'\\x' escape needs "
						  "hexadecimal digits");
				else if (e >= '0' && e <= '7')
					lex_error(lx, at, "octal escape "
						  "'\\%.3s' is out of range",
						  lx->src->text + from);
				else if (e > ' ' && e < 127)
					lex_error(lx, at, "invalid escape "
						  "sequence '\\%c'", e);
				else
					lex_error(lx, at, "invalid escape "
						  "sequence");
				return TOK_ERROR;
			}
			while (lx->pos < i)
				advance(lx);
			continue;
		}
		advance(lx);
	}
	advance(lx);
	return finish(lx, t, TOK_STR);
}

char *lex_string(const struct lexer *lx, const struct token *t, size_t *len)
{
	const char *s = lx->src->text + t->start + 1;
	size_t n = t->len - 2, o = 0;
	char *out = malloc(n + 1);

	if (!out)
		return lex_oom();
	for (size_t i = 0; i < n;) {
		if (s[i] == '\\') {
			i++;
			out[o++] = (char)decode_escape(s, n, &i);
		} else {
			out[o++] = s[i++];
		}
	}
	out[o] = '\0';
	*len = o;
	return out;
}

static int lex_dollar(struct lexer *lx, struct token *t)
{
	advance(lx);
	if (isdigit(peek(lx, 0))) {
		unsigned long long v = 0;
		bool overflow = false;

		while (isdigit(peek(lx, 0))) {
			v = v * 10 + (peek(lx, 0) - '0');
			if (v > 1000000)
				overflow = true;
			advance(lx);
		}
		if (overflow || is_ident_char(peek(lx, 0))) {
			while (is_ident_char(peek(lx, 0)))
				advance(lx);
			lex_error(lx, t->loc, "invalid positional parameter "
				  "'%.*s'", (int)(lx->pos - t->start > 40 ?
					      40 : lx->pos - t->start),
				  lx->src->text + t->start);
			return TOK_ERROR;
		}
		t->ival = v;
		return finish(lx, t, TOK_POSITIONAL);
	}
	if (peek(lx, 0) == '#') {
		/* $#: the number of positional parameters */
		advance(lx);
		t->ival = -1ULL;
		return finish(lx, t, TOK_POSITIONAL);
	}
	if (!is_ident_start(peek(lx, 0))) {
		lex_error(lx, t->loc,
			  "expected a variable name or number after '$'");
		return TOK_ERROR;
	}
	while (is_ident_char(peek(lx, 0)))
		advance(lx);
	return finish(lx, t, TOK_VAR);
}

static const struct {
	const char *text;
	int tok;
} operators[] = {
	/* longest first */
	{ "<<=", TOK_SHL_ASSIGN }, { ">>=", TOK_SHR_ASSIGN },
	{ "->", TOK_ARROW }, { "++", TOK_INC }, { "--", TOK_DEC },
	{ "==", TOK_EQ }, { "!=", TOK_NE }, { "<=", TOK_LE },
	{ ">=", TOK_GE }, { "&&", TOK_LAND }, { "||", TOK_LOR },
	{ "<<", TOK_SHL }, { ">>", TOK_SHR }, { "+=", TOK_ADD_ASSIGN },
	{ "-=", TOK_SUB_ASSIGN }, { "*=", TOK_MUL_ASSIGN },
	{ "/=", TOK_DIV_ASSIGN }, { "%=", TOK_MOD_ASSIGN },
	{ "&=", TOK_AND_ASSIGN }, { "|=", TOK_OR_ASSIGN },
	{ "^=", TOK_XOR_ASSIGN },
};

static const char single_chars[] = "+-*/%&|^~!<>=?:;,.()[]{}";

int lex_next(struct lexer *lx, struct token *t)
{
	int c;

	memset(t, 0, sizeof(*t));
	if (skip_space(lx) < 0)
		return t->kind = TOK_ERROR;
	t->start = lx->pos;
	t->loc = here(lx);
	c = peek(lx, 0);
	if (c == -1) {
		t->loc = lx->end;
		return t->kind = TOK_EOF;
	}
	if (is_ident_start(c))
		return lex_ident(lx, t);
	if (isdigit(c))
		return t->kind = lex_number(lx, t);
	if (c == '"')
		return t->kind = lex_str(lx, t);
	if (c == '$')
		return t->kind = lex_dollar(lx, t);
	if (c == '@') {
		advance(lx);
		while (is_ident_char(peek(lx, 0)))
			advance(lx);
		return finish(lx, t, TOK_MAP);
	}
	for (size_t i = 0; i < sizeof(operators) / sizeof(operators[0]);
	     i++) {
		size_t n = strlen(operators[i].text);

		if (lx->src->len - lx->pos >= n &&
		    !memcmp(lx->src->text + lx->pos, operators[i].text, n)) {
			for (size_t k = 0; k < n; k++)
				advance(lx);
			return finish(lx, t, operators[i].tok);
		}
	}
	if (c && strchr(single_chars, c)) {
		advance(lx);
		return finish(lx, t, c);
	}
	if (c > ' ' && c < 127)
		lex_error(lx, t->loc, "unexpected character '%c'", c);
	else
		lex_error(lx, t->loc, "unexpected character '\\x%02x'", c);
	return t->kind = TOK_ERROR;
}

/* Characters an attach point is made of, besides quoted parts. */
static bool is_attach_char(int c)
{
	return is_ident_char(c) || (c && strchr("*?:.-+/[]@$~", c));
}

/* Probe types whose first field is a file path, which may hold '/'. */
static bool has_path_field(const char *s, size_t n)
{
	static const char *const types[] = {
		"uprobe", "uretprobe", "u", "ur", "usdt", "U",
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i]) == n && !memcmp(s, types[i], n))
			return true;
	return false;
}

/*
 * An attach point runs to a blank, ',', '{' or '}'. A '/' belongs to it
 * only inside the path field (the first after the type, for uprobes and
 * usdt); anywhere else it starts the predicate ("BEGIN/pid/{...}") or a
 * comment.
 */
int lex_attach(struct lexer *lx, struct token *t)
{
	int field = 0;
	bool path = false;

	memset(t, 0, sizeof(*t));
	if (skip_space(lx) < 0)
		return t->kind = TOK_ERROR;
	if (!is_ident_start(peek(lx, 0)))
		return lex_next(lx, t);
	t->start = lx->pos;
	t->loc = here(lx);
	for (;;) {
		int c = peek(lx, 0);

		if (c == '"') {
			struct src_loc q = here(lx);

			advance(lx);
			while (peek(lx, 0) != '"') {
				if (peek(lx, 0) == -1 || peek(lx, 0) == '\n') {
					lex_error(lx, q, "unterminated quoted "
						  "part of attach point");
					return t->kind = TOK_ERROR;
				}
				advance(lx);
			}
			advance(lx);
			continue;
		}
		if (c == ':') {
			if (field++ == 0)
				path = has_path_field(lx->src->text + t->start,
						      lx->pos - t->start);
			advance(lx);
			continue;
		}
		if (c == '/' && !(field == 1 && path))
			break;
		if (!is_attach_char(c))
			break;
		advance(lx);
	}
	return finish(lx, t, TOK_ATTACH);
}

char *lex_text(const struct lexer *lx, const struct token *t)
{
	char *s = strndup(lx->src->text + t->start, t->len);

	return s ? s : lex_oom();
}

char *lex_attach_text(const struct lexer *lx, const struct token *t)
{
	char *s = malloc(t->len + 1);
	size_t o = 0;

	if (!s)
		return lex_oom();
	for (size_t i = 0; i < t->len; i++)
		if (lx->src->text[t->start + i] != '"')
			s[o++] = lx->src->text[t->start + i];
	s[o] = '\0';
	return s;
}

void lex_describe(const struct lexer *lx, const struct token *t, char *buf,
		  size_t len)
{
	char text[48];
	size_t n = 0;

	switch (t->kind) {
	case TOK_EOF:
	case TOK_ERROR:
		snprintf(buf, len, "%s", ast_tok_name(t->kind));
		return;
	case TOK_STR:
	case TOK_INT:
	case TOK_IDENT:
	case TOK_VAR:
	case TOK_POSITIONAL:
	case TOK_MAP:
	case TOK_ATTACH:
		break;
	default:
		if (t->kind < TOK_IF) {
			snprintf(buf, len, "%s", ast_tok_name(t->kind));
			return;
		}
	}
	/* Quote what was written, shortened and made printable. */
	for (size_t i = 0; i < t->len && n < 40; i++) {
		char c = lx->src->text[t->start + i];

		text[n++] = c >= ' ' && c < 127 ? c : '?';
	}
	text[n] = '\0';
	if (t->kind == TOK_STR)
		snprintf(buf, len, "string %s%s", text,
			 t->len > n ? "...\"" : "");
	else
		snprintf(buf, len, "'%s%s'", text, t->len > n ? "..." : "");
}

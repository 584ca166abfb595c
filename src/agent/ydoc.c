/*
 * YAML files of the agent through libyaml's document loader. libyaml
 * gives each node a start mark; errors are reported there, 1-based as
 * editors count. A position inside a scalar's value (a trace program's
 * error) is mapped back through the scalar's quoting and indentation by
 * walking its source text.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "ydoc.h"

#define YDOC_MAX_SIZE	(4 << 20)

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t cap = 4096, n = 0;
	char *buf = NULL, *p;

	if (!f)
		return NULL;
	for (;;) {
		p = realloc(buf, cap);
		if (!p)
			goto fail;
		buf = p;
		n += fread(buf + n, 1, cap - n - 1, f);
		if (ferror(f))
			goto fail;
		if (n + 1 < cap)
			break;
		if (cap >= YDOC_MAX_SIZE) {
			errno = EFBIG;
			goto fail;
		}
		cap *= 2;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

static int verror(struct ydoc *d, int line, int col, const char *fmt,
		  va_list ap)
{
	int n = snprintf(d->err, d->errlen, "%s:%d:%d: ", d->path, line, col);

	if (n >= 0 && (size_t)n < d->errlen)
		vsnprintf(d->err + n, d->errlen - n, fmt, ap);
	return EXIT_USAGE;
}

int ydoc_error_at(struct ydoc *d, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(d, line, col, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

int ydoc_error(struct ydoc *d, yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(d, n->start_mark.line + 1, n->start_mark.column + 1, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

int ydoc_load(struct ydoc *d, const char *path, char *err, size_t errlen)
{
	yaml_parser_t parser;
	int ret = 0;

	memset(d, 0, sizeof(*d));
	d->path = path;
	d->err = err;
	d->errlen = errlen;
	d->text = read_all(path, &d->len);
	if (!d->text) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 strerror(errno));
		return EXIT_USAGE;
	}
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", path);
		return EXIT_RUNTIME;
	}
	yaml_parser_set_input_string(&parser, (unsigned char *)d->text,
				     d->len);
	if (!yaml_parser_load(&parser, &d->doc)) {
		yaml_mark_t m = parser.problem_mark;

		ydoc_error_at(d, m.line + 1, m.column + 1, "%s%s%s",
			      parser.problem ? parser.problem : "invalid YAML",
			      parser.context ? " " : "",
			      parser.context ? parser.context : "");
		ret = EXIT_USAGE;
	} else {
		d->loaded = true;
	}
	yaml_parser_delete(&parser);
	return ret;
}

void ydoc_free(struct ydoc *d)
{
	if (d->loaded)
		yaml_document_delete(&d->doc);
	free(d->text);
	d->loaded = false;
	d->text = NULL;
}

yaml_node_t *ydoc_root(struct ydoc *d)
{
	yaml_node_t *n = yaml_document_get_root_node(&d->doc);

	/* "", "~" and "null" alone: an empty file */
	if (n && n->type == YAML_SCALAR_NODE &&
	    n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (!n->data.scalar.length ||
	     !strcmp((char *)n->data.scalar.value, "~") ||
	     !strcmp((char *)n->data.scalar.value, "null")))
		return NULL;
	return n;
}

yaml_node_t *ydoc_node(struct ydoc *d, int id)
{
	return yaml_document_get_node(&d->doc, id);
}

const char *ydoc_string(struct ydoc *d, yaml_node_t *n, const char *what,
			int *err)
{
	if (n->type != YAML_SCALAR_NODE) {
		*err = ydoc_error(d, n, "%s must be a string", what);
		return NULL;
	}
	if (strlen((char *)n->data.scalar.value) != n->data.scalar.length) {
		*err = ydoc_error(d, n, "%s contains a NUL character", what);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

int ydoc_mapping(struct ydoc *d, yaml_node_t *m, const char *what,
		 struct ydoc_key *keys)
{
	yaml_node_pair_t *pair;
	struct ydoc_key *k;

	for (k = keys; k->name; k++)
		*k->node = NULL;
	if (m->type != YAML_MAPPING_NODE)
		return ydoc_error(d, m, "%s must be a mapping (key: value)",
				  what);
	for (pair = m->data.mapping.pairs.start;
	     pair < m->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = ydoc_node(d, pair->key);
		const char *name;
		int err = 0;

		name = ydoc_string(d, key, "a key", &err);
		if (!name)
			return err;
		for (k = keys; k->name && strcmp(k->name, name); k++)
			;
		if (!k->name) {
			char known[256];
			size_t n = 0;

			known[0] = '\0';
			for (k = keys; k->name && n < sizeof(known); k++)
				n += snprintf(known + n, sizeof(known) - n,
					      "%s%s", n ? ", " : "", k->name);
			return ydoc_error(d, key,
					  "unknown key '%s' in %s (known: %s)",
					  name, what, known);
		}
		if (*k->node)
			return ydoc_error(d, key, "key '%s' is given twice",
					  name);
		*k->node = ydoc_node(d, pair->value);
	}
	for (k = keys; k->name; k++)
		if (k->required && !*k->node)
			return ydoc_error(d, m, "%s has no '%s'", what,
					  k->name);
	return 0;
}

int ydoc_load_mapping(struct ydoc *d, const char *path, const char *what,
		      struct ydoc_key *keys, char *err, size_t errlen)
{
	yaml_node_t *root;
	int ret;

	for (struct ydoc_key *k = keys; k->name; k++)
		*k->node = NULL;
	ret = ydoc_load(d, path, err, errlen);
	if (ret)
		return ret;
	root = ydoc_root(d);
	return root ? ydoc_mapping(d, root, what, keys) : 0;
}

/* A walk through a scalar's source text, counting lines and columns. */
struct walk {
	const char *s;
	size_t end;
	size_t i;
	int line, col;		/* 0-based, as libyaml's marks */
};

/* Columns count characters, as libyaml's marks do: not UTF-8 tails. */
static void step(struct walk *w)
{
	if (w->i >= w->end)
		return;
	if (w->s[w->i] == '\n') {
		w->line++;
		w->col = 0;
	} else if ((w->s[w->i] & 0xc0) != 0x80) {
		w->col++;
	}
	w->i++;
}

/*
 * The byte offset of a mark: its index counts characters, so the line
 * and column are walked instead.
 */
static size_t mark_offset(const struct ydoc *d, yaml_mark_t m)
{
	size_t i = 0, col = 0;

	for (size_t line = 0; line < m.line && i < d->len; i++)
		if (d->text[i] == '\n')
			line++;
	for (; i < d->len && d->text[i] != '\n'; i++) {
		if ((d->text[i] & 0xc0) == 0x80)
			continue;
		if (col++ == m.column)
			break;
	}
	return i;
}

/* Skips up to max (or all, if max < 0) blanks at the start of a line. */
static void skip_indent(struct walk *w, int max)
{
	for (int k = 0; (max < 0 || k < max) && w->i < w->end &&
	     (w->s[w->i] == ' ' || (max < 0 && w->s[w->i] == '\t')); k++)
		step(w);
}

/* Bytes of UTF-8 for code point cp, as libyaml writes an escape. */
static int utf8_len(unsigned long cp)
{
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* Raw bytes and value bytes of the double-quoted escape at w->i. */
static void dq_escape(const struct walk *w, int *raw, int *cooked)
{
	char c = w->i + 1 < w->end ? w->s[w->i + 1] : 0;
	int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
	char hex[9] = "";

	*raw = 2 + digits;
	*cooked = 1;
	if (c == '\n') {
		*cooked = 0;
	} else if (digits && w->i + 2 + digits <= w->end) {
		memcpy(hex, w->s + w->i + 2, digits);
		*cooked = utf8_len(strtoul(hex, NULL, 16));
	}
}

void ydoc_scalar_pos(struct ydoc *d, yaml_node_t *n, size_t off, int *line,
		     int *col)
{
	yaml_scalar_style_t style = n->data.scalar.style;
	bool block = style == YAML_LITERAL_SCALAR_STYLE ||
		     style == YAML_FOLDED_SCALAR_STYLE;
	struct walk w = {
		.s = d->text,
		.end = mark_offset(d, n->end_mark),
		.i = mark_offset(d, n->start_mark),
		.line = n->start_mark.line,
		.col = n->start_mark.column,
	};
	int indent = -1;
	size_t done = 0;

	if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
	    style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) {
		step(&w);
	} else if (block) {
		/* past the header line; the first content line sets the
		 * indentation of all */
		while (w.i < w.end && w.s[w.i] != '\n')
			step(&w);
		step(&w);
		for (size_t k = w.i; k < w.end; k++) {
			size_t spaces = strspn(w.s + k, " ");

			if (w.s[k + spaces] != '\n') {
				indent = spaces;
				break;
			}
			k += spaces;
		}
		skip_indent(&w, indent);
	}
	while (done < off && w.i < w.end) {
		char c = w.s[w.i];
		int raw = 1, cooked = 1;

		if (c == '\n') {
			step(&w);
			skip_indent(&w, block ? indent : -1);
			done++;
			continue;
		}
		if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE && c == '\'')
			raw = 2;
		else if (style == YAML_DOUBLE_QUOTED_SCALAR_STYLE && c == '\\')
			dq_escape(&w, &raw, &cooked);
		if (done + cooked > off)
			break;
		for (int k = 0; k < raw; k++)
			step(&w);
		done += cooked;
	}
	*line = w.line + 1;
	*col = w.col + 1;
}

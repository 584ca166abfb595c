/*
 * A recursive-descent JSON reader into a tree, for runtime state files.
 * Those are written by programs, not people, so this reads strict JSON
 * (RFC 8259) and stops at the first error; nesting is bounded so a
 * hostile file cannot exhaust the stack.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "json.h"
#include "out.h"

#define JSON_MAX_DEPTH	64

struct json_reader {
	const char *p;
	const char *end;
	int depth;
};

static void skip_space(struct json_reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
				 *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int hex4(const char *s, unsigned int *out)
{
	unsigned int v = 0;

	for (int i = 0; i < 4; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return -1;
		v = v * 16 + (isdigit((unsigned char)s[i]) ? s[i] - '0' :
			      (tolower((unsigned char)s[i]) - 'a' + 10));
	}
	*out = v;
	return 0;
}

static void add_utf8(struct out_buf *b, unsigned int cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	out_buf_add(b, u, n);
}

/* A \u escape at r->p (after the backslash and 'u'), a surrogate pair. */
static int read_unicode(struct json_reader *r, struct out_buf *b)
{
	unsigned int cp, lo;

	if (r->end - r->p < 4 || hex4(r->p, &cp))
		return -1;
	r->p += 4;
	if (cp >= 0xd800 && cp < 0xdc00 && r->end - r->p >= 6 &&
	    r->p[0] == '\\' && r->p[1] == 'u' && !hex4(r->p + 2, &lo) &&
	    lo >= 0xdc00 && lo < 0xe000) {
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		r->p += 6;
	}
	add_utf8(b, cp);
	return 0;
}

/* A string at r->p (its opening quote), decoded into a new C string. */
static char *read_string(struct json_reader *r)
{
	static const char plain[] = "\"\\/bfnrt";
	static const char means[] = "\"\\/\b\f\n\r\t";
	struct out_buf b = { 0 };
	const char *run, *e;

	r->p++;
	for (;;) {
		run = r->p;
		while (r->p < r->end && *r->p != '"' && *r->p != '\\' &&
		       (unsigned char)*r->p >= 0x20)
			r->p++;
		out_buf_add(&b, run, (size_t)(r->p - run));
		if (r->p >= r->end || (unsigned char)*r->p < 0x20)
			goto fail;
		if (*r->p == '"')
			break;
		if (++r->p >= r->end)
			goto fail;
		if (*r->p == 'u') {
			r->p++;
			if (read_unicode(r, &b))
				goto fail;
			continue;
		}
		e = strchr(plain, *r->p);
		if (!e || !*r->p)
			goto fail;
		out_buf_add(&b, &means[e - plain], 1);
		r->p++;
	}
	r->p++;
	out_buf_add(&b, "", 1);
	return b.data;
fail:
	free(b.data);
	return NULL;
}

static bool read_word(struct json_reader *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
		return false;
	r->p += n;
	return true;
}

static struct json *read_value(struct json_reader *r);

/* The members of an array or object, r->p past its opening bracket. */
static int read_members(struct json_reader *r, struct json *v, char close)
{
	struct json **tail = &v->child, *m;
	char *key = NULL;

	skip_space(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return 0;
	}
	for (;;) {
		skip_space(r);
		if (close == '}') {
			if (r->p >= r->end || *r->p != '"')
				return -1;
			key = read_string(r);
			skip_space(r);
			if (!key || r->p >= r->end || *r->p != ':') {
				free(key);
				return -1;
			}
			r->p++;
		}
		m = read_value(r);
		if (!m) {
			free(key);
			return -1;
		}
		m->key = key;
		*tail = m;
		tail = &m->next;
		skip_space(r);
		if (r->p >= r->end)
			return -1;
		if (*r->p++ == close)
			return 0;
		if (r->p[-1] != ',')
			return -1;
	}
}

static struct json *read_value(struct json_reader *r)
{
	struct json *v = calloc(1, sizeof(*v));
	const char *start;

	if (!v)
		return NULL;
	skip_space(r);
	if (r->p >= r->end || ++r->depth > JSON_MAX_DEPTH)
		goto fail;
	switch (*r->p) {
	case '{':
	case '[':
		v->type = *r->p == '{' ? JSON_OBJECT : JSON_ARRAY;
		r->p++;
		if (read_members(r, v, v->type == JSON_OBJECT ? '}' : ']'))
			goto fail;
		break;
	case '"':
		v->type = JSON_STRING;
		v->str = read_string(r);
		if (!v->str)
			goto fail;
		break;
	case 't':
	case 'f':
		v->type = JSON_BOOL;
		v->str = strdup(*r->p == 't' ? "true" : "false");
		if (!read_word(r, v->str))
			goto fail;
		break;
	case 'n':
		if (!read_word(r, "null"))
			goto fail;
		break;
	default:
		start = r->p;
		while (r->p < r->end && strchr("0123456789+-.eE", *r->p))
			r->p++;
		if (r->p == start)
			goto fail;
		v->type = JSON_NUMBER;
		v->str = strndup(start, (size_t)(r->p - start));
		break;
	}
	r->depth--;
	return v;
fail:
	json_free(v);
	return NULL;
}

struct json *json_parse(const char *text, size_t len)
{
	struct json_reader r = { .p = text, .end = text + len };
	struct json *v = read_value(&r);

	skip_space(&r);
	if (v && r.p != r.end) {
		json_free(v);
		return NULL;
	}
	return v;
}

struct json *json_parse_file(const char *path, size_t max)
{
	struct json *v = NULL;
	char *text = NULL;
	struct stat st;
	size_t n;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return NULL;
	/* a file past max bytes is not read at all: it is not state */
	if (fstat(fileno(f), &st) || st.st_size <= 0 ||
	    (size_t)st.st_size > max)
		goto out;
	text = malloc((size_t)st.st_size);
	if (!text)
		goto out;
	n = fread(text, 1, (size_t)st.st_size, f);
	if (!ferror(f))
		v = json_parse(text, n);
out:
	free(text);
	fclose(f);
	return v;
}

void json_free(struct json *v)
{
	struct json *next;

	while (v) {
		next = v->next;
		json_free(v->child);
		free(v->key);
		free(v->str);
		free(v);
		v = next;
	}
}

const struct json *json_get(const struct json *v, const char *key)
{
	if (!v || v->type != JSON_OBJECT)
		return NULL;
	for (const struct json *m = v->child; m; m = m->next)
		if (!strcmp(m->key, key))
			return m;
	return NULL;
}

const char *json_get_str(const struct json *v, const char *key)
{
	const struct json *m = json_get(v, key);

	return m && m->type == JSON_STRING ? m->str : NULL;
}

const struct json *json_index(const struct json *v, size_t i)
{
	const struct json *m;

	if (!v || v->type != JSON_ARRAY)
		return NULL;
	for (m = v->child; m && i; m = m->next)
		i--;
	return m;
}

/*
 * Table and JSON rendering. Rows are assembled in memory and written with
 * one fwrite to a fully buffered stream, flushed once per drained batch,
 * so a burst of events costs few syscalls.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "out.h"

void out_buf_add(struct out_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			abort();
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void out_buf_printf(struct out_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		out_buf_add(b, tmp, n);
		return;
	}
	{
		char *big = malloc(n + 1);

		if (!big)
			abort();
		va_start(ap, fmt);
		vsnprintf(big, n + 1, fmt, ap);
		va_end(ap);
		out_buf_add(b, big, n);
		free(big);
	}
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Kernel strings are bytes, JSON strings are UTF-8: invalid bytes become
 * U+FFFD rather than producing a document parsers reject.
 */
void out_json_string(struct out_buf *b, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strnlen(str, max), i = 0, run;

	out_buf_add(b, "\"", 1);
	while (i < n) {
		unsigned char c = s[i];
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = c;
			out_buf_add(b, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			const char *named = c == '\n' ? "\\n" : c == '\t' ?
					    "\\t" : c == '\r' ? "\\r" : NULL;

			if (named) {
				out_buf_add(b, named, 2);
			} else {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				out_buf_add(b, esc, 6);
			}
			i++;
		} else if (c < 0x80) {
			for (run = i; run < n && s[run] >= 0x20 &&
			     s[run] < 0x7f && s[run] != '"' &&
			     s[run] != '\\'; run++)
				;
			out_buf_add(b, (const char *)s + i, run - i);
			i = run;
		} else {
			run = utf8_len(s + i, n - i);
			if (run) {
				out_buf_add(b, (const char *)s + i, run);
				i += run;
			} else {
				out_buf_add(b, "\\ufffd", 6);
				i++;
			}
		}
	}
	out_buf_add(b, "\"", 1);
}

void out_init(struct out *o, FILE *file, bool json, bool timestamp,
	      const struct out_col *cols)
{
	memset(o, 0, sizeof(*o));
	o->file = file;
	o->json = json;
	o->timestamp = timestamp;
	o->cols = cols;
}

void out_free(struct out *o)
{
	free(o->line.data);
	o->line.data = NULL;
	o->line.len = o->line.cap = 0;
}

static void cell(struct out *o, int col, const char *text)
{
	const struct out_col *c;
	size_t start;

	if (!o->cols || col < 0 || !o->cols[col].header)
		return;
	/* Columns arrive in order; a skipped one is left blank. */
	while (o->next_col <= col) {
		c = &o->cols[o->next_col];
		if (o->line.len)
			out_buf_add(&o->line, " ", 1);
		start = o->line.len;
		if (o->next_col < col) {
			out_buf_printf(&o->line, "%*s", abs(c->width), "");
		} else if (c->width < 0) {
			out_buf_printf(&o->line, "%-*s", -c->width, text);
		} else {
			out_buf_printf(&o->line, "%*s", c->width, text);
		}
		/* A newline in an argument must not break the table. */
		for (size_t i = start; i < o->line.len; i++)
			if ((unsigned char)o->line.data[i] < 0x20)
				o->line.data[i] = '?';
		o->next_col++;
	}
}

static void time_cell(struct out_buf *b, uint64_t ts_ns, const char *fmt)
{
	time_t secs = ts_ns / 1000000000ULL;
	struct tm tm;
	char text[32];

	localtime_r(&secs, &tm);
	strftime(text, sizeof(text), fmt, &tm);
	out_buf_add(b, text, strlen(text));
}

void out_header(struct out *o)
{
	if (o->json || !o->cols)
		return;
	o->line.len = 0;
	if (o->timestamp)
		out_buf_printf(&o->line, "%-8s", "TIME");
	o->next_col = 0;
	for (int i = 0; o->cols[i].header; i++)
		cell(o, i, o->cols[i].header);
	/* Trailing pad of the last column is noise. */
	while (o->line.len && o->line.data[o->line.len - 1] == ' ')
		o->line.data[--o->line.len] = '\0';
	out_buf_add(&o->line, "\n", 1);
	if (fwrite(o->line.data, 1, o->line.len, o->file) != o->line.len)
		o->failed = true;
	out_flush(o);
}

void out_json_key(struct out *o, const char *key)
{
	if (o->need_comma[o->depth])
		out_buf_add(&o->line, ",", 1);
	o->need_comma[o->depth] = true;
	if (key) {
		out_json_string(&o->line, key, strlen(key));
		out_buf_add(&o->line, ":", 1);
	}
}

static void open_nest(struct out *o, const char *key, const char *brace)
{
	out_json_key(o, key);
	out_buf_add(&o->line, brace, 1);
	if (o->depth < 7)
		o->depth++;
	o->need_comma[o->depth] = false;
}

static void close_nest(struct out *o, const char *brace)
{
	out_buf_add(&o->line, brace, 1);
	if (o->depth > 0)
		o->depth--;
}

void out_obj_begin(struct out *o, const char *key)
{
	open_nest(o, key, "{");
}

void out_obj_end(struct out *o)
{
	close_nest(o, "}");
}

void out_arr_begin(struct out *o, const char *key)
{
	open_nest(o, key, "[");
}

void out_arr_end(struct out *o)
{
	close_nest(o, "]");
}

/* A JSON object on its own line that is not an event (e.g. "lost"). */
void out_record_begin(struct out *o)
{
	o->line.len = 0;
	o->depth = 0;
	o->need_comma[0] = false;
	o->next_col = 0;
	out_obj_begin(o, NULL);
}

void out_record_end(struct out *o)
{
	out_obj_end(o);
	out_buf_add(&o->line, "\n", 1);
	if (fwrite(o->line.data, 1, o->line.len, o->file) != o->line.len)
		o->failed = true;
}

void out_begin(struct out *o, const char *type, uint64_t ts_ns)
{
	if (o->json) {
		out_record_begin(o);
		out_str(o, OUT_JSON_ONLY, "type", type);
		out_uint(o, OUT_JSON_ONLY, "ts_ns", ts_ns);
		return;
	}
	o->line.len = 0;
	o->next_col = 0;
	if (o->timestamp)
		time_cell(&o->line, ts_ns, "%H:%M:%S");
}

void out_end(struct out *o)
{
	if (o->json) {
		out_record_end(o);
		return;
	}
	while (o->line.len && o->line.data[o->line.len - 1] == ' ')
		o->line.data[--o->line.len] = '\0';
	out_buf_add(&o->line, "\n", 1);
	if (fwrite(o->line.data, 1, o->line.len, o->file) != o->line.len)
		o->failed = true;
}

int out_flush(struct out *o)
{
	if (fflush(o->file) || ferror(o->file))
		o->failed = true;
	return o->failed ? -1 : 0;
}

void out_strn(struct out *o, int col, const char *key, const char *val,
	      size_t max)
{
	if (o->json) {
		if (key) {
			out_json_key(o, key);
			out_json_string(&o->line, val, max);
		}
		return;
	}
	if (col >= 0) {
		char text[4096];

		snprintf(text, sizeof(text), "%.*s", (int)strnlen(val, max),
			 val);
		cell(o, col, text);
	}
}

void out_str(struct out *o, int col, const char *key, const char *val)
{
	if (!val) {
		if (o->json && key)
			out_null(o, key);
		else
			cell(o, col, "-");
		return;
	}
	out_strn(o, col, key, val, strlen(val));
}

void out_int(struct out *o, int col, const char *key, long long val)
{
	char text[32];

	snprintf(text, sizeof(text), "%lld", val);
	if (o->json) {
		if (key) {
			out_json_key(o, key);
			out_buf_add(&o->line, text, strlen(text));
		}
		return;
	}
	cell(o, col, text);
}

void out_uint(struct out *o, int col, const char *key,
	      unsigned long long val)
{
	char text[32];

	snprintf(text, sizeof(text), "%llu", val);
	if (o->json) {
		if (key) {
			out_json_key(o, key);
			out_buf_add(&o->line, text, strlen(text));
		}
		return;
	}
	cell(o, col, text);
}

void out_double(struct out *o, int col, const char *key, double val,
		int precision)
{
	char text[64];

	if (o->json) {
		if (key) {
			out_json_key(o, key);
			/* Full precision for machines; the table rounds. */
			snprintf(text, sizeof(text), "%.9g", val);
			out_buf_add(&o->line, text, strlen(text));
		}
		return;
	}
	snprintf(text, sizeof(text), "%.*f", precision, val);
	cell(o, col, text);
}

void out_bool(struct out *o, const char *key, bool val)
{
	if (!o->json || !key)
		return;
	out_json_key(o, key);
	out_buf_add(&o->line, val ? "true" : "false", val ? 4 : 5);
}

void out_null(struct out *o, const char *key)
{
	if (!o->json || !key)
		return;
	out_json_key(o, key);
	out_buf_add(&o->line, "null", 4);
}

/*
 * A list of NUL-separated strings (e.g. argv): a JSON array, or in the
 * table one space-separated cell ending in "..." when truncated.
 */
void out_strv(struct out *o, int col, const char *key, const char *buf,
	      size_t size, bool truncated)
{
	size_t i = 0, n;

	if (o->json) {
		if (!key)
			return;
		out_arr_begin(o, key);
		while (i < size) {
			n = strnlen(buf + i, size - i);
			out_json_key(o, NULL);
			out_json_string(&o->line, buf + i, n);
			i += n + 1;
		}
		out_arr_end(o);
		return;
	}
	if (col < 0)
		return;
	{
		struct out_buf text = { 0 };

		while (i < size) {
			n = strnlen(buf + i, size - i);
			if (text.len)
				out_buf_add(&text, " ", 1);
			out_buf_add(&text, buf + i, n);
			i += n + 1;
		}
		if (truncated)
			out_buf_add(&text, text.len ? " ..." : "...", text.len ? 4 : 3);
		cell(o, col, text.data ? text.data : "");
		free(text.data);
	}
}

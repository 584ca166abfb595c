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

/* Room for n more bytes and the NUL in b. */
static void buf_room(struct out_buf *b, size_t n)
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
}

void out_buf_add(struct out_buf *b, const char *s, size_t n)
{
	buf_room(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void buf_vprintf(struct out_buf *b, const char *fmt, va_list ap)
{
	char tmp[256], *big;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	if (n >= 0 && (size_t)n < sizeof(tmp)) {
		out_buf_add(b, tmp, n);
	} else if (n >= 0) {
		big = malloc(n + 1);
		if (!big)
			abort();
		vsnprintf(big, n + 1, fmt, again);
		out_buf_add(b, big, n);
		free(big);
	}
	va_end(again);
}

void out_buf_printf(struct out_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

/*
 * Length of a valid UTF-8 sequence at s (at most n bytes), 0 if invalid;
 * its code point in *cp.
 */
size_t out_utf8_decode(const unsigned char *s, size_t n, unsigned int *cp)
{
	size_t len;
	unsigned int c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Whether the n bytes at s are valid UTF-8, i.e. JSON can carry them. */
static bool utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned int cp;
	size_t i = 0, len;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		len = out_utf8_decode(s + i, n - i, &cp);
		if (!len)
			return false;
		i += len;
	}
	return true;
}

/*
 * Kernel strings are bytes, JSON strings are UTF-8: invalid bytes become
 * U+FFFD rather than producing a document parsers reject. The writer adds
 * the exact bytes beside such a string (json_raw()).
 */
void out_json_string(struct out_buf *b, const char *str, size_t max)
{
	out_json_bytes(b, str, strnlen(str, max));
}

void out_json_bytes(struct out_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run;
	unsigned int cp;

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
			run = out_utf8_decode(s + i, n - i, &cp);
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

/* RFC 4648 base64 with padding, as a JSON string. */
void out_json_base64(struct out_buf *b, const void *data, size_t n)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789+/";
	const unsigned char *s = data;
	char quad[4];
	uint32_t v;

	out_buf_add(b, "\"", 1);
	for (size_t i = 0; i < n; i += 3) {
		v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		quad[0] = digits[v >> 18];
		quad[1] = digits[(v >> 12) & 0x3f];
		quad[2] = i + 1 < n ? digits[(v >> 6) & 0x3f] : '=';
		quad[3] = i + 2 < n ? digits[v & 0x3f] : '=';
		out_buf_add(b, quad, 4);
	}
	out_buf_add(b, "\"", 1);
}

/*
 * Characters that are valid UTF-8 but act on a terminal rather than show:
 * C1 controls (some terminals obey U+009B as CSI) and the bidirectional
 * formatting marks, which can make text appear in another order.
 */
static bool table_hidden(unsigned int cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c ||
	       cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * A string as a table cell shows it: printable ASCII and valid UTF-8 as
 * they are, every other byte as \xNN and a backslash as \\, so that no
 * byte can drive the terminal, the bytes can be recovered, and a single
 * backslash followed by '[' only ever starts a marker such as \[truncated].
 */
void out_table_escape(struct out_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run, len;
	unsigned int cp;

	out_buf_add(b, "", 0);
	while (i < n) {
		for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x7f &&
		     s[run] != '\\'; run++)
			;
		out_buf_add(b, str + i, run - i);
		i = run;
		if (i >= n)
			break;
		if (s[i] == '\\') {
			out_buf_add(b, "\\\\", 2);
			i++;
			continue;
		}
		len = s[i] < 0x80 ? 0 : out_utf8_decode(s + i, n - i, &cp);
		if (len && !table_hidden(cp)) {
			out_buf_add(b, str + i, len);
			i += len;
			continue;
		}
		/* A hidden character is escaped whole, a bad byte alone. */
		for (size_t end = i + (len ? len : 1); i < end; i++)
			out_buf_printf(b, "\\x%02x", s[i]);
	}
}

/* Table markers: never produced by out_table_escape() from data. */
static void table_marks(struct out_buf *b, unsigned int state,
			const char *sep)
{
	if (state & USTR_TRUNCATED) {
		out_buf_add(b, sep, strlen(sep));
		out_buf_add(b, OUT_MARK_TRUNCATED, strlen(OUT_MARK_TRUNCATED));
		sep = " ";
	}
	if (state & USTR_UNREAD) {
		out_buf_add(b, sep, strlen(sep));
		out_buf_add(b, OUT_MARK_UNREAD, strlen(OUT_MARK_UNREAD));
	}
}

void out_init(struct out *o, FILE *file, bool json, bool timestamp,
	      const struct out_col *cols)
{
	memset(o, 0, sizeof(*o));
	o->file = file;
	o->json = json;
	o->timestamp = timestamp;
	o->cols = cols;
	o->hms_secs = -1;
}

void out_free(struct out *o)
{
	free(o->line.data);
	free(o->cell.data);
	memset(&o->line, 0, sizeof(o->line));
	memset(&o->cell, 0, sizeof(o->cell));
}

static void buf_spaces(struct out_buf *b, size_t n)
{
	buf_room(b, n);
	memset(b->data + b->len, ' ', n);
	b->len += n;
	b->data[b->len] = '\0';
}

/*
 * Decimal digits of v into buf (room for 21 bytes), NUL-terminated;
 * returns their count. snprintf() was a third of the http reader's time.
 */
static size_t fmt_ull(char *buf, unsigned long long v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

static size_t fmt_ll(char *buf, long long v)
{
	if (v >= 0)
		return fmt_ull(buf, v);
	buf[0] = '-';
	return 1 + fmt_ull(buf + 1, -(unsigned long long)v);
}

/*
 * Cells are padded to a width in characters, not bytes, as BCC's Python
 * formats them: a command named in UTF-8 keeps the columns after it
 * aligned. Escaped text is valid UTF-8, so counting the bytes that do not
 * continue a sequence counts the characters.
 */
static void padded(struct out *o, int width, const char *text)
{
	size_t len = strlen(text), chars = 0, i;
	size_t want = abs(width);

	for (i = 0; i < len; i++)
		chars += ((unsigned char)text[i] & 0xc0) != 0x80;
	if (width > 0 && chars < want)
		buf_spaces(&o->line, want - chars);
	out_buf_add(&o->line, text, len);
	if (width < 0 && chars < want)
		buf_spaces(&o->line, want - chars);
}

/* The lead column's text, escaped, before any tool column. */
static void lead_cell(struct out *o, const char *text)
{
	if (o->line.len)
		out_buf_add(&o->line, " ", 1);
	padded(o, -abs(o->lead.width), text);
}

/* Place a cell's text, already safe to show (out_table_escape()), at col. */
static void cell(struct out *o, int col, const char *text)
{
	const struct out_col *c;

	if (!o->cols || col < 0 || !o->cols[col].header)
		return;
	/* Columns arrive in order; a skipped one is left blank. */
	while (o->next_col <= col) {
		c = &o->cols[o->next_col];
		if (o->line.len)
			out_buf_add(&o->line, " ", 1);
		padded(o, c->width, o->next_col < col ? "" : text);
		o->next_col++;
	}
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t out_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

uint64_t out_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t out_boot_to_real_ns(void)
{
	return (int64_t)(out_now_ns() - clock_ns(CLOCK_BOOTTIME));
}

int64_t out_pid_cpu_ns(int pid)
{
	struct timespec ts;
	clockid_t clock;

	/* The process may be gone between the two calls. */
	if (pid <= 0 || clock_getcpuclockid(pid, &clock) ||
	    clock_gettime(clock, &ts))
		return -1;
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

const char *out_strftime(char *buf, size_t size, const char *fmt,
			 uint64_t ts_ns)
{
	time_t secs = ts_ns / 1000000000ULL;
	struct tm tm;

	if (!localtime_r(&secs, &tm) || !strftime(buf, size, fmt, &tm))
		buf[0] = '\0';
	return buf;
}

/* HH:MM:SS of ts_ns, converted once per second. */
static const char *hms(struct out *o, uint64_t ts_ns)
{
	long long secs = ts_ns / 1000000000ULL;

	/* hms empty: a struct out set up without out_init() */
	if (secs != o->hms_secs || !o->hms[0]) {
		out_strftime(o->hms, sizeof(o->hms), OUT_HMS, ts_ns);
		o->hms_secs = secs;
	}
	return o->hms;
}

void out_time(struct out *o, int col, uint64_t ts_ns)
{
	if (!o->json)
		cell(o, col, hms(o, ts_ns));
}

/* The line built in o->line, to the stream. */
static void line_write(struct out *o)
{
	if (fwrite(o->line.data, 1, o->line.len, o->file) != o->line.len)
		o->failed = true;
}

/* Whether rows get a TIME cell first. */
static bool row_time(const struct out *o)
{
	return o->timestamp && !o->time_lines;
}

void out_header(struct out *o)
{
	if (o->json || !o->cols)
		return;
	o->line.len = 0;
	if (row_time(o))
		out_buf_printf(&o->line, "%-8s", "TIME");
	if (o->lead.header)
		lead_cell(o, o->lead.header);
	o->next_col = 0;
	for (int i = 0; o->cols[i].header; i++)
		cell(o, i, o->cols[i].header);
	/* Trailing pad of the last column is noise. */
	while (o->line.len && o->line.data[o->line.len - 1] == ' ')
		o->line.data[--o->line.len] = '\0';
	out_buf_add(&o->line, "\n", 1);
	line_write(o);
	out_flush(o);
}

void out_json_key(struct out *o, const char *key)
{
	struct out_buf *b = &o->line;
	size_t n, i;
	char *p;

	if (o->need_comma[o->depth])
		out_buf_add(b, ",", 1);
	o->need_comma[o->depth] = true;
	if (!key)
		return;
	/*
	 * Keys are nearly always plain identifiers: written in one go, they
	 * cost a third of what escaping them does, and an event has dozens.
	 */
	n = strlen(key);
	for (i = 0; i < n && key[i] >= 0x20 && key[i] < 0x7f &&
	     key[i] != '"' && key[i] != '\\'; i++)
		;
	if (i < n) {
		out_json_string(b, key, n);
		out_buf_add(b, ":", 1);
		return;
	}
	buf_room(b, n + 3);
	p = b->data + b->len;
	p[0] = '"';
	memcpy(p + 1, key, n);
	p[n + 1] = '"';
	p[n + 2] = ':';
	b->len += n + 3;
	b->data[b->len] = '\0';
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
	line_write(o);
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
	if (row_time(o)) {
		const char *text = hms(o, ts_ns);

		out_buf_add(&o->line, text, strlen(text));
	}
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
	line_write(o);
}

void out_line(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->json)
		return;
	o->line.len = 0;
	va_start(ap, fmt);
	buf_vprintf(&o->line, fmt, ap);
	va_end(ap);
	out_buf_add(&o->line, "\n", 1);
	line_write(o);
}

void out_text(struct out *o, const char *text)
{
	if (o->json)
		return;
	o->line.len = 0;
	out_buf_add(&o->line, text, strlen(text));
	line_write(o);
}

void out_time_line(struct out *o, uint64_t ts_ns)
{
	char text[16];

	o->time_lines = true;
	if (o->timestamp)
		out_line(o, "%s", out_strftime(text, sizeof(text), OUT_HMS,
					       ts_ns));
}

void out_interval(struct out *o, uint64_t ts_ns)
{
	out_line(o, "%s", "");
	out_time_line(o, ts_ns);
}

void out_caption(struct out *o, const char *key, const char *value)
{
	if (o->json)
		return;
	o->cell.len = 0;
	out_table_escape(&o->cell, value, strlen(value));
	out_line(o, "\n%s = %s", key, o->cell.data);
}

int out_flush(struct out *o)
{
	if (fflush(o->file) || ferror(o->file))
		o->failed = true;
	return o->failed ? -1 : 0;
}

/*
 * The key of a field about another field, KEY_SUFFIX (cut to fit buf).
 * Built by hand: snprintf() here cost as much as the rest of an event.
 */
static const char *json_side_key(char *buf, size_t size, const char *key,
				 const char *suffix)
{
	size_t k = strlen(key), s = strlen(suffix);

	if (k > size - 2)
		k = size - 2;
	if (s > size - 2 - k)
		s = size - 2 - k;
	memcpy(buf, key, k);
	buf[k] = '_';
	memcpy(buf + k + 1, suffix, s);
	buf[k + 1 + s] = '\0';
	return buf;
}

/*
 * KEY_b64 beside a string that is not valid UTF-8: its exact bytes, which
 * the U+FFFD of the display form lost.
 */
static void json_raw(struct out *o, const char *key, const char *val,
		     size_t n)
{
	char side[64];

	out_json_key(o, json_side_key(side, sizeof(side), key, "b64"));
	out_json_base64(&o->line, val, n);
}

static void json_flags(struct out *o, const char *key, unsigned int state)
{
	char side[64];

	out_bool(o, json_side_key(side, sizeof(side), key, "truncated"),
		 state & USTR_TRUNCATED);
	out_bool(o, json_side_key(side, sizeof(side), key, "unread"),
		 state & USTR_UNREAD);
}

/* A table cell for a string of n bytes, with markers for state. */
static void string_cell(struct out *o, int col, const char *val, size_t n,
			unsigned int state)
{
	if (col < 0)
		return;
	o->cell.len = 0;
	out_table_escape(&o->cell, val, n);
	table_marks(&o->cell, state, "");
	cell(o, col, o->cell.data);
}

void out_strn(struct out *o, int col, const char *key, const char *val,
	      size_t max)
{
	size_t n = strnlen(val, max);

	if (o->json) {
		if (key) {
			out_json_key(o, key);
			out_json_string(&o->line, val, n);
			if (!utf8_valid(val, n))
				json_raw(o, key, val, n);
		}
		return;
	}
	string_cell(o, col, val, n, 0);
}

void out_ustr(struct out *o, int col, const char *key, const char *val,
	      size_t max, unsigned int state)
{
	if (o->json) {
		out_strn(o, col, key, val, max);
		if (key)
			json_flags(o, key, state);
		return;
	}
	string_cell(o, col, val, strnlen(val, max), state);
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

void out_lead(struct out *o, const char *val)
{
	if (o->json || !o->lead.header)
		return;
	o->cell.len = 0;
	if (val)
		out_table_escape(&o->cell, val, strlen(val));
	else
		out_buf_add(&o->cell, "-", 1);
	lead_cell(o, o->cell.data);
}

void out_int(struct out *o, int col, const char *key, long long val)
{
	char text[32];
	size_t n = fmt_ll(text, val);

	if (o->json) {
		if (key) {
			out_json_key(o, key);
			out_buf_add(&o->line, text, n);
		}
		return;
	}
	cell(o, col, text);
}

void out_uint(struct out *o, int col, const char *key,
	      unsigned long long val)
{
	char text[32];
	size_t n = fmt_ull(text, val);

	if (o->json) {
		if (key) {
			out_json_key(o, key);
			out_buf_add(&o->line, text, n);
		}
		return;
	}
	cell(o, col, text);
}

/*
 * A positive val with 3 decimals as "%.3f" prints it, by integer
 * arithmetic (the latency columns of busy tools). False where it could
 * print otherwise (other precisions, zero, negative or huge values, a
 * scaled value near a tie): the caller uses snprintf() there.
 */
static bool fmt_fixed3(char *buf, double val, int precision)
{
	double x = val * 1000, frac;
	unsigned long long v;
	size_t n;

	if (precision != 3 || !(x > 0 && x < 1e15))
		return false;
	frac = x - (double)(unsigned long long)x;
	if (frac > 0.499 && frac < 0.501)
		return false;
	v = (unsigned long long)(x + 0.5);
	n = fmt_ull(buf, v / 1000);
	buf[n++] = '.';
	buf[n++] = '0' + v / 100 % 10;
	buf[n++] = '0' + v / 10 % 10;
	buf[n++] = '0' + v % 10;
	buf[n] = '\0';
	return true;
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
	if (!fmt_fixed3(text, val, precision))
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
 * A list of NUL-separated strings (e.g. argv): a JSON array (and key_b64,
 * every element in base64, if one is not valid UTF-8), or in the table one
 * cell of the strings separated by spaces. State flags as out_ustr().
 */
void out_strv(struct out *o, int col, const char *key, const char *buf,
	      size_t size, unsigned int state)
{
	size_t i = 0, n;
	bool valid = true;

	if (o->json) {
		if (!key)
			return;
		out_arr_begin(o, key);
		for (i = 0; i < size; i += n + 1) {
			n = strnlen(buf + i, size - i);
			out_json_key(o, NULL);
			out_json_string(&o->line, buf + i, n);
			valid = valid && utf8_valid(buf + i, n);
		}
		out_arr_end(o);
		if (!valid) {
			char side[64];

			out_arr_begin(o, json_side_key(side, sizeof(side), key,
						       "b64"));
			for (i = 0; i < size; i += n + 1) {
				n = strnlen(buf + i, size - i);
				out_json_key(o, NULL);
				out_json_base64(&o->line, buf + i, n);
			}
			out_arr_end(o);
		}
		json_flags(o, key, state);
		return;
	}
	if (col < 0)
		return;
	o->cell.len = 0;
	out_buf_add(&o->cell, "", 0);
	for (i = 0; i < size; i += n + 1) {
		n = strnlen(buf + i, size - i);
		if (i)
			out_buf_add(&o->cell, " ", 1);
		out_table_escape(&o->cell, buf + i, n);
	}
	table_marks(&o->cell, state, o->cell.len ? " " : "");
	cell(o, col, o->cell.data);
}

void out_bytes(struct out *o, const char *key, const char *buf, size_t n,
	       unsigned int state)
{
	char side[64];

	if (!o->json)
		return;
	out_json_key(o, key);
	out_json_bytes(&o->line, buf, n);
	out_json_key(o, json_side_key(side, sizeof(side), key, "b64"));
	out_json_base64(&o->line, buf, n);
	json_flags(o, key, state);
}

void out_block(struct out *o, const char *buf, size_t n)
{
	size_t i = 0, end, len;

	if (o->json)
		return;
	while (i < n) {
		end = i;
		while (end < n && buf[end] != '\n')
			end++;
		len = end - i;
		/* A CRLF line ends like an LF one; a lone CR stays \x0d. */
		if (len && end < n && buf[end - 1] == '\r')
			len--;
		o->line.len = 0;
		out_table_escape(&o->line, buf + i, len);
		out_buf_add(&o->line, "\n", 1);
		line_write(o);
		i = end + 1;
	}
}

void out_hexdump(struct out *o, const char *buf, size_t n)
{
	const unsigned char *s = (const unsigned char *)buf;

	if (o->json)
		return;
	for (size_t off = 0; off < n; off += 16) {
		o->line.len = 0;
		out_buf_printf(&o->line, "%08zx ", off);
		for (size_t i = off; i < off + 16; i++) {
			if (i - off == 8)
				out_buf_add(&o->line, " ", 1);
			if (i < n)
				out_buf_printf(&o->line, " %02x", s[i]);
			else
				out_buf_add(&o->line, "   ", 3);
		}
		out_buf_add(&o->line, "  |", 3);
		for (size_t i = off; i < off + 16 && i < n; i++)
			out_buf_add(&o->line, s[i] >= 0x20 && s[i] < 0x7f ?
					      buf + i : ".", 1);
		out_buf_add(&o->line, "|\n", 2);
		line_write(o);
	}
}

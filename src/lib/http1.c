/*
 * HTTP/1 framing for loupe http (http1.h): a small state machine per
 * direction of a connection, fed the bytes of each traced call in order.
 * A head that arrives whole in one call is parsed where it lies; one
 * split over calls is gathered in a buffer allocated for that time only.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "http1.h"

void http1_init(struct http1_stream *st, http1_fn fn, void *ctx)
{
	memset(st, 0, sizeof(*st));
	st->fn = fn;
	st->ctx = ctx;
}

void http1_free(struct http1_stream *st)
{
	free(st->head);
	st->head = NULL;
	st->head_len = 0;
}

void http1_reset(struct http1_stream *st)
{
	http1_free(st);
	if (st->state != HTTP1_OPAQUE)
		st->state = HTTP1_IDLE;
	st->line_len = 0;
	st->left = 0;
}

/* Could p (n bytes, maybe cut short) start a request or status line? */
static bool start_plausible(const char *p, size_t n)
{
	static const char version[] = "HTTP/1.";
	size_t i, m = n < 7 ? n : 7;

	if (!memcmp(p, version, m))
		return true;
	for (i = 0; i < n && i < HTTP1_METHOD_LEN; i++) {
		if (p[i] == ' ')
			return i > 0;
		if (p[i] < 'A' || p[i] > 'Z')
			return false;
	}
	return i == n;
}

/*
 * Length of the head in p up to and with its blank line, 0 if not there;
 * the blank line starts at from or later. From one LF to the next with
 * memchr(): a byte-by-byte scan was a tenth of the reader's time.
 */
static size_t head_end(const char *p, size_t n, size_t from)
{
	const char *lf = p + from + 3, *end = p + n;

	while (lf < end && (lf = memchr(lf, '\n', end - lf))) {
		if (lf[-1] == '\r' && lf[-2] == '\n' && lf[-3] == '\r')
			return lf + 1 - p;
		lf++;
	}
	return 0;
}

static bool header_is(const char *name, size_t n, const char *want)
{
	return n == strlen(want) && !strncasecmp(name, want, n);
}

bool http1_request_line(const char *h, size_t l1, struct http1_msg *m)
{
	const char *sp1 = memchr(h, ' ', l1), *sp2;
	size_t n;

	for (sp2 = h + l1; sp2 > h && sp2[-1] != ' '; sp2--)
		;
	if (!sp1 || sp2 <= sp1 + 1 ||
	    (size_t)(sp1 - h) >= HTTP1_METHOD_LEN ||
	    h + l1 - sp2 != 8 || memcmp(sp2, "HTTP/1.", 7))
		return false;
	m->response = false;
	memcpy(m->method, h, sp1 - h);
	m->method[sp1 - h] = '\0';
	n = sp2 - 1 - (sp1 + 1);
	m->path_truncated = n >= HTTP1_PATH_LEN;
	if (n >= HTTP1_PATH_LEN)
		n = HTTP1_PATH_LEN - 1;
	memcpy(m->path, sp1 + 1, n);
	m->path[n] = '\0';
	return true;
}

void http1_resume_body(struct http1_stream *st, int status, uint64_t body,
		       uint64_t left)
{
	http1_reset(st);
	memset(&st->msg, 0, sizeof(st->msg));
	st->msg.response = true;
	st->msg.status = status;
	st->msg.body = body;
	st->state = HTTP1_BODY;
	st->left = left;
}

/* The first line and the framing headers; false if it is no HTTP/1 head. */
static bool parse_head(struct http1_msg *m, const char *h, size_t len,
		       bool *chunked, long long *clen)
{
	const char *eol = memchr(h, '\n', len), *p, *colon;
	size_t l1, n;

	if (!eol)
		return false;
	l1 = eol - h;
	if (l1 && h[l1 - 1] == '\r')
		l1--;
	*chunked = false;
	*clen = -1;
	if (l1 >= 12 && !memcmp(h, "HTTP/1.", 7) && h[8] == ' ') {
		if (!isdigit((unsigned char)h[9]) ||
		    !isdigit((unsigned char)h[10]) ||
		    !isdigit((unsigned char)h[11]))
			return false;
		m->response = true;
		m->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 +
			    (h[11] - '0');
	} else if (!http1_request_line(h, l1, m)) {
		return false;
	}
	for (p = eol + 1; p < h + len; p = eol + 1) {
		eol = memchr(p, '\n', h + len - p);
		if (!eol)
			break;
		n = eol - p;
		if (n && p[n - 1] == '\r')
			n--;
		colon = memchr(p, ':', n);
		if (!colon)
			continue;
		const char *v = colon + 1, *end = p + n;

		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		if (header_is(p, colon - p, "content-length")) {
			*clen = 0;
			for (; v < end && isdigit((unsigned char)*v); v++)
				*clen = *clen * 10 + (*v - '0');
		} else if (header_is(p, colon - p, "transfer-encoding")) {
			for (; v + 7 <= end; v++)
				if (!strncasecmp(v, "chunked", 7))
					*chunked = true;
		}
	}
	return true;
}

static void finish(struct http1_stream *st, uint64_t ts, bool complete)
{
	st->msg.end_ns = ts;
	st->msg.complete = complete;
	if (st->state != HTTP1_OPAQUE)
		st->state = HTTP1_IDLE;
	st->fn(st->ctx, st, HTTP1_MSG_END, &st->msg);
}

/* A head is parsed: tell the caller, then frame the body. */
static void after_head(struct http1_stream *st, const char *h, size_t len,
		       uint64_t ts)
{
	struct http1_msg *m = &st->msg;
	uint64_t start = m->start_ns;
	long long clen;
	bool chunked;

	memset(m, 0, sizeof(*m));
	m->start_ns = start;
	if (!parse_head(m, h, len, &chunked, &clen)) {
		st->state = HTTP1_IDLE;
		return;
	}
	st->fn(st->ctx, st, HTTP1_MSG_HEAD, m);
	if (m->response && m->status == 101) {
		st->state = HTTP1_OPAQUE;
		finish(st, ts, true);
		return;
	}
	if (m->no_body || (m->response && (m->status / 100 == 1 ||
					   m->status == 204 ||
					   m->status == 304))) {
		finish(st, ts, true);
		return;
	}
	if (chunked) {
		st->state = HTTP1_CHUNK_SIZE;
		st->line_len = 0;
	} else if (clen > 0) {
		st->state = HTTP1_BODY;
		st->left = clen;
	} else if (clen < 0 && m->response) {
		st->state = HTTP1_UNTIL_CLOSE;
	} else {
		finish(st, ts, true);
	}
}

/* Bytes of a line up to its LF; true when the line is whole. */
static bool take_line(struct http1_stream *st, const char *p, size_t n,
		      size_t *used)
{
	const char *lf = memchr(p, '\n', n);
	size_t take = lf ? (size_t)(lf - p) + 1 : n;
	size_t room = sizeof(st->line) - 1 - st->line_len;

	memcpy(st->line + st->line_len, p, take < room ? take : room);
	st->line_len += take < room ? take : room;
	st->line[st->line_len] = '\0';
	*used = take;
	return lf != NULL;
}

static size_t feed_idle(struct http1_stream *st, const char *p, size_t n,
			uint64_t ts)
{
	size_t end;

	if (*p == '\r' || *p == '\n')
		return 1;
	if (!start_plausible(p, n))
		return n;	/* not HTTP: the rest of the call is skipped */
	st->msg.start_ns = ts;
	end = head_end(p, n, 0);
	if (end) {
		after_head(st, p, end, ts);
		return end;
	}
	if (n > HTTP1_HEAD_MAX)
		return n;
	st->head = malloc(HTTP1_HEAD_MAX);
	if (!st->head)
		return n;
	memcpy(st->head, p, n);
	st->head_len = n;
	st->state = HTTP1_HEAD;
	return n;
}

static size_t feed_head(struct http1_stream *st, const char *p, size_t n,
			uint64_t ts)
{
	size_t room = HTTP1_HEAD_MAX - st->head_len;
	size_t take = n < room ? n : room, from, end, before = st->head_len;

	memcpy(st->head + st->head_len, p, take);
	st->head_len += take;
	from = before > 3 ? before - 3 : 0;
	end = head_end(st->head, st->head_len, from);
	if (!end) {
		if (st->head_len == HTTP1_HEAD_MAX)
			http1_reset(st);	/* too long: skipped */
		return take;
	}
	after_head(st, st->head, end, ts);
	free(st->head);
	st->head = NULL;
	st->head_len = 0;
	return end - before;
}

static size_t feed_chunk_size(struct http1_stream *st, const char *p,
			      size_t n, uint64_t ts)
{
	size_t used;
	char *e;
	unsigned long long size;

	if (!take_line(st, p, n, &used))
		return used;
	size = strtoull(st->line, &e, 16);
	if (e == st->line) {
		http1_reset(st);
		return used;
	}
	st->line_len = 0;
	if (size == 0) {
		st->state = HTTP1_TRAILER;
	} else {
		st->state = HTTP1_CHUNK_DATA;
		st->left = size;
	}
	(void)ts;
	return used;
}

static size_t feed_trailer(struct http1_stream *st, const char *p, size_t n,
			   uint64_t ts)
{
	size_t used;
	bool blank;

	if (!take_line(st, p, n, &used))
		return used;
	blank = !strcmp(st->line, "\r\n") || !strcmp(st->line, "\n");
	st->line_len = 0;
	if (blank)
		finish(st, ts, true);
	return used;
}

void http1_feed(struct http1_stream *st, const char *data, size_t n,
		uint64_t unseen, uint64_t ts)
{
	size_t i = 0, take;

	while (i < n) {
		const char *p = data + i;
		size_t rest = n - i;

		switch (st->state) {
		case HTTP1_IDLE:
			i += feed_idle(st, p, rest, ts);
			break;
		case HTTP1_HEAD:
			i += feed_head(st, p, rest, ts);
			break;
		case HTTP1_BODY:
		case HTTP1_CHUNK_DATA:
			take = rest < st->left ? rest : st->left;
			st->msg.body += take;
			st->left -= take;
			i += take;
			if (st->left)
				break;
			if (st->state == HTTP1_BODY) {
				finish(st, ts, true);
			} else {
				st->state = HTTP1_CHUNK_CRLF;
				st->line_len = 0;
			}
			break;
		case HTTP1_CHUNK_CRLF:
			if (*p == '\n')
				st->state = HTTP1_CHUNK_SIZE;
			i++;
			break;
		case HTTP1_CHUNK_SIZE:
			i += feed_chunk_size(st, p, rest, ts);
			break;
		case HTTP1_TRAILER:
			i += feed_trailer(st, p, rest, ts);
			break;
		case HTTP1_UNTIL_CLOSE:
		case HTTP1_CHUNK_LOST:
			st->msg.body += rest;
			i = n;
			/* Lost chunk framing: the last chunk ends a call. */
			if (st->state == HTTP1_CHUNK_LOST && !unseen &&
			    n >= 5 && !memcmp(data + n - 5, "0\r\n\r\n", 5))
				finish(st, ts, true);
			break;
		case HTTP1_OPAQUE:
			i = n;
			break;
		}
	}
	if (!unseen)
		return;
	switch (st->state) {
	case HTTP1_HEAD:
		http1_reset(st);
		break;
	case HTTP1_BODY:
		take = unseen < st->left ? unseen : st->left;
		st->msg.body += take;
		st->left -= take;
		if (!st->left)
			finish(st, ts, true);
		break;
	case HTTP1_CHUNK_SIZE:
	case HTTP1_CHUNK_DATA:
	case HTTP1_CHUNK_CRLF:
	case HTTP1_TRAILER:
		st->state = HTTP1_CHUNK_LOST;
		/* fall through */
	case HTTP1_UNTIL_CLOSE:
	case HTTP1_CHUNK_LOST:
		st->msg.body += unseen;
		break;
	default:
		break;
	}
}

void http1_end(struct http1_stream *st, uint64_t ts)
{
	switch (st->state) {
	case HTTP1_UNTIL_CLOSE:
		finish(st, ts, true);
		break;
	case HTTP1_BODY:
	case HTTP1_CHUNK_SIZE:
	case HTTP1_CHUNK_DATA:
	case HTTP1_CHUNK_CRLF:
	case HTTP1_TRAILER:
	case HTTP1_CHUNK_LOST:
		finish(st, ts, false);
		break;
	default:
		break;
	}
	http1_free(st);
	st->state = HTTP1_IDLE;
}

static bool all_of(const char *s, size_t n, int (*is)(int))
{
	for (size_t i = 0; i < n; i++)
		if (!is((unsigned char)s[i]))
			return false;
	return n > 0;
}

static bool is_uuid(const char *s, size_t n)
{
	static const size_t dash[] = { 8, 13, 18, 23 };

	if (n != 36)
		return false;
	for (size_t i = 0, d = 0; i < n; i++) {
		if (d < 4 && i == dash[d]) {
			if (s[i] != '-')
				return false;
			d++;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

char *http1_route(const char *path, char *out, size_t len)
{
	size_t o = 0, n;
	const char *seg = path, *end = path + strcspn(path, "?#");

	if (!len)
		return out;
	while (seg < end) {
		const char *slash = memchr(seg, '/', end - seg);
		const char *stop = slash ? slash : end;
		const char *piece = seg;

		n = stop - seg;
		if (all_of(seg, n, isdigit) ||
		    (n >= 8 && all_of(seg, n, isxdigit)) || is_uuid(seg, n)) {
			piece = ":id";
			n = 3;
		}
		if (o + n + 1 >= len)
			break;
		memcpy(out + o, piece, n);
		o += n;
		if (!slash)
			break;
		out[o++] = '/';
		seg = slash + 1;
	}
	out[o] = '\0';
	return out;
}

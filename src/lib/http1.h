/*
 * HTTP/1.0 and 1.1 framing of a byte stream seen in pieces (one traced
 * call at a time, some bytes of which may not have been copied): where
 * each request or response starts, its first line and its body length
 * (Content-Length, chunked, until close), with pipelined messages one
 * after another. Bytes that do not start a message are skipped without
 * losing the next one. Also the route template of a path (ids -> :id).
 */
#ifndef LOUPE_HTTP1_H
#define LOUPE_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_METHOD_LEN	16
#define HTTP1_PATH_LEN		256
/* A head longer than this is given up (the message is skipped). */
#define HTTP1_HEAD_MAX		16384

struct http1_msg {
	bool response;
	char method[HTTP1_METHOD_LEN];	/* requests */
	char path[HTTP1_PATH_LEN];	/* requests: the target as sent */
	bool path_truncated;
	int status;		/* responses */
	uint64_t body;		/* body bytes (chunked: decoded) */
	uint64_t start_ns;	/* the call that brought its first byte */
	uint64_t end_ns;	/* ... its last byte */
	bool complete;		/* false: the stream ended inside it */
	/* Set by the HEAD callback: a response that has no body (to HEAD). */
	bool no_body;
};

enum http1_state {
	HTTP1_IDLE,		/* between messages */
	HTTP1_HEAD,		/* inside a head, bytes kept in head */
	HTTP1_BODY,		/* left bytes of a sized body */
	HTTP1_CHUNK_SIZE,	/* a chunk-size line */
	HTTP1_CHUNK_DATA,	/* left bytes of a chunk */
	HTTP1_CHUNK_CRLF,	/* the CRLF after a chunk */
	HTTP1_TRAILER,		/* trailer lines after the last chunk */
	HTTP1_UNTIL_CLOSE,	/* a response body ended by the close */
	HTTP1_CHUNK_LOST,	/* chunked, bytes of it not seen */
	HTTP1_OPAQUE,		/* after 101 Switching Protocols */
};

enum http1_what {
	HTTP1_MSG_HEAD,		/* the head is parsed (all but the body) */
	HTTP1_MSG_END,		/* the message is over (complete or not) */
};

struct http1_stream;
typedef void (*http1_fn)(void *ctx, struct http1_stream *st,
			 enum http1_what what, struct http1_msg *m);

struct http1_stream {
	enum http1_state state;
	char *head;		/* HTTP1_HEAD_MAX bytes while in HTTP1_HEAD */
	size_t head_len;
	char line[40];		/* a chunk-size or trailer line so far */
	size_t line_len;
	uint64_t left;
	struct http1_msg msg;
	http1_fn fn;
	void *ctx;
};

void http1_init(struct http1_stream *st, http1_fn fn, void *ctx);
void http1_free(struct http1_stream *st);
/*
 * The bytes of one call: data (n bytes copied) then unseen bytes that
 * were moved but not copied, all at ts_ns.
 */
void http1_feed(struct http1_stream *st, const char *data, size_t n,
		uint64_t unseen, uint64_t ts_ns);
/* The stream ended (close): a body until close is complete, others not. */
void http1_end(struct http1_stream *st, uint64_t ts_ns);
/*
 * A request line (l1 bytes, no CRLF) into m's method and path; false if
 * it is none.
 */
bool http1_request_line(const char *line, size_t l1, struct http1_msg *m);
/*
 * Take up a response whose head was framed elsewhere (in the kernel):
 * body bytes of it seen, left bytes of it to come.
 */
void http1_resume_body(struct http1_stream *st, int status, uint64_t body,
		       uint64_t left);
/* Forget the message under way (bytes were lost); back to IDLE. */
void http1_reset(struct http1_stream *st);
/*
 * The route of a request target: the query dropped, each path segment
 * that is a number, a run of 8 or more hex digits or a UUID replaced by
 * ":id". Returns out.
 */
char *http1_route(const char *path, char *out, size_t len);

#endif

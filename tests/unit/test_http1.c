/* Unit tests of HTTP/1 framing (http1.c) and route templates. */
#include <stdlib.h>
#include <string.h>
#include "http1.h"
#include "unit.h"

#define SEEN_MAX 8

/* What the framing reported, message by message. */
struct seen {
	int n;
	struct http1_msg msgs[SEEN_MAX];
	int heads;
	bool head_request_pending;	/* answer with no body (HEAD) */
};

static void record(void *ctx, struct http1_stream *st, enum http1_what what,
		   struct http1_msg *m)
{
	struct seen *s = ctx;

	(void)st;
	if (what == HTTP1_MSG_HEAD) {
		s->heads++;
		m->no_body = m->response && s->head_request_pending;
		return;
	}
	if (s->n < SEEN_MAX)
		s->msgs[s->n++] = *m;
}

static void feed(struct http1_stream *st, const char *s, uint64_t ts)
{
	http1_feed(st, s, strlen(s), 0, ts);
}

static void test_pipelined_requests(void)
{
	struct http1_stream st;
	struct seen s = { 0 };

	http1_init(&st, record, &s);
	feed(&st, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
		  "POST /b?q=1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
		  "HEAD /c HTTP/1.0\r\n\r\n", 7);
	CHECK(s.n == 3);
	CHECK_STR(s.msgs[0].method, "GET");
	CHECK_STR(s.msgs[0].path, "/a");
	CHECK_STR(s.msgs[1].method, "POST");
	CHECK_STR(s.msgs[1].path, "/b?q=1");
	CHECK(s.msgs[1].body == 5 && s.msgs[1].complete);
	CHECK_STR(s.msgs[2].method, "HEAD");
	CHECK(s.msgs[2].start_ns == 7 && st.state == HTTP1_IDLE);
	http1_free(&st);
}

/* A head split over three reads, the body over two. */
static void test_split_head_and_body(void)
{
	struct http1_stream st;
	struct seen s = { 0 };

	http1_init(&st, record, &s);
	feed(&st, "PU", 1);
	feed(&st, "T /x HTTP/1.1\r\nContent-Le", 2);
	feed(&st, "ngth: 10\r\n\r\n0123", 3);
	CHECK(s.heads == 1 && s.n == 0);
	feed(&st, "456789", 4);
	CHECK(s.n == 1);
	CHECK_STR(s.msgs[0].method, "PUT");
	CHECK(s.msgs[0].body == 10 && s.msgs[0].start_ns == 1 &&
	      s.msgs[0].end_ns == 4);
	http1_free(&st);
}

static void test_chunked_split(void)
{
	struct http1_stream st;
	struct seen s = { 0 };

	http1_init(&st, record, &s);
	feed(&st, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "5\r\nhel", 1);
	feed(&st, "lo\r\n1", 2);
	feed(&st, "0;ext=1\r\n0123456789abcdef\r", 3);
	CHECK(s.n == 0);
	feed(&st, "\n0\r\nTrailer: y\r\n\r\nHTTP/1.1 404 Not Found\r\n"
		  "Content-Length: 3\r\n\r\nabc", 4);
	CHECK(s.n == 2);
	CHECK(s.msgs[0].status == 200 && s.msgs[0].body == 21 &&
	      s.msgs[0].end_ns == 4 && s.msgs[0].complete);
	CHECK(s.msgs[1].status == 404 && s.msgs[1].body == 3);
	http1_free(&st);
}

/* Bytes moved but not copied: counted in a sized body, a lost chunked one
 * ends at its last chunk. */
static void test_unseen_bytes(void)
{
	struct http1_stream st;
	struct seen s = { 0 };
	const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";

	http1_init(&st, record, &s);
	http1_feed(&st, h, strlen(h), 99000, 1);
	CHECK(s.n == 0 && st.left == 1000);
	http1_feed(&st, NULL, 0, 1000, 2);
	CHECK(s.n == 1 && s.msgs[0].body == 100000 && s.msgs[0].complete);
	h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4000\r\nab";
	http1_feed(&st, h, strlen(h), 20000, 3);
	CHECK(st.state == HTTP1_CHUNK_LOST);
	feed(&st, "zz\r\n0\r\n\r\n", 4);
	CHECK(s.n == 2 && s.msgs[1].complete && s.msgs[1].end_ns == 4);
	CHECK(st.state == HTTP1_IDLE);
	http1_free(&st);
}

/* Bytes that are no HTTP are skipped; the next message is found. */
static void test_not_http(void)
{
	struct http1_stream st;
	struct seen s = { 0 };

	http1_init(&st, record, &s);
	feed(&st, "\x16\x03\x01 binary GET / HTTP/1.1\r\n\r\n", 1);
	feed(&st, "hello world\r\n\r\n", 2);
	feed(&st, "get /lower HTTP/1.1\r\n\r\n", 3);
	CHECK(s.heads == 0 && s.n == 0);
	feed(&st, "DELETE /z/9 HTTP/1.1\r\n\r\n", 4);
	CHECK(s.n == 1);
	CHECK_STR(s.msgs[0].method, "DELETE");
	http1_free(&st);
}

/* A body until close, a HEAD answer, a close mid-body. */
static void test_close_and_no_body(void)
{
	struct http1_stream st;
	struct seen s = { 0 };

	http1_init(&st, record, &s);
	feed(&st, "HTTP/1.0 200 OK\r\n\r\nsome bytes", 1);
	CHECK(s.n == 0 && st.state == HTTP1_UNTIL_CLOSE);
	http1_end(&st, 2);
	CHECK(s.n == 1 && s.msgs[0].body == 10 && s.msgs[0].complete);
	s.head_request_pending = true;
	feed(&st, "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", 3);
	CHECK(s.n == 2 && s.msgs[1].body == 0 && st.state == HTTP1_IDLE);
	s.head_request_pending = false;
	feed(&st, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
	     4);
	CHECK(s.n == 4 && s.msgs[2].status == 100 && s.msgs[3].status == 204);
	feed(&st, "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nabc", 5);
	http1_end(&st, 6);
	CHECK(s.n == 5 && !s.msgs[4].complete && s.msgs[4].body == 3);
	http1_free(&st);
}

/* A request line alone, as the kernel hands it over. */
static void test_request_line(void)
{
	static const char line[] = "DELETE /a/b?c=1 HTTP/1.1";
	struct http1_msg m = { 0 };

	CHECK(http1_request_line(line, strlen(line), &m));
	CHECK_STR(m.method, "DELETE");
	CHECK_STR(m.path, "/a/b?c=1");
	CHECK(!m.response && !m.path_truncated);
	CHECK(!http1_request_line("GET /a HTTP/2", 13, &m));
	CHECK(!http1_request_line("GET HTTP/1.1", 12, &m));
	CHECK(!http1_request_line("VERYLONGMETHODNAME /a HTTP/1.1", 30, &m));
}

/* A response taken up inside its body, then the next one after it. */
static void test_resume_body(void)
{
	struct http1_stream st;
	struct seen s = { 0 };

	http1_init(&st, record, &s);
	http1_resume_body(&st, 200, 5, 5);
	feed(&st, "56789HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc",
	     9);
	CHECK(s.n == 2);
	CHECK(s.msgs[0].response && s.msgs[0].status == 200);
	CHECK(s.msgs[0].body == 10 && s.msgs[0].complete);
	CHECK(s.msgs[0].end_ns == 9);
	CHECK(s.msgs[1].status == 404 && s.msgs[1].body == 3);
	http1_free(&st);
}

static void test_route(void)
{
	char out[HTTP1_PATH_LEN];

	CHECK_STR(http1_route("/users/123/orders/9?x=1", out, sizeof(out)),
		  "/users/:id/orders/:id");
	CHECK_STR(http1_route("/obj/deadbeef00/a", out, sizeof(out)),
		  "/obj/:id/a");
	CHECK_STR(http1_route("/obj/cafe/add", out, sizeof(out)),
		  "/obj/cafe/add");
	CHECK_STR(http1_route("/u/123e4567-e89b-12d3-a456-426614174000",
			      out, sizeof(out)), "/u/:id");
	CHECK_STR(http1_route("/", out, sizeof(out)), "/");
	CHECK_STR(http1_route("/a/", out, sizeof(out)), "/a/");
	CHECK_STR(http1_route("*", out, sizeof(out)), "*");
}

const struct unit_test http1_tests[] = {
	{ "http1/pipelined", test_pipelined_requests },
	{ "http1/split", test_split_head_and_body },
	{ "http1/chunked", test_chunked_split },
	{ "http1/unseen", test_unseen_bytes },
	{ "http1/not_http", test_not_http },
	{ "http1/close", test_close_and_no_body },
	{ "http1/route", test_route },
	{ "http1/request_line", test_request_line },
	{ "http1/resume_body", test_resume_body },
	{ NULL },
};
UNIT_GROUP(http1_tests)

/*
 * The agent's HTTP server: libmicrohttpd with bounded connections, request
 * sizes and timeouts, GET/HEAD only, optional TLS and basic auth, gzip when
 * the client accepts it. What it serves is a table of routes.
 */
#ifndef LOUPE_AGENT_HTTP_H
#define LOUPE_AGENT_HTTP_H

#include <stdbool.h>
#include <sys/socket.h>
#include "out.h"

#define HTTP_DEFAULT_LISTEN	"127.0.0.1:9435"

struct webcfg;
struct http_request;

/* One path the server answers; tables end with a NULL path. */
struct http_route {
	const char *path;
	const char *content_type;
	/* Appends the body to b (also for HEAD, so the length is right). */
	void (*render)(void *ctx, struct out_buf *b);
	/* Optional: the seconds one request took, render and gzip. */
	void (*served)(void *ctx, double seconds);
	/*
	 * Instead of render, for an answer that takes a while: called once
	 * the request is complete, it answers through http_answer(), then
	 * or later from any thread (the connection waits, suspended, with
	 * no thread held).
	 */
	void (*start)(void *ctx, struct http_request *r);
};

struct http_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[80];		/* normalised: 1.2.3.4:P, [::1]:P */
};

/*
 * "IPV4:PORT" or "[IPV6]:PORT" (numeric, port 0..65535; 0 picks one):
 * 0, or -EINVAL with the reason in err.
 */
int http_parse_listen(const char *s, struct http_addr *a, char *err,
		      size_t errlen);
/* A bound, listening socket (before privileges are dropped): fd or -errno. */
int http_listen(struct http_addr *a);
/* The port a listening socket is bound to. */
int http_bound_port(int fd);
/* "gzip" is acceptable per this Accept-Encoding header value. */
bool http_accepts_gzip(const char *accept_encoding);

struct http_server;

/*
 * Serves routes on the listening socket fd (taken over) from a small
 * thread pool; web (may be NULL) adds TLS and basic auth. NULL after a
 * message on failure.
 */
struct http_server *http_start(int fd, const struct http_route *routes,
			       void *ctx, struct webcfg *web);
void http_stop(struct http_server *h);

/* A query argument of the request (only within its route's start). */
const char *http_arg(struct http_request *r, const char *name);
/*
 * The answer to a started request, exactly once: body (malloc'ed, taken
 * over) of len bytes; r is not to be used after.
 */
void http_answer(struct http_request *r, unsigned int status,
		 const char *type, char *body, size_t len);
/* The gzip form of n bytes, malloc'ed, or NULL. */
char *http_gzip(const char *data, size_t n, size_t *out_len);

#endif

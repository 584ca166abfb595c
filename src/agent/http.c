/*
 * The HTTP side of the agent on libmicrohttpd. The socket is bound by the
 * caller before privileges are dropped, so the server's threads start with
 * the reduced set. A request body is never read, so the only input a
 * client controls is its request line and headers, which MHD bounds
 * (HTTP_MEMORY_LIMIT). Connections are non-blocking in a
 * small thread pool, so a client that connects and sends nothing holds
 * one slot until HTTP_TIMEOUT and never a thread.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "mhd.h"
#include <zlib.h>
#include "http.h"
#include "log.h"
#include "webcfg.h"

#define HTTP_THREADS		2
#define HTTP_CONN_LIMIT		256
#define HTTP_PER_IP_LIMIT	128
#define HTTP_TIMEOUT		10	/* seconds of silence: closed */
#define HTTP_MEMORY_LIMIT	(32 * 1024)	/* request line + headers */
#define HTTP_REALM		"loupe agent"
#define HTTP_DRAIN_MS		2000	/* for answers still going out at stop */

/* A request's first call has been seen (its con_cls, any address). */
static int request_seen;

struct http_server {
	struct MHD_Daemon *daemon;
	const struct http_route *routes;
	void *ctx;
	struct webcfg *web;
	/* started requests MHD has not completed (sent or dropped) */
	unsigned int started;
};

/*
 * A request a route answers later (http_route.start). The lock orders
 * the answer against the suspension: an answer that comes before the
 * handler suspends is queued at once; one that comes after resumes.
 */
struct http_request {
	struct MHD_Connection *conn;
	pthread_mutex_t lock;
	bool suspended, answered;
	unsigned int status;
	const char *type;
	char *body;
	size_t len;
};

int http_parse_listen(const char *s, struct http_addr *a, char *err,
		      size_t errlen)
{
	char host[64];
	const char *port, *colon;
	unsigned long p;
	void *addr;
	char *end;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		colon = strchr(s, ']');
		if (!colon || colon[1] != ':')
			goto bad;
		n = colon - s - 1;
		port = colon + 2;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', colon - s))
			goto bad;
		n = colon - s;
		port = colon + 1;
	}
	if (!n || n >= sizeof(host) || !*port || *port == '-' || *port == '+')
		goto bad;
	memcpy(host, s, n);
	host[n] = '\0';
	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno || *end || p > 65535)
		goto bad;
	if (s[-1] == '[') {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;

		in6->sin6_port = htons(p);
		addr = &in6->sin6_addr;
		a->len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;

		in->sin_port = htons(p);
		addr = &in->sin_addr;
		a->len = sizeof(*in);
	}
	/* sin_family and sin6_family are the same field */
	a->ss.ss_family = s[-1] == '[' ? AF_INET6 : AF_INET;
	if (inet_pton(a->ss.ss_family, host, addr) != 1)
		goto bad;
	snprintf(a->text, sizeof(a->text), s[-1] == '[' ? "[%s]:%lu" : "%s:%lu",
		 host, p);
	return 0;
bad:
	snprintf(err, errlen,
		 "give a numeric IPV4:PORT or [IPV6]:PORT, e.g. %s or [::1]:9435",
		 HTTP_DEFAULT_LISTEN);
	return -EINVAL;
}

int http_listen(struct http_addr *a)
{
	int fd, one = 1, err;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A restarted agent must not wait for TIME_WAIT to pass. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a->ss, a->len) ||
	    listen(fd, 128)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int http_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -errno;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* The q value of one Accept-Encoding item's parameters (1 if absent). */
static double item_q(const char *params, size_t n)
{
	const char *q = params;

	while ((q = memchr(q, ';', params + n - q))) {
		q++;
		while (*q == ' ' || *q == '\t')
			q++;
		if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
			return strtod(q + 2, NULL);
	}
	return 1;
}

bool http_accepts_gzip(const char *ae)
{
	double gzip = -1, star = -1;

	while (ae && *ae) {
		size_t len = strcspn(ae, ","), tok;
		const char *t = ae;

		while (*t == ' ' || *t == '\t')
			t++;
		tok = strcspn(t, ",; \t");
		if ((tok == 4 && !strncasecmp(t, "gzip", 4)) ||
		    (tok == 6 && !strncasecmp(t, "x-gzip", 6)))
			gzip = item_q(t + tok, len - (t + tok - ae));
		else if (tok == 1 && *t == '*')
			star = item_q(t + tok, len - (t + tok - ae));
		ae += len + (ae[len] == ',');
	}
	return gzip > 0 || (gzip < 0 && star > 0);
}

char *http_gzip(const char *data, size_t n, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap;
	char *out;

	/* 16 + 15: a gzip wrapper around a 32 KiB window. */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + 15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	cap = deflateBound(&z, n);
	out = malloc(cap);
	if (!out)
		goto fail;
	z.next_in = (Bytef *)data;
	z.avail_in = n;
	z.next_out = (Bytef *)out;
	z.avail_out = cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		goto fail;
	*out_len = z.total_out;
	deflateEnd(&z);
	return out;
fail:
	free(out);
	deflateEnd(&z);
	return NULL;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     const char *type, char *body, size_t len,
			     bool gzipped, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = mhd.create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (gzipped)
		mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING,
					"gzip");
	if (allow)
		mhd.add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = mhd.queue_response(c, status, r);
	mhd.destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c,
				  unsigned int status, const char *text,
				  const char *allow)
{
	char *body = strdup(text);

	if (!body)
		return MHD_NO;
	return reply(c, status, "text/plain; charset=utf-8", body,
		     strlen(body), false, allow);
}

/* Whether the request carries credentials of a configured user. */
static bool authorized(struct http_server *h, struct MHD_Connection *c)
{
	char *pass = NULL, *user;
	bool ok;

	if (!h->web || !h->web->nusers)
		return true;
	user = mhd.basic_auth_get_username_password(c, &pass);
	ok = user && pass && webcfg_check_user(h->web, user, pass);
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		mhd.free(pass);
	}
	if (user)
		mhd.free(user);
	return ok;
}

static enum MHD_Result serve(struct http_server *h, struct MHD_Connection *c,
			     const struct http_route *route)
{
	double start = out_mono_ns() / 1e9;
	struct out_buf b = { 0 };
	const char *ae;
	bool gzipped = false;
	enum MHD_Result ret;

	route->render(h->ctx, &b);
	out_buf_add(&b, "", 0);
	ae = mhd.lookup_connection_value(c, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_ACCEPT_ENCODING);
	if (http_accepts_gzip(ae)) {
		size_t zlen;
		char *z = http_gzip(b.data, b.len, &zlen);

		if (z) {
			free(b.data);
			b.data = z;
			b.len = zlen;
			gzipped = true;
		}
	}
	ret = reply(c, MHD_HTTP_OK, route->content_type, b.data, b.len,
		    gzipped, NULL);
	if (route->served)
		route->served(h->ctx, out_mono_ns() / 1e9 - start);
	return ret;
}

const char *http_arg(struct http_request *r, const char *name)
{
	return mhd.lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

/*
 * Resumes after unlocking: once resumed, an MHD thread may queue the
 * answer, complete the request and free r (on_completed) at once, so r
 * is not touched after. A suspended request is freed only after its
 * resumption, so r->conn is still the connection to resume.
 */
void http_answer(struct http_request *r, unsigned int status,
		 const char *type, char *body, size_t len)
{
	struct MHD_Connection *resume = NULL;

	pthread_mutex_lock(&r->lock);
	r->status = status;
	r->type = type;
	r->body = body;
	r->len = len;
	r->answered = true;
	if (r->suspended)
		resume = r->conn;
	pthread_mutex_unlock(&r->lock);
	if (resume)
		mhd.resume_connection(resume);
}

static enum MHD_Result queue_answer(struct http_request *r)
{
	char *body = r->body;

	r->body = NULL;
	return reply(r->conn, r->status, r->type, body, r->len, false, NULL);
}

/* A route with a start call: answer now, or suspend until answered. */
static enum MHD_Result start_request(struct http_server *h,
				     struct MHD_Connection *c,
				     const struct http_route *route,
				     void **con_cls)
{
	struct http_request *r = calloc(1, sizeof(*r));
	enum MHD_Result ret = MHD_YES;

	if (!r)
		return MHD_NO;
	r->conn = c;
	pthread_mutex_init(&r->lock, NULL);
	*con_cls = r;
	__atomic_add_fetch(&h->started, 1, __ATOMIC_RELAXED);
	route->start(h->ctx, r);
	pthread_mutex_lock(&r->lock);
	if (r->answered) {
		ret = queue_answer(r);
	} else {
		r->suspended = true;
		mhd.suspend_connection(c);
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* MHD is done with a connection's request: free a started one. */
static void on_completed(void *cls, struct MHD_Connection *c,
			 void **con_cls, enum MHD_RequestTerminationCode why)
{
	struct http_server *h = cls;
	struct http_request *r = *con_cls;

	(void)c;
	(void)why;
	if (!r || r == (void *)&request_seen)
		return;
	__atomic_sub_fetch(&h->started, 1, __ATOMIC_RELEASE);
	free(r->body);
	pthread_mutex_destroy(&r->lock);
	free(r);
	*con_cls = NULL;
}

/* Whether the request announces a body (it is never read). */
static bool has_body(struct MHD_Connection *c)
{
	const char *len = mhd.lookup_connection_value(
		c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return (len && strspn(len, "0") != strlen(len)) ||
	       mhd.lookup_connection_value(c, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct http_server *h = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)version;
	(void)upload;
	/*
	 * Other methods, and requests with a body, are refused on the first
	 * call: MHD then closes the connection without reading the body.
	 * GET and HEAD are answered on the second call, once MHD knows the
	 * request is complete, so the connection stays open for the next
	 * scrape.
	 */
	if (!*con_cls) {
		if (strcmp(method, MHD_HTTP_METHOD_GET) &&
		    strcmp(method, MHD_HTTP_METHOD_HEAD))
			return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "only GET and HEAD\n", "GET, HEAD");
		if (has_body(c))
			return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE,
					  "no request body is accepted\n",
					  NULL);
		*con_cls = &request_seen;
		return MHD_YES;
	}
	/* a started request, resumed with its answer */
	if (*con_cls != (void *)&request_seen)
		return queue_answer(*con_cls);
	if (*upload_size)
		return MHD_NO;
	if (!authorized(h, c)) {
		r = mhd.create_response_from_buffer(
			strlen("unauthorized\n"), (void *)"unauthorized\n",
			MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		ret = mhd.queue_basic_auth_fail_response(c, HTTP_REALM, r);
		mhd.destroy_response(r);
		return ret;
	}
	for (const struct http_route *route = h->routes; route->path; route++)
		if (!strcmp(url, route->path))
			return route->start ?
			       start_request(h, c, route, con_cls) :
			       serve(h, c, route);
	return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_err("http: %s", msg);
}

struct http_server *http_start(int fd, const struct http_route *routes,
			       void *ctx, struct webcfg *web)
{
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
			     MHD_ALLOW_SUSPEND_RESUME;
	struct http_server *h = calloc(1, sizeof(*h));
	bool tls = web && web->cert_pem;

	if (!h || mhd_load()) {
		free(h);
		close(fd);
		return NULL;
	}
	h->routes = routes;
	h->ctx = ctx;
	h->web = web;
	if (tls) {
		if (mhd.is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			log_err("this libmicrohttpd was built without TLS: remove tls_server_config from the web config");
			goto fail;
		}
		flags |= MHD_USE_TLS;
	}
	h->daemon = mhd.start_daemon(flags, 0, NULL, NULL, on_request, h,
		/* first, or MHD logs the options before it on its own */
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)HTTP_THREADS,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONN_LIMIT,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned int)HTTP_PER_IP_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_TIMEOUT,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
		tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
		tls ? web->cert_pem : NULL,
		MHD_OPTION_HTTPS_MEM_KEY, tls ? web->key_pem : NULL,
		MHD_OPTION_END);
	if (!h->daemon) {
		log_err("cannot start the HTTP server%s",
			tls ? " (is the TLS certificate or key invalid?)" : "");
		goto fail;
	}
	return h;
fail:
	close(fd);
	free(h);
	return NULL;
}

/*
 * A resumed request's answer is sent by an MHD thread later: stopping
 * the daemon at once could close its connection first (a profile request
 * answered 503 at SIGTERM lost its answer under load), so the answers go
 * out first, for at most HTTP_DRAIN_MS.
 */
void http_stop(struct http_server *h)
{
	struct timespec tick = { 0, 10 * 1000000L };

	if (!h)
		return;
	for (int ms = 0; ms < HTTP_DRAIN_MS &&
	     __atomic_load_n(&h->started, __ATOMIC_ACQUIRE); ms += 10)
		nanosleep(&tick, NULL);
	mhd.stop_daemon(h->daemon);
	free(h);
}

/*
 * Pairing of HTTP/1 requests and responses (httppair.h): a table of
 * connections keyed by (pid, fd), each with its two framed directions
 * and the queue of requests waiting for their answers. Events arrive in
 * the order of the ring; a gap in a connection's sequence numbers means
 * events were lost, and what was under way there is dropped and counted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"
#include "httppair.h"

/* Requests of one connection waiting for their responses, in order. */
#define PENDING_MAX 32
#define CONN_BUCKETS 4096

struct pending {
	struct event_hdr hdr;	/* the call that brought the request */
	char method[HTTP1_METHOD_LEN];
	char path[HTTP1_PATH_LEN];
	bool path_truncated;
	uint64_t start_ns;
	uint64_t body;
};

struct conn {
	struct conn *next;
	struct httppair *hp;
	uint32_t pid;
	uint32_t fd;
	uint32_t seq_next;
	uint8_t src;
	enum httppair_role role;
	struct http1_stream in, out;
	struct pending q[PENDING_MAX];
	int qhead, qlen;
	int req_open;		/* q index of the request being read, -1 */
	const struct http_event *cur;	/* the event being fed */
	struct event_hdr task;	/* the last header with its task fields */
};

struct httppair {
	httppair_fn fn;
	void *ctx;
	struct conn *conns[CONN_BUCKETS];
	unsigned long long lost;
	unsigned long long kernel_pairs, handovers;
};

const struct hook_probe httppair_socket_probes[] = {
	HTTPPAIR_SOCKET_PROBES,
	{ NULL },
};

const struct tlslib_func httppair_tls_funcs[HTTPPAIR_TLS_FUNCS] = {
	{ "SSL_read", TLSLIB_OPENSSL, "ssl_read_entry", "ssl_read_return" },
	{ "SSL_write", TLSLIB_OPENSSL, "ssl_write_entry", "ssl_write_return" },
	{ "SSL_read_ex", TLSLIB_OPENSSL, "ssl_read_ex_entry",
	  "ssl_read_ex_return" },
	{ "SSL_write_ex", TLSLIB_OPENSSL, "ssl_write_ex_entry",
	  "ssl_write_ex_return" },
	{ "gnutls_record_recv", TLSLIB_GNUTLS, "gnutls_recv_entry",
	  "gnutls_recv_return" },
	{ "gnutls_record_send", TLSLIB_GNUTLS, "gnutls_send_entry",
	  "gnutls_send_return" },
};

static const char *const role_names[] = {
	[HTTPPAIR_UNKNOWN] = "-",
	[HTTPPAIR_SERVER] = "server",
	[HTTPPAIR_CLIENT] = "client",
};

const char *httppair_role_name(enum httppair_role role)
{
	return role <= HTTPPAIR_CLIENT ? role_names[role] : "-";
}

/* resp NULL: the connection ended before an answer. */
static void report(struct conn *c, struct pending *p,
		   const struct http1_msg *resp)
{
	struct httppair_req r = {
		.hdr = p->hdr,
		.role = c->role,
		.method = p->method,
		.path = p->path,
		.path_truncated = p->path_truncated,
		.status = resp ? resp->status : 0,
		.complete = resp && resp->complete,
		.start_ns = p->start_ns,
		.end_ns = resp ? resp->end_ns : c->cur->hdr.ts_ns,
		.req_bytes = p->body,
		.resp_bytes = resp ? resp->body : 0,
		.tls = c->src == HTTP_SRC_TLS,
		.fd_known = !(c->fd & HTTP_FD_SSL),
		.fd = c->fd,
	};

	c->hp->fn(c->hp->ctx, &r);
}

static struct pending *pending_front(struct conn *c)
{
	return c->qlen ? &c->q[c->qhead] : NULL;
}

static void pending_pop(struct conn *c)
{
	if (c->req_open == c->qhead)
		c->req_open = -1;
	c->qhead = (c->qhead + 1) % PENDING_MAX;
	c->qlen--;
}

/* Events of the connection were lost: what was under way is dropped. */
static void conn_desync(struct conn *c)
{
	c->hp->lost += c->qlen;
	c->qlen = 0;
	c->req_open = -1;
	http1_reset(&c->in);
	http1_reset(&c->out);
}

/*
 * Request m, brought by the event being fed, joins the connection's
 * queue (the oldest dropped, and counted, if it is full).
 */
static struct pending *pending_push(struct conn *c, const struct http1_msg *m)
{
	struct pending *p;

	if (c->qlen == PENDING_MAX) {
		c->hp->lost++;
		pending_pop(c);
	}
	p = &c->q[(c->qhead + c->qlen++) % PENDING_MAX];
	p->hdr = c->cur->hdr;
	if (!(c->cur->m.flags & HTTP_EVF_TASK)) {
		/* A request after a body in one call: same process. */
		memcpy(p->hdr.comm, c->task.comm, sizeof(p->hdr.comm));
		p->hdr.cgroup_id = c->task.cgroup_id;
		p->hdr.ppid = c->task.ppid;
		p->hdr.uid = c->task.uid;
	}
	/* Both NUL-terminated within the same sizes (http1.h). */
	memcpy(p->method, m->method, strlen(m->method) + 1);
	memcpy(p->path, m->path, strlen(m->path) + 1);
	p->path_truncated = m->path_truncated;
	p->start_ns = m->start_ns;
	p->body = 0;
	return p;
}

static void on_msg(void *ctx, struct http1_stream *st, enum http1_what what,
		   struct http1_msg *m)
{
	struct conn *c = ctx;
	bool inbound = st == &c->in;
	struct pending *p;

	if (!m->response) {
		if (c->role == HTTPPAIR_UNKNOWN)
			c->role = inbound ? HTTPPAIR_SERVER : HTTPPAIR_CLIENT;
		if (inbound != (c->role == HTTPPAIR_SERVER))
			return;
		if (what == HTTP1_MSG_END) {
			if (c->req_open >= 0)
				c->q[c->req_open].body = m->body;
			c->req_open = -1;
			return;
		}
		p = pending_push(c, m);
		c->req_open = p - c->q;
		return;
	}
	/* A response: on the other direction, answering the oldest request. */
	p = pending_front(c);
	if (c->role == HTTPPAIR_UNKNOWN ||
	    inbound == (c->role == HTTPPAIR_SERVER) || !p)
		return;
	if (what == HTTP1_MSG_HEAD) {
		m->no_body = !strcmp(p->method, "HEAD");
		return;
	}
	/* 100 Continue and friends come before the real answer. */
	if (m->status / 100 == 1 && m->status != 101)
		return;
	if (c->req_open == c->qhead)
		p->body = c->role == HTTPPAIR_SERVER ? c->in.msg.body :
			  c->out.msg.body;
	report(c, p, m);
	pending_pop(c);
	if (m->status == 101) {
		c->in.state = HTTP1_OPAQUE;
		c->out.state = HTTP1_OPAQUE;
	}
}

static struct conn **conn_slot(struct httppair *hp, uint32_t pid,
			       uint32_t fd)
{
	unsigned int b = (pid * 2654435761U ^ fd) % CONN_BUCKETS;
	struct conn **pc = &hp->conns[b];

	while (*pc && ((*pc)->pid != pid || (*pc)->fd != fd))
		pc = &(*pc)->next;
	return pc;
}

static void conn_free(struct conn *c)
{
	http1_free(&c->in);
	http1_free(&c->out);
	free(c);
}

/* The connection ended: unanswered requests are reported without status. */
static void conn_close(struct conn **pc, const struct http_event *e)
{
	struct conn *c = *pc;

	c->cur = e;
	http1_end(&c->in, e->hdr.ts_ns);
	http1_end(&c->out, e->hdr.ts_ns);
	while (c->qlen) {
		report(c, pending_front(c), NULL);
		pending_pop(c);
	}
	*pc = c->next;
	conn_free(c);
}

/* The process exited: every connection of it ended. */
static void conn_exit(struct httppair *hp, const struct http_event *e)
{
	for (int b = 0; b < CONN_BUCKETS; b++) {
		struct conn **pc = &hp->conns[b];

		while (*pc) {
			if ((*pc)->pid == e->hdr.pid)
				conn_close(pc, e);
			else
				pc = &(*pc)->next;
		}
	}
}

static struct conn *conn_get(struct httppair *hp, const struct http_event *e)
{
	struct conn **pc = conn_slot(hp, e->hdr.pid, e->m.fd), *c = *pc;

	if (c && c->src != e->m.src) {
		conn_close(pc, e);
		c = NULL;
	}
	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->hp = hp;
	c->pid = e->hdr.pid;
	c->fd = e->m.fd;
	c->src = e->m.src;
	c->seq_next = e->m.seq;
	c->req_open = -1;
	http1_init(&c->in, on_msg, c);
	http1_init(&c->out, on_msg, c);
	c->next = *pc;
	*pc = c;
	return c;
}

static enum httppair_role xchg_role(const struct http_xchg_event *e)
{
	return e->m.dir == HTTP_DIR_IN ? HTTPPAIR_SERVER : HTTPPAIR_CLIENT;
}

/* An exchange the kernel framed whole: reported as it is. */
static void xchg_report(struct httppair *hp, const struct http_xchg_event *e,
			const struct http1_msg *req)
{
	struct httppair_req r = {
		.hdr = e->hdr,
		.role = xchg_role(e),
		.method = req->method,
		.path = req->path,
		.path_truncated = req->path_truncated,
		.status = e->x.status,
		.complete = e->x.complete,
		.start_ns = e->x.start_ns,
		.end_ns = e->x.end_ns,
		.req_bytes = e->x.req_body,
		.resp_bytes = e->x.resp_body,
		.fd_known = true,
		.fd = e->m.fd,
	};

	hp->kernel_pairs++;
	hp->fn(hp->ctx, &r);
}

/*
 * The kernel hands a connection over: its exchange under way becomes
 * this side's pending request, with the response's body taken up where
 * the kernel left it; the data events that follow go on from there.
 */
static void xchg_handover(struct httppair *hp,
			  const struct http_xchg_event *e,
			  struct http1_msg *req)
{
	const struct http_event *as_event = (const void *)e;
	struct pending *p;
	struct conn *c;

	hp->handovers++;
	c = conn_get(hp, as_event);
	if (!c)
		return;
	c->role = xchg_role(e);
	c->seq_next = e->m.seq + 1;
	c->cur = as_event;
	if (e->m.flags & HTTP_EVF_TASK)
		c->task = e->hdr;
	req->start_ns = e->x.start_ns;
	p = pending_push(c, req);
	p->body = e->x.req_body;
	if (e->x.status)
		http1_resume_body(c->role == HTTPPAIR_SERVER ? &c->out : &c->in,
				  e->x.status, e->x.resp_body, e->x.resp_left);
}

/* HTTP_EV_PAIR and HTTP_EV_HANDOVER records (http.h). */
static int xchg_event(struct httppair *hp, const void *data, size_t size)
{
	const struct http_xchg_event *e = data;
	struct http1_msg req;
	struct conn **pc;

	if (size < sizeof(*e) || e->x.line_len > HTTP_LINE_MAX)
		return -EINVAL;
	/*
	 * A connection framed here before under the same fd is over (the
	 * kernel followed this one afresh).
	 */
	pc = conn_slot(hp, e->hdr.pid, e->m.fd);
	if (*pc)
		conn_close(pc, data);
	/* the kernel checks only the method: the rest as a head's */
	if (!http1_request_line(e->x.line, e->x.line_len, &req))
		return 0;
	if (e->m.kind == HTTP_EV_PAIR)
		xchg_report(hp, e, &req);
	else
		xchg_handover(hp, e, &req);
	return 0;
}

int httppair_event(struct httppair *hp, const void *data, size_t size)
{
	const struct http_event *e = data;
	struct conn **pc, *c;

	if (size >= sizeof(e->hdr) + sizeof(e->m) &&
	    (e->m.kind == HTTP_EV_PAIR || e->m.kind == HTTP_EV_HANDOVER))
		return xchg_event(hp, data, size);
	if (size < HTTP_EVENT_HEAD_SIZE ||
	    size < HTTP_EVENT_HEAD_SIZE + e->data_len ||
	    e->data_len > e->m.len)
		return -EINVAL;
	if (e->m.kind == HTTP_EV_EXIT) {
		conn_exit(hp, e);
		return 0;
	}
	if (e->m.kind == HTTP_EV_CLOSE) {
		pc = conn_slot(hp, e->hdr.pid, e->m.fd);
		if (*pc) {
			if ((*pc)->seq_next != e->m.seq)
				conn_desync(*pc);
			conn_close(pc, e);
		}
		return 0;
	}
	c = conn_get(hp, e);
	if (!c)
		return 0;
	if (c->seq_next != e->m.seq)
		conn_desync(c);
	c->seq_next = e->m.seq + 1;
	c->cur = e;
	if (e->m.flags & HTTP_EVF_TASK)
		c->task = e->hdr;
	http1_feed(e->m.dir == HTTP_DIR_IN ? &c->in : &c->out, e->data,
		   e->data_len, e->m.len - e->data_len, e->hdr.ts_ns);
	return 0;
}

struct httppair *httppair_new(httppair_fn fn, void *ctx)
{
	struct httppair *hp = calloc(1, sizeof(*hp));

	if (!hp)
		return NULL;
	hp->fn = fn;
	hp->ctx = ctx;
	return hp;
}

void httppair_free(struct httppair *hp)
{
	struct conn *c, *next;

	if (!hp)
		return;
	for (int b = 0; b < CONN_BUCKETS; b++)
		for (c = hp->conns[b]; c; c = next) {
			next = c->next;
			conn_free(c);
		}
	free(hp);
}

unsigned long long httppair_lost(const struct httppair *hp)
{
	return hp ? hp->lost : 0;
}

void httppair_framing(const struct httppair *hp, unsigned long long *kernel,
		      unsigned long long *handovers)
{
	*kernel = hp ? hp->kernel_pairs : 0;
	*handovers = hp ? hp->handovers : 0;
}

/*
 * http: HTTP/1 requests and responses of unmodified servers and clients,
 * one line per request (or, with -s, a table per method, route and
 * status). The kernel side hands over the bytes each connection moves,
 * from the socket system calls and, for HTTPS, from the TLS libraries'
 * plaintext calls; httppair.c frames each connection and pairs its
 * responses with its requests, and here each pair becomes a row or a
 * sample of the summary.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "http.h"
#include "netsock.h"
#include "http.skel.h"
#include "http1.h"
#include "httppair.h"
#include "log.h"
#include "session.h"
#include "tlslib.h"

enum { COL_TIME, COL_PID, COL_COMM, COL_ROLE, COL_METHOD, COL_STATUS,
       COL_LAT, COL_REQ, COL_RESP, COL_PATH };

static const struct out_col columns[] = {
	[COL_TIME] = { "TIME", -8 },
	[COL_PID] = { "PID", -7 },
	[COL_COMM] = { "COMM", -16 },
	[COL_ROLE] = { "ROLE", -6 },
	[COL_METHOD] = { "METHOD", -7 },
	[COL_STATUS] = { "STATUS", 6 },
	[COL_LAT] = { "LAT(ms)", 10 },
	[COL_REQ] = { "REQ", 8 },
	[COL_RESP] = { "RESP", 9 },
	[COL_PATH] = { "PATH", 0 },
	{ NULL },
};

enum { SCOL_ROLE, SCOL_METHOD, SCOL_STATUS, SCOL_COUNT, SCOL_ERRORS, SCOL_P50,
       SCOL_P90, SCOL_P99, SCOL_ROUTE };

static const struct out_col summary_columns[] = {
	[SCOL_ROLE] = { "ROLE", -6 },
	[SCOL_METHOD] = { "METHOD", -7 },
	[SCOL_STATUS] = { "STATUS", 6 },
	[SCOL_COUNT] = { "COUNT", 8 },
	[SCOL_ERRORS] = { "ERRORS", 7 },
	[SCOL_P50] = { "P50(ms)", 10 },
	[SCOL_P90] = { "P90(ms)", 10 },
	[SCOL_P99] = { "P99(ms)", 10 },
	[SCOL_ROUTE] = { "ROUTE", 0 },
	{ NULL },
};

/* A summary row: one method, route and status in this interval. */
struct agg {
	struct agg *next;
	enum httppair_role role;
	char method[HTTP1_METHOD_LEN];
	char route[HTTP1_PATH_LEN];
	int status;
	uint64_t count, errors;
	double *lat_ms;
	size_t n, cap;
};

#define AGG_BUCKETS 1024
/* Rows per interval before routes fold into "(other)". */
#define AGG_MAX 1000

struct http_state {
	struct session *s;
	struct http_bpf *skel;
	struct httppair *pairs;
	struct agg *aggs[AGG_BUCKETS];
	int naggs;
	struct tlslib_set tls;
	struct hook_probe probes[12];
};

static struct http_state state;
static bool show_query, summary, no_tls;

/* ---------------------------------------------------------------- TLS */

/* TLS programs on every library with their function; the others plain. */
static struct bpf_link *attach_prog(struct session *s,
				    struct bpf_program *prog)
{
	if (tlslib_func_of_prog(&state.tls, prog) < 0)
		return bpf_program__attach(prog);
	return tlslib_attach(&state.tls, s, prog);
}

/* Containers started since: their own copies get the probes too. */
static int follow_new_libraries(struct session *s)
{
	return tlslib_follow(&state.tls, s);
}

/* The socket probes, then one per TLS function some library has. */
static void plan_probes(struct bpf_object *obj)
{
	struct bpf_program *prog;
	int np = 0;

	for (; httppair_socket_probes[np].name; np++)
		state.probes[np] = httppair_socket_probes[np];
	for (int f = 0; f < HTTPPAIR_TLS_FUNCS; f++) {
		if (!tlslib_any(&state.tls, f))
			continue;
		state.probes[np].name = httppair_tls_funcs[f].name;
		state.probes[np].candidates[0].progs[0] =
			httppair_tls_funcs[f].entry;
		state.probes[np].candidates[0].progs[1] =
			httppair_tls_funcs[f].ret;
		np++;
	}
	bpf_object__for_each_program(prog, obj) {
		int f = tlslib_func_of_prog(&state.tls, prog);

		if (f >= 0 && !tlslib_any(&state.tls, f))
			bpf_program__set_autoload(prog, false);
	}
}

/* ------------------------------------------------------------ summary */

static unsigned int hash_str(unsigned int h, const char *s)
{
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619U;
	return h;
}

static void agg_add(enum httppair_role role, const char *method,
		    const char *path, int status, bool error, double lat_ms)
{
	char route[HTTP1_PATH_LEN];
	struct agg *a;
	unsigned int b;

	http1_route(path, route, sizeof(route));
	for (;;) {
		b = hash_str(hash_str(2166136261U, method), route) ^
		    (unsigned int)status ^ role;
		b %= AGG_BUCKETS;
		for (a = state.aggs[b]; a; a = a->next)
			if (a->status == status && a->role == role &&
			    !strcmp(a->method, method) &&
			    !strcmp(a->route, route))
				break;
		if (a || state.naggs < AGG_MAX || !strcmp(route, "(other)"))
			break;
		snprintf(route, sizeof(route), "(other)");
	}
	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a)
			return;
		snprintf(a->method, sizeof(a->method), "%s", method);
		snprintf(a->route, sizeof(a->route), "%s", route);
		a->status = status;
		a->role = role;
		a->next = state.aggs[b];
		state.aggs[b] = a;
		state.naggs++;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		double *more = realloc(a->lat_ms, cap * sizeof(*more));

		if (!more)
			return;
		a->lat_ms = more;
		a->cap = cap;
	}
	a->lat_ms[a->n++] = lat_ms;
	a->count++;
	a->errors += error;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_agg(const void *a, const void *b)
{
	const struct agg *x = *(struct agg *const *)a;
	const struct agg *y = *(struct agg *const *)b;
	int c = strcmp(x->route, y->route);

	if (!c)
		c = strcmp(x->method, y->method);
	if (!c)
		c = x->status - y->status;
	return c ? c : (int)x->role - (int)y->role;
}

/* The nearest-rank percentile of sorted values. */
static double percentile(const double *v, size_t n, int p)
{
	size_t rank = (n * p + 99) / 100;

	return n ? v[rank ? rank - 1 : 0] : 0;
}

/* Prints and empties the interval's table, sorted by route. */
static int on_interval(struct session *s)
{
	struct out *o = &s->out;
	struct agg **rows, *a, *next;
	uint64_t now = out_now_ns();
	int n = 0;

	rows = calloc(state.naggs ? state.naggs : 1, sizeof(*rows));
	if (!rows)
		return 0;
	for (int b = 0; b < AGG_BUCKETS; b++)
		for (a = state.aggs[b]; a; a = a->next)
			rows[n++] = a;
	qsort(rows, n, sizeof(*rows), cmp_agg);
	out_interval(o, now);
	out_header(o);
	for (int i = 0; i < n; i++) {
		a = rows[i];
		qsort(a->lat_ms, a->n, sizeof(*a->lat_ms), cmp_double);
		out_begin(o, "http_summary", now);
		out_str(o, SCOL_ROLE, "role", httppair_role_name(a->role));
		out_str(o, SCOL_METHOD, "method", a->method);
		if (a->status)
			out_int(o, SCOL_STATUS, "status", a->status);
		else
			out_null(o, "status");
		if (!a->status && !o->json)
			out_str(o, SCOL_STATUS, NULL, "-");
		out_uint(o, SCOL_COUNT, "count", a->count);
		out_uint(o, SCOL_ERRORS, "errors", a->errors);
		out_double(o, SCOL_P50, "p50_ms",
			   percentile(a->lat_ms, a->n, 50), 3);
		out_double(o, SCOL_P90, "p90_ms",
			   percentile(a->lat_ms, a->n, 90), 3);
		out_double(o, SCOL_P99, "p99_ms",
			   percentile(a->lat_ms, a->n, 99), 3);
		out_str(o, SCOL_ROUTE, "route", a->route);
		out_end(o);
	}
	free(rows);
	for (int b = 0; b < AGG_BUCKETS; b++) {
		for (a = state.aggs[b]; a; a = next) {
			next = a->next;
			free(a->lat_ms);
			free(a);
		}
		state.aggs[b] = NULL;
	}
	state.naggs = 0;
	return 0;
}

/* --------------------------------------------------------- one request */

/* A request and its response (or none): a row, or a sample of the summary. */
static void report(void *ctx, const struct httppair_req *r)
{
	struct session *s = ctx;
	struct out *o = &s->out;
	struct event_hdr h = r->hdr;
	double lat_ms = (r->end_ns - r->start_ns) / 1e6;
	size_t path_len;

	if (summary) {
		agg_add(r->role, r->method, r->path, r->status,
			!r->complete || r->status >= 500, lat_ms);
		return;
	}
	path_len = show_query ? strlen(r->path) : strcspn(r->path, "?");
	h.ts_ns = r->end_ns;
	session_event_begin(s, "http", &h);
	out_time(o, COL_TIME, session_real_ns(s, r->end_ns));
	out_int(o, COL_PID, NULL, h.pid);
	out_strn(o, COL_COMM, NULL, h.comm, sizeof(h.comm));
	out_str(o, COL_ROLE, "role", httppair_role_name(r->role));
	out_str(o, COL_METHOD, "method", r->method);
	if (r->status) {
		out_int(o, COL_STATUS, "status", r->status);
	} else {
		out_str(o, COL_STATUS, NULL, "-");
		out_null(o, "status");
	}
	out_double(o, COL_LAT, NULL, lat_ms, 3);
	out_uint(o, OUT_JSON_ONLY, "latency_ns", r->end_ns - r->start_ns);
	out_uint(o, COL_REQ, "req_bytes", r->req_bytes);
	out_uint(o, COL_RESP, "resp_bytes", r->resp_bytes);
	out_ustr(o, COL_PATH, "path", r->path, path_len,
		 r->path_truncated ? USTR_TRUNCATED : 0);
	out_bool(o, "complete", r->complete);
	out_bool(o, "tls", r->tls);
	/* null: a TLS connection whose socket calls were not seen */
	if (r->fd_known)
		out_uint(o, OUT_JSON_ONLY, "fd", r->fd);
	else
		out_null(o, "fd");
	out_end(o);
}

static int on_event(struct session *s, const void *data, size_t size)
{
	(void)s;
	httppair_event(state.pairs, data, size);
	return 0;
}

/* ---------------------------------------------------------- the tool */

static int http_prepare(struct session *s, void *p)
{
	struct http_bpf *skel = p;

	memset(&state, 0, sizeof(state));
	state.s = s;
	state.skel = skel;
	if (s->opts.interval > 0 && !summary) {
		log_err("-i/--interval needs -s/--summary");
		return EXIT_USAGE;
	}
	tlslib_init(&state.tls, httppair_tls_funcs, HTTPPAIR_TLS_FUNCS, 0);
	if (!no_tls)
		tlslib_find(&state.tls, s->opts.pid);
	for (int i = 0; i < state.tls.nlibs; i++)
		log_debug("probing TLS library %s", state.tls.libs[i].path);
	plan_probes(skel->obj);
	s->ring_size = HTTPPAIR_RING_DEFAULT;
	skel->rodata->tls_on = state.tls.nlibs > 0;
	/*
	 * Rows in a table show pid and comm (and the container, from the
	 * cgroup id), the summary none of the task: the rest of the header
	 * is skipped.
	 */
	skel->rodata->filter.header_lite = !s->opts.containers &&
					   (summary || !s->opts.json);
	s->probes = state.probes;
	s->attach_prog = attach_prog;
	if (!no_tls && s->opts.pid <= 0)
		s->on_second = follow_new_libraries;
	if (summary) {
		s->columns = summary_columns;
		s->on_interval = on_interval;
	}
	s->tool_state = &state;
	state.pairs = httppair_new(report, s);
	if (!state.pairs) {
		log_err("out of memory");
		return EXIT_RUNTIME;
	}
	return 0;
}

/* Requests lost with their events: on stderr, and a JSON record. */
static int http_finish(struct session *s, void *p)
{
	struct http_bpf *skel = p;
	struct http_bpf__bss bss = { 0 };
	int key = 0, fd = bpf_map__fd(skel->maps.bss);
	unsigned long long n = httppair_lost(state.pairs), framed, handed;

	httppair_framing(state.pairs, &framed, &handed);
	log_debug("%llu requests framed in the kernel; %llu connections "
		  "handed over to be framed here", framed, handed);
	if (fd >= 0 && !bpf_map_lookup_elem(fd, &key, &bss))
		n += bss.lost_requests;
	if (!n)
		return 0;
	if (s->opts.json) {
		out_record_begin(&s->out);
		out_str(&s->out, OUT_JSON_ONLY, "type", "lost_requests");
		out_uint(&s->out, OUT_JSON_ONLY, "ts_ns", out_now_ns());
		out_str(&s->out, OUT_JSON_ONLY, "tool", "http");
		out_uint(&s->out, OUT_JSON_ONLY, "count", n);
		out_record_end(&s->out);
	}
	out_flush(&s->out);
	log_err("%llu requests lost with their events; raise --buffer-size", n);
	return 0;
}

static int http_cleanup(struct session *s, int err)
{
	(void)s;
	httppair_free(state.pairs);
	state.pairs = NULL;
	return err;
}

static const struct tool_opt http_opts[] = {
	{ "summary", 's', NULL, "a table per role, method, route and status (count, errors, p50/p90/p99) at the end, or every -i seconds" },
	{ "query", 0, NULL, "keep the query string in PATH" },
	{ "no-tls", 0, NULL, "do not probe the TLS libraries (plaintext HTTP only)" },
	{ NULL },
};

static int http_parse_opt(int index, const char *arg)
{
	(void)arg;
	switch (index) {
	case 0:
		summary = true;
		break;
	case 1:
		show_query = true;
		break;
	default:
		no_tls = true;
		break;
	}
	return 0;
}

static const struct hook_probe http_probes[] = {
	HTTPPAIR_SOCKET_PROBES,
	{ "SSL_read", { { { "ssl_read_entry", "ssl_read_return" } } } },
	{ "SSL_write", { { { "ssl_write_entry", "ssl_write_return" } } } },
	{ "SSL_read_ex", { { { "ssl_read_ex_entry", "ssl_read_ex_return" } } } },
	{ "SSL_write_ex", { { { "ssl_write_ex_entry", "ssl_write_ex_return" } } } },
	{ "gnutls_record_recv", { { { "gnutls_recv_entry", "gnutls_recv_return" } } } },
	{ "gnutls_record_send", { { { "gnutls_send_entry", "gnutls_send_return" } } } },
	{ NULL },
};

TOOL_SKEL(http);

static const struct tool http_tool = {
	.name = "http",
	.summary = "Trace HTTP/1 requests and responses (plaintext and TLS) with their latency",
	.examples =
		"  loupe http                    # every HTTP/1 request served or sent\n"
		"  loupe http -p 181             # PID 181 only\n"
		"  loupe http -s -i 5            # per route and status: count, errors, p50/p90/p99\n"
		"  loupe http -j --containers    # JSON, with each task's container\n",
	/* TIME is always a column: -T would add a second one. */
	.common = (OPT_SNOOP & ~OPT_TIMESTAMP) | OPT_INTERVAL,
	.opts = http_opts,
	.parse_opt = http_parse_opt,
	.probes = http_probes,
	.skel = &http_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = http_prepare,
	.finish = http_finish,
	.cleanup = http_cleanup,
};
TOOL_REGISTER(http_tool);

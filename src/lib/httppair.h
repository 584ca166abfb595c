/*
 * HTTP/1 requests paired with their responses, from the events of the
 * http BPF object (src/tools/http.h): each connection's two directions
 * are framed (http1.c) and the n-th response answers the n-th request,
 * as HTTP/1 guarantees, pipelining included. One place for `loupe http`
 * (rows, summary) and the agent (http_request_duration_seconds).
 */
#ifndef LOUPE_HTTPPAIR_H
#define LOUPE_HTTPPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "event.h"
#include "http1.h"
#include "hook.h"
#include "tlslib.h"

/* The http object's TLS functions and its programs for them. */
#define HTTPPAIR_TLS_FUNCS 6
extern const struct tlslib_func httppair_tls_funcs[HTTPPAIR_TLS_FUNCS];

/*
 * The socket calls: the socket layer's send and receive tracepoints and
 * the TCP state for the end (6.3+), which leave other syscalls alone;
 * else one program on sys_exit that picks them by number (tp_btf, else
 * raw_tp), one link that detaches at once where ten syscall tracepoints
 * took 0.45 s (docs/l7.md).
 */
#define HTTPPAIR_SOCKET_PROBES						\
	{ "socket calls", {						\
		{ { "sock_recv_btf", "sock_send_btf",			\
		    "sock_state_btf" } },				\
		{ { "socket_exit_btf" } },				\
		{ { "socket_exit_raw" } },				\
	} },								\
	{ "exit", { { { "process_exit" } } } }

/* The same as a table (ends with a NULL name), for hook_choose(). */
extern const struct hook_probe httppair_socket_probes[];

/*
 * The ring's default size for the http object (loupe http without
 * --buffer-size, the agent): nginx under wrk on this 2-CPU VM moves
 * about 3 KB of records per request, 60 MB/s, and with 2M the reader,
 * preempted for tens of milliseconds, lost events in most rounds; with
 * 8M in few (docs/l7.md).
 */
#define HTTPPAIR_RING_DEFAULT (8UL << 20)

enum httppair_role { HTTPPAIR_UNKNOWN, HTTPPAIR_SERVER, HTTPPAIR_CLIENT };

/* "-", "server" or "client". */
const char *httppair_role_name(enum httppair_role role);

/* A request and its response (status 0: none came before the close). */
struct httppair_req {
	struct event_hdr hdr;	/* the call that brought the request */
	enum httppair_role role;
	const char *method;
	const char *path;	/* the target as sent, query included */
	bool path_truncated;
	int status;
	bool complete;		/* the response's end was seen */
	uint64_t start_ns, end_ns;	/* CLOCK_BOOTTIME */
	uint64_t req_bytes, resp_bytes;
	bool tls;
	bool fd_known;		/* false: TLS, its socket unseen */
	uint32_t fd;
};

typedef void (*httppair_fn)(void *ctx, const struct httppair_req *r);

struct httppair;

struct httppair *httppair_new(httppair_fn fn, void *ctx);
/* Connections still open are dropped without reporting. */
void httppair_free(struct httppair *hp);
/* One ring record of the http object: 0, or -EINVAL if malformed. */
int httppair_event(struct httppair *hp, const void *data, size_t size);
/* Requests dropped unanswered because events of theirs were lost. */
unsigned long long httppair_lost(const struct httppair *hp);
/*
 * Exchanges the kernel framed whole, and connections it handed over to
 * be framed here (http.h).
 */
void httppair_framing(const struct httppair *hp, unsigned long long *kernel,
		      unsigned long long *handovers);

#endif

/* Events shared by the http tool's kernel and user halves. */
#ifndef LOUPE_HTTP_H
#define LOUPE_HTTP_H

#include "event.h"

/* The most bytes of one call an event carries (a power of two). */
#define HTTP_DATA_MAX 16384
/* iovecs of one readv/writev/recvmsg/sendmsg whose bytes are copied. */
#define HTTP_IOV_MAX 8

enum http_dir {
	HTTP_DIR_IN,		/* read, recv*, SSL_read */
	HTTP_DIR_OUT,		/* write, send*, sendfile, SSL_write */
};

enum http_kind {
	HTTP_EV_DATA,		/* bytes a call moved on a connection */
	HTTP_EV_CLOSE,		/* the connection's fd was closed */
	HTTP_EV_EXIT,		/* a process with connections exited */
	HTTP_EV_PAIR,		/* a request and its answer, framed in the kernel */
	HTTP_EV_HANDOVER,	/* user space frames the connection from here */
};

enum http_src {
	HTTP_SRC_SOCKET,	/* socket system calls: plaintext HTTP */
	HTTP_SRC_TLS,		/* TLS library calls: decrypted HTTPS */
};

/*
 * Connections with fd unknown (an SSL object whose socket calls were not
 * seen) are keyed by the object instead: fd is HTTP_FD_SSL | its bits.
 */
#define HTTP_FD_SSL 0x80000000U

/* What an event says besides its task and bytes. */
struct http_event_meta {
	__u32 fd;
	__u32 seq;		/* per connection: a gap means events lost */
	__u8 kind;		/* enum http_kind */
	__u8 dir;		/* enum http_dir */
	__u8 src;		/* enum http_src */
	__u8 flags;		/* HTTP_EVF_* */
	__u32 len;		/* bytes the call moved */
};

/*
 * The header's task fields (comm, cgroup_id, ppid, uid) are filled: on a
 * connection's first event and on those whose bytes start a request. The
 * others carry only ts_ns, pid and tid; the connection's last full header
 * stands for the rest (the same process).
 */
#define HTTP_EVF_TASK 1

/*
 * The ring holds the head and data_len bytes of data, in a record of one
 * of a few sizes (the kernel reserves sizes it knows in advance).
 */
struct http_event {
	struct event_hdr hdr;
	struct http_event_meta m;
	__u32 data_len;		/* bytes of the call copied into data */
	char data[HTTP_DATA_MAX];
};

#define HTTP_EVENT_HEAD_SIZE ((unsigned long)&((struct http_event *)0)->data)

/*
 * Plain connections are framed in the kernel while their exchanges are
 * simple: a request whose head and body came in one call, answered by a
 * response whose head came whole in its first call and whose body is
 * sized by Content-Length. Each such exchange is one HTTP_EV_PAIR
 * record. Anything else (pipelining, chunked bodies, a head split over
 * calls, a long request line, bytes that are not HTTP) hands the
 * connection over to user space for good: an HTTP_EV_HANDOVER record
 * with the exchange under way, then data events from that call on.
 */
#define HTTP_LINE_MAX 112	/* the request line kept, without CRLF */
#define HTTP_HEAD_KERNEL 512	/* the head bytes the kernel frames from */

struct http_xchg {
	__u64 start_ns;		/* the call with the request's first byte */
	__u64 end_ns;		/* the call with the response's last byte */
	__u64 req_body;		/* request body bytes */
	__u64 resp_body;	/* response body bytes (so far) */
	__u64 resp_left;	/* HANDOVER: body bytes still to come */
	__u16 status;		/* 0: no response head (yet) */
	__u8 complete;		/* PAIR: the response's end was seen */
	__u8 line_len;
	__u32 pad;
	char line[HTTP_LINE_MAX];
};

/*
 * hdr is the request's call's (its time, thread and task); m.dir is the
 * request's direction; m.len is 0.
 */
struct http_xchg_event {
	struct event_hdr hdr;
	struct http_event_meta m;
	struct http_xchg x;
};

#endif

/* Event shared by sslsniff's kernel and user halves. */
#ifndef LOUPE_SSLSNIFF_H
#define LOUPE_SSLSNIFF_H

#include "event.h"

/* The most plaintext one event carries (--max-buffer-size's limit). */
#define SSL_DATA_MAX 65536

enum ssl_func {
	SSL_FUNC_READ,		/* SSL_read, SSL_read_ex, gnutls_record_recv */
	SSL_FUNC_WRITE,		/* SSL_write, SSL_write_ex, gnutls_record_send */
	SSL_FUNC_HANDSHAKE,	/* a connection's handshake, whichever ran it */
};

/* Which library function: for JSON's "function". */
enum ssl_call {
	SSL_CALL_READ,
	SSL_CALL_WRITE,
	SSL_CALL_READ_EX,
	SSL_CALL_WRITE_EX,
	SSL_CALL_HANDSHAKE,
	SSL_CALL_GNUTLS_RECV,
	SSL_CALL_GNUTLS_SEND,
	SSL_CALL_GNUTLS_HANDSHAKE,
	SSL_CALL_CLEAR,		/* SSL_clear: where OpenSSL starts one */
	SSL_CALL_COUNT,
};

/*
 * A call's plaintext, or (handshake set) the end of a connection's
 * handshake: lat_ns from the entry of the first call on the connection
 * that ran it to the return of call, the one that finished it.
 */
struct ssl_event {
	struct event_hdr hdr;
	__u64 lat_ns;		/* entry to return */
	__s64 ret;		/* the function's return value */
	__u32 call;		/* enum ssl_call */
	__u32 len;		/* plaintext bytes the call moved */
	__u32 data_len;		/* of which copied into data */
	__u16 unread;		/* the copy failed: data is empty */
	__u16 handshake;	/* a handshake's end, no data */
	char data[SSL_DATA_MAX];
};

/* What the event occupies in the ring: the header part and the copy. */
#define SSL_EVENT_HEAD_SIZE ((unsigned long)&((struct ssl_event *)0)->data)

#endif

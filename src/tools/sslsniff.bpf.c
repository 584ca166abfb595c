/*
 * sslsniff, kernel side: uprobes at the entry of the TLS libraries' read
 * and write functions keep the plaintext buffer (and, for the _ex calls,
 * where the byte count will be written) per thread; the uretprobes copy
 * what the call really moved, up to max_data bytes, into one event. With
 * --handshake, each connection's handshake is followed from the first
 * call that ran it to the return of the one that finished it. The
 * sections name a library only for `loupe list`: user space attaches each
 * program to every library that has its function.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "sslsniff.h"

/* --max-buffer-size, at most SSL_DATA_MAX. */
const volatile __u32 max_data = 8192;
/* --handshake: follow each connection's handshake to its end. */
const volatile bool track_handshakes = false;

struct ssl_call_state {
	__u64 start_ns;
	const void *conn;	/* SSL * or gnutls_session_t */
	const void *buf;
	const void *count_ptr;	/* size_t * of SSL_read_ex / SSL_write_ex */
	__u64 num;		/* bytes SSL_write was asked to write */
	__u32 call;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct ssl_call_state);
} calls SEC(".maps");

struct handshake_key {
	__u32 tgid;
	__u32 pad;
	__u64 conn;
};

/*
 * Connections whose handshake is under way: when it started. LRU, as a
 * handshake that fails leaves its entry behind.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, struct handshake_key);
	__type(value, __u64);
} handshakes SEC(".maps");

/*
 * An event is too big for the BPF stack: built in a slot per CPU (a plain
 * array, as a per-CPU value may not exceed 32 KiB; user space sizes it to
 * the CPUs), then copied into the ring at its real length.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ssl_event);
} scratch SEC(".maps");

static __always_inline struct handshake_key conn_key(const void *conn)
{
	struct handshake_key k = {
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.conn = (__u64)conn,
	};

	return k;
}

static __always_inline int call_enter(__u32 call, const void *conn,
				      const void *buf, __u64 num,
				      const void *count_ptr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ssl_call_state st = {};
	struct handshake_key k;

	if (!filter_current_ok())
		return 0;
	st.call = call;
	st.conn = conn;
	st.buf = buf;
	st.num = num;
	st.count_ptr = count_ptr;
	st.start_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&calls, &tid, &st, BPF_ANY);
	/* GnuTLS runs a handshake only in gnutls_handshake: its first call. */
	if (track_handshakes && call == SSL_CALL_GNUTLS_HANDSHAKE) {
		k = conn_key(conn);
		bpf_map_update_elem(&handshakes, &k, &st.start_ns, BPF_NOEXIST);
	}
	return 0;
}

/* The plaintext bytes a call moved, from its return (0: none). */
static __always_inline __u64 call_len(const struct ssl_call_state *st,
				      long ret)
{
	__u64 n = 0;

	switch (st->call) {
	case SSL_CALL_READ_EX:
	case SSL_CALL_WRITE_EX:
		/* 1 on success, the count in *readbytes / *written */
		if (ret != 1 || !st->count_ptr ||
		    bpf_probe_read_user(&n, sizeof(n), st->count_ptr))
			return 0;
		return n;
	case SSL_CALL_READ:
	case SSL_CALL_WRITE:
	case SSL_CALL_GNUTLS_RECV:
	case SSL_CALL_GNUTLS_SEND:
		return ret > 0 ? ret : 0;
	default:
		return 0;
	}
}

/*
 * Did the call leave its connection's handshake done (1), under way (0)
 * or failed (-1)? A call that moved plaintext or succeeded without any
 * to move (s_client's first SSL_write of 0 bytes) is past the handshake.
 */
static __always_inline int handshake_state(const struct ssl_call_state *st,
					   long ret)
{
	switch (st->call) {
	case SSL_CALL_READ:
		return ret > 0;
	case SSL_CALL_WRITE:
		return ret > 0 || (ret == 0 && st->num == 0);
	case SSL_CALL_READ_EX:
	case SSL_CALL_WRITE_EX:
	case SSL_CALL_HANDSHAKE:
		return ret == 1;
	case SSL_CALL_GNUTLS_HANDSHAKE:
		/* AGAIN, INTERRUPTED, a warning alert, data: not fatal */
		if (ret == 0)
			return 1;
		return ret == -28 || ret == -52 || ret == -16 || ret == -38 ?
		       0 : -1;
	default:
		return 0;
	}
}

static __always_inline struct ssl_event *event_start(void)
{
	__u32 slot = bpf_get_smp_processor_id();
	struct ssl_event *e = bpf_map_lookup_elem(&scratch, &slot);

	if (e)
		event_fill_hdr(&e->hdr);
	return e;
}

/* At a call's return: a handshake it finished is one event. */
static __always_inline void handshake_end(const struct ssl_call_state *st,
					  long ret)
{
	struct handshake_key k = conn_key(st->conn);
	int state = handshake_state(st, ret);
	struct ssl_event *e;
	__u64 *start;

	if (!state)
		return;
	start = bpf_map_lookup_elem(&handshakes, &k);
	if (!start)
		return;
	if (state > 0 && (e = event_start())) {
		e->lat_ns = bpf_ktime_get_ns() - *start;
		e->ret = ret;
		e->call = st->call;
		e->len = 0;
		e->data_len = 0;
		e->unread = 0;
		e->handshake = 1;
		event_output(e, SSL_EVENT_HEAD_SIZE);
	}
	bpf_map_delete_elem(&handshakes, &k);
}

static __always_inline int call_return(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ssl_call_state *st;
	struct ssl_event *e;
	__u64 len, copy;

	st = bpf_map_lookup_elem(&calls, &tid);
	if (!st)
		return 0;
	if (track_handshakes)
		handshake_end(st, ret);
	len = call_len(st, ret);
	/* A failed or empty read/write moved no plaintext: not shown. */
	if (!len)
		goto out;
	e = event_start();
	if (!e)
		goto out;
	e->lat_ns = bpf_ktime_get_ns() - st->start_ns;
	e->ret = ret;
	e->call = st->call;
	e->len = len > 0xffffffffULL ? 0xffffffffU : len;
	e->handshake = 0;
	copy = len < max_data ? len : max_data;
	if (copy > SSL_DATA_MAX)
		copy = SSL_DATA_MAX;
	e->unread = 0;
	if (copy && bpf_probe_read_user(e->data, copy, st->buf)) {
		e->unread = 1;
		copy = 0;
	}
	e->data_len = copy;
	event_output(e, SSL_EVENT_HEAD_SIZE + copy);
out:
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

SEC("uprobe/libssl:SSL_read")
int BPF_KPROBE(ssl_read_entry, void *ssl, void *buf)
{
	return call_enter(SSL_CALL_READ, ssl, buf, 0, NULL);
}

SEC("uretprobe/libssl:SSL_read")
int BPF_KRETPROBE(ssl_read_return, int ret)
{
	return call_return(ret);
}

SEC("uprobe/libssl:SSL_write")
int BPF_KPROBE(ssl_write_entry, void *ssl, const void *buf, int num)
{
	return call_enter(SSL_CALL_WRITE, ssl, buf, num, NULL);
}

SEC("uretprobe/libssl:SSL_write")
int BPF_KRETPROBE(ssl_write_return, int ret)
{
	return call_return(ret);
}

SEC("uprobe/libssl:SSL_read_ex")
int BPF_KPROBE(ssl_read_ex_entry, void *ssl, void *buf, size_t num,
	       size_t *readbytes)
{
	return call_enter(SSL_CALL_READ_EX, ssl, buf, num, readbytes);
}

SEC("uretprobe/libssl:SSL_read_ex")
int BPF_KRETPROBE(ssl_read_ex_return, int ret)
{
	return call_return(ret);
}

SEC("uprobe/libssl:SSL_write_ex")
int BPF_KPROBE(ssl_write_ex_entry, void *ssl, const void *buf, size_t num,
	       size_t *written)
{
	return call_enter(SSL_CALL_WRITE_EX, ssl, buf, num, written);
}

SEC("uretprobe/libssl:SSL_write_ex")
int BPF_KRETPROBE(ssl_write_ex_return, int ret)
{
	return call_return(ret);
}

SEC("uprobe/libssl:SSL_do_handshake")
int BPF_KPROBE(ssl_handshake_entry, void *ssl)
{
	return call_enter(SSL_CALL_HANDSHAKE, ssl, NULL, 0, NULL);
}

SEC("uretprobe/libssl:SSL_do_handshake")
int BPF_KRETPROBE(ssl_handshake_return, int ret)
{
	return call_return(ret);
}

SEC("uprobe/libgnutls:gnutls_record_recv")
int BPF_KPROBE(gnutls_recv_entry, void *session, void *buf)
{
	return call_enter(SSL_CALL_GNUTLS_RECV, session, buf, 0, NULL);
}

SEC("uretprobe/libgnutls:gnutls_record_recv")
int BPF_KRETPROBE(gnutls_recv_return, long ret)
{
	return call_return(ret);
}

SEC("uprobe/libgnutls:gnutls_record_send")
int BPF_KPROBE(gnutls_send_entry, void *session, const void *buf)
{
	return call_enter(SSL_CALL_GNUTLS_SEND, session, buf, 0, NULL);
}

SEC("uretprobe/libgnutls:gnutls_record_send")
int BPF_KRETPROBE(gnutls_send_return, long ret)
{
	return call_return(ret);
}

SEC("uprobe/libgnutls:gnutls_handshake")
int BPF_KPROBE(gnutls_handshake_entry, void *session)
{
	return call_enter(SSL_CALL_GNUTLS_HANDSHAKE, session, NULL, 0, NULL);
}

SEC("uretprobe/libgnutls:gnutls_handshake")
int BPF_KRETPROBE(gnutls_handshake_return, int ret)
{
	return call_return(ret);
}

/*
 * OpenSSL resets a connection that has not started its handshake with
 * SSL_clear() as the handshake starts, whichever call runs it
 * (SSL_do_handshake, or SSL_read/SSL_write implicitly): inside a traced
 * call on the same SSL, this is where the connection's handshake began,
 * at that call's entry. Outside one (SSL_new, an application reusing the
 * object), whatever was under way is forgotten.
 */
SEC("uprobe/libssl:SSL_clear")
int BPF_KPROBE(ssl_clear_entry, void *ssl)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct handshake_key k = conn_key(ssl);
	struct ssl_call_state *st;

	st = bpf_map_lookup_elem(&calls, &tid);
	if (st && st->conn == ssl)
		bpf_map_update_elem(&handshakes, &k, &st->start_ns, BPF_ANY);
	else
		bpf_map_delete_elem(&handshakes, &k);
	return 0;
}

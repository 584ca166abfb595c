/*
 * sslsniff, kernel side: uprobes at the entry of the TLS libraries' read
 * and write functions keep the plaintext buffer (and, for the _ex calls,
 * where the byte count will be written) per thread; the uretprobes copy
 * what the call really moved, up to max_data bytes, into one event. The
 * sections name a library only for `loupe list`: user space attaches each
 * program to every library that has its function.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "sslsniff.h"

/* --max-buffer-size, at most SSL_DATA_MAX. */
const volatile __u32 max_data = 8192;

struct ssl_call_state {
	__u64 start_ns;
	const void *buf;
	const void *count_ptr;	/* size_t * of SSL_read_ex / SSL_write_ex */
	__u32 call;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct ssl_call_state);
} calls SEC(".maps");

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

static __always_inline int call_enter(__u32 call, const void *buf,
				      const void *count_ptr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ssl_call_state st = {};

	if (!filter_current_ok())
		return 0;
	st.call = call;
	st.buf = buf;
	st.count_ptr = count_ptr;
	st.start_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&calls, &tid, &st, BPF_ANY);
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
	case SSL_CALL_HANDSHAKE:
		return 0;
	default:
		return ret > 0 ? ret : 0;
	}
}

static __always_inline int call_return(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 slot = bpf_get_smp_processor_id();
	struct ssl_call_state *st;
	struct ssl_event *e;
	__u64 len, copy;

	st = bpf_map_lookup_elem(&calls, &tid);
	if (!st)
		return 0;
	len = call_len(st, ret);
	/* A failed or empty read/write moved no plaintext: not shown. */
	if (st->call != SSL_CALL_HANDSHAKE && !len)
		goto out;
	e = bpf_map_lookup_elem(&scratch, &slot);
	if (!e)
		goto out;
	event_fill_hdr(&e->hdr);
	e->lat_ns = bpf_ktime_get_ns() - st->start_ns;
	e->ret = ret;
	e->call = st->call;
	e->len = len > 0xffffffffULL ? 0xffffffffU : len;
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
	return call_enter(SSL_CALL_READ, buf, NULL);
}

SEC("uretprobe/libssl:SSL_read")
int BPF_KRETPROBE(ssl_read_return, int ret)
{
	return call_return(ret);
}

SEC("uprobe/libssl:SSL_write")
int BPF_KPROBE(ssl_write_entry, void *ssl, const void *buf)
{
	return call_enter(SSL_CALL_WRITE, buf, NULL);
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
	return call_enter(SSL_CALL_READ_EX, buf, readbytes);
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
	return call_enter(SSL_CALL_WRITE_EX, buf, written);
}

SEC("uretprobe/libssl:SSL_write_ex")
int BPF_KRETPROBE(ssl_write_ex_return, int ret)
{
	return call_return(ret);
}

SEC("uprobe/libssl:SSL_do_handshake")
int BPF_KPROBE(ssl_handshake_entry)
{
	return call_enter(SSL_CALL_HANDSHAKE, NULL, NULL);
}

SEC("uretprobe/libssl:SSL_do_handshake")
int BPF_KRETPROBE(ssl_handshake_return, int ret)
{
	return call_return(ret);
}

SEC("uprobe/libgnutls:gnutls_record_recv")
int BPF_KPROBE(gnutls_recv_entry, void *session, void *buf)
{
	return call_enter(SSL_CALL_GNUTLS_RECV, buf, NULL);
}

SEC("uretprobe/libgnutls:gnutls_record_recv")
int BPF_KRETPROBE(gnutls_recv_return, long ret)
{
	return call_return(ret);
}

SEC("uprobe/libgnutls:gnutls_record_send")
int BPF_KPROBE(gnutls_send_entry, void *session, const void *buf)
{
	return call_enter(SSL_CALL_GNUTLS_SEND, buf, NULL);
}

SEC("uretprobe/libgnutls:gnutls_record_send")
int BPF_KRETPROBE(gnutls_send_return, long ret)
{
	return call_return(ret);
}

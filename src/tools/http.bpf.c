/*
 * http, kernel side: the bytes HTTP/1 connections move, for user space to
 * frame into requests and responses. Plaintext comes from the socket
 * layer's send and receive tracepoints (Linux 6.3+), which find the
 * syscall's buffer in the task's saved registers, and the end of a
 * connection from its TCP state; on older kernels from one program at
 * every syscall's exit that picks the socket calls by number. HTTPS comes
 * from the TLS libraries' read and write functions (uprobes, as
 * sslsniff). A connection, keyed by (pid, fd), is followed from the
 * first call whose bytes start like an HTTP/1 message until it is closed.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "netsock.bpf.h"
#include "http.h"

NETSOCK_FILTER_DEFINE;

/* At most HTTP_DATA_MAX bytes copied per call (user space may lower it). */
const volatile __u32 max_data = HTTP_DATA_MAX;
/* TLS probes are attached: socket calls inside them carry ciphertext. */
const volatile __u32 tls_on = 0;

/* Requests in events the ring had no room for (first request only). */
__u64 lost_requests = 0;

/* Who frames a connection's bytes (http.h). */
enum framing { FRAME_KERNEL, FRAME_USER };
/* Where a kernel-framed connection is between its exchanges. */
enum phase {
	PHASE_IDLE,		/* waiting for a request */
	PHASE_ANSWER,		/* the request is whole, no response yet */
	PHASE_BODY,		/* the response's body is under way */
};
enum role { ROLE_NONE, ROLE_SERVER, ROLE_CLIENT };

struct conn {
	__u32 seq;
	__u32 src;		/* enum http_src that found it */
	__u64 sk;		/* its struct sock (socket calls) */
	/*
	 * Non-zero: this fd is a duplicate of the socket followed under
	 * that key (inetd-style servers read fd 0 and write fd 1).
	 */
	__u64 canon;
	__u8 framing;		/* enum framing */
	__u8 phase;		/* enum phase */
	__u8 role;		/* enum role, from its first request */
	__u8 pad[5];
	/* FRAME_KERNEL: the exchange under way, and its request's call */
	struct http_xchg x;
	struct event_hdr req;
};

/*
 * LRU: a connection pushed out while idle is followed again from its
 * next message. 16384 of them take about 5 MB.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);	/* pid << 32 | fd */
	__type(value, struct conn);
} conns SEC(".maps");

/* An empty connection, to add one without building it on the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct conn);
} conn_zero SEC(".maps");

/*
 * Adds connection key (if not there) and returns it, or NULL: a new one
 * is empty but for what the caller then fills in.
 */
static __always_inline struct conn *conn_add(__u64 key)
{
	__u32 zero = 0;
	struct conn *empty = bpf_map_lookup_elem(&conn_zero, &zero);

	if (!empty)
		return NULL;
	bpf_map_update_elem(&conns, &key, empty, BPF_NOEXIST);
	return bpf_map_lookup_elem(&conns, &key);
}

/* The key each followed socket was first seen under, for its dups. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);	/* struct sock * */
	__type(value, __u64);
} socks SEC(".maps");

/* Processes with followed connections: their exit ends them all. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} procs SEC(".maps");

/* A TLS call under way on a thread. */
struct tls_call {
	const void *ssl;
	const void *buf;
	const void *count_ptr;	/* size_t * of the _ex calls */
	__s32 fd;		/* learnt from a socket call inside, or -1 */
	__u32 dir;
	__u32 ex;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct tls_call);
} tls_calls SEC(".maps");

/* The socket fd each SSL object was last seen using. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __s32);
} ssl_fds SEC(".maps");

struct iov {
	const void *base;
	__u64 len;
};

/* struct user_msghdr up to msg_iovlen (64-bit layout). */
struct msghdr64 {
	void *name;
	__s32 namelen;
	__s32 pad;
	const struct iov *iov;
	__u64 iovlen;
};

/* Where the bytes are: one buffer, or a vector of them. */
struct span {
	const void *buf;
	const struct iov *iov;
	__u32 iovcnt;
};

#define WORD(a, b, c, d) ((__u32)(a) | (__u32)(b) << 8 | (__u32)(c) << 16 | \
			  (__u32)(d) << 24)

/* Do the first bytes open an HTTP/1 request or response? */
static __always_inline bool http_start(__u32 w)
{
	switch (w) {
	case WORD('G', 'E', 'T', ' '):
	case WORD('P', 'O', 'S', 'T'):
	case WORD('P', 'U', 'T', ' '):
	case WORD('H', 'E', 'A', 'D'):
	case WORD('D', 'E', 'L', 'E'):
	case WORD('P', 'A', 'T', 'C'):
	case WORD('O', 'P', 'T', 'I'):
	case WORD('C', 'O', 'N', 'N'):
	case WORD('T', 'R', 'A', 'C'):
	case WORD('H', 'T', 'T', 'P'):
		return true;
	}
	return false;
}

static __always_inline bool is_response(__u32 w)
{
	return w == WORD('H', 'T', 'T', 'P');
}

static __always_inline bool request_start(__u32 w)
{
	return http_start(w) && !is_response(w);
}

static __always_inline __u32 first_word(const struct span *sp)
{
	struct iov v = {};
	__u32 w = 0;

	if (sp->buf) {
		bpf_probe_read_user(&w, sizeof(w), sp->buf);
		return w;
	}
	if (sp->iovcnt && !bpf_probe_read_user(&v, sizeof(v), sp->iov) &&
	    v.len >= sizeof(w))
		bpf_probe_read_user(&w, sizeof(w), v.base);
	return w;
}

/*
 * Copies up to max (<= cap) bytes of sp into data, which has room for cap
 * bytes, or 3 * cap for a vector: an iovec's offset is masked below cap
 * and its length kept within cap, which the verifier can follow, so the
 * last one may write past cap (never past 2 * cap; the verifier is shown
 * a bound of 3 * cap). Returns the count.
 */
static __always_inline __u32 copy_span(char *data, const struct span *sp,
				       __u64 max, const __u32 cap)
{
	struct iov vs[HTTP_IOV_MAX] = {};
	__u32 off = 0, cnt;
	__u64 n, size;

	if (max > cap)
		max = cap;
	if (sp->buf) {
		/*
		 * Tested again next to the call, as below: 6.1's verifier
		 * loses the bound above across a spill (raw_tp/sys_exit).
		 */
		barrier_var(max);
		if (max > cap)
			return 0;
		if (bpf_probe_read_user(data, max, sp->buf))
			return 0;
		return max;
	}
	/*
	 * The iovecs in one read: each user-memory read costs about 0.2 us
	 * here whatever its size, as much as copying a kilobyte.
	 */
	cnt = sp->iovcnt < HTTP_IOV_MAX ? sp->iovcnt : HTTP_IOV_MAX;
	size = cnt * sizeof(vs[0]);
	/*
	 * Never true, but tested next to the call: 6.1's verifier loses a
	 * bound tested before the size was spilled to the stack.
	 */
	barrier_var(size);
	if (size > sizeof(vs))
		return 0;
	if (bpf_probe_read_user(vs, size, sp->iov))
		return 0;
	for (int i = 0; i < HTTP_IOV_MAX; i++) {
		struct iov v = vs[i];

		if (i >= cnt || off >= max)
			break;
		n = v.len;
		if (n > max - off)
			n = max - off;
		off &= cap - 1;
		if (n > cap)
			n = cap;
		/*
		 * n <= cap already: the mask changes nothing but gives the
		 * verifier a bound of its own. 6.1's follows the tests above
		 * into paths it cannot tell are impossible, where n looks
		 * negative; hence the room for 3 * cap.
		 */
		barrier_var(n);	/* or the compiler drops the mask */
		n &= 2 * cap - 1;
		if (bpf_probe_read_user(data + off, n, v.base))
			break;
		off += n;
	}
	return off;
}

/*
 * The event goes straight into the ring, reserved in the smallest of a
 * few sizes the copy fits (the reserved size must be a constant): no
 * second copy through a scratch buffer. Returns false if the ring is
 * full.
 */
static __always_inline bool output_cap(const struct http_event_meta *m,
				       const struct span *sp, __u64 want,
				       __u64 id, const __u32 cap)
{
	struct http_event *e;

	if (sp && !sp->buf)
		e = bpf_ringbuf_reserve(&events, HTTP_EVENT_HEAD_SIZE + 3 * cap,
					0);
	else
		e = bpf_ringbuf_reserve(&events, HTTP_EVENT_HEAD_SIZE + cap, 0);
	if (!e)
		return false;
	e->m = *m;
	e->data_len = sp ? copy_span(e->data, sp, want, cap) : 0;
	/* The start of a request is read where it was just copied. */
	if (!m->seq || (e->data_len >= 4 && request_start(*(__u32 *)e->data))) {
		e->m.flags = HTTP_EVF_TASK;
		event_fill_hdr_btf_id(&e->hdr, bpf_get_current_task_btf(), id);
	} else {
		e->hdr.ts_ns = bpf_ktime_get_boot_ns();
		e->hdr.pid = id >> 32;
		e->hdr.tid = (__u32)id;
	}
	bpf_ringbuf_submit(e, submit_flags());
	return true;
}

/*
 * A connection's key in conns: the process and the fd. id is the task's
 * bpf_get_current_pid_tgid(), read once per program and passed down.
 */
static __always_inline __u64 conn_key(__u64 id, __u32 fd)
{
	return (id & ~0xffffffffULL) | fd;
}

/*
 * Kernel framing (http.h). The head of a message is read from the
 * call's first piece into this CPU's buffer and scanned a word at a
 * time for its line ends. The buffer has room past HTTP_HEAD_KERNEL for
 * the loads the scan makes beyond a line's start.
 */
#define HEAD_BUF (HTTP_HEAD_KERNEL + 32)

/* What the scan of a head found. */
struct head {
	__u64 len;		/* through its blank line; 0: not in the bytes */
	__u64 line;		/* its first line, without CRLF */
	__u64 clen_at;		/* where its Content-Length's value is, or 0 */
	__s64 clen;		/* that value, -1 if none */
	__u64 odd;		/* a framing left to user space */
};

/*
 * The findings live in the map too: the verifier does not follow values
 * in maps, so the scan's many ways out (one per line) come to one state
 * after it instead of one per position found.
 */
struct head_buf {
	struct head hd;
	char buf[HEAD_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct head_buf);
} heads SEC(".maps");

#define BYTES8(c) ((c) * 0x0101010101010101ULL)
#define LE8(a, b, c, d, e, f, g, h) \
	((__u64)WORD(a, b, c, d) | (__u64)WORD(e, f, g, h) << 32)
/* Letters of a header name lowered (and '\r' made '-', harmless here). */
#define LOWER8 BYTES8(0x20)

static __always_inline __u64 load8(const char *h, __u64 off)
{
	if (off > HEAD_BUF - 8)
		return 0;
	return *(const __u64 *)(h + off);
}

/*
 * The index of the lowest byte flagged in m (bits 7, 15, ...; m != 0),
 * without branches: the verifier would keep a state for each thing each
 * branch taught it about m.
 */
static __always_inline __u64 low_byte(__u64 m)
{
	__u64 lowest = (m & -m) >> 7;	/* 1 << 8 * index */

	return (lowest * 0x0001020304050607ULL) >> 56 & 7;
}

/* A Content-Length value at v: digits after blanks, as user space reads it. */
static __always_inline __s64 header_number(const char *h, __u64 v)
{
	__s64 n = 0;
	int digits = 0;

	barrier_var(v);
	if (v > HEAD_BUF - 16)
		return -2;
	for (int i = 0; i < 16; i++) {
		char ch = h[v + i];

		if ((ch == ' ' || ch == '\t') && !digits)
			continue;
		if (ch < '0' || ch > '9')
			return digits > 12 ? -2 : n;
		n = n * 10 + (ch - '0');
		digits++;
	}
	return -2;	/* blanks or digits past what is read: user space's */
}

/*
 * The line feed at p, of a head of n bytes: the first ends its first
 * line; one followed by CRLF ends the head. A bare one (no CR before)
 * is left to user space, which ends a head only at CRLF CRLF. True when
 * the scan is over.
 */
static __always_inline bool line_end(const char *h, __u64 n, __u64 p,
				     struct head *hd)
{
	__u64 s, a, b;

	/*
	 * p < n <= HTTP_HEAD_KERNEL, told again to the verifier (which
	 * loses the bound of the scan's offset), after the compiler
	 * forgets it.
	 */
	barrier_var(p);
	if (p >= HTTP_HEAD_KERNEL)
		return true;
	s = p + 1;
	if (p < 1 || h[p - 1] != '\r') {
		hd->odd = true;
		return true;
	}
	if (!hd->line)
		hd->line = p - 1;
	if (s + 2 > n)
		return true;		/* the head goes on past the bytes */
	if (h[s] == '\r') {
		if (h[s + 1] == '\n')
			hd->len = s + 2;
		else
			hd->odd = true;
		return true;
	}
	a = load8(h, s) | LOWER8;
	if (a == LE8('c', 'o', 'n', 't', 'e', 'n', 't', '-')) {
		b = (load8(h, s + 8) | LOWER8) & 0x00ffffffffffffffULL;
		if (b == (LE8('l', 'e', 'n', 'g', 't', 'h', ':', 0) &
			  0x00ffffffffffffffULL)) {
			/* two of them: user space takes the last */
			if (hd->clen_at)
				hd->odd = true;
			hd->clen_at = s + 15;
		}
	} else if (a == LE8('t', 'r', 'a', 'n', 's', 'f', 'e', 'r')) {
		hd->odd = true;		/* chunked, most likely */
	}
	return hd->odd;
}

/*
 * Scans the n (<= HTTP_HEAD_KERNEL) bytes of a head in h. The loop only
 * notes where things are: the verifier walks each of its rounds, and a
 * loop inside (the number's) would multiply them past its limit.
 */
static __always_inline void head_lines(const char *h, __u64 n,
				       struct head *hd)
{
	for (__u64 k = 0; k < HTTP_HEAD_KERNEL / 8; k++) {
		__u64 off = k * 8;
		__u64 x, m;

		if (off >= n)
			return;
		/* a flag in each byte that is a line feed */
		x = *(const __u64 *)(h + off) ^ BYTES8('\n');
		m = ~(((x & BYTES8(0x7f)) + BYTES8(0x7f)) | x | BYTES8(0x7f));
		if (n - off < 8)
			m &= (1ULL << ((n - off) * 8)) - 1;
		for (int j = 0; j < 8 && m; j++) {
			__u64 p = off + low_byte(m);

			m &= m - 1;
			if (line_end(h, n, p, hd))
				return;
		}
	}
}

/*
 * A global function: the verifier checks it once, not at each of the
 * places frame() is inlined into (one per kind of socket call).
 */
__noinline int head_scan(struct head_buf *hb, __u64 n)
{
	struct head *hd;
	const char *h;

	if (!hb)
		return 0;
	hd = &hb->hd;
	h = hb->buf;
	if (n > HTTP_HEAD_KERNEL)
		n = HTTP_HEAD_KERNEL;
	hd->len = 0;
	hd->line = 0;
	hd->clen_at = 0;
	hd->clen = -1;
	hd->odd = false;
	head_lines(h, n, hd);
	if (hd->clen_at && !hd->odd) {
		hd->clen = header_number(h, hd->clen_at);
		if (hd->clen < 0)
			hd->odd = true;
	}
	return 0;
}

/*
 * Reads the head of a call that moved len bytes through sp (up to
 * HTTP_HEAD_KERNEL bytes of its first piece) and scans it. Returns the
 * bytes, or NULL if they could not be read.
 */
static __always_inline struct head_buf *head_read(const struct span *sp,
						   __u64 len)
{
	__u32 zero = 0;
	struct head_buf *hb = bpf_map_lookup_elem(&heads, &zero);
	struct iov v = {};
	__u64 n;

	if (!hb || !sp)
		return NULL;
	if (sp->buf) {
		v.base = sp->buf;
		v.len = len;
	} else if (!sp->iovcnt ||
		   bpf_probe_read_user(&v, sizeof(v), sp->iov)) {
		return NULL;
	}
	n = v.len < len ? v.len : len;
	if (n > HTTP_HEAD_KERNEL)
		n = HTTP_HEAD_KERNEL;
	barrier_var(n);
	if (!n || n > HTTP_HEAD_KERNEL)
		return NULL;
	if (bpf_probe_read_user(hb->buf, n, v.base))
		return NULL;
	head_scan(hb, n);
	return hb;
}

/*
 * The exchange under way on connection key as a record: kind
 * HTTP_EV_PAIR (done, or ended by the close) or HTTP_EV_HANDOVER. Its
 * task is the request's, so it may be sent from any context (a reset
 * in softirq).
 */
static __always_inline void xchg_emit(__u64 key, struct conn *c, __u8 kind)
{
	struct http_xchg_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		__sync_fetch_and_add(&lost_requests, 1);
		return;
	}
	e->hdr = c->req;
	e->m.flags = HTTP_EVF_TASK;
	e->m.fd = (__u32)key;
	e->m.seq = c->seq++;
	e->m.kind = kind;
	e->m.dir = c->role == ROLE_SERVER ? HTTP_DIR_IN : HTTP_DIR_OUT;
	e->m.src = HTTP_SRC_SOCKET;
	e->m.len = 0;
	e->x = c->x;
	bpf_ringbuf_submit(e, submit_flags());
}

static __always_inline bool no_body_status(__u32 status)
{
	return status == 204 || status == 304;
}

/* A request's head h (scanned as hd) in a call of len bytes. */
static __always_inline bool frame_request(struct conn *c, __u32 dir,
					  __u64 len, const char *h,
					  const struct head *hd, __u64 id)
{
	__u32 w = *(const __u32 *)h;
	__u64 body = hd->clen < 0 ? 0 : hd->clen;
	struct task_struct *task;

	/* HEAD's answer has no body whatever it says; CONNECT tunnels */
	if (!request_start(w) || w == WORD('H', 'E', 'A', 'D') ||
	    w == WORD('C', 'O', 'N', 'N') || hd->line > HTTP_LINE_MAX ||
	    hd->len + body != len)
		return false;
	if (c->role == ROLE_NONE)
		c->role = dir == HTTP_DIR_IN ? ROLE_SERVER : ROLE_CLIENT;
	c->x.start_ns = bpf_ktime_get_boot_ns();
	c->x.end_ns = 0;
	c->x.req_body = body;
	c->x.resp_body = 0;
	c->x.resp_left = 0;
	c->x.status = 0;
	c->x.complete = 0;
	c->x.line_len = hd->line;
	/* word by word: h is 8-aligned, which the compiler cannot know */
	for (int i = 0; i < HTTP_LINE_MAX / 8; i++)
		((__u64 *)c->x.line)[i] = ((const __u64 *)h)[i];
	/*
	 * The record's header, kept until it is sent (maybe from softirq,
	 * a reset): the task's fields through BTF loads, where the comm
	 * and cgroup helpers cost 46 and 23 ns here (bench/http_costs).
	 */
	task = bpf_get_current_task_btf();
	c->req.ts_ns = c->x.start_ns;
	c->req.pid = id >> 32;
	c->req.tid = (__u32)id;
	((__u64 *)c->req.comm)[0] = ((const __u64 *)task->comm)[0];
	((__u64 *)c->req.comm)[1] = ((const __u64 *)task->comm)[1];
	if (filter.header_lite) {
		c->req.cgroup_id = 0;
		c->req.ppid = 0;
		c->req.uid = 0;
	} else {
		c->req.cgroup_id = task->cgroups->dfl_cgrp->kn->id;
		c->req.ppid = task->real_parent->tgid;
		c->req.uid = task->cred->uid.val;
	}
	c->phase = PHASE_ANSWER;
	return true;
}

/* Body bytes of the response: the exchange is done when they all came. */
static __always_inline void response_bytes(__u64 key, struct conn *c,
					   __u64 got)
{
	c->x.resp_body += got;
	c->x.resp_left -= got;
	c->x.end_ns = bpf_ktime_get_boot_ns();
	if (c->x.resp_left)
		return;
	c->x.complete = 1;
	xchg_emit(key, c, HTTP_EV_PAIR);
	c->phase = PHASE_IDLE;
}

/* The first call of a response: its head h (scanned as hd). */
static __always_inline bool frame_response(__u64 key, struct conn *c,
					   __u64 len, const char *h,
					   const struct head *hd)
{
	__u32 status;
	__u64 body;

	if (*(const __u32 *)h != WORD('H', 'T', 'T', 'P') ||
	    h[4] != '/' || h[5] != '1' || h[6] != '.' || h[8] != ' ' ||
	    hd->line < 12 || h[9] < '0' || h[9] > '9' || h[10] < '0' ||
	    h[10] > '9' || h[11] < '0' || h[11] > '9')
		return false;
	status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
	/* 1xx come before the answer; 101 switches protocols */
	if (status < 200)
		return false;
	if (no_body_status(status))
		body = 0;
	else if (hd->clen >= 0)
		body = hd->clen;
	else
		return false;	/* a body until the close */
	if (len - hd->len > body)
		return false;	/* more than this response */
	c->x.status = status;
	c->x.resp_left = body;
	c->phase = PHASE_BODY;
	response_bytes(key, c, len - hd->len);
	return true;
}

/*
 * One call of a kernel-framed connection: false if it is not a simple
 * exchange's, for user space to frame from this call on.
 */
static __always_inline bool frame(__u64 key, struct conn *c, __u32 dir,
				  __u64 len, const struct span *sp, __u64 id)
{
	bool request_dir = c->role == ROLE_NONE ||
			   (dir == HTTP_DIR_IN) == (c->role == ROLE_SERVER);
	struct head_buf *hb;

	if (c->phase == PHASE_BODY) {
		if (request_dir || len > c->x.resp_left)
			return false;
		response_bytes(key, c, len);
		return true;
	}
	/* a request while one is under way: pipelining */
	if (request_dir != (c->phase == PHASE_IDLE))
		return false;
	hb = head_read(sp, len);
	if (!hb || hb->hd.odd || !hb->hd.len)
		return false;
	if (c->phase == PHASE_IDLE)
		return frame_request(c, dir, len, hb->buf, &hb->hd, id);
	return frame_response(key, c, len, hb->buf, &hb->hd);
}

/* One event for a call that moved len bytes on connection key as c. */
static __always_inline int emit_data(struct conn *c, __u32 fd, __u32 dir,
				     __u32 src, __u64 len,
				     const struct span *sp, __u64 id)
{
	struct http_event_meta m = {};
	__u64 want = 0;
	bool ok;

	m.fd = fd;
	/* Not atomic: two threads writing one socket at once is rare. */
	m.seq = c->seq++;
	m.kind = HTTP_EV_DATA;
	m.dir = dir;
	m.src = src;
	m.len = len > 0xffffffffULL ? 0xffffffffU : len;
	if (sp)
		want = len < max_data ? len : max_data;
	if (want <= 256)
		ok = output_cap(&m, sp, want, id, 256);
	else if (want <= 1024)
		ok = output_cap(&m, sp, want, id, 1024);
	else if (want <= 4096)
		ok = output_cap(&m, sp, want, id, 4096);
	else
		ok = output_cap(&m, sp, want, id, HTTP_DATA_MAX);
	if (!ok) {
		__u32 w = sp ? first_word(sp) : 0;

		count_lost();
		if (request_start(w))
			__sync_fetch_and_add(&lost_requests, 1);
	}
	return 0;
}

/*
 * A call that moved len bytes on connection key, followed as c, or new
 * (c NULL: the caller saw its bytes start a message; sk its socket, 0
 * for TLS). kernel: this program frames plain connections itself.
 */
static __always_inline int emit(__u64 key, struct conn *c, __u32 fd,
				__u32 dir, __u32 src, __u64 len,
				const struct span *sp, __u64 id, __u64 sk,
				const bool kernel)
{
	if (!c) {
		__u32 tgid = key >> 32;
		__u8 one = 1;

		c = conn_add(key);
		if (!c)
			return 0;
		c->src = src;
		c->sk = sk;
		c->framing = kernel && src == HTTP_SRC_SOCKET ?
			     FRAME_KERNEL : FRAME_USER;
		bpf_map_update_elem(&procs, &tgid, &one, BPF_ANY);
	}
	if (kernel && c->framing == FRAME_KERNEL) {
		if (frame(key, c, dir, len, sp, id))
			return 0;
		c->framing = FRAME_USER;
		if (c->phase != PHASE_IDLE)
			xchg_emit(key, c, HTTP_EV_HANDOVER);
		c->phase = PHASE_IDLE;
	}
	return emit_data(c, fd, dir, src, len, sp, id);
}

/*
 * A socket call inside a TLS call moves ciphertext: it only tells which
 * fd the SSL object uses. True if the thread is in a TLS call.
 */
static __always_inline bool in_tls_call(__u64 id, long fd)
{
	__u32 tid = (__u32)id;
	struct tls_call *t;

	if (!tls_on)
		return false;
	t = bpf_map_lookup_elem(&tls_calls, &tid);
	if (!t)
		return false;
	t->fd = fd;
	return true;
}

/* The TCP socket behind fd, 0 if it is none. */
static __always_inline __u64 tcp_sock_of(long fd)
{
	struct socket *sock = netsock_of_fd(fd);
	struct sock *sk;

	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	return sk && netsock_is_tcp(sk) ? (__u64)sk : 0;
}

/*
 * The followed connection of key: itself, or for a duplicated fd the
 * one it duplicates (*key changed to that one's key).
 */
static __always_inline struct conn *conn_lookup(__u64 *key)
{
	struct conn *c = bpf_map_lookup_elem(&conns, key);
	__u64 dup_key = *key;

	if (c && c->canon) {
		*key = c->canon;
		c = bpf_map_lookup_elem(&conns, key);
		/*
		 * The socket ended (seen at its TCP state) while this
		 * duplicate fd stayed open: forget it, or its fd number
		 * could never start a connection again.
		 */
		if (!c) {
			bpf_map_delete_elem(&conns, &dup_key);
			*key = dup_key;
		}
	}
	return c;
}

/*
 * The end of connection key, followed as c: an event, and the entry
 * goes. by_owner: the running task is the connection's process (a
 * close); else only the pid in the key is known (a reset, say). A
 * kernel-framed one tells only of its exchange under way, if any.
 */
static __always_inline void conn_end(__u64 key, struct conn *c,
				     bool by_owner)
{
	struct http_event *e;

	if (c->framing == FRAME_KERNEL) {
		if (c->phase != PHASE_IDLE) {
			c->x.end_ns = bpf_ktime_get_boot_ns();
			c->x.complete = 0;
			xchg_emit(key, c, HTTP_EV_PAIR);
		}
		bpf_map_delete_elem(&conns, &key);
		return;
	}
	e = event_reserve(HTTP_EVENT_HEAD_SIZE);
	if (e) {
		if (by_owner) {
			event_fill_hdr(&e->hdr);
			e->m.flags = HTTP_EVF_TASK;
		} else {
			__builtin_memset(&e->hdr, 0, sizeof(e->hdr));
			e->hdr.ts_ns = bpf_ktime_get_boot_ns();
			e->hdr.pid = key >> 32;
			e->hdr.tid = key >> 32;
			e->m.flags = 0;
		}
		e->m.fd = (__u32)key;
		e->m.seq = c->seq;
		e->m.kind = HTTP_EV_CLOSE;
		e->m.dir = 0;
		e->m.src = c->src;
		e->m.len = 0;
		e->data_len = 0;
		event_submit(e);
	}
	bpf_map_delete_elem(&conns, &key);
}

/*
 * A socket call that moved ret bytes through sp on fd, made by task id
 * (its filters passed); call_sk is the socket the kernel says it used
 * (0: not known, at sys_exit); kernel: the program frames plain
 * connections itself. A followed plaintext connection goes straight to
 * its framing; the dearer checks (a TLS call under way, the bytes, the
 * socket) are for the others.
 */
static __always_inline int sock_call(long ret, __u32 dir, long fd,
				     const struct span *sp, __u64 call_sk,
				     __u64 id, const bool kernel)
{
	__u64 key, sk, *first;
	struct conn *c, *dup;

	if (ret <= 0 || fd < 0)
		return 0;
	key = conn_key(id, fd);
	c = conn_lookup(&key);
	if (c && c->src == HTTP_SRC_SOCKET) {
		if (!call_sk || !c->sk || c->sk == call_sk)
			return emit(key, c, (__u32)key, dir, HTTP_SRC_SOCKET,
				    ret, sp, id, 0, kernel);
		/*
		 * Another socket: used inside this call (a network file
		 * system's, say), or the fd's now, the one followed having
		 * ended unseen. Only the fd's own starts a connection.
		 */
		if (tcp_sock_of(fd) != call_sk)
			return 0;
		if (key == conn_key(id, fd)) {
			conn_end(key, c, true);
		} else {
			/* a duplicate's fd: its socket may live on */
			key = conn_key(id, fd);
			bpf_map_delete_elem(&conns, &key);
		}
		c = NULL;
	}
	if (in_tls_call(id, fd) || c || !sp || !http_start(first_word(sp)))
		return 0;
	sk = tcp_sock_of(fd);
	if (!sk || (call_sk && sk != call_sk))
		return 0;
	/* Another fd of this process already follows the socket. */
	first = bpf_map_lookup_elem(&socks, &sk);
	if (first && *first != key && *first >> 32 == key >> 32) {
		__u64 canon = *first;

		c = bpf_map_lookup_elem(&conns, &canon);
		if (c && c->src == HTTP_SRC_SOCKET) {
			dup = conn_add(key);
			if (!dup)
				return 0;
			dup->canon = canon;
			dup->src = HTTP_SRC_SOCKET;
			dup->framing = FRAME_USER;
			return emit(canon, c, (__u32)canon, dir,
				    HTTP_SRC_SOCKET, ret, sp, id, 0, kernel);
		}
	}
	bpf_map_update_elem(&socks, &sk, &key, BPF_ANY);
	return emit(key, NULL, fd, dir, HTTP_SRC_SOCKET, ret, sp, id, sk,
		    kernel);
}

static __always_inline struct pt_regs *sys_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* A syscall's first four arguments, loaded through BTF (no helper call). */
#if defined(__TARGET_ARCH_x86)
#define SYS_ARG0(r) ((r)->di)
#define SYS_ARG1(r) ((r)->si)
#define SYS_ARG2(r) ((r)->dx)
#define SYS_ARG3(r) ((r)->r10)
#elif defined(__TARGET_ARCH_arm64)
#define SYS_ARG0(r) ((r)->orig_x0)
#define SYS_ARG1(r) ((r)->regs[1])
#define SYS_ARG2(r) ((r)->regs[2])
#define SYS_ARG3(r) ((r)->regs[3])
#endif

#define HTTP_EBADF	9	/* errno.h is not for BPF objects */
/* The bytes stay queued, to be read again. */
#define HTTP_MSG_PEEK	2

/* The numbers of the calls followed, for the one program on sys_exit. */
#if defined(__TARGET_ARCH_x86)
#define NR_READ		0
#define NR_WRITE	1
#define NR_CLOSE	3
#define NR_READV	19
#define NR_WRITEV	20
#define NR_SENDFILE	40
#define NR_SENDTO	44
#define NR_RECVFROM	45
#define NR_SENDMSG	46
#define NR_RECVMSG	47
#define NR_SHUTDOWN	48
#elif defined(__TARGET_ARCH_arm64)
#define NR_CLOSE	57
#define NR_READ		63
#define NR_WRITE	64
#define NR_READV	65
#define NR_WRITEV	66
#define NR_SENDFILE	71
#define NR_SENDTO	206
#define NR_RECVFROM	207
#define NR_SENDMSG	211
#define NR_RECVMSG	212
#define NR_SHUTDOWN	210
#endif

/*
 * regs: the task's saved user registers, through a BTF pointer; sk: the
 * socket the kernel used, 0 if not known; id and kernel as sock_call's.
 */
static __always_inline int buf_call(struct pt_regs *regs, long ret, __u32 dir,
				    __u64 sk, __u64 id, const bool kernel)
{
	struct span sp = {};

	sp.buf = (const void *)SYS_ARG1(regs);
	return sock_call(ret, dir, SYS_ARG0(regs), &sp, sk, id, kernel);
}

static __always_inline int vec_call(struct pt_regs *regs, long ret, __u32 dir,
				    __u64 sk, __u64 id, const bool kernel)
{
	struct span sp = {};

	sp.iov = (const void *)SYS_ARG1(regs);
	sp.iovcnt = SYS_ARG2(regs);
	return sock_call(ret, dir, SYS_ARG0(regs), &sp, sk, id, kernel);
}

static __always_inline int msg_call(struct pt_regs *regs, long ret, __u32 dir,
				    __u64 sk, __u64 id, const bool kernel)
{
	struct msghdr64 m = {};
	struct span sp = {};

	if (ret <= 0)
		return 0;
	if (bpf_probe_read_user(&m, sizeof(m),
				(void *)SYS_ARG1(regs)))
		return 0;
	sp.iov = m.iov;
	sp.iovcnt = m.iovlen;
	return sock_call(ret, dir, SYS_ARG0(regs), &sp, sk, id, kernel);
}

/* A body sent from a file: counted, never copied. */
static __always_inline int sendfile_call(struct pt_regs *regs, long ret,
					 __u64 sk, __u64 id, const bool kernel)
{
	long fd = SYS_ARG0(regs);
	struct conn *c;
	__u64 key;

	if (ret <= 0 || fd < 0)
		return 0;
	key = conn_key(id, fd);
	c = conn_lookup(&key);
	if (!c || c->src != HTTP_SRC_SOCKET || (sk && c->sk && c->sk != sk))
		return 0;
	return emit(key, c, (__u32)key, HTTP_DIR_OUT, HTTP_SRC_SOCKET, ret,
		    NULL, id, 0, kernel);
}

/* A close() at its exit: the end of a followed connection. */
static __always_inline int close_call(long fd, __u64 id)
{
	__u64 key = conn_key(id, fd);
	struct conn *c = bpf_map_lookup_elem(&conns, &key);

	if (!c)
		return 0;
	/* A duplicate's close leaves the socket open. */
	if (c->canon)
		bpf_map_delete_elem(&conns, &key);
	else
		conn_end(key, c, true);
	return 0;
}

/*
 * The data-moving socket calls, picked by number; dir_only: HTTP_DIR_IN
 * or _OUT to take only those (a socket tracepoint says which way), or -1;
 * id: the task, its filters passed; kernel as sock_call's.
 */
static __always_inline int data_call(struct pt_regs *regs, long nr, long ret,
				     __u64 sk, int dir_only, __u64 id,
				     const bool kernel)
{
	switch (nr) {
	case NR_RECVFROM:
		if (SYS_ARG3(regs) & HTTP_MSG_PEEK)
			break;
		/* fall through */
	case NR_READ:
		if (dir_only != HTTP_DIR_OUT)
			return buf_call(regs, ret, HTTP_DIR_IN, sk, id, kernel);
		break;
	case NR_WRITE:
	case NR_SENDTO:
		if (dir_only != HTTP_DIR_IN)
			return buf_call(regs, ret, HTTP_DIR_OUT, sk, id, kernel);
		break;
	case NR_READV:
		if (dir_only != HTTP_DIR_OUT)
			return vec_call(regs, ret, HTTP_DIR_IN, sk, id, kernel);
		break;
	case NR_WRITEV:
		if (dir_only != HTTP_DIR_IN)
			return vec_call(regs, ret, HTTP_DIR_OUT, sk, id, kernel);
		break;
	case NR_RECVMSG:
		if (dir_only != HTTP_DIR_OUT &&
		    !(SYS_ARG2(regs) & HTTP_MSG_PEEK))
			return msg_call(regs, ret, HTTP_DIR_IN, sk, id, kernel);
		break;
	case NR_SENDMSG:
		if (dir_only != HTTP_DIR_IN)
			return msg_call(regs, ret, HTTP_DIR_OUT, sk, id, kernel);
		break;
	case NR_SENDFILE:
		if (dir_only != HTTP_DIR_IN)
			return sendfile_call(regs, ret, sk, id, kernel);
		break;
	}
	return 0;
}

/*
 * The socket layer's tracepoints (6.3+) fire inside the send and receive
 * calls of sockets only, after the bytes moved: the syscall's number and
 * buffer are in the task's saved registers. Hooking them leaves every
 * other syscall on its fast path, where any sys_exit program puts all
 * of them on the slow one (~80 ns each here, docs/l7.md). Calls that are
 * not a task's own syscall (io_uring, the kernel's sockets) have another
 * number, or another socket than the fd's, and are left out.
 */
#define HTTP_TCP_ESTABLISHED	1
#define HTTP_TCP_FIN_WAIT1	4
#define HTTP_TCP_CLOSE		7
#define HTTP_TCP_CLOSE_WAIT	8
#define HTTP_TCP_LAST_ACK	9
#define HTTP_SHUTDOWN_MASK	3	/* both ways shut */

static __always_inline bool both_ways_shut(const struct sock *sk)
{
	return (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_shutdown) &
		HTTP_SHUTDOWN_MASK) == HTTP_SHUTDOWN_MASK;
}

/* The connection of socket sk, if one is followed, ends. */
static __always_inline void sock_end(__u64 sk)
{
	__u64 key, *first = bpf_map_lookup_elem(&socks, &sk);
	struct conn *c;

	if (!first)
		return;
	key = *first;
	bpf_map_delete_elem(&socks, &sk);
	c = bpf_map_lookup_elem(&conns, &key);
	if (c && c->sk == sk && !c->canon)
		conn_end(key, c, bpf_get_current_pid_tgid() >> 32 == key >> 32);
}

/*
 * The end of the bytes on a socket both of whose ways are shut: the
 * end of a connection whose process shut its sending side first (an
 * HTTP/1.0 client after its request), which closes it with no change
 * of TCP state left to see.
 */
static __always_inline int sock_eof(struct sock *sk)
{
	if (both_ways_shut(sk))
		sock_end((__u64)sk);
	return 0;
}

/*
 * The filters come first: most calls are other processes' where a
 * server is traced alone, and they cost no more than the two checks.
 */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(sock_recv_btf, struct sock *sk, int ret, int flags)
{
	struct pt_regs *regs;
	__u64 id;

	if (flags & HTTP_MSG_PEEK)
		return 0;
	if (ret == 0)
		return sock_eof(sk);
	if (ret < 0)
		return 0;
	id = bpf_get_current_pid_tgid();
	if (!filter_current_id_ok(id))
		return 0;
	regs = sys_regs();
	return data_call(regs, regs_syscall_nr_btf(regs), ret, (__u64)sk,
			 HTTP_DIR_IN, id, true);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(sock_send_btf, struct sock *sk, int ret, int flags)
{
	struct pt_regs *regs;
	__u64 id;

	if (ret <= 0)
		return 0;
	id = bpf_get_current_pid_tgid();
	if (!filter_current_id_ok(id))
		return 0;
	regs = sys_regs();
	return data_call(regs, regs_syscall_nr_btf(regs), ret, (__u64)sk,
			 HTTP_DIR_OUT, id, true);
}

/*
 * A followed connection ends when its socket does, seen in its TCP
 * state: closed by its last fd (its FIN queued by the close, or, after
 * a shutdown(), the next change once no file holds it) or aborted
 * (reset, or closed with bytes unread). Keyed by the socket, so a new
 * connection that gets the same fd number at once is not taken for it,
 * and a duplicate fd's close (the socket still open) ends nothing. After
 * a shutdown() the last bytes may still wait to be read when an orderly
 * CLOSE comes on its own (the peer's FIN): sock_eof above ends those.
 * Whether this change of state of sk ends its connection:
 */
static __always_inline bool state_ends(const struct sock *sk, int oldstate,
				       int newstate)
{
	/*
	 * Closed by its last fd before (shutdown() first): no file left,
	 * any later change of state (the FIN acked, TIME_WAIT) ends it.
	 */
	if (!BPF_CORE_READ(sk, sk_socket))
		return true;
	switch (newstate) {
	case HTTP_TCP_FIN_WAIT1:
	case HTTP_TCP_LAST_ACK:
		/* Queued in the task that closes or shuts it. */
		return both_ways_shut(sk) &&
		       regs_syscall_nr_btf(sys_regs()) != NR_SHUTDOWN;
	case HTTP_TCP_CLOSE:
		return BPF_CORE_READ(sk, sk_err) ||
		       oldstate == HTTP_TCP_ESTABLISHED ||
		       oldstate == HTTP_TCP_CLOSE_WAIT;
	}
	return false;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sock_state_btf, const struct sock *sk, const int oldstate,
	     const int newstate)
{
	if (state_ends(sk, oldstate, newstate))
		sock_end((__u64)sk);
	return 0;
}

/*
 * Where the socket tracepoints are not (before 6.3): every socket call
 * from one program on sys_exit, picked by number; against ten syscall
 * tracepoints, a followed call costs about 130 ns less and any other
 * syscall about 40 ns more (docs/l7.md), and the exit does not wait for
 * ten tracepoints to detach (0.45 s). A close is seen at its exit, where
 * its fd argument is still in the registers; the fd is free a moment
 * before that, so another thread that accepted a connection on the same
 * number and read from it within that moment would have its first bytes
 * taken for the closed connection's (not seen in tests).
 */
static __always_inline bool data_nr(long nr)
{
	switch (nr) {
	case NR_READ: case NR_WRITE: case NR_READV: case NR_WRITEV:
	case NR_SENDFILE: case NR_SENDTO: case NR_RECVFROM: case NR_SENDMSG:
	case NR_RECVMSG:
		return true;
	}
	return false;
}

static __always_inline int socket_exit(struct pt_regs *regs, long nr,
				       long ret)
{
	__u64 id;

	/* Linux releases the fd whatever close() returns but EBADF. */
	if (nr == NR_CLOSE)
		return ret == -HTTP_EBADF ? 0 :
		       close_call(SYS_ARG0(regs), bpf_get_current_pid_tgid());
	if (!data_nr(nr) || ret <= 0)
		return 0;
	id = bpf_get_current_pid_tgid();
	if (!filter_current_id_ok(id))
		return 0;
	return data_call(regs, nr, ret, 0, -1, id, false);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(socket_exit_btf, struct pt_regs *regs, long ret)
{
	return socket_exit(regs, regs_syscall_nr_btf(regs), ret);
}

/*
 * Without tp_btf: the number read by CO-RE, the arguments through BTF.
 * (A syscall tracepoint per call would need the same helpers, which came
 * after raw tracepoints, so it is never the only way.)
 */
SEC("raw_tp/sys_exit")
int BPF_PROG(socket_exit_raw, struct pt_regs *regs, long ret)
{
	long nr = regs_syscall_nr(regs);

	if (nr != NR_CLOSE && !data_nr(nr))
		return 0;
	return socket_exit(sys_regs(), nr, ret);
}

/*
 * A process that exits closes its fds without close(): an inetd-style
 * child ends its response that way. Its connections end here.
 */
SEC("tracepoint/sched/sched_process_exit")
int process_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct http_event *e;

	if ((__u32)id != tgid || !bpf_map_lookup_elem(&procs, &tgid))
		return 0;
	bpf_map_delete_elem(&procs, &tgid);
	e = event_reserve(HTTP_EVENT_HEAD_SIZE);
	if (!e)
		return 0;
	event_fill_hdr(&e->hdr);
	__builtin_memset(&e->m, 0, sizeof(e->m));
	e->m.kind = HTTP_EV_EXIT;
	e->m.flags = HTTP_EVF_TASK;
	e->data_len = 0;
	event_submit(e);
	return 0;
}

static __always_inline int tls_enter(const void *ssl, const void *buf,
				     const void *count_ptr, __u32 dir,
				     __u32 ex)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct tls_call t = {};

	if (!filter_current_ok())
		return 0;
	t.ssl = ssl;
	t.buf = buf;
	t.count_ptr = count_ptr;
	t.fd = -1;
	t.dir = dir;
	t.ex = ex;
	bpf_map_update_elem(&tls_calls, &tid, &t, BPF_ANY);
	return 0;
}

static __always_inline int tls_return(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct tls_call *t = bpf_map_lookup_elem(&tls_calls, &tid);
	struct span sp = {};
	__u64 ssl, key, n = 0;
	struct conn *c;
	__s32 *known;
	__u32 fd;

	if (!t)
		return 0;
	if (t->ex) {
		/* 1 on success, the count in *readbytes / *written */
		if (ret == 1 && t->count_ptr)
			bpf_probe_read_user(&n, sizeof(n), t->count_ptr);
	} else if (ret > 0) {
		n = ret;
	}
	ssl = (__u64)t->ssl;
	if (t->fd >= 0) {
		bpf_map_update_elem(&ssl_fds, &ssl, &t->fd, BPF_ANY);
		fd = t->fd;
	} else {
		known = bpf_map_lookup_elem(&ssl_fds, &ssl);
		fd = known ? (__u32)*known : HTTP_FD_SSL | (__u32)(ssl >> 4);
	}
	sp.buf = t->buf;
	key = conn_key(id, fd);
	c = bpf_map_lookup_elem(&conns, &key);
	if (n && (c ? c->src == HTTP_SRC_TLS : http_start(first_word(&sp))))
		emit(key, c, fd, t->dir, HTTP_SRC_TLS, n, &sp, id, 0, false);
	bpf_map_delete_elem(&tls_calls, &tid);
	return 0;
}

SEC("uprobe/libssl:SSL_read")
int BPF_KPROBE(ssl_read_entry, void *ssl, void *buf)
{
	return tls_enter(ssl, buf, NULL, HTTP_DIR_IN, 0);
}

SEC("uretprobe/libssl:SSL_read")
int BPF_KRETPROBE(ssl_read_return, int ret)
{
	return tls_return(ret);
}

SEC("uprobe/libssl:SSL_write")
int BPF_KPROBE(ssl_write_entry, void *ssl, const void *buf)
{
	return tls_enter(ssl, buf, NULL, HTTP_DIR_OUT, 0);
}

SEC("uretprobe/libssl:SSL_write")
int BPF_KRETPROBE(ssl_write_return, int ret)
{
	return tls_return(ret);
}

SEC("uprobe/libssl:SSL_read_ex")
int BPF_KPROBE(ssl_read_ex_entry, void *ssl, void *buf, size_t num,
	       size_t *readbytes)
{
	return tls_enter(ssl, buf, readbytes, HTTP_DIR_IN, 1);
}

SEC("uretprobe/libssl:SSL_read_ex")
int BPF_KRETPROBE(ssl_read_ex_return, int ret)
{
	return tls_return(ret);
}

SEC("uprobe/libssl:SSL_write_ex")
int BPF_KPROBE(ssl_write_ex_entry, void *ssl, const void *buf, size_t num,
	       size_t *written)
{
	return tls_enter(ssl, buf, written, HTTP_DIR_OUT, 1);
}

SEC("uretprobe/libssl:SSL_write_ex")
int BPF_KRETPROBE(ssl_write_ex_return, int ret)
{
	return tls_return(ret);
}

SEC("uprobe/libgnutls:gnutls_record_recv")
int BPF_KPROBE(gnutls_recv_entry, void *session, void *buf)
{
	return tls_enter(session, buf, NULL, HTTP_DIR_IN, 0);
}

SEC("uretprobe/libgnutls:gnutls_record_recv")
int BPF_KRETPROBE(gnutls_recv_return, long ret)
{
	return tls_return(ret);
}

SEC("uprobe/libgnutls:gnutls_record_send")
int BPF_KPROBE(gnutls_send_entry, void *session, const void *buf)
{
	return tls_enter(session, buf, NULL, HTTP_DIR_OUT, 0);
}

SEC("uretprobe/libgnutls:gnutls_record_send")
int BPF_KRETPROBE(gnutls_send_return, long ret)
{
	return tls_return(ret);
}

/*
 * sslsniff: the plaintext programs hand to their TLS library (OpenSSL's
 * SSL_read/SSL_write and their _ex variants, GnuTLS's record calls), and
 * with --handshake how long each connection's handshake took. Every copy of the
 * libraries found is probed: the system's (so every process that maps
 * them, later ones too), or the ones PID maps, or those given by
 * --extra-lib.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "session.h"
#include "sslsniff.h"
#include "sslsniff.skel.h"
#include "tlslib.h"
#include "uprobe.h"

static const struct tlslib_func funcs[SSL_CALL_COUNT] = {
	[SSL_CALL_READ] = { "SSL_read", TLSLIB_OPENSSL, "ssl_read_entry",
			    "ssl_read_return" },
	[SSL_CALL_WRITE] = { "SSL_write", TLSLIB_OPENSSL, "ssl_write_entry",
			     "ssl_write_return" },
	[SSL_CALL_READ_EX] = { "SSL_read_ex", TLSLIB_OPENSSL,
			       "ssl_read_ex_entry", "ssl_read_ex_return" },
	[SSL_CALL_WRITE_EX] = { "SSL_write_ex", TLSLIB_OPENSSL,
				"ssl_write_ex_entry", "ssl_write_ex_return" },
	[SSL_CALL_HANDSHAKE] = { "SSL_do_handshake", TLSLIB_OPENSSL,
				 "ssl_handshake_entry",
				 "ssl_handshake_return" },
	[SSL_CALL_GNUTLS_RECV] = { "gnutls_record_recv", TLSLIB_GNUTLS,
				   "gnutls_recv_entry", "gnutls_recv_return" },
	[SSL_CALL_GNUTLS_SEND] = { "gnutls_record_send", TLSLIB_GNUTLS,
				   "gnutls_send_entry", "gnutls_send_return" },
	[SSL_CALL_GNUTLS_HANDSHAKE] = { "gnutls_handshake", TLSLIB_GNUTLS,
					"gnutls_handshake_entry",
					"gnutls_handshake_return" },
	[SSL_CALL_CLEAR] = { "SSL_clear", TLSLIB_OPENSSL, "ssl_clear_entry",
			     NULL },
};

/* Probed only with --handshake. */
#define HANDSHAKE_CALLS	(1U << SSL_CALL_HANDSHAKE | \
			 1U << SSL_CALL_GNUTLS_HANDSHAKE | 1U << SSL_CALL_CLEAR)

/* What each call does, for the FUNC column. */
static const enum ssl_func call_func[SSL_CALL_COUNT] = {
	[SSL_CALL_READ] = SSL_FUNC_READ,
	[SSL_CALL_WRITE] = SSL_FUNC_WRITE,
	[SSL_CALL_READ_EX] = SSL_FUNC_READ,
	[SSL_CALL_WRITE_EX] = SSL_FUNC_WRITE,
	[SSL_CALL_HANDSHAKE] = SSL_FUNC_HANDSHAKE,
	[SSL_CALL_GNUTLS_RECV] = SSL_FUNC_READ,
	[SSL_CALL_GNUTLS_SEND] = SSL_FUNC_WRITE,
	[SSL_CALL_GNUTLS_HANDSHAKE] = SSL_FUNC_HANDSHAKE,
	[SSL_CALL_CLEAR] = SSL_FUNC_HANDSHAKE,
};

static const char *const func_labels[] = {
	[SSL_FUNC_READ] = "READ/RECV",
	[SSL_FUNC_WRITE] = "WRITE/SEND",
	[SSL_FUNC_HANDSHAKE] = "HANDSHAKE",
};

struct extra_lib {
	enum tlslib_type type;
	const char *path;
};

struct sslsniff_state {
	struct tlslib_set libs;
	/* One probe per function some library has (s->probes). */
	struct hook_probe probes[SSL_CALL_COUNT + 1];
	unsigned long long first_ts;
};

static struct sslsniff_state state;
static struct extra_lib extra_libs[TLSLIB_MAX_LIBS];
static int nextra;
static unsigned long long max_buffer = 8192;
static bool hexdump, handshake, latency;

enum { COL_FUNC, COL_TIME, COL_COMM, COL_PID, COL_LEN, COL_LAT };

static const struct out_col columns[] = {
	[COL_FUNC] = { "FUNC", -12 },
	[COL_TIME] = { "TIME(s)", -18 },
	[COL_COMM] = { "COMM", -16 },
	[COL_PID] = { "PID", -7 },
	[COL_LEN] = { "LEN", -6 },
	{ NULL },
};

static const struct out_col columns_lat[] = {
	[COL_FUNC] = { "FUNC", -12 },
	[COL_TIME] = { "TIME(s)", -18 },
	[COL_COMM] = { "COMM", -16 },
	[COL_PID] = { "PID", -7 },
	[COL_LEN] = { "LEN", -6 },
	[COL_LAT] = { "LAT(ms)", 0 },
	{ NULL },
};

static void print_data(struct out *o, const struct ssl_event *e)
{
	if (e->unread) {
		out_line(o, "----- DATA UNREAD (%u bytes) -----", e->len);
		return;
	}
	out_line(o, "----- DATA -----");
	if (hexdump)
		out_hexdump(o, e->data, e->data_len);
	else
		out_block(o, e->data, e->data_len);
	if (e->len > e->data_len)
		out_line(o, "----- END DATA (TRUNCATED, %u bytes lost) -----",
			 e->len - e->data_len);
	else
		out_line(o, "----- END DATA -----");
	out_line(o, "%s", "");
}

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct ssl_event *e = data;
	struct out *o = &s->out;
	unsigned int state_bits = 0;
	const struct tlslib_func *f;
	bool hs;

	if (size < SSL_EVENT_HEAD_SIZE || e->call >= SSL_CALL_COUNT ||
	    size < SSL_EVENT_HEAD_SIZE + e->data_len)
		return 0;
	f = &funcs[e->call];
	hs = e->handshake;
	if (!state.first_ts)
		state.first_ts = e->hdr.ts_ns;
	session_event_begin(s, "ssl", &e->hdr);
	out_str(o, COL_FUNC, "func",
		func_labels[hs ? SSL_FUNC_HANDSHAKE : call_func[e->call]]);
	out_double(o, COL_TIME, NULL, (e->hdr.ts_ns - state.first_ts) / 1e9,
		   9);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, sizeof(e->hdr.comm));
	out_int(o, COL_PID, NULL, e->hdr.pid);
	/*
	 * As BCC: a handshake's LEN is the return value of the call that
	 * finished it (SSL_do_handshake's 1, SSL_write's byte count, ...).
	 */
	if (hs)
		out_int(o, COL_LEN, NULL, e->ret);
	out_uint(o, hs ? OUT_JSON_ONLY : COL_LEN, "len", e->len);
	if (latency || handshake)
		out_double(o, COL_LAT, NULL, e->lat_ns / 1e6, 3);
	out_str(o, OUT_JSON_ONLY, "function", f->name);
	out_int(o, OUT_JSON_ONLY, "ret", e->ret);
	out_uint(o, OUT_JSON_ONLY, "lat_ns", e->lat_ns);
	if (!hs) {
		if (e->unread)
			state_bits |= USTR_UNREAD;
		else if (e->len > e->data_len)
			state_bits |= USTR_TRUNCATED;
		out_uint(o, OUT_JSON_ONLY, "data_len", e->data_len);
		out_bytes(o, "data", e->data, e->data_len, state_bits);
	}
	out_end(o);
	if (!hs)
		print_data(o, e);
	return 0;
}

/* Every library that has the program's function gets the probe. */
static struct bpf_link *attach_prog(struct session *s,
				    struct bpf_program *prog)
{
	return tlslib_attach(&state.libs, s, prog);
}

/* Containers started since: their own copies get the probes too. */
static int follow_new_libraries(struct session *s)
{
	return tlslib_follow(&state.libs, s);
}

static int add_extra_libs(int pid)
{
	char path[PATH_MAX];
	int err;

	for (int i = 0; i < nextra; i++) {
		const char *type = tlslib_type_name(extra_libs[i].type);

		err = uprobe_find_library(extra_libs[i].path, pid, path,
					  sizeof(path));
		if (err) {
			log_err("--extra-lib %s:%s: %s", type,
				extra_libs[i].path, strerror(-err));
			return EXIT_USAGE;
		}
		err = tlslib_add(&state.libs, extra_libs[i].type, path);
		if (err == 0) {
			log_err("--extra-lib %s:%s: no %s read/write function in it (wrong TYPE?)",
				type, extra_libs[i].path, type);
			return EXIT_USAGE;
		}
		if (err < 0) {
			log_err("--extra-lib: more than %d libraries",
				TLSLIB_MAX_LIBS);
			return EXIT_USAGE;
		}
	}
	return 0;
}

/*
 * Only the functions some library has are loaded: one probe each, the
 * others switched off (SSL_read_ex is not in OpenSSL 1.1).
 */
static int plan_probes(struct bpf_object *obj)
{
	struct bpf_program *prog;
	int np = 0;

	memset(state.probes, 0, sizeof(state.probes));
	for (int c = 0; c < SSL_CALL_COUNT; c++) {
		if (!tlslib_any(&state.libs, c))
			continue;
		state.probes[np].name = funcs[c].name;
		state.probes[np].candidates[0].progs[0] = funcs[c].entry;
		state.probes[np].candidates[0].progs[1] = funcs[c].ret;
		np++;
	}
	bpf_object__for_each_program(prog, obj) {
		int c = tlslib_func_of_prog(&state.libs, prog);
		bool used = false;

		for (int p = 0; p < np; p++)
			used = used || (c >= 0 &&
					state.probes[p].name == funcs[c].name);
		if (!used)
			bpf_program__set_autoload(prog, false);
	}
	return np;
}

static int sslsniff_prepare(struct session *s, void *p)
{
	struct sslsniff_bpf *skel = p;
	int err, ncpus;

	memset(&state, 0, sizeof(state));
	tlslib_init(&state.libs, funcs, SSL_CALL_COUNT,
		    handshake ? 0 : HANDSHAKE_CALLS);
	err = add_extra_libs(s->opts.pid);
	if (err)
		return err;
	tlslib_find(&state.libs, s->opts.pid);
	if (!plan_probes(skel->obj)) {
		if (s->opts.pid > 0)
			log_err("process %d maps no OpenSSL (libssl) or GnuTLS (libgnutls) library; give one with --extra-lib TYPE:PATH",
				s->opts.pid);
		else
			log_err("no OpenSSL (libssl.so.3, libssl.so.1.1) or GnuTLS (libgnutls.so.30) library found; give one with --extra-lib TYPE:PATH");
		return EXIT_USAGE;
	}
	for (int i = 0; i < state.libs.nlibs; i++)
		log_debug("probing %s library %s",
			  tlslib_type_name(state.libs.libs[i].type),
			  state.libs.libs[i].path);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 1 || bpf_map__set_max_entries(skel->maps.scratch, ncpus)) {
		log_err("cannot size the event buffers for %d CPUs", ncpus);
		return EXIT_RUNTIME;
	}
	skel->rodata->max_data = max_buffer;
	skel->rodata->track_handshakes = handshake;
	/* Unused without --handshake: no room reserved for it. */
	if (!handshake && bpf_map__set_max_entries(skel->maps.handshakes, 1)) {
		log_err("cannot size the handshake map");
		return EXIT_RUNTIME;
	}
	s->probes = state.probes;
	s->attach_prog = attach_prog;
	if (s->opts.pid <= 0)
		s->on_second = follow_new_libraries;
	if (latency || handshake)
		s->columns = columns_lat;
	s->tool_state = &state;
	return 0;
}

static const struct tool_opt sslsniff_opts[] = {
	{ "hexdump", 0, NULL, "show the data as a hex dump" },
	{ "max-buffer-size", 0, "N", "show at most N bytes of each call's data (default 8192, at most 65536)" },
	{ "handshake", 0, NULL, "also show each connection's handshake and its latency" },
	{ "latency", 'l', NULL, "show each call's latency (LAT(ms))" },
	{ "extra-lib", 0, "TYPE:PATH", "also probe this library; TYPE is openssl or gnutls (repeatable)" },
	{ NULL },
};

static int parse_extra_lib(const char *arg)
{
	const char *colon = strchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : 0;
	int type = colon ? tlslib_parse_type(arg, n) : -1;

	if (type < 0 || !colon[1]) {
		log_err("invalid --extra-lib '%s': expected TYPE:PATH with TYPE openssl or gnutls",
			arg);
		return EXIT_USAGE;
	}
	if (nextra == TLSLIB_MAX_LIBS) {
		log_err("--extra-lib: at most %d libraries", TLSLIB_MAX_LIBS);
		return EXIT_USAGE;
	}
	extra_libs[nextra].type = type;
	extra_libs[nextra++].path = colon + 1;
	return 0;
}

static int sslsniff_parse_opt(int index, const char *arg)
{
	switch (index) {
	case 0:
		hexdump = true;
		return 0;
	case 1:
		return opts_uint("--max-buffer-size", arg, 0, SSL_DATA_MAX,
				 "bytes", &max_buffer);
	case 2:
		handshake = true;
		return 0;
	case 3:
		latency = true;
		return 0;
	default:
		return parse_extra_lib(arg);
	}
}

static const struct hook_probe sslsniff_probes[] = {
	{ "SSL_read", { { { "ssl_read_entry", "ssl_read_return" } } } },
	{ "SSL_write", { { { "ssl_write_entry", "ssl_write_return" } } } },
	{ "SSL_read_ex", { { { "ssl_read_ex_entry", "ssl_read_ex_return" } } } },
	{ "SSL_write_ex", { { { "ssl_write_ex_entry", "ssl_write_ex_return" } } } },
	{ "SSL_do_handshake", { { { "ssl_handshake_entry", "ssl_handshake_return" } } } },
	{ "gnutls_record_recv", { { { "gnutls_recv_entry", "gnutls_recv_return" } } } },
	{ "gnutls_record_send", { { { "gnutls_send_entry", "gnutls_send_return" } } } },
	{ "gnutls_handshake", { { { "gnutls_handshake_entry", "gnutls_handshake_return" } } } },
	{ "SSL_clear", { { { "ssl_clear_entry" } } } },
	{ NULL },
};

TOOL_SKEL(sslsniff);

static const struct tool sslsniff_tool = {
	.name = "sslsniff",
	.summary = "Show TLS plaintext read and written through OpenSSL and GnuTLS",
	.examples =
		"  loupe sslsniff                # every process using the system's OpenSSL or GnuTLS\n"
		"  loupe sslsniff -p 181         # PID 181 (the libraries it maps, also in a container)\n"
		"  loupe sslsniff --hexdump      # the data as a hex dump\n"
		"  loupe sslsniff --handshake    # also each connection's handshake latency\n"
		"  loupe sslsniff --extra-lib openssl:/opt/app/lib/libssl.so.3\n",
	.common = OPT_SNOOP,
	.opts = sslsniff_opts,
	.parse_opt = sslsniff_parse_opt,
	.probes = sslsniff_probes,
	.skel = &sslsniff_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = sslsniff_prepare,
};
TOOL_REGISTER(sslsniff_tool);

/*
 * gethostlatency: how long host name lookups through libc take
 * (getaddrinfo, gethostbyname, gethostbyname2), one line per call.
 */
#include <errno.h>
#include <signal.h>
#include <bpf/libbpf.h>
#include "gethostlatency.h"
#include "gethostlatency.skel.h"
#include "log.h"
#include "session.h"

enum { COL_TIME, COL_PID, COL_COMM, COL_LAT, COL_HOST };

static const struct out_col columns[] = {
	[COL_TIME] = { "TIME", -9 },
	[COL_PID] = { "PID", -7 },
	[COL_COMM] = { "COMM", -16 },
	[COL_LAT] = { "LATms", 10 },
	[COL_HOST] = { "HOST", 0 },
	{ NULL },
};

static const char *const func_names[] = {
	[HOST_GETADDRINFO] = "getaddrinfo",
	[HOST_GETHOSTBYNAME] = "gethostbyname",
	[HOST_GETHOSTBYNAME2] = "gethostbyname2",
};

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct host_event *e = data;
	unsigned long long ts = session_real_ns(s, e->hdr.ts_ns);
	struct out *o = &s->out;

	if (size < sizeof(*e))
		return 0;
	session_event_begin(s, "gethost", &e->hdr);
	out_time(o, COL_TIME, ts);
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, sizeof(e->hdr.comm));
	out_double(o, COL_LAT, "lat_ms", e->lat_ns / 1e6, 2);
	out_ustr(o, COL_HOST, "host", e->host, sizeof(e->host),
		 e->host_state);
	out_uint(o, OUT_JSON_ONLY, "lat_ns", e->lat_ns);
	out_str(o, OUT_JSON_ONLY, "function",
		e->func < sizeof(func_names) / sizeof(func_names[0]) ?
		func_names[e->func] : "");
	out_end(o);
	return 0;
}


static const struct hook_probe gethostlatency_probes[] = {
	{ "getaddrinfo", {
		{ { "getaddrinfo_entry", "getaddrinfo_return" } },
	} },
	{ "gethostbyname", {
		{ { "gethostbyname_entry", "gethostbyname_return",
		    "gethostbyname2_entry", "gethostbyname2_return" } },
	} },
	{ NULL },
};

TOOL_SKEL(gethostlatency);

static const struct tool gethostlatency_tool = {
	.name = "gethostlatency",
	.summary = "Show latency of host name lookups (libc getaddrinfo, gethostbyname)",
	.examples =
		"  loupe gethostlatency          # every lookup through the system's libc\n"
		"  loupe gethostlatency -p 181   # PID 181 (its own libc, also in a container)\n"
		"  loupe gethostlatency -j       # as JSON (with lat_ns and the function)\n",
	.common = (OPT_SNOOP & ~OPT_TIMESTAMP),
	.probes = gethostlatency_probes,
	.skel = &gethostlatency_skel,
	.columns = columns,
	.on_event = on_event,
};
TOOL_REGISTER(gethostlatency_tool);

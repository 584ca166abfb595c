/*
 * funclatency: log2 histogram of how long a user-space function takes,
 * by symbol (BINARY:FUNC), from a uprobe/uretprobe pair. Start times are
 * kept per thread, so concurrent calls in different threads do not mix.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "funclatency.h"
#include "funclatency.skel.h"
#include "hist.h"
#include "log.h"
#include "session.h"
#include "uprobe.h"

enum { UNIT_NS, UNIT_US, UNIT_MS };

static const struct {
	const char *label;
	unsigned long long ns;
} units[] = {
	[UNIT_NS] = { "nsecs", 1 },
	[UNIT_US] = { "usecs", 1000 },
	[UNIT_MS] = { "msecs", 1000000 },
};

static int unit = UNIT_US;
static const char *spec;

struct funclat_state {
	struct funclatency_bpf *skel;
	struct uprobe_target target;
};

/* Print and reset the histogram (each interval stands alone, as in BCC). */
static int on_interval(struct session *s)
{
	struct funclat_state *st = s->tool_state;
	unsigned long long ts = out_now_ns(), count = 0, total;
	struct funclatency_bpf__bss bss = { 0 }, zero = { 0 };
	int fd = bpf_map__fd(st->skel->maps.bss);
	struct out *o = &s->out;
	const char *label = units[unit].label;
	__u32 key = 0;

	/*
	 * The session loads the object without the skeleton, so .bss is not
	 * mapped into loupe: read it as the one-element array it is.
	 */
	if (bpf_map_lookup_elem(fd, &key, &bss) ||
	    bpf_map_update_elem(fd, &key, &zero, BPF_ANY))
		log_err("cannot read the histogram: %s", strerror(errno));
	for (int i = 0; i < FUNCLAT_SLOTS; i++)
		count += bss.hist[i];
	total = bss.total_ns / units[unit].ns;
	if (s->opts.interval > 0)
		out_line(o, "%s", "");
	out_time_line(o, ts);
	hist_print_log2(o, label, (const uint64_t *)bss.hist, FUNCLAT_SLOTS,
			NULL, ts);
	if (o->json) {
		out_record_begin(o);
		out_str(o, OUT_JSON_ONLY, "type", "funclatency");
		out_uint(o, OUT_JSON_ONLY, "ts_ns", ts);
		out_str(o, OUT_JSON_ONLY, "function", spec);
		out_str(o, OUT_JSON_ONLY, "unit", label);
		out_uint(o, OUT_JSON_ONLY, "count", count);
		out_uint(o, OUT_JSON_ONLY, "total", total);
		out_uint(o, OUT_JSON_ONLY, "avg", count ? total / count : 0);
		out_record_end(o);
	} else if (count) {
		out_line(o, "\navg = %llu %s, total: %llu %s, count: %llu",
			 total / count, label, total, label, count);
	}
	return out_flush(o);
}

static struct bpf_link *attach_prog(struct session *s,
				    struct bpf_program *prog)
{
	struct funclat_state *st = s->tool_state;
	bool ret = prog == st->skel->progs.func_return;

	return uprobe_attach(prog, ret, s->opts.pid, &st->target);
}

/* The binary or library of BINARY:FUNC could not be found (err < 0). */
static int binary_error(const char *binary, int pid, int err)
{
	char where[64] = "";

	if (err == -EACCES || err == -EPERM) {
		log_err("cannot read '%s': %s", binary, strerror(-err));
		return EXIT_RUNTIME;
	}
	if (pid)
		snprintf(where, sizeof(where), " as process %d sees it", pid);
	if (strchr(binary, '/'))
		log_err("no file '%s'%s; give the path of an executable or shared library",
			binary, where);
	else if (pid)
		log_err("process %d runs no program '%s' and maps no library '%s' (see /proc/%d/maps); give a path or a library it maps, e.g. c",
			pid, binary, binary, pid);
	else
		log_err("no program '%s' in PATH and no library '%s' or 'lib%s' in the linker cache or library directories; give a path or a library name, e.g. /usr/bin/app:main or c:read",
			binary, binary, binary);
	return EXIT_USAGE;
}

/* FUNC is not in the file found for BINARY (err < 0). */
static int function_error(const char *func, const char *path, int err)
{
	switch (err) {
	case -EACCES:
	case -EPERM:
		log_err("cannot read '%s': %s", path, strerror(-err));
		return EXIT_RUNTIME;
	case -ENOEXEC:
		log_err("'%s' is not an ELF executable or shared library",
			path);
		return EXIT_USAGE;
	case -ENOENT:
		log_err("no function '%s' in %s; list its functions with: loupe trace -l 'uprobe:%s:*'",
			func, path, path);
		return EXIT_USAGE;
	}
	log_err("cannot place a probe on function '%s' in %s: %s", func, path,
		strerror(-err));
	return EXIT_USAGE;
}

static int resolve(struct session *s, struct uprobe_target *t)
{
	char binary[PATH_MAX], func[UPROBE_FUNC_LEN];
	int err;

	if (!spec) {
		log_err("which function? give BINARY:FUNC, e.g. 'loupe funclatency c:read'");
		return EXIT_USAGE;
	}
	uprobe_parse_spec(spec, binary, sizeof(binary), func, sizeof(func));
	err = uprobe_resolve(binary, func, s->opts.pid, t);
	if (err && !t->path[0])
		return binary_error(binary, s->opts.pid, err);
	if (err)
		return function_error(func, t->path, err);
	return 0;
}

static struct funclat_state state;

static int funclatency_prepare(struct session *s, void *p)
{
	int err;

	err = resolve(s, &state.target);
	if (err)
		return err;
	state.skel = p;
	state.skel->rodata->unit_ns = units[unit].ns;
	s->tool_state = &state;
	s->attach_prog = attach_prog;
	return 0;
}

static const struct tool_opt funclatency_opts[] = {
	{ "microseconds", 'u', NULL, "histogram in microseconds (default)" },
	{ "milliseconds", 'm', NULL, "histogram in milliseconds" },
	{ "nanoseconds", 'N', NULL, "histogram in nanoseconds" },
	{ NULL },
};

static int funclatency_parse_opt(int index, const char *arg)
{
	(void)arg;
	unit = index == 0 ? UNIT_US : index == 1 ? UNIT_MS : UNIT_NS;
	return 0;
}

static int funclatency_parse_arg(int index, const char *arg)
{
	char binary[PATH_MAX], func[UPROBE_FUNC_LEN];

	if (index > 0) {
		log_err("one function at a time; unexpected '%s'", arg);
		return EXIT_USAGE;
	}
	if (uprobe_parse_spec(arg, binary, sizeof(binary), func,
			      sizeof(func))) {
		log_err("invalid function '%s': expected BINARY:FUNC, e.g. c:read or /usr/bin/python3:main",
			arg);
		return EXIT_USAGE;
	}
	spec = arg;
	return 0;
}

static const struct hook_probe funclatency_probes[] = {
	{ "function", {
		{ { "func_entry", "func_return" } },
	} },
	{ NULL },
};

TOOL_SKEL(funclatency);

static const struct tool funclatency_tool = {
	.name = "funclatency",
	.summary = "Histogram of a user function's latency (BINARY:FUNC)",
	.examples =
		"  loupe funclatency c:getaddrinfo          # libc's getaddrinfo, usecs\n"
		"  loupe funclatency -m /usr/bin/app:work   # a function of a program, msecs\n"
		"  loupe funclatency -p 181 -i 5 c:read     # PID 181 only, every 5 s\n"
		"  loupe funclatency -N -j libssl:SSL_read  # nsecs, as JSON\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION |
		  OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP,
	.opts = funclatency_opts,
	.parse_opt = funclatency_parse_opt,
	.args_usage = "BINARY:FUNC",
	.parse_arg = funclatency_parse_arg,
	.probes = funclatency_probes,
	.skel = &funclatency_skel,
	.on_interval = on_interval,
	.prepare = funclatency_prepare,
};
TOOL_REGISTER(funclatency_tool);

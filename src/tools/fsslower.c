/*
 * fsslower (and its ext4slower row): file reads, writes, opens and fsyncs
 * slower than a threshold, per filesystem type, like BCC's ext4slower,
 * xfsslower, btrfsslower and friends in one tool.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fsslower.h"
#include "fsslower.skel.h"
#include "log.h"
#include "session.h"
#include "syscalls.h"

#define DEFAULT_MIN_MS	10.0

static double min_ms = DEFAULT_MIN_MS;
static char fs_type[FSSLOWER_FSTYPE_LEN];
static bool fs_type_given;

/* The calls fsslower times, for --raw-syscalls' table by number. */
static const struct {
	const char *name;
	__u8 call;
} raw_calls[] = {
	{ "read", FSSLOWER_READ },
	{ "readv", FSSLOWER_READ },
	{ "pread64", FSSLOWER_READ | FSSLOWER_AT },
	{ "preadv", FSSLOWER_READ | FSSLOWER_AT },
	{ "write", FSSLOWER_WRITE },
	{ "writev", FSSLOWER_WRITE },
	{ "pwrite64", FSSLOWER_WRITE | FSSLOWER_AT },
	{ "pwritev", FSSLOWER_WRITE | FSSLOWER_AT },
	{ "fsync", FSSLOWER_FSYNC },
	{ "fdatasync", FSSLOWER_FSYNC },
	{ "open", FSSLOWER_OPEN },
	{ "openat", FSSLOWER_OPEN },
	{ "openat2", FSSLOWER_OPEN },
	{ "creat", FSSLOWER_OPEN },
};

enum { COL_TIME, COL_COMM, COL_PID, COL_T, COL_BYTES, COL_OFF, COL_LAT,
       COL_FILE };

static const struct out_col columns[] = {
	[COL_TIME] = { "TIME", -8 },
	[COL_COMM] = { "COMM", -14 },
	[COL_PID] = { "PID", -7 },
	[COL_T] = { "T", -1 },
	[COL_BYTES] = { "BYTES", -7 },
	[COL_OFF] = { "OFF_KB", -8 },
	[COL_LAT] = { "LAT(ms)", 7 },
	[COL_FILE] = { "FILENAME", 0 },
	{ NULL },
};

static const char *op_name(__u32 op)
{
	switch (op) {
	case FSSLOWER_READ:
		return "read";
	case FSSLOWER_WRITE:
		return "write";
	case FSSLOWER_OPEN:
		return "open";
	case FSSLOWER_FSYNC:
		return "fsync";
	}
	return "";
}

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct fsslower_event *e = data;
	struct out *o = &s->out;
	unsigned long long real = session_real_ns(s, e->hdr.ts_ns);
	char op[2] = { (char)e->op, '\0' };

	if (size < sizeof(*e))
		return 0;
	session_event_begin(s, "fsslower", &e->hdr);
	out_time(o, COL_TIME, real);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, 14);
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_str(o, COL_T, NULL, op);
	out_int(o, COL_BYTES, "bytes", e->bytes);
	out_int(o, COL_OFF, NULL, e->offset / 1024);
	out_double(o, COL_LAT, NULL, e->delta_ns / 1e6, 2);
	out_strn(o, COL_FILE, "file", e->file, sizeof(e->file));
	out_str(o, OUT_JSON_ONLY, "op", op_name(e->op));
	out_int(o, OUT_JSON_ONLY, "offset", e->offset);
	out_uint(o, OUT_JSON_ONLY, "lat_ns", e->delta_ns);
	out_strn(o, OUT_JSON_ONLY, "fs", e->fstype, sizeof(e->fstype));
	out_end(o);
	return 0;
}

/* Two programs on sys_enter/sys_exit, which find the call by number. */
static const struct hook_probe fsslower_raw_probes[] = {
	{ "syscalls", { { { "raw_enter_btf", "raw_exit_btf" } },
			{ { "raw_enter_raw", "raw_exit_raw" } } } },
	{ NULL },
};

static void fsslower_raw_table(struct fsslower_bpf *skel)
{
	__u8 *calls = (__u8 *)skel->rodata->raw_calls;

	for (size_t i = 0; i < sizeof(raw_calls) / sizeof(*raw_calls); i++) {
		int nr = syscalls_lookup(raw_calls[i].name);

		if (nr >= 0 && nr < FSSLOWER_NR_MAX)
			calls[nr] = raw_calls[i].call;
	}
}

static int fsslower_prepare(struct session *s, void *p)
{
	struct fsslower_bpf *skel = p;

	skel->rodata->min_ns = (__u64)(min_ms * 1e6);
	if (!fs_type_given && !strcmp(s->tool->name, "ext4slower"))
		snprintf(fs_type, sizeof(fs_type), "ext4");
	memcpy((char *)skel->rodata->fs_type, fs_type, sizeof(fs_type));
	fsslower_raw_table(skel);
	session_raw_syscalls(s, skel->obj, fsslower_raw_probes);
	return 0;
}

static const struct tool_opt fsslower_opts[] = {
	{ "type", 't', "TYPE",
	  "only files on this filesystem type (ext4, xfs, btrfs, tmpfs, ...)" },
	{ NULL },
};

static int fsslower_parse_opt(int index, const char *arg)
{
	(void)index;
	if (!arg[0] || strlen(arg) >= sizeof(fs_type)) {
		log_err("invalid --type '%s': expected a filesystem type name such as ext4",
			arg);
		return EXIT_USAGE;
	}
	snprintf(fs_type, sizeof(fs_type), "%s", arg);
	fs_type_given = true;
	return 0;
}

static int fsslower_parse_arg(int index, const char *arg)
{
	double v;

	if (index > 0) {
		log_err("unexpected argument '%s': only MIN_MS may be given",
			arg);
		return EXIT_USAGE;
	}
	/* 0 shows every call. */
	if (opts_real("MIN_MS", arg, 0, 1e7, "milliseconds", &v))
		return EXIT_USAGE;
	min_ms = v;
	return 0;
}

/* creat, open, preadv and pwritev do not exist on every architecture. */
static const struct hook_probe fsslower_probes[] = {
	{ "read", { { { "read_enter", "read_exit", "readv_enter",
			"readv_exit", "pread64_enter", "pread64_exit",
			"?preadv_enter", "?preadv_exit" } } } },
	{ "write", { { { "write_enter", "write_exit", "writev_enter",
			 "writev_exit", "pwrite64_enter", "pwrite64_exit",
			 "?pwritev_enter", "?pwritev_exit" } } } },
	{ "open", { { { "?open_enter", "?open_exit", "openat_enter",
			"openat_exit", "?openat2_enter", "?openat2_exit",
			"?creat_enter", "?creat_exit" } } } },
	{ "fsync", { { { "fsync_enter", "fsync_exit", "fdatasync_enter",
			 "fdatasync_exit" } } } },
	{ NULL },
};

TOOL_SKEL(fsslower);

static const struct tool fsslower_tool = {
	.name = "fsslower",
	.summary = "Trace file reads, writes, opens and fsyncs slower than MIN_MS (default 10)",
	.examples =
		"  loupe fsslower               # calls slower than 10 ms, any filesystem\n"
		"  loupe fsslower -t xfs 1      # xfs calls slower than 1 ms\n"
		"  loupe fsslower -t tmpfs 0 -j # every tmpfs call, as JSON\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION | OPT_JSON |
		  OPT_BUFFER | OPT_RAW_SYSCALLS | OPT_CONTAINERS,
	.opts = fsslower_opts,
	.parse_opt = fsslower_parse_opt,
	.args_usage = "[MIN_MS]",
	.parse_arg = fsslower_parse_arg,
	.probes = fsslower_probes,
	.skel = &fsslower_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = fsslower_prepare,
};
TOOL_REGISTER(fsslower_tool);

/* BCC's ext4slower: the same tool with -t ext4 as the default. */
static const struct tool ext4slower_tool = {
	.name = "ext4slower",
	.summary = "Trace ext4 reads, writes, opens and fsyncs slower than MIN_MS (default 10)",
	.examples =
		"  loupe ext4slower             # ext4 calls slower than 10 ms\n"
		"  loupe ext4slower 1 -p 181    # slower than 1 ms, PID 181 only\n"
		"  loupe ext4slower 0           # every ext4 call\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION | OPT_JSON |
		  OPT_BUFFER | OPT_RAW_SYSCALLS | OPT_CONTAINERS,
	.opts = fsslower_opts,
	.parse_opt = fsslower_parse_opt,
	.args_usage = "[MIN_MS]",
	.parse_arg = fsslower_parse_arg,
	.probes = fsslower_probes,
	.skel = &fsslower_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = fsslower_prepare,
};
TOOL_REGISTER(ext4slower_tool);

/* filetop: files by reads and writes per interval, busiest first. */
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "filetop.h"
#include "filetop.skel.h"
#include "log.h"
#include "session.h"
#include "top.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum sort_by { SORT_ALL, SORT_READS, SORT_WRITES, SORT_RBYTES, SORT_WBYTES };

static const char *const sort_names[] = {
	[SORT_ALL] = "all", [SORT_READS] = "reads", [SORT_WRITES] = "writes",
	[SORT_RBYTES] = "rbytes", [SORT_WBYTES] = "wbytes",
};

static bool all_files, noclear;
static long max_rows = 20;
static enum sort_by sort_by = SORT_ALL;

struct filetop_row {
	struct filetop_key key;
	struct filetop_value val;
};

enum { COL_TID, COL_COMM, COL_READS, COL_WRITES, COL_RKB, COL_WKB, COL_T,
       COL_FILE };

static const struct out_col columns[] = {
	[COL_TID] = { "TID", -7 },
	[COL_COMM] = { "COMM", -16 },
	[COL_READS] = { "READS", -6 },
	[COL_WRITES] = { "WRITES", -6 },
	[COL_RKB] = { "R_Kb", -7 },
	[COL_WKB] = { "W_Kb", -7 },
	[COL_T] = { "T", -1 },
	[COL_FILE] = { "FILE", 0 },
	{ NULL },
};

static __u64 sort_value(const struct filetop_value *v)
{
	switch (sort_by) {
	case SORT_READS:
		return v->calls[FILETOP_READ];
	case SORT_WRITES:
		return v->calls[FILETOP_WRITE];
	case SORT_RBYTES:
		return v->bytes[FILETOP_READ];
	case SORT_WBYTES:
		return v->bytes[FILETOP_WRITE];
	default:
		return v->calls[FILETOP_READ] + v->calls[FILETOP_WRITE] +
		       v->bytes[FILETOP_READ] + v->bytes[FILETOP_WRITE];
	}
}

static int cmp_rows(const void *a, const void *b)
{
	__u64 x = sort_value(&((const struct filetop_row *)a)->val);
	__u64 y = sort_value(&((const struct filetop_row *)b)->val);

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Reads and clears the counts map; returns the number of rows. */
static int collect(int fd, struct filetop_row *rows, int max)
{
	struct filetop_key key, next, *prev = NULL;
	int n = 0;

	while (n < max && !bpf_map_get_next_key(fd, prev, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, &rows[n].val)) {
			rows[n].key = next;
			n++;
		}
		key = next;
		prev = &key;
	}
	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &rows[i].key);
	return n;
}

static void print_row(struct session *s, const struct filetop_row *r,
		      unsigned long long ts)
{
	const struct filetop_value *v = &r->val;
	struct out *o = &s->out;
	char type[2] = { v->type, '\0' }, dev[32];

	out_begin(o, "filetop", ts);
	session_row_container(s, v->cgroup_id);
	out_uint(o, COL_TID, "tid", r->key.tid);
	out_uint(o, OUT_JSON_ONLY, "pid", v->pid);
	out_strn(o, COL_COMM, "comm", v->comm, sizeof(v->comm));
	out_uint(o, COL_READS, "reads", v->calls[FILETOP_READ]);
	out_uint(o, COL_WRITES, "writes", v->calls[FILETOP_WRITE]);
	out_uint(o, COL_RKB, "r_kb", v->bytes[FILETOP_READ] / 1024);
	out_uint(o, COL_WKB, "w_kb", v->bytes[FILETOP_WRITE] / 1024);
	out_uint(o, OUT_JSON_ONLY, "rbytes", v->bytes[FILETOP_READ]);
	out_uint(o, OUT_JSON_ONLY, "wbytes", v->bytes[FILETOP_WRITE]);
	out_str(o, COL_T, "file_type", type);
	out_strn(o, COL_FILE, "file", v->file, sizeof(v->file));
	out_uint(o, OUT_JSON_ONLY, "ino", r->key.ino);
	snprintf(dev, sizeof(dev), "%u:%u", r->key.dev >> 20,
		 r->key.dev & 0xfffff);
	out_str(o, OUT_JSON_ONLY, "dev", dev);
	out_end(o);
}

static int on_interval(struct session *s)
{
	struct filetop_row *rows;
	struct bpf_map *map;
	unsigned long long ts;
	int n;

	map = bpf_object__find_map_by_name(s->obj, "counts");
	rows = calloc(bpf_map__max_entries(map), sizeof(*rows));
	if (!rows)
		return -1;
	n = collect(bpf_map__fd(map), rows, bpf_map__max_entries(map));
	qsort(rows, n, sizeof(*rows), cmp_rows);
	ts = out_now_ns();
	top_banner(&s->out, top_should_clear(&s->out, noclear), true);
	out_header(&s->out);
	for (int i = 0; i < n && i < max_rows; i++)
		print_row(s, &rows[i], ts);
	out_flush(&s->out);
	free(rows);
	return 0;
}

static int filetop_prepare(struct session *s, void *p)
{
	struct filetop_bpf *skel = p;

	skel->rodata->all_files = all_files;
	if (!(s->opts.given & OPT_INTERVAL))
		s->opts.interval = 1;
	return 0;
}

static const struct tool_opt filetop_opts[] = {
	{ "all", 'a', NULL, "all files, not only regular ones (sockets, pipes...)" },
	{ "noclear", 'C', NULL, "do not clear the screen (it is only cleared on a terminal)" },
	{ "rows", 'r', "N", "print at most N rows (default 20)" },
	{ "sort", 's', "KEY", "sort by all (default), reads, writes, rbytes or wbytes" },
	{ NULL },
};

static int filetop_parse_opt(int index, const char *arg)
{
	unsigned long long v;

	switch (index) {
	case 0:
		all_files = true;
		return 0;
	case 1:
		noclear = true;
		return 0;
	case 2:
		if (opts_uint("--rows", arg, 1, 10240, "a number of rows", &v))
			return EXIT_USAGE;
		max_rows = v;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sort_names); i++) {
		if (!strcmp(arg, sort_names[i])) {
			sort_by = i;
			return 0;
		}
	}
	log_err("invalid --sort '%s': expected all, reads, writes, rbytes or wbytes",
		arg);
	return EXIT_USAGE;
}

static const struct hook_probe filetop_probes[] = {
	{ "read", { { { "read_enter", "read_exit", "readv_enter",
			"readv_exit", "pread64_enter", "pread64_exit",
			"?preadv_enter", "?preadv_exit" } } } },
	{ "write", { { { "write_enter", "write_exit", "writev_enter",
			 "writev_exit", "pwrite64_enter", "pwrite64_exit",
			 "?pwritev_enter", "?pwritev_exit" } } } },
	{ NULL },
};

TOOL_SKEL(filetop);

static const struct tool filetop_tool = {
	.name = "filetop",
	.summary = "Top files by reads and writes, per interval (default 1 s)",
	.examples =
		"  loupe filetop                # top 20 regular files every second\n"
		"  loupe filetop -a -s wbytes   # all file types, by bytes written\n"
		"  loupe filetop -i 5 -r 5 -C   # top 5 every 5 s, no screen clearing\n"
		"  loupe filetop -p 181 -j      # PID 181's files, one JSON object per row\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION |
		  OPT_INTERVAL | OPT_JSON | OPT_CONTAINERS,
	.opts = filetop_opts,
	.parse_opt = filetop_parse_opt,
	.probes = filetop_probes,
	.skel = &filetop_skel,
	.columns = columns,
	.header_per_interval = true,
	.on_interval = on_interval,
	.prepare = filetop_prepare,
};
TOOL_REGISTER(filetop_tool);

/*
 * syscount: the busiest syscalls (or processes) by count, optionally with
 * their total time, printed as a top table at each interval or at the end.
 */
#define _GNU_SOURCE	/* strerrorname_np() */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "session.h"
#include "syscalls.h"
#include "syscount.h"
#include "syscount.skel.h"

#define MAX_ROWS 10240

static struct {
	bool latency;
	bool by_process;
	bool in_ms;
	bool list;
	int top;
	int only_errno;
} conf = { .top = 10 };

static int counts_fd = -1;

enum { COL_KEY, COL_COUNT, COL_TIME };

static struct out_col columns[] = {
	[COL_KEY] = { "SYSCALL", -22 },
	[COL_COUNT] = { "COUNT", 8 },
	[COL_TIME] = { "TIME (us)", 16 },
	{ NULL },
};

struct row {
	__u32 key;
	struct syscount_value v;
};

/* Busiest first: by time with -L, else by count, like BCC. */
static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	__u64 vx = conf.latency ? x->v.total_ns : x->v.count;
	__u64 vy = conf.latency ? y->v.total_ns : y->v.count;

	if (vx != vy)
		return vx < vy ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

static void print_row(struct session *s, const struct row *r,
		      unsigned long long ts)
{
	struct out *o = &s->out;
	const char *name = syscalls_name(r->key);
	char key[64], comm[TASK_COMM_LEN];

	snprintf(comm, sizeof(comm), "%s", r->v.comm);
	if (conf.by_process)
		snprintf(key, sizeof(key), "%-6u %-15s", r->key, comm);
	else if (name)
		snprintf(key, sizeof(key), "%s", name);
	else
		snprintf(key, sizeof(key), "[unknown: %u]", r->key);
	out_begin(o, "syscount", ts);
	if (conf.by_process)
		session_row_container(s, r->v.cgroup_id);
	out_str(o, COL_KEY, NULL, key);
	if (conf.by_process) {
		out_uint(o, OUT_JSON_ONLY, "pid", r->key);
		out_str(o, OUT_JSON_ONLY, "comm", comm);
	} else {
		out_str(o, OUT_JSON_ONLY, "syscall", name ? name : key);
		out_uint(o, OUT_JSON_ONLY, "nr", r->key);
	}
	out_uint(o, COL_COUNT, "count", r->v.count);
	if (conf.latency) {
		out_double(o, COL_TIME, NULL, r->v.total_ns /
			   (conf.in_ms ? 1e6 : 1e3), conf.in_ms ? 6 : 3);
		out_uint(o, OUT_JSON_ONLY, "total_ns", r->v.total_ns);
	}
	out_end(o);
}

/* Prints the top rows and empties the map. */
static int print_top(struct session *s)
{
	static struct row rows[MAX_ROWS];
	unsigned long long ts;
	__u32 key, *prev = NULL;
	char hms[16];
	int n = 0;

	ts = out_now_ns();
	while (n < MAX_ROWS && !bpf_map_get_next_key(counts_fd, prev, &key)) {
		rows[n].key = key;
		prev = &rows[n].key;
		n++;
	}
	for (int i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(counts_fd, &rows[i].key, &rows[i].v))
			memset(&rows[i].v, 0, sizeof(rows[i].v));
		bpf_map_delete_elem(counts_fd, &rows[i].key);
	}
	qsort(rows, n, sizeof(rows[0]), cmp_rows);
	out_line(&s->out, "[%s]", out_strftime(hms, sizeof(hms), OUT_HMS, ts));
	out_header(&s->out);
	for (int i = 0; i < n && i < conf.top; i++)
		if (rows[i].v.count)
			print_row(s, &rows[i], ts);
	out_line(&s->out, "%s", "");
	return out_flush(&s->out);
}

/* --list runs no session: a writer of its own, on the session's stream. */
static void list_syscalls(struct session *s)
{
	struct out o;

	out_init(&o, s->out_file ? s->out_file : stdout, false, false, NULL);
	for (int nr = 0; nr < syscalls_count(); nr++)
		if (syscalls_name(nr))
			out_line(&o, "%s", syscalls_name(nr));
	out_flush(&o);
	out_free(&o);
}

#define EXIT_PROBE { "syscall exit", {	\
		{ { "exit_btf" } },		\
		{ { "exit_raw" } },		\
		{ { "exit_tp" } },		\
	} }

/* Counting needs only the exit; -L adds the entry. */
static const struct hook_probe counting_probes[] = {
	EXIT_PROBE,
	{ NULL },
};

static const struct hook_probe syscount_probes[] = {
	EXIT_PROBE,
	{ "syscall entry", {
		{ { "enter_btf" } },
		{ { "enter_raw" } },
		{ { "enter_tp" } },
	} },
	{ NULL },
};

static int syscount_prepare(struct session *s, void *p)
{
	static struct tool counting;
	struct syscount_bpf *skel = p;
	struct bpf_program *prog;

	if (conf.list) {
		list_syscalls(s);
		return TOOL_DONE;
	}
	if (s->opts.containers && !conf.by_process) {
		log_err("--containers needs -P: a row by syscall is no one task's");
		return EXIT_USAGE;
	}
	skel->rodata->latency = conf.latency;
	skel->rodata->by_process = conf.by_process;
	skel->rodata->only_errno = conf.only_errno;
	if (!conf.latency) {
		/* The entry programs are in no probe: switch them off here. */
		counting = *s->tool;
		counting.probes = counting_probes;
		s->tool = &counting;
		bpf_object__for_each_program(prog, skel->obj)
			if (strstr(bpf_program__name(prog), "enter_"))
				bpf_program__set_autoload(prog, false);
	}
	if (conf.by_process)
		columns[COL_KEY].header = "PID    COMM";
	if (!conf.latency)
		columns[COL_TIME].header = NULL;
	else if (conf.in_ms)
		columns[COL_TIME].header = "TIME (ms)";
	return 0;
}

static int syscount_attached(struct session *s, void *p)
{
	struct syscount_bpf *skel = p;

	(void)s;
	counts_fd = bpf_map__fd(skel->maps.counts);
	return 0;
}

enum { OPT_TOP, OPT_PROCESS, OPT_LATENCY, OPT_MS, OPT_ERRNO, OPT_LIST };

static const struct tool_opt syscount_opts[] = {
	/* BCC's -T is our --timestamp: -r as in filetop's and tcptop's --rows. */
	[OPT_TOP] = { "top", 'r', "TOP", "print only the TOP rows (default 10)" },
	[OPT_PROCESS] = { "process", 'P', NULL, "count by process, not by syscall" },
	[OPT_LATENCY] = { "latency", 'L', NULL, "also total time in each (TIME column)" },
	[OPT_MS] = { "milliseconds", 'm', NULL, "time in milliseconds (with -L)" },
	[OPT_ERRNO] = { "errno", 'e', "ERRNO",
			"only calls failing with ERRNO (a number or a name such as ENOENT)" },
	[OPT_LIST] = { "list", 'l', NULL, "list the syscall names and exit" },
	{ NULL },
};

static int parse_errno(const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (!errno && end != arg && !*end && v > 0 && v < 4096)
		return (int)v;
	for (int e = 1; e < 4096; e++) {
		const char *name = strerrorname_np(e);

		if (name && !strcmp(name, arg))
			return e;
	}
	return -1;
}

static int syscount_parse_opt(int index, const char *arg)
{
	unsigned long long top;

	switch (index) {
	case OPT_TOP:
		if (opts_uint("--top", arg, 1, MAX_ROWS, "a number of rows",
			      &top))
			return EXIT_USAGE;
		conf.top = (int)top;
		break;
	case OPT_PROCESS:
		conf.by_process = true;
		break;
	case OPT_LATENCY:
		conf.latency = true;
		break;
	case OPT_MS:
		conf.in_ms = true;
		break;
	case OPT_ERRNO:
		conf.only_errno = parse_errno(arg);
		if (conf.only_errno < 0) {
			log_err("invalid --errno '%s': expected a positive number or a name such as ENOENT",
				arg);
			return EXIT_USAGE;
		}
		break;
	case OPT_LIST:
		conf.list = true;
		break;
	}
	return 0;
}

TOOL_SKEL(syscount);

static const struct tool syscount_tool = {
	.name = "syscount",
	.summary = "Count syscalls by syscall or process, optionally with their time",
	.examples =
		"  loupe syscount               # top 10 syscalls until Ctrl-C\n"
		"  loupe syscount -P -i 1       # top processes, every second\n"
		"  loupe syscount -L -p 181     # syscalls of process 181 with time\n"
		"  loupe syscount -x -e ENOENT  # only calls failing with ENOENT\n"
		"  loupe syscount -l            # the syscall names\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION |
		  OPT_INTERVAL | OPT_JSON | OPT_TIMESTAMP | OPT_FAILED |
		  OPT_CONTAINERS,
	.failed_help = "only failed syscalls",
	.opts = syscount_opts,
	.parse_opt = syscount_parse_opt,
	.probes = syscount_probes,
	.skel = &syscount_skel,
	.columns = columns,
	.header_per_interval = true,
	.on_interval = print_top,
	.prepare = syscount_prepare,
	.attached = syscount_attached,
};
TOOL_REGISTER(syscount_tool);

/*
 * The main job, `loupe` with no arguments: the "Linux performance analysis
 * in 60 seconds, BPF version" checklist in one process. Each tool of the
 * checklist runs in its own thread for --duration seconds, its output
 * taken line by line as it comes (event tables keep their first rows and
 * count the rest, top tables count by key); one report is printed at the
 * end. Tools missing from this build are left out of the report. With
 * --containers the event tables get a CONTAINER column and the report
 * ends with the events of each section counted by container.
 */
#define _GNU_SOURCE		/* fopencookie */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "container.h"
#include "kbtf.h"
#include "log.h"
#include "opts.h"
#include "out.h"
#include "overview.h"
#include "parallel.h"
#include "privs.h"
#include "session.h"
#include "tool.h"

#define MAX_ARGS	8
#define TABLE_ROWS	20	/* event tables keep their first rows */
#define JSON_RECORDS	1000

#define MAX_GROUP	4
#define GROUP_ROWS	15
#define JSON_TOP_ROWS	100

/*
 * An event section prints its first rows, or, with group keys, a top table
 * counting events by those JSON fields (captured in JSON, aggregated here).
 */
struct section {
	const char *title;
	const char *tool;
	const char *args[MAX_ARGS];
	bool events;		/* one row per event: truncate */
	const char *group[MAX_GROUP];
};

/*
 * --raw-syscalls: a syscall tracepoint takes about 35 ms to detach, one
 * after the other in the kernel (fsslower alone has 28: a second at the
 * end of every report; execsnoop's 4 another 0.2 s), and tcpaccept's
 * first took 100-200 ms to attach;
 * sys_enter/sys_exit links attach and detach at once, and the overview
 * has programs there anyway (syscount).
 */
static const struct section sections[] = {
	{ "New processes", "execsnoop", { "--raw-syscalls" }, true },
	{ "Failed opens", "opensnoop", { "-x", "--raw-syscalls" }, true,
	  { "comm", "err", "path" } },
	{ "Slow file system calls (>10 ms)", "fsslower",
	  { "10", "--raw-syscalls" }, true },
	{ "Disk I/O latency", "biolatency", { NULL }, false },
	{ "Page cache", "cachestat", { NULL }, false },
	{ "New TCP connections", "tcpconnect", { NULL }, true },
	{ "Accepted TCP connections", "tcpaccept", { "--raw-syscalls" },
	  true },
	{ "TCP retransmits", "tcpretrans", { NULL }, true },
	{ "Run queue latency", "runqlat", { NULL }, false },
	{ "Top system calls", "syscount", { NULL }, false },
	{ "Process exits with errors", "exitsnoop", { "-x" }, true },
};

#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))
#define OVERVIEW_RING_BYTES (256UL << 10)

struct group_row {
	char *key;		/* fields joined by '\x1f' */
	unsigned long count;
};

struct groups {
	struct group_row *rows;
	size_t nrows;
	size_t total;		/* events */
	size_t *slots;		/* hash table of row index + 1 */
	size_t nslots;
};

/*
 * A section's output as it comes: a flood of events (150k failed opens in
 * two seconds) held as text until the report made most of the peak RSS
 * (77 MB); only the lines the report prints are kept.
 */
struct run {
	const struct section *sec;
	const struct tool *tool;
	struct session s;
	struct out_buf kept;	/* the first lines, '\n'-terminated */
	size_t nkept, keep;	/* lines kept, at most */
	size_t lines;		/* every line written */
	struct out_buf partial;	/* a line not ended yet */
	struct groups groups;	/* group sections: events by key */
	/* --containers: events by container */
	struct groups by_container;
	int rc;
};

static bool by_container;	/* --containers */

static void group_line(struct run *r, const char *line);

static void run_tool(void *runs, int i)
{
	struct run *r = (struct run *)runs + i;

	r->rc = session_run(&r->s);
	fflush(r->s.out_file);
}

static void container_line(struct run *r, const char *line);

static void sink_line(struct run *r, const char *line, size_t len)
{
	r->lines++;
	if (by_container && r->sec->events)
		container_line(r, line);
	if (r->sec->group[0])
		group_line(r, line);
	if (r->nkept < r->keep) {
		out_buf_add(&r->kept, line, len);
		out_buf_add(&r->kept, "\n", 1);
		r->nkept++;
	}
}

/* The section's stdout: whole lines go to sink_line(). */
static ssize_t sink_write(void *cookie, const char *buf, size_t n)
{
	struct run *r = cookie;
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(buf + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (buf + i)) : n - i;

		out_buf_add(&r->partial, buf + i, len);
		i += len;
		if (!nl)
			break;
		i++;
		sink_line(r, r->partial.data, r->partial.len);
		r->partial.len = 0;
	}
	return n;
}

static int sink_close(void *cookie)
{
	struct run *r = cookie;

	if (r->partial.len)
		sink_line(r, r->partial.data, r->partial.len);
	free(r->partial.data);
	r->partial = (struct out_buf){ 0 };
	return 0;
}

static int prepare(struct run *r, const char *duration, bool json)
{
	char *argv[MAX_ARGS + 5];
	int argc = 0;

	argv[argc++] = (char *)r->tool->name;
	for (int i = 0; i < MAX_ARGS && r->sec->args[i]; i++)
		argv[argc++] = (char *)r->sec->args[i];
	if (r->tool->common & OPT_DURATION) {
		argv[argc++] = "-d";
		argv[argc++] = (char *)duration;
	}
	if (json || r->sec->group[0])
		argv[argc++] = "-j";
	else if (by_container && r->sec->events &&
		 (r->tool->common & OPT_CONTAINERS))
		argv[argc++] = "--containers";
	argv[argc] = NULL;
	session_init(&r->s, r->tool);
	if (opts_parse(&r->s.opts, r->tool, argc, argv))
		return -EINVAL;
	/*
	 * The report is about the machine, not about loupe: while one
	 * section chooses its hooks (opening sysfs and tracefs files, loading
	 * test programs), reads /proc or waits for events, the others are
	 * already watching. Every section drops this process in the kernel.
	 */
	r->s.opts.exclude_pid = getpid();
	/*
	 * Eleven tools at once: a full-size ring each (mapped twice) made
	 * most of the report's memory. A section's events are few and drained
	 * as they come; any lost are still counted and reported.
	 */
	if (r->tool->common & OPT_BUFFER)
		r->s.opts.buffer_size = OVERVIEW_RING_BYTES;
	if (json)
		r->keep = JSON_RECORDS;
	else if (r->sec->group[0])
		r->keep = 0;
	else
		r->keep = r->sec->events ? TABLE_ROWS + 1 : SIZE_MAX;
	r->s.out_file = fopencookie(r, "w", (cookie_io_functions_t){
		.write = sink_write, .close = sink_close });
	return r->s.out_file ? 0 : -errno;
}

/*
 * Value of a top-level key in one of our own JSON lines (written by out.c:
 * no spaces, strings escaped), unescaped into buf. Not a general parser.
 */
static bool json_field(const char *line, const char *key, char *buf,
		       size_t len)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	if (!p || len == 0)
		return false;
	p += strlen(pat);
	if (*p != '"') {
		while (*p && *p != ',' && *p != '}' && n + 1 < len)
			buf[n++] = *p++;
		buf[n] = '\0';
		return true;
	}
	for (p++; *p && *p != '"' && n + 1 < len; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			buf[n++] = *p == 'n' ? '?' : *p == 't' ? '?' : *p;
			if (*p == 'u')	/* \uXXXX: keep it visible */
				buf[n - 1] = '?', p += 4;
			continue;
		}
		buf[n++] = *p;
	}
	buf[n] = '\0';
	return true;
}

static int group_cmp(const void *a, const void *b)
{
	const struct group_row *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->key, y->key);
}

/*
 * One line of a top table: the count, then the fields, the first (usually
 * a command name) padded like BCC's COMM column. Headers are the
 * upper-cased keys; data rows come as one key with \x1f separators.
 */
static void print_group_line(struct out *o, const char *count,
			     const char *const *fields, bool header)
{
	struct out_buf b = { 0 };
	int col = 0;

	out_buf_printf(&b, "%-7s", count);
	for (int g = 0; g < MAX_GROUP && fields[g]; g++) {
		for (const char *c = fields[g]; *c; c++) {
			const char *end = strchr(c, '\x1f');
			size_t n = end ? (size_t)(end - c) : strlen(c);
			char cell[1024];

			snprintf(cell, sizeof(cell), "%.*s", (int)n, c);
			for (char *u = cell; header && *u; u++)
				if (*u >= 'a' && *u <= 'z')
					*u -= 32;
			out_buf_printf(&b, " %-*s", col == 0 ? 16 : 4, cell);
			col++;
			c += n;
			if (!*c)
				break;
		}
	}
	while (b.len && b.data[b.len - 1] == ' ')
		b.data[--b.len] = '\0';
	out_line(o, "%s", b.data ? b.data : "");
	free(b.data);
}

static unsigned long hash_str(const char *str)
{
	unsigned long h = 5381;

	while (*str)
		h = h * 33 + (unsigned char)*str++;
	return h;
}

static bool groups_grow(struct groups *g)
{
	size_t nslots = g->nslots ? g->nslots * 2 : 1024, *slots;
	struct group_row *rows;

	slots = calloc(nslots, sizeof(*slots));
	rows = realloc(g->rows, nslots / 2 * sizeof(*rows));
	if (!slots || !rows) {
		free(slots);
		if (rows)
			g->rows = rows;
		return false;
	}
	g->rows = rows;
	for (size_t i = 0; i < g->nrows; i++) {
		size_t h = hash_str(rows[i].key) & (nslots - 1);

		while (slots[h])
			h = (h + 1) & (nslots - 1);
		slots[h] = i + 1;
	}
	free(g->slots);
	g->slots = slots;
	g->nslots = nslots;
	return true;
}

static void groups_add_n(struct groups *g, const char *key,
			 unsigned long n)
{
	size_t h;

	if (g->nrows >= g->nslots / 2 && !groups_grow(g))
		return;
	h = hash_str(key) & (g->nslots - 1);
	while (g->slots[h] && strcmp(g->rows[g->slots[h] - 1].key, key))
		h = (h + 1) & (g->nslots - 1);
	if (!g->slots[h]) {
		g->rows[g->nrows].key = strdup(key);
		g->rows[g->nrows].count = 0;
		if (!g->rows[g->nrows].key)
			return;
		g->slots[h] = ++g->nrows;
	}
	g->rows[g->slots[h] - 1].count += n;
}

static void groups_add(struct groups *g, const char *key)
{
	groups_add_n(g, key, 1);
}

/* Count one captured JSON event by the section's group keys. */
static void group_line(struct run *r, const char *line)
{
	char key[4096], field[1024];

	if (strstr(line, "\"type\":\"lost\""))
		return;
	r->groups.total++;
	key[0] = '\0';
	for (int k = 0; k < MAX_GROUP && r->sec->group[k]; k++) {
		if (!json_field(line, r->sec->group[k], field, sizeof(field)))
			snprintf(field, sizeof(field), "-");
		snprintf(key + strlen(key), sizeof(key) - strlen(key), "%s%s",
			 k ? "\x1f" : "", field);
	}
	groups_add(&r->groups, key);
}

/*
 * The container of one captured event: in JSON its container's name, else
 * the first 12 digits of its id, "-" for null; in a table the CONTAINER
 * column (the first; the first line is the header). NULL for neither.
 */
static const char *event_container_label(struct run *r, const char *line,
					 char *buf, size_t len)
{
	const char *c;
	size_t n;

	if (line[0] != '{') {
		if (r->lines == 1)
			return NULL;
		n = strcspn(line, " ");
		snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), line);
		return buf;
	}
	if (strstr(line, "\"type\":\"lost\""))
		return NULL;
	c = strstr(line, "\"container\":");
	if (!c)
		return NULL;
	c += strlen("\"container\":");
	if (*c != '{')
		return "-";
	if (json_field(c, "name", buf, len) && strcmp(buf, "null"))
		return buf;
	if (!json_field(c, "id", buf, len))
		return NULL;
	buf[len > CONTAINER_SHORT_ID ? CONTAINER_SHORT_ID : len - 1] = '\0';
	return buf;
}

static void container_line(struct run *r, const char *line)
{
	char buf[256];
	const char *label = event_container_label(r, line, buf, sizeof(buf));

	if (label) {
		r->by_container.total++;
		groups_add(&r->by_container, label);
	}
}

/* How many events of run r came from the container labelled so. */
static unsigned long groups_count(const struct groups *g, const char *key)
{
	for (size_t i = 0; i < g->nrows; i++)
		if (!strcmp(g->rows[i].key, key))
			return g->rows[i].count;
	return 0;
}

static void groups_sort(struct groups *g)
{
	if (g->nrows)
		qsort(g->rows, g->nrows, sizeof(*g->rows), group_cmp);
}

static void groups_free(struct groups *g)
{
	for (size_t i = 0; i < g->nrows; i++)
		free(g->rows[i].key);
	free(g->rows);
	free(g->slots);
}

static void print_grouped(struct out *o, struct run *r)
{
	const struct groups *g = &r->groups;

	if (!g->total) {
		out_line(o, "(nothing seen)");
		return;
	}
	print_group_line(o, "COUNT", r->sec->group, true);
	for (size_t i = 0; i < g->nrows && i < GROUP_ROWS; i++) {
		char count[32];

		snprintf(count, sizeof(count), "%lu", g->rows[i].count);
		print_group_line(o, count, (const char *[]){ g->rows[i].key,
				 NULL }, false);
	}
	if (g->nrows > GROUP_ROWS)
		out_line(o, "... %zu more distinct, %zu events in all",
			 g->nrows - GROUP_ROWS, g->total);
}

/* The top table of a grouped section as JSON objects keyed like events. */
static void json_top(struct out *o, struct run *r)
{
	const struct groups *g = &r->groups;
	char field[1024];

	out_uint(o, OUT_JSON_ONLY, "events", g->total);
	out_arr_begin(o, "top");
	for (size_t i = 0; i < g->nrows && i < JSON_TOP_ROWS; i++) {
		const char *c = g->rows[i].key;

		out_obj_begin(o, NULL);
		out_uint(o, OUT_JSON_ONLY, "count", g->rows[i].count);
		for (int k = 0; k < MAX_GROUP && r->sec->group[k]; k++) {
			const char *end = strchr(c, '\x1f');
			size_t n = end ? (size_t)(end - c) : strlen(c);

			snprintf(field, sizeof(field), "%.*s", (int)n, c);
			if (field[0] && strspn(field + (field[0] == '-'),
					       "0123456789") ==
			    strlen(field + (field[0] == '-')))
				out_int(o, OUT_JSON_ONLY, r->sec->group[k],
					strtoll(field, NULL, 10));
			else
				out_str(o, OUT_JSON_ONLY, r->sec->group[k],
					field);
			c += n + (end != NULL);
		}
		out_obj_end(o);
	}
	out_arr_end(o);
}

/* Print the captured output, cutting long event tables. */
static void print_section(struct out *o, struct run *r)
{
	const char *p = r->kept.data, *nl;
	size_t lines = 0;

	out_line(o, "\n== %s (%s) ==", r->sec->title, r->tool->name);
	if (r->rc) {
		out_line(o, "(not available here: see the message on stderr)");
		return;
	}
	if (r->sec->group[0]) {
		print_grouped(o, r);
		return;
	}
	if (r->lines <= (r->sec->events ? 1u : 0u)) {
		out_line(o, "(nothing seen)");
		return;
	}
	while (p && *p) {
		nl = strchr(p, '\n');
		out_line(o, "%.*s", (int)(nl ? nl - p : (long)strlen(p)), p);
		lines++;
		p = nl ? nl + 1 : NULL;
	}
	if (r->lines > lines)
		out_line(o, "... %zu more", r->lines - lines);
}

static void json_section(struct out *o, struct run *r)
{
	const char *p = r->kept.data, *nl;

	out_obj_begin(o, NULL);
	out_str(o, OUT_JSON_ONLY, "title", r->sec->title);
	out_str(o, OUT_JSON_ONLY, "tool", r->tool->name);
	out_str(o, OUT_JSON_ONLY, "status",
		!r->rc ? "ok" : "unavailable");
	out_arr_begin(o, "records");
	while (p && *p) {
		nl = strchr(p, '\n');
		out_json_key(o, NULL);
		out_buf_add(&o->line, p, nl ? (size_t)(nl - p) : strlen(p));
		p = nl ? nl + 1 : NULL;
	}
	out_arr_end(o);
	out_uint(o, OUT_JSON_ONLY, "omitted", r->lines - r->nkept);
	if (r->sec->group[0])
		json_top(o, r);
	out_obj_end(o);
}

/*
 * Every container seen by an event section, with its events in all,
 * most first (the host, "-", among them): the rows of the by-container
 * table, in u (freed with groups_free()).
 */
static void containers_union(struct run *runs, int nruns, struct groups *u)
{
	for (int i = 0; i < nruns; i++) {
		const struct groups *g = &runs[i].by_container;

		for (size_t k = 0; k < g->nrows; k++)
			groups_add_n(u, g->rows[k].key, g->rows[k].count);
	}
	groups_sort(u);
}

static bool counts_by_container(const struct run *r)
{
	return r->sec->events && !r->rc;
}

static void print_by_container(struct out *o, struct run *runs, int nruns)
{
	struct groups u = { 0 };
	struct out_buf b = { 0 };

	out_line(o, "\n== Events by container ==");
	containers_union(runs, nruns, &u);
	if (!u.nrows) {
		out_line(o, "(nothing seen)");
		goto out;
	}
	out_buf_printf(&b, "%-16s %7s", "CONTAINER", "EVENTS");
	for (int i = 0; i < nruns; i++)
		if (counts_by_container(&runs[i]))
			out_buf_printf(&b, " %s", runs[i].tool->name);
	out_line(o, "%s", b.data);
	for (size_t k = 0; k < u.nrows && k < GROUP_ROWS; k++) {
		const char *key = u.rows[k].key;

		b.len = 0;
		out_buf_printf(&b, "%-16s %7lu", key, u.rows[k].count);
		for (int i = 0; i < nruns; i++) {
			const struct run *r = &runs[i];

			if (counts_by_container(r))
				out_buf_printf(&b, " %*lu",
					       (int)strlen(r->tool->name),
					       groups_count(&r->by_container,
							    key));
		}
		out_line(o, "%s", b.data);
	}
	if (u.nrows > GROUP_ROWS)
		out_line(o, "... %zu more containers", u.nrows - GROUP_ROWS);
out:
	free(b.data);
	groups_free(&u);
}

/* The same as JSON: container null for the host. */
static void json_by_container(struct out *o, struct run *runs, int nruns)
{
	struct groups u = { 0 };

	containers_union(runs, nruns, &u);
	out_arr_begin(o, "by_container");
	for (size_t k = 0; k < u.nrows && k < JSON_TOP_ROWS; k++) {
		const char *key = u.rows[k].key;

		out_obj_begin(o, NULL);
		if (strcmp(key, "-"))
			out_str(o, OUT_JSON_ONLY, "container", key);
		else
			out_null(o, "container");
		out_uint(o, OUT_JSON_ONLY, "events", u.rows[k].count);
		out_obj_begin(o, "by_tool");
		for (int i = 0; i < nruns; i++)
			if (counts_by_container(&runs[i]))
				out_uint(o, OUT_JSON_ONLY, runs[i].tool->name,
					 groups_count(&runs[i].by_container,
						      key));
		out_obj_end(o);
		out_obj_end(o);
	}
	out_arr_end(o);
	groups_free(&u);
}

static void print_report(struct run *runs, int nruns, double duration,
			 bool json)
{
	struct utsname uts;
	struct out o;
	char when[64];
	uint64_t now = out_now_ns();

	uname(&uts);
	out_strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", now);
	out_init(&o, stdout, json, false, NULL);
	if (json) {
		out_record_begin(&o);
		out_str(&o, OUT_JSON_ONLY, "type", "overview");
		out_uint(&o, OUT_JSON_ONLY, "ts_ns", now);
		out_double(&o, OUT_JSON_ONLY, "duration_s", duration, 1);
		out_str(&o, OUT_JSON_ONLY, "hostname", uts.nodename);
		out_str(&o, OUT_JSON_ONLY, "kernel", uts.release);
		out_arr_begin(&o, "sections");
		for (int i = 0; i < nruns; i++)
			json_section(&o, &runs[i]);
		out_arr_end(&o);
		if (by_container)
			json_by_container(&o, runs, nruns);
		out_record_end(&o);
	} else {
		out_line(&o,
			 "loupe overview: %.0f s on %s (Linux %s), ended %s",
			 duration, uts.nodename, uts.release, when);
		for (int i = 0; i < nruns; i++)
			print_section(&o, &runs[i]);
		if (by_container)
			print_by_container(&o, runs, nruns);
	}
	out_flush(&o);
	out_free(&o);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: loupe [overview] [-d SECONDS] [-j] [--containers]\n\n"
		"Runs the 60-second performance checklist for SECONDS (default 10)\n"
		"and prints one report: new processes, failed opens, slow file\n"
		"system calls, disk I/O latency, page cache, TCP connections and\n"
		"retransmits, run queue latency, top system calls, failed exits.\n\n"
		"flags:\n"
		"  -d, --duration SECONDS     how long to watch (default 10)\n"
		"  -j, --json                 one JSON document\n"
		"      --containers           a CONTAINER column in event tables, and the\n"
		"                             events of each section by container\n"
		"  -h, --help                 show this help\n");
}

/* The overview's flags go through the one parser, as a tool's would. */
static const struct tool overview_cmd = {
	.name = "overview",
	.common = OPT_DURATION | OPT_JSON | OPT_CONTAINERS,
};

int overview_main(int argc, char **argv)
{
	struct run runs[N_SECTIONS];
	char duration[32] = "10";
	double secs = 10;
	struct opts o;
	bool json;
	int nruns = 0, err = EXIT_OK;

	log_set_tool("overview");
	err = opts_parse(&o, &overview_cmd, argc, argv);
	if (err == OPTS_HELP) {
		usage(stdout);
		return EXIT_OK;
	}
	if (err)
		return err;
	json = o.json;
	by_container = o.containers;
	if (o.given & OPT_DURATION) {
		secs = o.duration;
		snprintf(duration, sizeof(duration), "%.15g", secs);
	}
	log_libbpf_init(o.verbose);
	err = privs_check(PRIVS_TRACEFS);
	if (err)
		return err;
	session_install_signals();
	memset(runs, 0, sizeof(runs));
	for (size_t i = 0; i < N_SECTIONS; i++) {
		struct run *r = &runs[nruns];

		r->sec = &sections[i];
		r->tool = tool_find(sections[i].tool);
		if (!r->tool)
			continue;
		if (prepare(r, duration, json)) {
			log_err("cannot prepare %s", r->tool->name);
			continue;
		}
		nruns++;
	}
	if (!json)
		fprintf(stderr, "loupe: watching for %s s (Ctrl-C ends early)...\n",
			duration);
	/* Every section watches the same seconds: all run at once. */
	kbtf_share(nruns);
	parallel_for(nruns, nruns, run_tool, runs);
	kbtf_share(0);
	for (int i = 0; i < nruns; i++) {
		fclose(runs[i].s.out_file);
		groups_sort(&runs[i].groups);
	}
	print_report(runs, nruns, secs, json);
	for (int i = 0; i < nruns; i++) {
		if (runs[i].rc)
			err = EXIT_RUNTIME;
		free(runs[i].kept.data);
		groups_free(&runs[i].groups);
		groups_free(&runs[i].by_container);
	}
	/* A tool that cannot run here does not fail the whole report. */
	return nruns ? EXIT_OK : err;
}

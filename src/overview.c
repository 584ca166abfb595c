/*
 * The main job, `loupe` with no arguments: the "Linux performance analysis
 * in 60 seconds, BPF version" checklist in one process. Each tool of the
 * checklist runs in its own thread with its output captured in memory for
 * --duration seconds; one report is printed at the end. Tools missing from
 * this build are left out of the report.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "log.h"
#include "opts.h"
#include "out.h"
#include "overview.h"
#include "session.h"
#include "tool.h"

#define MAX_ARGS	8
#define TABLE_ROWS	20	/* event tables keep their first rows */
#define JSON_RECORDS	1000

struct section {
	const char *title;
	const char *tool;
	const char *args[MAX_ARGS];
	bool events;		/* one row per event: truncate */
};

static const struct section sections[] = {
	{ "New processes", "execsnoop", { NULL }, true },
	{ "Failed opens", "opensnoop", { "-x" }, true },
	{ "Slow file system calls (>10 ms)", "fsslower", { "10" }, true },
	{ "Disk I/O latency", "biolatency", { NULL }, false },
	{ "Page cache", "cachestat", { NULL }, false },
	{ "New TCP connections", "tcpconnect", { NULL }, true },
	{ "Accepted TCP connections", "tcpaccept", { NULL }, true },
	{ "TCP retransmits", "tcpretrans", { NULL }, true },
	{ "Run queue latency", "runqlat", { NULL }, false },
	{ "Top system calls", "syscount", { NULL }, false },
	{ "Process exits with errors", "exitsnoop", { "-x" }, true },
};

#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

struct run {
	const struct section *sec;
	const struct tool *tool;
	struct session s;
	char *text;
	size_t size;
	int rc;
	bool started;
	pthread_t thread;
};

static const struct tool *find_tool(const char *name)
{
	for (int i = 0; tools[i]; i++)
		if (!strcmp(tools[i]->name, name))
			return tools[i];
	return NULL;
}

static void *run_tool(void *arg)
{
	struct run *r = arg;

	r->rc = r->tool->run(&r->s);
	fflush(r->s.out_file);
	return NULL;
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
	if (json)
		argv[argc++] = "-j";
	argv[argc] = NULL;
	session_init(&r->s, r->tool);
	if (opts_parse(&r->s.opts, r->tool, argc, argv))
		return -EINVAL;
	r->s.out_file = open_memstream(&r->text, &r->size);
	return r->s.out_file ? 0 : -errno;
}

/* Print the captured output, cutting long event tables. */
static void print_section(struct out *o, struct run *r)
{
	int lines = 0, limit = r->sec->events ? TABLE_ROWS + 1 : -1;
	const char *p = r->text, *nl;
	size_t total = 0;

	fprintf(o->file, "\n== %s (%s) ==\n", r->sec->title, r->tool->name);
	if (!r->started || r->rc) {
		fprintf(o->file, "(not available here: see the message on stderr)\n");
		return;
	}
	for (const char *q = p; q && *q; q = strchr(q, '\n'), q = q ? q + 1 : q)
		total++;
	if (total <= (r->sec->events ? 1u : 0u)) {
		fprintf(o->file, "(nothing seen)\n");
		return;
	}
	while (p && *p && (limit < 0 || lines < limit)) {
		nl = strchr(p, '\n');
		fwrite(p, 1, nl ? (size_t)(nl - p + 1) : strlen(p), o->file);
		lines++;
		p = nl ? nl + 1 : NULL;
	}
	if (total > (size_t)lines)
		fprintf(o->file, "... %zu more\n", total - lines);
}

static void json_section(struct out *o, struct run *r)
{
	const char *p = r->text, *nl;
	size_t count = 0, omitted = 0;

	out_obj_begin(o, NULL);
	out_str(o, OUT_JSON_ONLY, "title", r->sec->title);
	out_str(o, OUT_JSON_ONLY, "tool", r->tool->name);
	out_str(o, OUT_JSON_ONLY, "status",
		r->started && !r->rc ? "ok" : "unavailable");
	out_arr_begin(o, "records");
	while (p && *p) {
		nl = strchr(p, '\n');
		if (count < JSON_RECORDS) {
			out_json_key(o, NULL);
			out_buf_add(&o->line, p, nl ? (size_t)(nl - p) :
				    strlen(p));
			count++;
		} else {
			omitted++;
		}
		p = nl ? nl + 1 : NULL;
	}
	out_arr_end(o);
	out_uint(o, OUT_JSON_ONLY, "omitted", omitted);
	out_obj_end(o);
}

static void print_report(struct run *runs, int nruns, double duration,
			 bool json)
{
	struct utsname uts;
	struct out o;
	char when[64];
	time_t now = time(NULL);

	uname(&uts);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&now));
	out_init(&o, stdout, json, false, NULL);
	if (json) {
		out_record_begin(&o);
		out_str(&o, OUT_JSON_ONLY, "type", "overview");
		out_uint(&o, OUT_JSON_ONLY, "ts_ns",
			 (unsigned long long)now * 1000000000ULL);
		out_double(&o, OUT_JSON_ONLY, "duration_s", duration, 1);
		out_str(&o, OUT_JSON_ONLY, "hostname", uts.nodename);
		out_str(&o, OUT_JSON_ONLY, "kernel", uts.release);
		out_arr_begin(&o, "sections");
		for (int i = 0; i < nruns; i++)
			json_section(&o, &runs[i]);
		out_arr_end(&o);
		out_record_end(&o);
	} else {
		fprintf(stdout, "loupe overview: %.0f s on %s (Linux %s), ended %s\n",
			duration, uts.nodename, uts.release, when);
		for (int i = 0; i < nruns; i++)
			print_section(&o, &runs[i]);
	}
	out_flush(&o);
	out_free(&o);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: loupe [overview] [-d SECONDS] [-j]\n\n"
		"Runs the 60-second performance checklist for SECONDS (default 10)\n"
		"and prints one report: new processes, failed opens, slow file\n"
		"system calls, disk I/O latency, page cache, TCP connections and\n"
		"retransmits, run queue latency, top system calls, failed exits.\n\n"
		"flags:\n"
		"  -d, --duration SECONDS     how long to watch (default 10)\n"
		"  -j, --json                 one JSON document\n"
		"  -h, --help                 show this help\n");
}

int overview_main(int argc, char **argv)
{
	struct run runs[N_SECTIONS];
	const char *duration = "10";
	double secs = 10;
	bool json = false;
	int nruns = 0, err = EXIT_OK;

	log_set_tool("overview");
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json = true;
		} else if ((!strcmp(argv[i], "-d") ||
			    !strcmp(argv[i], "--duration")) && i + 1 < argc) {
			duration = argv[++i];
			if (opts_parse_seconds(duration, &secs)) {
				log_err("invalid --duration '%s': expected a positive number of seconds",
					duration);
				return EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else {
			log_err("unknown flag '%s'; see 'loupe overview --help'",
				argv[i]);
			return EXIT_USAGE;
		}
	}
	log_libbpf_init(false);
	session_install_signals();
	memset(runs, 0, sizeof(runs));
	for (size_t i = 0; i < N_SECTIONS; i++) {
		struct run *r = &runs[nruns];

		r->sec = &sections[i];
		r->tool = find_tool(sections[i].tool);
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
	for (int i = 0; i < nruns; i++)
		runs[i].started = !pthread_create(&runs[i].thread, NULL,
						  run_tool, &runs[i]);
	for (int i = 0; i < nruns; i++) {
		if (runs[i].started)
			pthread_join(runs[i].thread, NULL);
		fclose(runs[i].s.out_file);
	}
	print_report(runs, nruns, secs, json);
	for (int i = 0; i < nruns; i++) {
		if (runs[i].started && runs[i].rc)
			err = EXIT_RUNTIME;
		free(runs[i].text);
	}
	/* A tool that cannot run here does not fail the whole report. */
	return nruns ? EXIT_OK : err;
}

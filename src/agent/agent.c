/*
 * loupe agent: a Prometheus exporter in the foreground. The main thread
 * owns the life cycle (config, socket, privileges, signals); the HTTP
 * threads only read, through the registry's lock and the config lock.
 * Order of start-up: config and web config, attach the metric programs,
 * bind, drop privileges, then threads, so no thread ever holds a
 * capability the agent gave up; the main thread raises the few it keeps
 * only to attach a reloaded config's programs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent.h"
#include "builtin.h"
#include "config.h"
#include "expo.h"
#include "http.h"
#include "httpmetrics.h"
#include "log.h"
#include "opts.h"
#include "out.h"
#include "privs.h"
#include "profiler.h"
#include "stacks.h"
#include "session.h"
#include "tool.h"
#include "webcfg.h"

#define MAX_SERIES_LIMIT	10000000ULL
#define PROFILE_HZ_DEFAULT	19
#define PROFILE_HZ_MAX		1000

enum {
	KEY_CONFIG,
	KEY_LISTEN,
	KEY_METRICS,
	KEY_BY_CGROUP,
	KEY_BY_CONTAINER,
	KEY_MAX_SERIES,
	KEY_CHECK,
	KEY_WEB_CONFIG,
	KEY_LIST_METRICS,
	KEY_PROFILE_HZ,
	KEY_HTTP,
	KEY_INLINE,
	KEY_NO_DEMANGLE,
	KEY_UNWIND,
};

static const struct tool_opt agent_opts[] = {
	[KEY_CONFIG] = { "config", 0, "FILE",
			 "custom metrics (YAML; see docs/agent.md)" },
	[KEY_LISTEN] = { "listen", 0, "ADDR:PORT",
			 "where to serve (default " HTTP_DEFAULT_LISTEN
			 "; [::1]:9435 for IPv6)" },
	[KEY_METRICS] = { "metrics", 0, "LIST",
			  "built-in metrics: all (default), none or names" },
	[KEY_BY_CGROUP] = { "by-cgroup", 0, NULL,
			    "per-task metrics also by cgroup" },
	[KEY_BY_CONTAINER] = { "by-container", 0, NULL,
			       "per-task metrics also by container, pod and namespace" },
	[KEY_MAX_SERIES] = { "max-series", 0, "N",
			     "series per metric before new ones are dropped (default 10000)" },
	[KEY_CHECK] = { "check", 0, NULL,
			"check the config (and compile its programs), then exit" },
	[KEY_WEB_CONFIG] = { "web-config", 0, "FILE",
			     "TLS and basic auth (Prometheus web config)" },
	[KEY_LIST_METRICS] = { "list-metrics", 0, NULL,
			       "list the built-in metrics and their programs (-j: JSON), then exit" },
	[KEY_PROFILE_HZ] = { "profile-hz", 0, "N",
			     "CPU samples per second and CPU for /debug/pprof (default 19, 0: off)" },
	[KEY_HTTP] = { "http", 0, NULL,
		       "HTTP/1 request latency histograms (http_request_duration_seconds)" },
	[KEY_INLINE] = { "inline", 0, NULL,
			 "profiles: functions inlined at user frames, from DWARF" },
	[KEY_NO_DEMANGLE] = STACKS_NO_DEMANGLE_OPT,
	[KEY_UNWIND] = STACKS_UNWIND_OPT,
	{ NULL },
};

static struct {
	const char *config_path;
	const char *web_path;
	struct http_addr listen;
	bool listen_given;
	const char *metrics;
	unsigned int by;	/* BUILTIN_BY_* */
	unsigned long long max_series;
	bool check;
	bool list_metrics;
	unsigned long long profile_hz;
	bool http;
	bool inline_frames;
	bool no_demangle;
	enum stacks_unwind unwind;
	bool unwind_given;
} args = {
	.max_series = EXPO_DEFAULT_MAX_SERIES,
	.profile_hz = PROFILE_HZ_DEFAULT,
};

/* What the flags and the config's keys of the same names turn on. */
struct agent_settings {
	bool http, inline_frames, demangle;
	enum stacks_unwind unwind;
};

/* The settings in force: from the start, and what reloads changed. */
static struct agent_settings in_force;

/* A flag given wins over its key; a key wins over the default. */
static struct agent_settings settings_of(const struct config *c)
{
	static const struct config_flags none = { -1, -1, -1, -1 };
	const struct config_flags *f = c->path ? &c->flags : &none;

	return (struct agent_settings){
		.http = args.http || f->http == 1,
		.inline_frames = args.inline_frames || f->inline_frames == 1,
		.demangle = !args.no_demangle && f->demangle != 0,
		.unwind = args.unwind_given || f->unwind < 0 ? args.unwind :
			  (enum stacks_unwind)f->unwind,
	};
}

static int check_metrics_list(const char *list)
{
	char bad[64], names[512];

	if (!builtin_check_list(list, bad, sizeof(bad)))
		return 0;
	builtin_names(names, sizeof(names));
	log_err("--metrics: unknown metric '%s'; give all, none or names separated by commas from: %s",
		bad, names);
	return EXIT_USAGE;
}

static int agent_parse_opt(int index, const char *arg)
{
	char err[160];

	switch (index) {
	case KEY_CONFIG:
		args.config_path = arg;
		return 0;
	case KEY_LISTEN:
		if (http_parse_listen(arg, &args.listen, err, sizeof(err))) {
			log_err("invalid --listen '%s': %s", arg, err);
			return EXIT_USAGE;
		}
		args.listen_given = true;
		return 0;
	case KEY_METRICS:
		args.metrics = arg;
		return check_metrics_list(arg);
	case KEY_BY_CGROUP:
		args.by |= BUILTIN_BY_CGROUP;
		return 0;
	case KEY_BY_CONTAINER:
		args.by |= BUILTIN_BY_CONTAINER;
		return 0;
	case KEY_MAX_SERIES:
		return opts_uint("--max-series", arg, 1, MAX_SERIES_LIMIT,
				 "series", &args.max_series);
	case KEY_CHECK:
		args.check = true;
		return 0;
	case KEY_WEB_CONFIG:
		args.web_path = arg;
		return 0;
	case KEY_LIST_METRICS:
		args.list_metrics = true;
		return 0;
	case KEY_PROFILE_HZ:
		return opts_uint("--profile-hz", arg, 0, PROFILE_HZ_MAX, "Hz",
				 &args.profile_hz);
	case KEY_HTTP:
		args.http = true;
		return 0;
	case KEY_INLINE:
		args.inline_frames = true;
		return 0;
	case KEY_NO_DEMANGLE:
		args.no_demangle = true;
		return 0;
	case KEY_UNWIND:
		args.unwind_given = true;
		return stacks_parse_unwind(arg, &args.unwind);
	}
	return EXIT_USAGE;
}

static void list_metric_json(struct out *o, int i,
			     const struct metric_program *p)
{
	out_record_begin(o);
	out_str(o, OUT_JSON_ONLY, "name", p->id);
	out_str(o, OUT_JSON_ONLY, "summary", builtin_summary(i));
	out_bool(o, "per_task", builtin_per_task(i));
	out_arr_begin(o, "families");
	for (int e = 0; e < p->nexports; e++) {
		const struct metric_export *x = &p->exports[e];

		out_obj_begin(o, NULL);
		out_str(o, OUT_JSON_ONLY, "name", x->name);
		out_str(o, OUT_JSON_ONLY, "type", builtin_family_type(p, x));
		out_str(o, OUT_JSON_ONLY, "help", x->help);
		out_str(o, OUT_JSON_ONLY, "map", x->map);
		out_str(o, OUT_JSON_ONLY, "unit", config_unit_name(x->unit));
		out_arr_begin(o, "labels");
		for (int l = 0; l < x->nlabels; l++) {
			out_obj_begin(o, NULL);
			out_str(o, OUT_JSON_ONLY, "name", x->labels[l].name);
			out_str(o, OUT_JSON_ONLY, "kind",
				labels_kind_name(x->labels[l].kind));
			/* read from the key element of the label before */
			out_bool(o, "same_key", x->labels[l].same_key);
			out_obj_end(o);
		}
		out_arr_end(o);
		out_obj_end(o);
	}
	out_arr_end(o);
	out_str(o, OUT_JSON_ONLY, "program", p->program);
	out_arr_begin(o, "fallbacks");
	for (int k = 0;; k++) {
		struct metric_program alt;

		if (builtin_fallback(p, k, args.by, &alt) <= 0)
			break;
		out_json_key(o, NULL);
		out_json_string(&o->line, alt.program, strlen(alt.program));
		free((char *)alt.program);
	}
	out_arr_end(o);
	out_record_end(o);
}

static void print_program(FILE *f, const char *text)
{
	for (const char *s = text; *s;) {
		size_t n = strcspn(s, "\n");

		fprintf(f, "    %.*s\n", (int)n, s);
		s += n + (s[n] == '\n');
	}
}

static void list_metric_text(FILE *f, int i, const struct metric_program *p)
{
	fprintf(f, "%s: %s\n", p->id, builtin_summary(i));
	for (int e = 0; e < p->nexports; e++) {
		const struct metric_export *x = &p->exports[e];

		fprintf(f, "  %s %s {", x->name, builtin_family_type(p, x));
		for (int l = 0; l < x->nlabels; l++)
			fprintf(f, "%s%s", l ? ", " : "", x->labels[l].name);
		fprintf(f, "}: %s\n", x->help);
	}
	print_program(f, p->program);
	for (int k = 0;; k++) {
		struct metric_program alt;

		if (builtin_fallback(p, k, args.by, &alt) <= 0)
			break;
		fprintf(f, "  or, where the kernel refuses that:\n");
		print_program(f, alt.program);
		free((char *)alt.program);
	}
	fputc('\n', f);
}

/* --list-metrics: every built-in, its families and its program. */
static int list_metrics(bool json)
{
	struct metric_program *progs;
	struct out o;
	int n, ret;

	progs = builtin_select(NULL, args.by, &n);
	if (!progs) {
		log_err("out of memory");
		return EXIT_RUNTIME;
	}
	out_init(&o, stdout, json, false, NULL);
	for (int i = 0; i < n; i++) {
		if (json)
			list_metric_json(&o, i, &progs[i]);
		else
			list_metric_text(o.file, i, &progs[i]);
	}
	out_flush(&o);
	ret = o.failed || fflush(stdout) ? EXIT_RUNTIME : EXIT_OK;
	out_free(&o);
	builtin_free(progs, n);
	return ret;
}

/* --check: the first error as FILE:LINE:COL: message, like a compiler. */
static int check_only(void)
{
	struct config c;
	struct webcfg w;
	char err[1024];
	int ret;

	if (!args.config_path && !args.web_path) {
		log_err("--check needs --config FILE (or --web-config FILE)");
		return EXIT_USAGE;
	}
	if (args.config_path) {
		ret = config_load(args.config_path, true, &c, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "%s\n", err);
			return ret;
		}
		printf("%s: %d metric%s", args.config_path, c.nmetrics,
		       c.nmetrics == 1 ? "" : "s");
		if (c.npackets)
			printf(", %d packet filter%s", c.npackets,
			       c.npackets == 1 ? "" : "s");
		printf(", ok\n");
		config_free(&c);
	}
	if (args.web_path) {
		ret = webcfg_load(args.web_path, &w, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "%s\n", err);
			return ret;
		}
		printf("%s: ok\n", args.web_path);
		webcfg_free(&w);
	}
	return EXIT_OK;
}

static int self_metrics(struct agent *a)
{
	static const double scrape_bounds[] = {
		0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
		0.5, 1,
	};
	static const char *const version_label[] = { "version" };
	static const char *const version[] = { LOUPE_VERSION };
	static const uint64_t zero_counts[EXPO_MAX_BUCKETS + 1];
	char err[256];

	if (!(a->build_info = expo_family_add(a->reg,
			"loupe_agent_build_info",
			"The loupe version serving these metrics",
			EXPO_GAUGE, version_label, 1, NULL, 0,
			err, sizeof(err))) ||
	    !(a->scrape_seconds = expo_family_add(a->reg,
			"loupe_agent_scrape_duration_seconds",
			"Time to render and compress one /metrics response",
			EXPO_HISTOGRAM, NULL, 0, scrape_bounds,
			sizeof(scrape_bounds) / sizeof(*scrape_bounds),
			err, sizeof(err))) ||
	    !(a->reload_ok = expo_family_add(a->reg,
			"loupe_agent_config_last_reload_successful",
			"Whether the last config load (start or SIGHUP) succeeded",
			EXPO_GAUGE, NULL, 0, NULL, 0, err, sizeof(err))) ||
	    !(a->reload_time = expo_family_add(a->reg,
			"loupe_agent_config_last_reload_success_timestamp_seconds",
			"When the config in use was loaded (Unix time)",
			EXPO_GAUGE, NULL, 0, NULL, 0, err, sizeof(err))) ||
	    metric_self_add(a->reg, &a->self, err, sizeof(err))) {
		log_err("cannot register the agent's metrics: %s", err);
		return EXIT_RUNTIME;
	}
	expo_set(a->build_info, version, 1);
	/* a histogram without labels exists before its first observation */
	expo_hist_set(a->scrape_seconds, NULL, zero_counts, 0);
	return 0;
}

static void config_loaded(struct agent *a, bool ok)
{
	expo_set(a->reload_ok, NULL, ok);
	if (ok)
		expo_set(a->reload_time, NULL, out_now_ns() / 1e9);
}

/*
 * The config's programs compiled, loaded and attached; NULL with the
 * error logged (status: the exit status it calls for).
 */
/*
 * Built-in i attached: its program, else its fallbacks in turn (the first
 * this kernel takes replaces the program). NULL with every refusal in
 * err, and *status that of the first.
 */
static struct metric_set *start_builtin(struct agent *a, int i, char *err,
					size_t errlen, int *status)
{
	struct metric_program *p = &a->builtin_progs[i], alt;
	struct metric_set *set;
	size_t n = 0;
	char why[1024];
	int first;

	set = metric_set_start(p, 1, args.max_series, why, sizeof(why),
			       status);
	first = *status;
	for (int k = 0; !set; k++) {
		struct metric_program orig = *p;
		int got;

		if (n < errlen)
			n += snprintf(err + n, errlen - n, "%s%s",
				      k ? "; " : "", why);
		got = builtin_fallback(&orig, k, args.by, &alt);
		if (got <= 0) {
			*status = got ? EXIT_RUNTIME : first;
			return NULL;
		}
		/* the set keeps a pointer to its program */
		*p = alt;
		set = metric_set_start(p, 1, args.max_series, why,
				       sizeof(why), status);
		if (!set) {
			free((char *)alt.program);
			*p = orig;
			continue;
		}
		free((char *)orig.program);
	}
	return set;
}

/*
 * The built-ins --metrics selects, each in a set of its own: with the
 * default "all", one whose hooks this kernel lacks is logged, left out
 * and shown as not attached rather than keeping the others from running;
 * a built-in named in --metrics must start.
 */
static int start_builtins(struct agent *a)
{
	bool named = args.metrics && strcmp(args.metrics, "all");
	char err[1024];
	int status, started = 0;

	a->builtin_progs = builtin_select(args.metrics, args.by,
					  &a->nbuiltins);
	if (!a->nbuiltins)
		return 0;
	a->builtins = calloc(a->nbuiltins, sizeof(*a->builtins));
	a->builtin_why = calloc(a->nbuiltins, sizeof(*a->builtin_why));
	if (!a->builtins || !a->builtin_why)
		return EXIT_RUNTIME;
	for (int i = 0; i < a->nbuiltins; i++) {
		struct metric_set *set;

		set = start_builtin(a, i, err, sizeof(err), &status);
		if (!set) {
			log_err("built-in metric %s", err);
			if (named)
				return status;
			a->builtin_why[i] = strdup(err);
			continue;
		}
		if (metric_set_publish(set, a->reg, err, sizeof(err))) {
			log_err("built-in metric %s: %s",
				a->builtin_progs[i].id, err);
			metric_set_stop(set);
			return EXIT_RUNTIME;
		}
		a->builtins[i] = set;
		started++;
	}
	a->nbuiltins_attached = started;
	return 0;
}

static int start_profiler(struct agent *a)
{
	char err[256];

	a->profiler = profiler_start(args.profile_hz, in_force.demangle,
				     in_force.unwind);
	if (!a->profiler)
		return EXIT_RUNTIME;
	if (in_force.inline_frames && profiler_set_inline(a->profiler))
		return EXIT_RUNTIME;
	a->profile_dropped = expo_family_add(a->reg,
		"loupe_agent_profile_dropped_samples_total",
		"Profiler samples lost: full maps, stacks not recorded, per-second caps",
		EXPO_COUNTER, NULL, 0, NULL, 0, err, sizeof(err));
	if (!a->profile_dropped) {
		log_err("cannot register the profiler's metric: %s", err);
		return EXIT_RUNTIME;
	}
	expo_set(a->profile_dropped, NULL, 0);
	return 0;
}

static void stop_builtins(struct agent *a)
{
	for (int i = 0; a->builtins && i < a->nbuiltins; i++)
		metric_set_stop(a->builtins[i]);
	for (int i = 0; a->builtin_why && i < a->nbuiltins; i++)
		free(a->builtin_why[i]);
	free(a->builtin_why);
	free(a->builtins);
	builtin_free(a->builtin_progs, a->nbuiltins);
}

static struct metric_set *start_custom(struct config *c, int *status)
{
	struct metric_set *set;
	char err[1024];

	set = metric_set_start(c->programs, c->nmetrics, args.max_series,
			       err, sizeof(err), status);
	if (!set)
		log_err("%s: %s", c->path, err);
	return set;
}

/*
 * The config's packet counters attached, their families registered the
 * first time a config has some; NULL with the error logged.
 */
static struct packet_set *start_packets(struct agent *a, struct config *c)
{
	struct packet_set *p;
	char err[1024];

	p = packets_start(c, err, sizeof(err));
	if (!p) {
		log_err("%s: %s", c->path, err);
		return NULL;
	}
	if (packets_count(p) && !a->packets_total &&
	    packets_register(a->reg, &a->packets_total, &a->packet_bytes, err,
			     sizeof(err))) {
		log_err("cannot register the packet counters: %s", err);
		packets_stop(p);
		return NULL;
	}
	return p;
}

/*
 * Replaces the serving config and programs by c, set and packets, under
 * the scrapes' lock; 0, or -1 (families clash) with the old ones serving.
 * http: a reload that turned http: on started it (set to NULL here), one
 * that turned it off gets the old one to remove (after the swap).
 */
static int swap_custom(struct agent *a, struct config *c,
		       struct metric_set **set, struct packet_set **packets,
		       struct httpmetrics **http, bool http_on)
{
	struct packet_set *old_packets;
	struct metric_set *old_set;
	struct httpmetrics *old_http = NULL;
	struct config old;
	char err[256];

	pthread_mutex_lock(&a->lock);
	metric_set_unpublish(a->custom);
	if (metric_set_publish(*set, a->reg, err, sizeof(err))) {
		metric_set_publish(a->custom, a->reg, NULL, 0);
		pthread_mutex_unlock(&a->lock);
		log_err("reload refused, still serving the previous config: %s: %s",
			c->path, err);
		return -1;
	}
	old = a->config;
	old_set = a->custom;
	old_packets = a->packets;
	a->config = *c;
	a->custom = *set;
	a->packets = *packets;
	if (*http) {
		a->http = *http;
	} else if (!http_on) {
		old_http = a->http;
		a->http = NULL;
	}
	pthread_mutex_unlock(&a->lock);
	/* the old programs point into the old config: stop them first */
	metric_set_stop(old_set);
	packets_stop(old_packets);
	httpmetrics_remove(old_http);
	config_free(&old);
	*set = NULL;
	*packets = NULL;
	*http = NULL;
	return 0;
}

/*
 * The profiler is loaded for its unwind, inline and demangle settings:
 * a reload that changes them is refused (false, after a message).
 */
static bool profiling_kept(struct agent *a, const struct agent_settings *s,
			   const char *path)
{
	if (!a->profiler || (s->unwind == in_force.unwind &&
			     s->inline_frames == in_force.inline_frames &&
			     s->demangle == in_force.demangle))
		return true;
	log_err("reload refused, still serving the previous config: %s: profiling: unwind, inline and demangle are read at start only (restart the agent to change them)",
		path);
	return false;
}

/*
 * SIGHUP: a config that fails any check, or whose programs do not load
 * and attach, leaves the current one serving. The new programs attach
 * before the old ones detach, so no event falls in between; http:
 * turned on attaches the HTTP programs, turned off detaches them after
 * the swap.
 */
static void reload(struct agent *a)
{
	struct packet_set *packets = NULL;
	struct metric_set *set = NULL;
	struct httpmetrics *http = NULL;
	struct agent_settings next;
	struct config c;
	char err[1024];
	int status, raised;
	bool ok = false;

	if (!args.config_path) {
		log_err("SIGHUP: no --config to reload");
		return;
	}
	if (config_load(args.config_path, true, &c, err, sizeof(err))) {
		log_err("reload refused, still serving the previous config: %s",
			err);
		config_loaded(a, false);
		return;
	}
	next = settings_of(&c);
	if (!profiling_kept(a, &next, c.path)) {
		config_free(&c);
		config_loaded(a, false);
		return;
	}
	raised = privs_effective(true);
	if (raised)
		log_err("cannot raise the kept capabilities: %s",
			strerror(-raised));
	set = metric_set_start(c.programs, c.nmetrics, args.max_series, err,
			       sizeof(err), &status);
	metric_btf_release();
	if (set)
		packets = start_packets(a, &c);
	if (set && packets && next.http && !a->http)
		http = httpmetrics_start(a->reg, &a->lock, args.by);
	if (!raised)
		privs_effective(false);
	if (!set) {
		log_err("reload refused, still serving the previous config: %s: %s",
			c.path, err);
	} else if (!packets || (next.http && !a->http && !http)) {
		log_err("reload refused, still serving the previous config");
	} else if (http && httpmetrics_serve(http)) {
		log_err("reload refused, still serving the previous config");
	} else if (!swap_custom(a, &c, &set, &packets, &http, next.http)) {
		ok = true;
	}
	if (ok) {
		in_force.http = next.http;
		config_loaded(a, true);
		log_err("config reloaded from %s: %d custom metric%s%s",
			args.config_path, a->config.nmetrics,
			a->config.nmetrics == 1 ? "" : "s",
			a->http ? ", HTTP request metrics on" : "");
		return;
	}
	httpmetrics_remove(http);
	packets_stop(packets);
	metric_set_stop(set);
	config_free(&c);
	config_loaded(a, false);
}

/* A scrape reads the maps into the registry, then renders it. */
static void render_metrics(void *ctx, struct out_buf *b)
{
	struct agent *a = ctx;

	pthread_mutex_lock(&a->lock);
	metric_self_clear(&a->self);
	for (int i = 0; i < a->nbuiltins; i++) {
		if (a->builtins[i])
			metric_set_refresh(a->builtins[i], &a->self);
		else
			metric_self_unattached(&a->self,
					       &a->builtin_progs[i]);
	}
	metric_set_refresh(a->custom, &a->self);
	httpmetrics_refresh(a->http);
	packets_refresh(a->packets, a->packets_total, a->packet_bytes);
	if (a->profiler)
		expo_set(a->profile_dropped, NULL,
			 profiler_dropped(a->profiler));
	expo_render(a->reg, b);
	pthread_mutex_unlock(&a->lock);
}

static void metrics_served(void *ctx, double seconds)
{
	struct agent *a = ctx;

	expo_observe(a->scrape_seconds, NULL, seconds);
}

static void render_health(void *ctx, struct out_buf *b)
{
	(void)ctx;
	out_buf_add(b, "ok\n", 3);
}

/* The pprof routes: 404 with the reason when profiling is off. */
static void start_profile(struct agent *a, struct http_request *r,
			  void (*start)(void *, struct http_request *))
{
	static const char off[] = "profiling is off (--profile-hz 0)\n";
	char *body;

	if (a->profiler)
		return start(a->profiler, r);
	body = strdup(off);
	http_answer(r, 404, "text/plain; charset=utf-8", body,
		    body ? strlen(body) : 0);
}

static void start_cpu_profile(void *ctx, struct http_request *r)
{
	start_profile(ctx, r, profiler_cpu_request);
}

static void start_offcpu_profile(void *ctx, struct http_request *r)
{
	start_profile(ctx, r, profiler_offcpu_request);
}

static void start_flame(void *ctx, struct http_request *r)
{
	start_profile(ctx, r, profiler_flame_request);
}

/* The live page's lists, answered at once (index.c). */
static void answer_flame_targets(struct agent *a, struct http_request *r)
{
	const char *secs = http_arg(r, "seconds");
	unsigned long n = secs ? strtoul(secs, NULL, 10) : 0;
	struct out_buf b = { 0 };

	agent_render_flame_targets(a, n >= 1 && n <= 300 ? n : 30, &b);
	http_answer(r, 200, "text/html; charset=utf-8", b.data, b.len);
}

static void start_flame_targets(void *ctx, struct http_request *r)
{
	struct agent *a = ctx;

	if (a->profiler)
		return answer_flame_targets(a, r);
	start_profile(a, r, NULL);
}

static const struct http_route routes[] = {
	{ "/metrics", EXPO_CONTENT_TYPE, render_metrics, metrics_served },
	{ "/healthz", "text/plain; charset=utf-8", render_health, NULL },
	{ "/debug/pprof/profile", NULL, NULL, NULL, start_cpu_profile },
	{ "/debug/pprof/offcpu", NULL, NULL, NULL, start_offcpu_profile },
	{ "/flame.svg", NULL, NULL, NULL, start_flame },
	{ "/flame/targets", NULL, NULL, NULL, start_flame_targets },
	{ "/", "text/html; charset=utf-8", agent_render_index, NULL },
	{ NULL },
};

/*
 * Capabilities after start-up: the ones loading and attaching a reloaded
 * config's programs needs, in the permitted set only (not effective, so
 * no thread uses them; the main thread raises them during a reload):
 * CAP_BPF and CAP_PERFMON (programs, maps, perf events), CAP_SYS_ADMIN
 * (uprobes on Linux 6.18, see privs.c) and CAP_DAC_READ_SEARCH (tracefs
 * formats when not uid 0). The socket is bound; scrapes read maps
 * through fds the agent holds, which needs none. With the profiler on,
 * also CAP_SYS_PTRACE and CAP_SYSLOG, effective in the profiler's thread
 * only: reading the mappings of processes with more capabilities than
 * the agent, and the addresses in /proc/kallsyms. With --http, also
 * CAP_SYS_PTRACE, effective in its reader while it looks into the roots
 * of containers started since (their own TLS libraries).
 */
static int drop_privileges(bool profiler, bool http)
{
	int keep[6] = { CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN,
			CAP_DAC_READ_SEARCH };
	const char *also = "", *also_http = "";
	char eff[32] = "?";
	int n = 4, err;

	if (profiler || http)
		keep[n++] = CAP_SYS_PTRACE;
	if (profiler)
		keep[n++] = CAP_SYSLOG;
	err = privs_drop(keep, n);
	if (!err)
		err = privs_effective(false);
	if (err) {
		log_err("cannot drop capabilities: %s", strerror(-err));
		return EXIT_RUNTIME;
	}
	privs_cap_eff(eff, sizeof(eff));
	if (profiler)
		also = ", CAP_SYS_PTRACE and CAP_SYSLOG for the profiler's thread";
	if (http)
		also_http = profiler ?
			" and CAP_SYS_PTRACE for --http's looks into new containers" :
			", CAP_SYS_PTRACE for --http's looks into new containers";
	log_err("capabilities dropped (CapEff %s; CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, CAP_DAC_READ_SEARCH kept permitted for reloads%s%s), no_new_privs set",
		eff, also, also_http);
	return 0;
}

/* Waits for signals: SIGHUP reloads, SIGINT and SIGTERM end the run. */
static void serve_until_stopped(struct agent *a, const sigset_t *set)
{
	siginfo_t info;

	for (;;) {
		int sig = sigwaitinfo(set, &info);

		if (sig == SIGHUP) {
			reload(a);
		} else if (sig == SIGINT || sig == SIGTERM) {
			log_err("%s: stopping", strsignal(sig));
			return;
		}
	}
}

static int agent_run(struct session *s)
{
	static struct agent a;
	struct webcfg web;
	bool have_web = false;
	struct http_server *h = NULL;
	char err[1024];
	sigset_t set;
	int ret, fd, port;

	if (args.list_metrics)
		return list_metrics(s->opts.json);
	if (s->opts.json) {
		log_err("-j/--json goes with --list-metrics only (/metrics is the exposition format)");
		return EXIT_USAGE;
	}
	if (args.check)
		return check_only();
	/*
	 * From here on the signals wait for sigwaitinfo(), also in every
	 * thread started later; one that came before is not lost.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (session_interrupted())
		return EXIT_OK;
	if (!args.listen_given &&
	    http_parse_listen(HTTP_DEFAULT_LISTEN, &args.listen, err,
			      sizeof(err)))
		return EXIT_RUNTIME;
	pthread_mutex_init(&a.lock, NULL);
	a.reg = expo_registry_new(args.max_series);
	if (!a.reg)
		return EXIT_RUNTIME;
	ret = self_metrics(&a);
	if (ret)
		goto out;
	if (args.config_path) {
		ret = config_load(args.config_path, true, &a.config, err,
				  sizeof(err));
		if (ret) {
			log_err("%s", err);
			goto out;
		}
	}
	a.custom = start_custom(&a.config, &ret);
	if (!a.custom)
		goto out;
	if (metric_set_publish(a.custom, a.reg, err, sizeof(err))) {
		log_err("%s: %s", a.config.path, err);
		ret = EXIT_USAGE;
		goto out;
	}
	a.packets = start_packets(&a, &a.config);
	if (!a.packets) {
		ret = EXIT_RUNTIME;
		goto out;
	}
	config_loaded(&a, true);
	in_force = settings_of(&a.config);
	if (args.web_path) {
		ret = webcfg_load(args.web_path, &web, err, sizeof(err));
		if (ret) {
			log_err("%s", err);
			goto out;
		}
		have_web = true;
	}
	fd = http_listen(&args.listen);
	if (fd < 0) {
		log_err("cannot listen on %s: %s", args.listen.text,
			strerror(-fd));
		ret = EXIT_RUNTIME;
		goto out;
	}
	/* after everything that can refuse the command line, before the drop */
	ret = start_builtins(&a);
	metric_btf_release();
	if (!ret && args.profile_hz)
		ret = start_profiler(&a);
	if (!ret && in_force.http) {
		a.http = httpmetrics_start(a.reg, &a.lock, args.by);
		ret = a.http ? 0 : EXIT_RUNTIME;
	}
	if (!ret)
		ret = drop_privileges(a.profiler, a.http);
	if (ret) {
		close(fd);
		goto out;
	}
	if (a.profiler) {
		ret = profiler_serve(a.profiler);
		if (ret) {
			close(fd);
			goto out;
		}
	}
	if (a.http) {
		ret = httpmetrics_serve(a.http);
		if (ret) {
			close(fd);
			goto out;
		}
	}
	port = http_bound_port(fd);
	h = http_start(fd, routes, &a, have_web ? &web : NULL);
	if (!h) {
		ret = EXIT_RUNTIME;
		goto out;
	}
	log_err("listening on %s://%s (port %d); %d built-in metric%s, %d custom metric%s, --max-series %llu%s",
		have_web && web.cert_pem ? "https" : "http", args.listen.text,
		port, a.nbuiltins_attached, a.nbuiltins_attached == 1 ? "" : "s",
		a.config.nmetrics, a.config.nmetrics == 1 ? "" : "s",
		args.max_series, have_web && web.nusers ? ", basic auth" : "");
	serve_until_stopped(&a, &set);
	ret = EXIT_OK;
out:
	/* the waiting requests are answered before the server stops */
	profiler_close_requests(a.profiler);
	http_stop(h);
	profiler_stop(a.profiler);
	httpmetrics_stop(a.http);
	if (have_web)
		webcfg_free(&web);
	metric_set_stop(a.custom);
	packets_stop(a.packets);
	stop_builtins(&a);
	metric_btf_release();	/* an error before start-up's end */
	config_free(&a.config);
	expo_registry_free(a.reg);
	pthread_mutex_destroy(&a.lock);
	return ret;
}

static const struct tool agent_tool = {
	.name = "agent",
	.summary = "Prometheus exporter: metrics over HTTP (/metrics)",
	.examples =
		"  loupe agent                                  # serve 127.0.0.1:9435\n"
		"  loupe agent --listen [::1]:9435 --config agent.yaml\n"
		"  loupe agent --config agent.yaml --check      # validate, compile, exit\n"
		"  loupe agent --web-config web.yaml            # TLS and basic auth\n"
		"  loupe agent --metrics syscalls,runqueue --by-cgroup\n"
		"  loupe agent --list-metrics -j                # built-ins and their programs\n"
		"  kill -HUP $(pidof loupe)                     # reload agent.yaml\n",
	.common = OPT_JSON,
	.opts = agent_opts,
	.parse_opt = agent_parse_opt,
	.run = agent_run,
};
TOOL_REGISTER(agent_tool);

/*
 * The agent's index page ("/"): what it serves, for a person with a
 * browser. Each section is one row of index_sections: the metrics, the
 * config's, and the probes with the hook each uses.
 */
#include <stdlib.h>
#include <string.h>
#include "agent.h"

/* Text as HTML: markup characters as entities, bad UTF-8 repaired. */
static void html(struct out_buf *b, const char *s)
{
	struct out_buf tmp = { 0 };

	/* the exposition escaper repairs UTF-8; markup is done here */
	expo_escape_help(&tmp, s);
	for (const char *c = tmp.data; c && *c; c++) {
		switch (*c) {
		case '&':
			out_buf_add(b, "&amp;", 5);
			break;
		case '<':
			out_buf_add(b, "&lt;", 4);
			break;
		case '>':
			out_buf_add(b, "&gt;", 4);
			break;
		case '"':
			out_buf_add(b, "&quot;", 6);
			break;
		default:
			out_buf_add(b, c, 1);
		}
	}
	free(tmp.data);
}

static void family_row(void *ctx, const char *name, const char *help,
		       enum expo_type type)
{
	struct out_buf *b = ctx;

	out_buf_add(b, "<tr><td><code>", 14);
	html(b, name);
	out_buf_printf(b, "</code></td><td>%s</td><td>", expo_type_name(type));
	html(b, help);
	out_buf_add(b, "</td></tr>\n", 11);
}

static void section_metrics(struct agent *a, struct out_buf *b)
{
	out_buf_printf(b, "<h2>Metrics</h2>\n<table>\n"
		       "<tr><th>name</th><th>type</th><th>help</th></tr>\n");
	expo_each_family(a->reg, family_row, b);
	out_buf_printf(b, "</table>\n");
}

static void section_custom(struct agent *a, struct out_buf *b)
{
	out_buf_printf(b, "<h2>Custom metrics (config)</h2>\n");
	pthread_mutex_lock(&a->lock);
	if (!a->config.path) {
		out_buf_printf(b, "<p>No --config.</p>\n");
		goto out;
	}
	out_buf_printf(b, "<p>From <code>");
	html(b, a->config.path);
	out_buf_printf(b, "</code>.</p>\n<table>\n<tr><th>name</th>"
		       "<th>labels</th><th>unit</th><th>program</th>"
		       "<th>help</th></tr>\n");
	for (int i = 0; i < a->config.nmetrics; i++) {
		struct config_metric *m = &a->config.metrics[i];

		out_buf_printf(b, "<tr><td><code>");
		html(b, m->name);
		out_buf_printf(b, "</code></td><td>");
		for (int k = 0; k < m->nlabels; k++) {
			if (k)
				out_buf_add(b, ", ", 2);
			html(b, m->labels[k]);
		}
		out_buf_printf(b, "</td><td>%s</td><td><pre>",
			       config_unit_name(m->unit));
		html(b, m->program);
		out_buf_printf(b, "</pre></td><td>");
		html(b, m->help);
		out_buf_printf(b, "</td></tr>\n");
	}
	out_buf_printf(b, "</table>\n");
out:
	pthread_mutex_unlock(&a->lock);
}

static void probe_row(void *ctx, const char *id, const char *probe,
		      const char *hook)
{
	struct out_buf *b = ctx;

	out_buf_add(b, "<tr><td><code>", 14);
	html(b, id);
	out_buf_add(b, "</code></td><td><code>", 22);
	html(b, probe);
	out_buf_add(b, "</code></td><td>", 16);
	html(b, hook);
	out_buf_add(b, "</td></tr>\n", 11);
}

/* Each metric program's probes and the hook each uses on this kernel. */
static void section_probes(struct agent *a, struct out_buf *b)
{
	out_buf_printf(b, "<h2>Probes</h2>\n<table>\n<tr><th>metric</th>"
		       "<th>probe</th><th>hook</th></tr>\n");
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->nbuiltins; i++) {
		char why[1100];

		if (a->builtins[i]) {
			metric_set_each_probe(a->builtins[i], probe_row, b);
			continue;
		}
		snprintf(why, sizeof(why), "not attached: %s",
			 a->builtin_why[i] ? a->builtin_why[i] : "?");
		probe_row(b, a->builtin_progs[i].id, "", why);
	}
	metric_set_each_probe(a->custom, probe_row, b);
	pthread_mutex_unlock(&a->lock);
	out_buf_printf(b, "</table>\n");
}

/*
 * The live CPU flame graph: /flame.svg in a frame, whose own script does
 * search and zoom. Every 5 s a script loads it again unless paused;
 * without scripts the form still draws it, once per submit.
 */
static const char flame_section[] =
	"<h2>CPU flame graph</h2>\n"
	"<form id=\"flame-form\" action=\"/flame.svg\" target=\"flame\">\n"
	"last <input name=\"seconds\" value=\"30\" size=\"3\"> s, "
	"pid <input name=\"pid\" size=\"7\">, "
	"cgroup <input name=\"cgroup\" size=\"30\"> "
	"<button>draw</button> "
	"<button type=\"button\" id=\"flame-pause\">pause</button>\n"
	"</form>\n"
	"<iframe id=\"flame\" name=\"flame\" src=\"/flame.svg?seconds=30\" "
	"style=\"width:100%;height:640px;border:0\"></iframe>\n"
	"<script>\n"
	"(function () {\n"
	"\tvar form = document.getElementById('flame-form');\n"
	"\tvar frame = document.getElementById('flame');\n"
	"\tvar pause = document.getElementById('flame-pause');\n"
	"\tvar paused = false;\n"
	"\tfunction draw() {\n"
	"\t\tvar q = new URLSearchParams();\n"
	"\t\tnew FormData(form).forEach(function (v, k) {\n"
	"\t\t\tif (v) q.append(k, v);\n"
	"\t\t});\n"
	"\t\tframe.src = '/flame.svg?' + q.toString();\n"
	"\t}\n"
	"\tform.onsubmit = function (e) { e.preventDefault(); draw(); };\n"
	"\tpause.onclick = function () {\n"
	"\t\tpaused = !paused;\n"
	"\t\tpause.textContent = paused ? 'resume' : 'pause';\n"
	"\t};\n"
	"\tsetInterval(function () { if (!paused) draw(); }, 5000);\n"
	"})();\n"
	"</script>\n";

static void section_flame(struct agent *a, struct out_buf *b)
{
	if (a->profiler)
		out_buf_add(b, flame_section, sizeof(flame_section) - 1);
}

static void (*const index_sections[])(struct agent *a, struct out_buf *b) = {
	section_flame,
	section_metrics,
	section_custom,
	section_probes,
	NULL,
};

void agent_render_index(void *ctx, struct out_buf *b)
{
	struct agent *a = ctx;

	out_buf_printf(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		       "<title>loupe agent</title></head><body>\n"
		       "<h1>loupe agent " LOUPE_VERSION "</h1>\n"
		       "<p><a href=\"/metrics\">/metrics</a> &middot; "
		       "<a href=\"/healthz\">/healthz</a>%s</p>\n",
		       a->profiler ? " &middot; <a href=\"/flame.svg\">/flame.svg</a>"
		       : "");
	for (int i = 0; index_sections[i]; i++)
		index_sections[i](a, b);
	out_buf_printf(b, "</body></html>\n");
}

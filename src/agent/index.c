/*
 * The agent's index page ("/"): what it serves, for a person with a
 * browser. Each section is one row of index_sections: the metrics, the
 * config's, and the probes with the hook each uses.
 */
#include <stdlib.h>
#include <string.h>
#include "agent.h"
#include "profiler.h"

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

static void target_option(void *ctx, const struct profiler_target *t)
{
	struct out_buf *b = ctx;

	if (!t->pid)
		return;
	out_buf_printf(b, "<option value=\"%u\">%u ", t->pid, t->pid);
	html(b, t->comm);
	if (t->container) {
		out_buf_add(b, " [", 2);
		html(b, t->container);
		out_buf_add(b, "]", 1);
	}
	out_buf_printf(b, " (%llu)</option>\n",
		       (unsigned long long)t->samples);
}

static void cgroup_option(void *ctx, const struct profiler_target *t)
{
	struct out_buf *b = ctx;

	if (t->pid || !t->cgroup)
		return;
	out_buf_add(b, "<option value=\"", 15);
	html(b, t->cgroup);
	out_buf_add(b, "\">", 2);
	html(b, t->cgroup);
	out_buf_printf(b, " (%llu)</option>\n",
		       (unsigned long long)t->samples);
}

void agent_render_flame_targets(struct agent *a, unsigned int seconds,
				struct out_buf *b)
{
	out_buf_printf(b, "<select name=\"pid\" id=\"flame-pid\">\n"
		       "<option value=\"\">every process</option>\n");
	profiler_each_target(a->profiler, seconds, target_option, b);
	out_buf_printf(b, "</select>\n<select name=\"cgroup\" "
		       "id=\"flame-cgroup\">\n"
		       "<option value=\"\">every cgroup</option>\n");
	profiler_each_target(a->profiler, seconds, cgroup_option, b);
	out_buf_printf(b, "</select>\n");
}

/*
 * The live CPU flame graph: /flame.svg in a frame; the SVG's own script
 * does search and zoom. The lists hold the processes (most samples
 * first) and cgroups sampled in the window. Every 5 s, unless paused, a
 * script loads the graph into a hidden second frame and shows it once
 * drawn, carrying the zoom and search over, and refreshes the lists
 * (/flame/targets). Without scripts the form draws the graph into the
 * frame once per submit. "/?pid=N" (or cgroup=, seconds=) picks at load.
 */
static const char flame_head[] =
	"<h2>CPU flame graph</h2>\n"
	"<form id=\"flame-form\" action=\"/flame.svg\" target=\"flame\">\n"
	"last <input name=\"seconds\" value=\"30\" size=\"3\"> s of\n"
	"<span id=\"flame-targets\">\n";

static const char flame_tail[] =
	"</span>\n"
	"<button>draw</button> "
	"<button type=\"button\" id=\"flame-pause\" hidden>pause</button>\n"
	"<span id=\"flame-status\"></span>\n"
	"</form>\n"
	"<iframe name=\"flame\" class=\"flame\" src=\"/flame.svg?seconds=30\" "
	"style=\"width:100%;height:640px;border:0\"></iframe>\n"
	"<script>\n"
	"(function () {\n"
	"\tvar form = document.getElementById('flame-form');\n"
	"\tvar targets = document.getElementById('flame-targets');\n"
	"\tvar pause = document.getElementById('flame-pause');\n"
	"\tvar status = document.getElementById('flame-status');\n"
	"\tvar shown = document.querySelector('iframe.flame');\n"
	"\tvar next = shown.cloneNode(false);\n"
	"\tvar paused = false, loading = false, again = false, draws = 0;\n"
	"\tnext.name = 'flame-next';\n"
	"\tnext.hidden = true;\n"
	"\tnext.removeAttribute('src');\n"
	"\tshown.after(next);\n"
	"\tpause.hidden = false;\n"
	"\tfunction field(k) { return form.elements[k]; }\n"
	/* a value the list no longer (or not yet) has stays picked */
	"\tfunction pick(k, v) {\n"
	"\t\tvar f = field(k);\n"
	"\t\tif (v && f.tagName === 'SELECT' &&\n"
	"\t\t    !Array.prototype.some.call(f.options,\n"
	"\t\t\t    function (o) { return o.value === v; }))\n"
	"\t\t\tf.add(new Option(v + ' (no samples now)', v));\n"
	"\t\tf.value = v;\n"
	"\t}\n"
	"\tfunction query() {\n"
	"\t\tvar q = new URLSearchParams();\n"
	"\t\tnew FormData(form).forEach(function (v, k) {\n"
	"\t\t\tif (v) q.append(k, v);\n"
	"\t\t});\n"
	"\t\treturn q.toString();\n"
	"\t}\n"
	"\tfunction refreshTargets() {\n"
	"\t\tfetch('/flame/targets?seconds=' +\n"
	"\t\t      encodeURIComponent(field('seconds').value))\n"
	"\t\t.then(function (r) { return r.ok ? r.text() : null; })\n"
	"\t\t.then(function (html) {\n"
	"\t\t\tif (!html) return;\n"
	"\t\t\tvar pid = field('pid').value, cg = field('cgroup').value;\n"
	"\t\t\ttargets.innerHTML = html;\n"
	"\t\t\tpick('pid', pid);\n"
	"\t\t\tpick('cgroup', cg);\n"
	"\t\t}).catch(function () {});\n"
	"\t}\n"
	"\tfunction draw() {\n"
	/* a pick during a load is drawn once that load is shown */
	"\t\tif (loading) { again = true; return; }\n"
	"\t\tloading = true;\n"
	"\t\tnext.onload = function () {\n"
	"\t\t\tvar old = shown, keep = null;\n"
	"\t\t\tloading = false;\n"
	/* the zoom and search as they are now, not when the load began */
	"\t\t\ttry { keep = old.contentWindow.flame.state(); }\n"
	"\t\t\tcatch (e) {}\n"
	"\t\t\ttry { if (keep) next.contentWindow.flame.restore(keep); }\n"
	"\t\t\tcatch (e) {}\n"
	"\t\t\tnext.hidden = false;\n"
	"\t\t\told.hidden = true;\n"
	"\t\t\tshown = next;\n"
	"\t\t\tnext = old;\n"
	"\t\t\tdraws++;\n"
	"\t\t\tstatus.setAttribute('data-draws', draws);\n"
	"\t\t\tstatus.textContent = 'drawn at ' +\n"
	"\t\t\t\tnew Date().toLocaleTimeString();\n"
	"\t\t\tif (again) { again = false; draw(); }\n"
	"\t\t};\n"
	"\t\tnext.src = '/flame.svg?' + query();\n"
	"\t\trefreshTargets();\n"
	"\t}\n"
	"\tform.onsubmit = function (e) { e.preventDefault(); draw(); };\n"
	/* one process or one cgroup: picking one clears the other */
	"\ttargets.addEventListener('change', function (e) {\n"
	"\t\tvar other = e.target.name === 'pid' ? 'cgroup' : 'pid';\n"
	"\t\tif (e.target.value) field(other).value = '';\n"
	"\t\tdraw();\n"
	"\t});\n"
	"\tpause.onclick = function () {\n"
	"\t\tpaused = !paused;\n"
	"\t\tpause.textContent = paused ? 'resume' : 'pause';\n"
	"\t};\n"
	"\tvar asked = new URLSearchParams(location.search), any = false;\n"
	"\t['seconds', 'pid', 'cgroup'].forEach(function (k) {\n"
	"\t\tif (asked.get(k)) { pick(k, asked.get(k)); any = true; }\n"
	"\t});\n"
	"\tif (any) draw();\n"
	"\tsetInterval(function () { if (!paused) draw(); }, 5000);\n"
	"})();\n"
	"</script>\n";

static void section_flame(struct agent *a, struct out_buf *b)
{
	if (!a->profiler)
		return;
	out_buf_add(b, flame_head, sizeof(flame_head) - 1);
	agent_render_flame_targets(a, 30, b);
	out_buf_add(b, flame_tail, sizeof(flame_tail) - 1);
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

/*
 * The agent's config file: a `metrics:` list, each entry a name, help
 * text, a trace program and its labels. Everything the agent would refuse
 * later is refused here with the file position: names, repeated metrics,
 * and programs the trace compiler rejects (parsed and typed, not loaded),
 * its error moved from the program's own line and column to the file's.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "log.h"
#include "trace.h"
#include "ydoc.h"

/* Metric names the agent's own metrics use. */
#define SELF_PREFIX	"loupe_agent_"
/* How the compiler names the program in its messages. */
#define PROG_NAME	"program"

static const char *const unit_names[] = {
	[UNIT_NONE] = "none",
	[UNIT_NANOSECONDS] = "nanoseconds",
	[UNIT_MICROSECONDS] = "microseconds",
	[UNIT_MILLISECONDS] = "milliseconds",
	[UNIT_SECONDS] = "seconds",
	[UNIT_BYTES] = "bytes",
};

double config_unit_scale(enum metric_unit unit)
{
	switch (unit) {
	case UNIT_NANOSECONDS:
		return 1e-9;
	case UNIT_MICROSECONDS:
		return 1e-6;
	case UNIT_MILLISECONDS:
		return 1e-3;
	default:
		return 1;
	}
}

const char *config_unit_name(enum metric_unit unit)
{
	return unit_names[unit];
}

static int parse_unit(struct ydoc *d, yaml_node_t *n, enum metric_unit *u)
{
	const char *s;
	int err = 0;

	s = ydoc_string(d, n, "unit", &err);
	if (!s)
		return err;
	for (size_t i = 0; i < sizeof(unit_names) / sizeof(*unit_names); i++)
		if (!strcmp(s, unit_names[i])) {
			*u = i;
			return 0;
		}
	return ydoc_error(d, n,
			  "unknown unit '%s' (known: nanoseconds, microseconds, milliseconds, seconds, bytes, none)",
			  s);
}

static int parse_labels(struct ydoc *d, yaml_node_t *n,
			struct config_metric *m)
{
	yaml_node_item_t *item;

	if (n->type != YAML_SEQUENCE_NODE)
		return ydoc_error(d, n, "labels must be a list, e.g. [comm]");
	for (item = n->data.sequence.items.start;
	     item < n->data.sequence.items.top; item++) {
		yaml_node_t *l = ydoc_node(d, *item);
		const char *name;
		int err = 0;

		name = ydoc_string(d, l, "a label", &err);
		if (!name)
			return err;
		if (m->nlabels == EXPO_MAX_LABELS)
			return ydoc_error(d, l, "more than %d labels",
					  EXPO_MAX_LABELS);
		if (!expo_label_name_valid(name))
			return ydoc_error(d, l,
					  "invalid label name '%s': letters, digits and '_', not starting with a digit or '__'",
					  name);
		/* histogram buckets are told apart by it */
		if (!strcmp(name, "le"))
			return ydoc_error(d, l,
					  "label name 'le' is reserved for histogram buckets");
		for (int k = 0; k < m->nlabels; k++)
			if (!strcmp(m->labels[k], name))
				return ydoc_error(d, l,
						  "label '%s' is given twice",
						  name);
		m->labels[m->nlabels] = strdup(name);
		if (!m->labels[m->nlabels])
			return ydoc_error(d, l, "out of memory");
		m->nlabels++;
	}
	return 0;
}

/*
 * Compiles the program of node n as far as it goes without the kernel's
 * loader; the compiler's first error, moved into the file.
 */
static int compile_program(struct ydoc *d, yaml_node_t *n, const char *text)
{
	struct trace_prog p;
	char *diag = NULL, *line, msg[512];
	size_t size = 0;
	int ret, pline, pcol, at;
	FILE *f;

	f = open_memstream(&diag, &size);
	if (!f)
		return ydoc_error(d, n, "out of memory");
	trace_prog_init(&p);
	p.err = f;
	p.src.name = PROG_NAME;
	p.src.text = text;
	p.src.len = strlen(text);
	ret = trace_check(&p);
	trace_prog_free(&p);
	fclose(f);
	if (!ret)
		goto out;
	/* the first "program:L:C: error: message" line */
	for (line = diag; line && *line; line = strchr(line, '\n')) {
		line += *line == '\n';
		at = 0;
		if (sscanf(line, PROG_NAME ":%d:%d: error: %n", &pline, &pcol,
			   &at) == 2 && at)
			break;
	}
	if (!line || !*line) {
		ret = ydoc_error(d, n, "the program does not compile");
		goto out;
	}
	snprintf(msg, sizeof(msg), "%.*s", (int)strcspn(line + at, "\n"),
		 line + at);
	{
		const char *s = text;
		size_t off;
		int fline, fcol;

		/* line and byte column in the program -> byte offset */
		for (int k = 1; k < pline && s; k++) {
			s = strchr(s, '\n');
			if (s)
				s++;
		}
		off = s ? (size_t)(s - text) + (pcol > 0 ? pcol - 1 : 0) : 0;
		if (off > strlen(text))
			off = strlen(text);
		ydoc_scalar_pos(d, n, off, &fline, &fcol);
		ret = ydoc_error_at(d, fline, fcol, "%s", msg);
	}
out:
	free(diag);
	return ret;
}

static int parse_metric(struct ydoc *d, yaml_node_t *n, bool compile,
			struct config *c, struct config_metric *m)
{
	yaml_node_t *name, *help, *program, *labels, *unit;
	struct ydoc_key keys[] = {
		{ "name", true, &name },
		{ "help", true, &help },
		{ "program", true, &program },
		{ "labels", false, &labels },
		{ "unit", false, &unit },
		{ NULL },
	};
	const char *s;
	int err = 0;

	m->line = n->start_mark.line + 1;
	err = ydoc_mapping(d, n, "a metric", keys);
	if (err)
		return err;
	s = ydoc_string(d, name, "name", &err);
	if (!s)
		return err;
	if (!expo_metric_name_valid(s))
		return ydoc_error(d, name,
				  "invalid metric name '%s': letters, digits, '_' and ':', not starting with a digit",
				  s);
	if (!strncmp(s, SELF_PREFIX, strlen(SELF_PREFIX)))
		return ydoc_error(d, name,
				  "metric names starting with '%s' are the agent's own",
				  SELF_PREFIX);
	for (int i = 0; i < c->nmetrics; i++)
		if (!strcmp(c->metrics[i].name, s))
			return ydoc_error(d, name,
					  "metric '%s' is defined twice (first on line %d)",
					  s, c->metrics[i].line);
	m->name = strdup(s);
	s = ydoc_string(d, help, "help", &err);
	if (!s)
		return err;
	m->help = strdup(s);
	s = ydoc_string(d, program, "program", &err);
	if (!s)
		return err;
	if (!*s)
		return ydoc_error(d, program, "the program is empty");
	m->program = strdup(s);
	if (!m->name || !m->help || !m->program)
		return ydoc_error(d, n, "out of memory");
	if (labels && (err = parse_labels(d, labels, m)))
		return err;
	if (unit && (err = parse_unit(d, unit, &m->unit)))
		return err;
	if (compile)
		return compile_program(d, program, m->program);
	return 0;
}

static int parse_metrics(struct ydoc *d, yaml_node_t *n, bool compile,
			 struct config *c)
{
	yaml_node_item_t *item;
	size_t count;

	if (n->type != YAML_SEQUENCE_NODE)
		return ydoc_error(d, n, "metrics must be a list of metrics");
	count = n->data.sequence.items.top - n->data.sequence.items.start;
	c->metrics = calloc(count ? count : 1, sizeof(*c->metrics));
	if (!c->metrics)
		return ydoc_error(d, n, "out of memory");
	for (item = n->data.sequence.items.start;
	     item < n->data.sequence.items.top; item++) {
		int err = parse_metric(d, ydoc_node(d, *item), compile, c,
				       &c->metrics[c->nmetrics]);

		/* counted even when half-filled, so config_free frees it */
		c->nmetrics++;
		if (err)
			return err;
	}
	return 0;
}

int config_load(const char *path, bool compile, struct config *c,
		char *err, size_t errlen)
{
	yaml_node_t *metrics;
	struct ydoc_key keys[] = {
		{ "metrics", false, &metrics },
		{ NULL },
	};
	struct ydoc d;
	int ret;

	memset(c, 0, sizeof(*c));
	c->path = strdup(path);
	if (!c->path) {
		snprintf(err, errlen, "%s: out of memory", path);
		return EXIT_RUNTIME;
	}
	ret = ydoc_load_mapping(&d, path, "the config", keys, err, errlen);
	if (!ret && metrics)
		ret = parse_metrics(&d, metrics, compile, c);
	ydoc_free(&d);
	if (ret)
		config_free(c);
	return ret;
}

void config_free(struct config *c)
{
	for (int i = 0; i < c->nmetrics; i++) {
		struct config_metric *m = &c->metrics[i];

		free(m->name);
		free(m->help);
		free(m->program);
		for (int k = 0; k < m->nlabels; k++)
			free(m->labels[k]);
	}
	free(c->metrics);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

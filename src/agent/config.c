/*
 * The agent's config file: a `metrics:` list, each entry a name, help
 * text, a trace program and its labels, and a `packets:` list of packet
 * counters, each a name, an interface, a direction and a tcpdump
 * expression; `http:` and a `profiling:` map (unwind, inline, demangle)
 * give what the flags of those names give. Everything the agent would refuse
 * later is refused here with the file position: names, repeated metrics,
 * and programs the trace compiler rejects (parsed and typed, not loaded),
 * its error moved from the program's own line and column to the file's.
 */
#define _GNU_SOURCE
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "log.h"
#include "pexpr.h"
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

/* An error at line, col of the program text of scalar n, in the file. */
static int program_error(struct ydoc *d, yaml_node_t *n, const char *text,
			 int pline, int pcol, const char *msg)
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
	return ydoc_error_at(d, fline, fcol, "%s", msg);
}

/* The nodes of a metric that its errors point at. */
struct metric_nodes {
	yaml_node_t *entry, *program, *labels, *map;
};

/*
 * The map the metric exports: map: (checked by metric_check) or the
 * program's only map.
 */
static int pick_map(struct ydoc *d, const struct metric_nodes *mn,
		    struct trace_prog *p, struct config_metric *m)
{
	char names[256];

	if (m->map)
		return 0;
	if (p->nmaps == 1) {
		m->map = strdup(p->maps[0].name);
		return m->map ? 0 : ydoc_error(d, mn->entry, "out of memory");
	}
	if (!p->nmaps)
		return ydoc_error(d, mn->program,
				  "the program fills no map: a metric is a map the agent reads");
	metric_map_names(p, names, sizeof(names));
	return ydoc_error(d, mn->program,
			  "the program has %d maps (%s): say which one is the metric with map: \"@name\"",
			  p->nmaps, names);
}

/* After compiling: the metric's export and the checks of its map. */
static int check_metric(struct ydoc *d, const struct metric_nodes *mn,
			struct trace_prog *p, struct config_metric *m)
{
	struct metric_error e;
	int err = pick_map(d, mn, p, m);

	if (err)
		return err;
	m->prog.exports[0].map = m->map;
	if (!metric_check(p, &m->prog, &e))
		return 0;
	switch (e.at) {
	case METRIC_FAULT_MAP:
		return ydoc_error(d, mn->map ? mn->map : mn->program, "%s",
				  e.msg);
	case METRIC_FAULT_LABELS:
		if (mn->labels)
			return ydoc_error(d, mn->labels, "%s", e.msg);
		break;
	case METRIC_FAULT_PROGRAM:
		break;
	}
	return program_error(d, mn->program, m->program, e.line, e.col,
			     e.msg);
}

/*
 * Compiles the program of the metric as far as it goes without the
 * kernel's loader, then checks its map; the first error, moved into the
 * file.
 */
static int compile_program(struct ydoc *d, const struct metric_nodes *mn,
			   struct config_metric *m)
{
	struct trace_prog p;
	char *diag = NULL, *line, msg[512];
	size_t size = 0;
	int ret, pline, pcol, at;
	FILE *f;

	f = open_memstream(&diag, &size);
	if (!f)
		return ydoc_error(d, mn->program, "out of memory");
	trace_prog_init(&p);
	p.err = f;
	p.src.name = PROG_NAME;
	p.src.text = m->program;
	p.src.len = strlen(m->program);
	metric_btf_lend(&p);
	ret = trace_check(&p);
	if (!ret) {
		fclose(f);
		f = NULL;
		ret = check_metric(d, mn, &p, m);
	}
	metric_btf_take_back(&p);
	trace_prog_free(&p);
	if (!f)
		goto out;
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
		ret = ydoc_error(d, mn->program, "the program does not compile");
		goto out;
	}
	snprintf(msg, sizeof(msg), "%.*s", (int)strcspn(line + at, "\n"),
		 line + at);
	ret = program_error(d, mn->program, m->program, pline, pcol, msg);
out:
	free(diag);
	return ret;
}

/* The metric_program the engine runs, pointing into m's strings. */
static void fill_program(struct config *c, yaml_node_t *program,
			 struct config_metric *m)
{
	struct metric_program *mp = &m->prog;
	struct metric_export *x = &mp->exports[0];

	mp->id = m->name;
	mp->program = m->program;
	mp->nexports = 1;
	mp->file = c->path;
	mp->line = program->start_mark.line + 1;
	mp->col = program->start_mark.column + 1;
	x->map = m->map;
	x->name = m->name;
	x->help = m->help;
	for (int k = 0; k < m->nlabels; k++)
		x->labels[k] = (struct metric_label){ m->labels[k],
						      LABEL_AUTO };
	x->nlabels = m->nlabels;
	x->unit = m->unit;
}

static int parse_map(struct ydoc *d, yaml_node_t *n, struct config_metric *m)
{
	int err = 0;
	const char *s = ydoc_string(d, n, "map", &err);

	if (!s)
		return err;
	if (s[0] != '@')
		return ydoc_error(d, n,
				  "map must name a map of the program, e.g. \"@\" or \"@bytes\"");
	m->map = strdup(s);
	return m->map ? 0 : ydoc_error(d, n, "out of memory");
}

static int parse_metric(struct ydoc *d, yaml_node_t *n, bool compile,
			struct config *c, struct config_metric *m)
{
	yaml_node_t *name, *help, *program, *labels, *unit, *map;
	struct ydoc_key keys[] = {
		{ "name", true, &name },
		{ "help", true, &help },
		{ "program", true, &program },
		{ "labels", false, &labels },
		{ "unit", false, &unit },
		{ "map", false, &map },
		{ NULL },
	};
	struct metric_nodes mn;
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
	if (map && (err = parse_map(d, map, m)))
		return err;
	fill_program(c, program, m);
	mn = (struct metric_nodes){ n, program, labels, map };
	if (compile)
		return compile_program(d, &mn, m);
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

static int parse_direction(struct ydoc *d, yaml_node_t *n,
			   struct config_packets *p)
{
	int err = 0;
	const char *s = ydoc_string(d, n, "direction", &err);

	if (!s)
		return err;
	p->ingress = !strcmp(s, "ingress") || !strcmp(s, "both");
	p->egress = !strcmp(s, "egress") || !strcmp(s, "both");
	if (!p->ingress && !p->egress)
		return ydoc_error(d, n,
				  "unknown direction '%s' (known: ingress, egress, both)",
				  s);
	return 0;
}

/*
 * The interface must be there (in the agent's network namespace) and the
 * expression must compile: libpcap's message, at the expression.
 */
static int parse_packets_entry(struct ydoc *d, yaml_node_t *n,
			       struct config *c, struct config_packets *p)
{
	yaml_node_t *name, *iface, *dir, *filter;
	struct ydoc_key keys[] = {
		{ "name", true, &name },
		{ "interface", true, &iface },
		{ "direction", false, &dir },
		{ "filter", true, &filter },
		{ NULL },
	};
	struct sock_filter *cbpf;
	char msg[256];
	const char *s;
	size_t ninsns;
	int err;

	p->line = n->start_mark.line + 1;
	err = ydoc_mapping(d, n, "a packets entry", keys);
	if (err)
		return err;
	s = ydoc_string(d, name, "name", &err);
	if (!s)
		return err;
	if (!*s)
		return ydoc_error(d, name, "the name is empty");
	for (int i = 0; i < c->npackets; i++)
		if (!strcmp(c->packets[i].name, s))
			return ydoc_error(d, name,
					  "packets '%s' is defined twice (first on line %d)",
					  s, c->packets[i].line);
	p->name = strdup(s);
	s = ydoc_string(d, iface, "interface", &err);
	if (!s)
		return err;
	if (!if_nametoindex(s))
		return ydoc_error(d, iface, "no interface '%s' here", s);
	p->iface = strdup(s);
	p->ingress = p->egress = true;
	if (dir && (err = parse_direction(d, dir, p)))
		return err;
	s = ydoc_string(d, filter, "filter", &err);
	if (!s)
		return err;
	if (pexpr_compile(s, &cbpf, &ninsns, msg, sizeof(msg)))
		return ydoc_error(d, filter, "invalid expression '%s': %s", s,
				  msg);
	free(cbpf);
	p->expr = strdup(s);
	if (!p->name || !p->iface || !p->expr)
		return ydoc_error(d, n, "out of memory");
	return 0;
}

static int parse_packets(struct ydoc *d, yaml_node_t *n, struct config *c)
{
	yaml_node_item_t *item;
	size_t count;

	if (n->type != YAML_SEQUENCE_NODE)
		return ydoc_error(d, n,
				  "packets must be a list, e.g. [{name: web, interface: eth0, filter: 'tcp port 80'}]");
	count = n->data.sequence.items.top - n->data.sequence.items.start;
	c->packets = calloc(count ? count : 1, sizeof(*c->packets));
	if (!c->packets)
		return ydoc_error(d, n, "out of memory");
	for (item = n->data.sequence.items.start;
	     item < n->data.sequence.items.top; item++) {
		int err = parse_packets_entry(d, ydoc_node(d, *item), c,
					      &c->packets[c->npackets]);

		/* counted even when half-filled, so config_free frees it */
		c->npackets++;
		if (err)
			return err;
	}
	return 0;
}

/* A true or false scalar into *v (0 or 1). */
static int parse_bool(struct ydoc *d, yaml_node_t *n, const char *what,
		      int *v)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE)
		return ydoc_error(d, n, "%s must be true or false", what);
	s = (const char *)n->data.scalar.value;
	if (strcmp(s, "true") && strcmp(s, "false"))
		return ydoc_error(d, n, "%s must be true or false (got '%s')",
				  what, s);
	*v = !strcmp(s, "true");
	return 0;
}

/* profiling: unwind, inline and demangle, as the flags of those names. */
static int parse_profiling(struct ydoc *d, yaml_node_t *n,
			   struct config_flags *f)
{
	yaml_node_t *unwind, *inl, *demangle;
	struct ydoc_key keys[] = {
		{ "unwind", false, &unwind },
		{ "inline", false, &inl },
		{ "demangle", false, &demangle },
		{ NULL },
	};
	enum stacks_unwind u;
	const char *s;
	int err = ydoc_mapping(d, n, "profiling", keys);

	if (err)
		return err;
	if (unwind) {
		s = ydoc_string(d, unwind, "unwind", &err);
		if (!s)
			return err;
		if (!stacks_unwind_of_name(s, &u))
			return ydoc_error(d, unwind,
					  "unknown unwind '%s' (known: fp, dwarf, auto)",
					  s);
		f->unwind = u;
	}
	if (inl && (err = parse_bool(d, inl, "inline", &f->inline_frames)))
		return err;
	if (demangle &&
	    (err = parse_bool(d, demangle, "demangle", &f->demangle)))
		return err;
	return 0;
}

/* The engine takes an array of programs: copies of the entries' own. */
static int gather_programs(struct ydoc *d, struct config *c)
{
	c->programs = calloc(c->nmetrics ? c->nmetrics : 1,
			     sizeof(*c->programs));
	if (!c->programs)
		return ydoc_error_at(d, 1, 1, "out of memory");
	for (int i = 0; i < c->nmetrics; i++)
		c->programs[i] = c->metrics[i].prog;
	return 0;
}

int config_load(const char *path, bool compile, struct config *c,
		char *err, size_t errlen)
{
	yaml_node_t *metrics, *packets, *http, *profiling;
	struct ydoc_key keys[] = {
		{ "metrics", false, &metrics },
		{ "packets", false, &packets },
		{ "http", false, &http },
		{ "profiling", false, &profiling },
		{ NULL },
	};
	struct ydoc d;
	int ret;

	memset(c, 0, sizeof(*c));
	c->flags = (struct config_flags){ -1, -1, -1, -1 };
	c->path = strdup(path);
	if (!c->path) {
		snprintf(err, errlen, "%s: out of memory", path);
		return EXIT_RUNTIME;
	}
	ret = ydoc_load_mapping(&d, path, "the config", keys, err, errlen);
	if (!ret && metrics)
		ret = parse_metrics(&d, metrics, compile, c);
	if (!ret && packets)
		ret = parse_packets(&d, packets, c);
	if (!ret && http)
		ret = parse_bool(&d, http, "http", &c->flags.http);
	if (!ret && profiling)
		ret = parse_profiling(&d, profiling, &c->flags);
	if (!ret)
		ret = gather_programs(&d, c);
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
		free(m->map);
	}
	for (int i = 0; i < c->npackets; i++) {
		free(c->packets[i].name);
		free(c->packets[i].iface);
		free(c->packets[i].expr);
	}
	free(c->metrics);
	free(c->packets);
	free(c->programs);
	free(c->path);
	memset(c, 0, sizeof(*c));
	c->flags = (struct config_flags){ -1, -1, -1, -1 };
}

/*
 * The metric engine: metric programs (custom or built-in) compiled by the
 * trace compiler with LRU maps, loaded and attached without a session,
 * and read at scrape time into expo families: count()/sum() counters,
 * hist()/lhist() histograms with exact bounds, sums and counts,
 * avg()/min()/max() and plain values gauges. Nothing streams through user
 * space per event: the kernel aggregates, a scrape reads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "metric.h"
#include "session.h"
#include "tprint_priv.h"
#include "trace.h"

/*
 * Keys an exported map holds: past --max-series, so the LRU's evictions
 * (which start before the map is full: each CPU keeps up to 128 free
 * nodes of its own) leave it above the cap under a label explosion, and
 * the keys beyond the cap are what the series cap drops and counts.
 */
static unsigned int map_entries(size_t max_series, int ncpus)
{
	size_t n = max_series + max_series / 4 + 128 * (size_t)ncpus + 64;

	return n > 0x7fffffff ? 0x7fffffff : n;
}

/*
 * The most kernel memory one map may preallocate (LRU maps are filled
 * with free entries when created): past it the program is refused before
 * the kernel is asked.
 */
#define MAP_MAX_BYTES	(1ULL << 30)

/*
 * What the kernel preallocates for an LRU hash of m's shape: per entry
 * its element (a header, the key, a value or a pointer to per-CPU values)
 * and the per-CPU values. An upper estimate of htab.c's sizes; the real
 * figure, from the map's fdinfo, is exported once it exists.
 */
static unsigned long long map_kernel_bytes(const struct trace_map *m,
					   unsigned int entries, int ncpus)
{
	unsigned long long key = (m->key_size + 7) & ~7ULL;
	unsigned long long val = (ttype_value_size(&m->value) + 7) & ~7ULL;
	unsigned long long elem = 64 + key + (m->percpu ? 8 + val * ncpus :
					       val);

	return elem * entries;
}

/* The kernel's own figure for a map ("memlock:" of its fdinfo); 0 if
 * unknown. */
static unsigned long long map_fd_bytes(int fd)
{
	unsigned long long v = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (fd < 0 || !(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * A label value's room: a string key up to bpftrace's default size, and a
 * whole cgroup path (a Kubernetes container's is about 180 characters;
 * podman's 86 did not fit in TRACE_STRLEN).
 */
#define LABEL_LEN	512

struct mprog {
	const struct metric_program *mp;
	struct trace_prog p;
	bool attached;
	unsigned long long kernel_bytes;	/* of all its maps */
	struct trace_map *maps[METRIC_MAX_EXPORTS];
	struct expo_family *fams[METRIC_MAX_EXPORTS];
};

struct metric_set {
	struct mprog *progs;
	int n;
	int ncpus;
};

static struct btf *kernel_btf;

void metric_btf_lend(struct trace_prog *p)
{
	if (!kernel_btf) {
		kernel_btf = btf__load_vmlinux_btf();
		if (libbpf_get_error(kernel_btf))
			kernel_btf = NULL;
	}
	p->btf = kernel_btf;
}

/* A program that had to parse its own (the lent one failed) frees it. */
void metric_btf_take_back(struct trace_prog *p)
{
	if (p->btf != kernel_btf)
		btf__free(p->btf);
	p->btf = NULL;
}

void metric_btf_release(void)
{
	btf__free(kernel_btf);
	kernel_btf = NULL;
}

double metric_unit_scale(enum metric_unit unit)
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

/* ---- checks ------------------------------------------------------------- */

/* Calls that send records to user space per event: nobody reads them. */
static const char *const streaming_calls[] = {
	"printf", "print", "clear", "zero", "exit", "time",
};

static const struct ast_node *find_node(const struct ast_node *n,
					bool (*match)(const struct ast_node *n,
						      const void *arg),
					const void *arg)
{
	const struct ast_node *hit;

	if (!n)
		return NULL;
	if (match(n, arg))
		return n;
	if ((hit = find_node(n->a, match, arg)) ||
	    (hit = find_node(n->b, match, arg)) ||
	    (hit = find_node(n->c, match, arg)))
		return hit;
	for (int i = 0; i < n->nlist; i++)
		if ((hit = find_node(n->list[i], match, arg)))
			return hit;
	return NULL;
}

static bool is_streaming_call(const struct ast_node *n, const void *arg)
{
	(void)arg;
	if (n->kind != AST_CALL)
		return false;
	for (size_t i = 0; i < sizeof(streaming_calls) /
	     sizeof(*streaming_calls); i++)
		if (!strcmp(n->name, streaming_calls[i]))
			return true;
	return false;
}

static bool is_map_assign(const struct ast_node *n, const void *arg)
{
	return n->kind == AST_ASSIGN && n->a && n->a->kind == AST_MAP &&
	       !strcmp(n->a->name, arg);
}

static int fail_at(struct metric_error *e, enum metric_fault at, int export,
		   struct src_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail_at(struct metric_error *e, enum metric_fault at, int export,
		   struct src_loc loc, const char *fmt, ...)
{
	va_list ap;

	e->at = at;
	e->export = export;
	e->line = loc.line;
	e->col = loc.col;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void metric_map_names(struct trace_prog *p, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < p->nmaps && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
				 p->maps[i].name);
}

static struct trace_map *map_by_name(struct trace_prog *p, const char *name)
{
	for (int i = 0; i < p->nmaps; i++)
		if (!strcmp(p->maps[i].name, name))
			return &p->maps[i];
	return NULL;
}

/* What the map's value becomes; -1 with why when it has no series. */
static int value_type(const struct ttype *v, enum expo_type *type,
		      const char **why)
{
	switch (v->kind) {
	case TT_COUNT:
	case TT_SUM:
		*type = EXPO_COUNTER;
		return 0;
	case TT_HIST:
	case TT_LHIST:
		*type = EXPO_HISTOGRAM;
		/* hist(): 66 slots, the first two share le 0 (65 buckets) */
		if (v->kind == TT_LHIST &&
		    ttype_hist_slots(v) > EXPO_MAX_BUCKETS + 1) {
			*why = "an lhist() with more than 64 buckets has no Prometheus histogram: raise its step";
			return -1;
		}
		return 0;
	case TT_AVG:
	case TT_MIN:
	case TT_MAX:
	case TT_INT:
		*type = EXPO_GAUGE;
		return 0;
	case TT_STATS:
		*why = "stats() has no single series: use count(), sum() or avg() in maps of their own";
		return -1;
	default:
		*why = "a map of this value type has no series: use count(), sum(), avg(), min(), max(), hist(), lhist() or an integer";
		return -1;
	}
}

/* Labels of x that read a key element of their own. */
static int keyed_labels(const struct metric_export *x)
{
	int n = 0;

	for (int l = 0; l < x->nlabels; l++)
		n += !x->labels[l].same_key;
	return n;
}

/* The label after l that reads the next key element (x->nlabels: none). */
static int next_keyed(const struct metric_export *x, int l)
{
	do
		l++;
	while (l < x->nlabels && x->labels[l].same_key);
	return l;
}

static int check_export(struct trace_prog *p, const struct metric_program *mp,
			int i, struct metric_error *e)
{
	const struct metric_export *x = &mp->exports[i];
	const struct ast_node *use;
	const struct ttype *el = NULL;
	const unsigned int *off = NULL;
	struct src_loc at = { 1, 1 }, key_at;
	struct trace_map *m = map_by_name(p, x->map);
	enum expo_type type;
	const char *why = NULL;
	char names[256], tname[64];
	int n, nkeyed;

	if (!m) {
		metric_map_names(p, names, sizeof(names));
		return fail_at(e, METRIC_FAULT_MAP, i, at,
			       "the program has no map %s (its maps: %s)",
			       x->map, names[0] ? names : "none");
	}
	use = find_node(p->ast, is_map_assign, x->map);
	if (use)
		at = use->b ? use->b->loc : use->loc;
	key_at = use ? use->a->loc : at;
	if (value_type(&m->value, &type, &why))
		return fail_at(e, METRIC_FAULT_PROGRAM, i, at, "%s: %s", x->map,
			       why);
	n = tp_key_elems(&m->key, &el, &off);
	nkeyed = keyed_labels(x);
	for (int k = 0, l = 0; k < n; k++, l = next_keyed(x, l)) {
		if (use && k < use->a->nlist)
			key_at = use->a->list[k]->loc;
		if (el[k].kind == TT_KSTACK || el[k].kind == TT_USTACK)
			return fail_at(e, METRIC_FAULT_PROGRAM, i, key_at,
				       "a stack as a key has no label form (one series per stack): keep stacks for loupe trace");
		if (el[k].kind != TT_INT && el[k].kind != TT_STR) {
			ttype_name(&el[k], tname, sizeof(tname));
			return fail_at(e, METRIC_FAULT_PROGRAM, i, key_at,
				       "a %s key has no label form: use an integer or a string",
				       tname);
		}
		if (l < x->nlabels && x->labels[l].kind != LABEL_AUTO &&
		    el[k].kind != TT_INT)
			return fail_at(e, METRIC_FAULT_LABELS, i, key_at,
				       "label '%s' is of kind %s, which needs an integer key",
				       x->labels[l].name,
				       labels_kind_name(x->labels[l].kind));
	}
	if (n != nkeyed && !n)
		return fail_at(e, METRIC_FAULT_LABELS, i, key_at,
			       "%s has no key but %d label%s given: labels name the elements of a key",
			       x->map, nkeyed, nkeyed == 1 ? " is" : "s are");
	if (n != nkeyed) {
		ttype_name(&m->key, tname, sizeof(tname));
		return fail_at(e, METRIC_FAULT_LABELS, i, key_at,
			       "the key of %s has %d element%s, %s, but %d label%s given: one label per element, in order",
			       x->map, n, n == 1 ? "" : "s", tname,
			       nkeyed, nkeyed == 1 ? " is" : "s are");
	}
	return 0;
}

int metric_check(struct trace_prog *p, const struct metric_program *mp,
		 struct metric_error *e)
{
	const struct ast_node *call;

	memset(e, 0, sizeof(*e));
	for (int i = 0; i < p->ninsts; i++)
		if (p->insts[i].kind == PK_BEGIN || p->insts[i].kind == PK_END)
			return fail_at(e, METRIC_FAULT_PROGRAM, 0,
				       p->insts[i].probe->loc,
				       "BEGIN and END do not run in the agent: a metric program only fills maps from probes");
	call = find_node(p->ast, is_streaming_call, NULL);
	if (call)
		return fail_at(e, METRIC_FAULT_PROGRAM, 0, call->loc,
			       "%s() sends a record per event and the agent reads maps only: remove it",
			       call->name);
	if (!mp->nexports)
		return fail_at(e, METRIC_FAULT_MAP, 0, (struct src_loc){ 1, 1 },
			       "the program exports no map");
	for (int i = 0; i < mp->nexports; i++)
		if (check_export(p, mp, i, e))
			return -1;
	return 0;
}

/* ---- starting ----------------------------------------------------------- */

/* The first line the compiler or runtime wrote, without its prefix. */
static void first_line(const char *diag, const char *id, char *err,
		       size_t errlen)
{
	const char *s = diag ? diag : "";
	static const char prefix[] = "loupe: trace: ";

	if (!strncmp(s, prefix, sizeof(prefix) - 1))
		s += sizeof(prefix) - 1;
	if (!*s)
		s = "failed";
	/* the compiler's lines already start with the program's id */
	if (!strncmp(s, id, strlen(id)) && s[strlen(id)] == ':')
		snprintf(err, errlen, "%.*s", (int)strcspn(s, "\n"), s);
	else
		snprintf(err, errlen, "%s: %.*s", id, (int)strcspn(s, "\n"),
			 s);
}

static bool is_exported(const struct metric_program *mp, const char *name)
{
	for (int i = 0; i < mp->nexports; i++)
		if (!strcmp(mp->exports[i].map, name))
			return true;
	return false;
}

/*
 * Entries and value layout of every map of a checked program, and the
 * kernel memory they will take: EXIT_USAGE, the message in the program's
 * diagnostics, if one map would take more than MAP_MAX_BYTES.
 *
 * A map without a key holds one series: it needs only the free entries
 * the CPUs keep. Histograms keep one value for all CPUs, updated with
 * atomic adds like the per-CPU ones: per CPU, a histogram is 528 bytes
 * per key, which on a large machine would make the LRU maps (always
 * filled when created) take gigabytes.
 */
static int size_maps(struct mprog *mp, size_t max_series, int ncpus)
{
	struct trace_prog *p = &mp->p;

	for (int i = 0; i < p->nmaps; i++) {
		struct trace_map *m = &p->maps[i];
		unsigned long long bytes;

		if (m->value.kind == TT_HIST || m->value.kind == TT_LHIST)
			m->percpu = false;
		if (m->key.kind == TT_NONE)
			m->entries = map_entries(1, ncpus);
		else if (is_exported(mp->mp, m->name))
			m->entries = map_entries(max_series, ncpus);
		bytes = map_kernel_bytes(m, m->entries ? m->entries :
					 TRACE_MAP_ENTRIES, ncpus);
		if (bytes > MAP_MAX_BYTES) {
			fprintf(p->err,
				"%s: map %s would take %llu MB of kernel memory (%u entries on %d CPUs), over the %llu MB a map may take: lower --max-series (now %zu)\n",
				mp->mp->id, m->name, bytes >> 20, m->entries,
				ncpus, MAP_MAX_BYTES >> 20, max_series);
			return EXIT_USAGE;
		}
	}
	for (int i = 0; i < mp->mp->nexports; i++)
		mp->maps[i] = map_by_name(p, mp->mp->exports[i].map);
	return 0;
}

static int start_one(struct mprog *mp, size_t max_series, int ncpus,
		     char *err, size_t errlen)
{
	const struct metric_program *m = mp->mp;
	struct trace_prog *p = &mp->p;
	struct metric_error e;
	char *diag = NULL;
	size_t size = 0;
	int ret;
	FILE *f = open_memstream(&diag, &size);

	if (!f) {
		snprintf(err, errlen, "%s: out of memory", m->id);
		return EXIT_RUNTIME;
	}
	p->err = f;
	p->src.name = m->id;
	p->src.text = m->program;
	p->src.len = strlen(m->program);
	p->lru_maps = true;
	p->ringbuf_size = 4096;	/* nothing is sent: metric_check */
	metric_btf_lend(p);
	ret = trace_check(p);
	if (!ret && metric_check(p, m, &e)) {
		fprintf(f, "%s:%d:%d: %s\n", m->id, e.line, e.col, e.msg);
		ret = EXIT_USAGE;
	}
	if (!ret)
		ret = size_maps(mp, max_series, ncpus);
	if (!ret)
		ret = trace_build(p);
	if (!ret && trace_load(p))
		ret = EXIT_RUNTIME;
	if (!ret) {
		int fds[] = { p->ringbuf_fd, p->lost_fd, p->zero_fd,
			      p->kstack_fd, p->ustack_fd, p->scratch_fd,
			      p->cgroup_fd };

		for (int i = 0; i < p->nmaps; i++)
			mp->kernel_bytes += map_fd_bytes(p->maps[i].fd);
		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			mp->kernel_bytes += map_fd_bytes(fds[i]);
	}
	if (!ret)
		ret = trace_attach(p);
	mp->attached = !ret;
	/* Types are resolved and the programs loaded: BTF is not needed. */
	metric_btf_take_back(p);
	fclose(f);
	p->err = stderr;
	if (ret)
		first_line(diag, m->id, err, errlen);
	free(diag);
	return ret;
}

struct metric_set *metric_set_start(const struct metric_program *progs,
				    int n, size_t max_series, char *err,
				    size_t errlen, int *status)
{
	struct metric_set *s = calloc(1, sizeof(*s));

	*status = EXIT_RUNTIME;
	if (s)
		s->progs = calloc(n ? n : 1, sizeof(*s->progs));
	if (!s || !s->progs) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus < 1)
		s->ncpus = 1;
	for (int i = 0; i < n; i++) {
		s->progs[i].mp = &progs[i];
		trace_prog_init(&s->progs[i].p);
		s->n++;
		*status = start_one(&s->progs[i], max_series, s->ncpus, err,
				    errlen);
		if (*status) {
			metric_set_stop(s);
			return NULL;
		}
	}
	*status = 0;
	return s;
}

/* ---- families ----------------------------------------------------------- */

/*
 * Bucket bounds of a hist()/lhist() in base units. A log2 slot [2^k,
 * 2^(k+1)) of integers holds values up to 2^(k+1) - 1, which is its le:
 * no value is counted under an le below it. Slot 0 (negative) and 1 (0)
 * share le 0; the last slot of each is +Inf.
 */
static int hist_bounds(const struct ttype *v, double scale, double *bounds)
{
	int n = 0;

	if (v->kind == TT_HIST) {
		bounds[n++] = 0;
		for (int k = 0; k < TRACE_HIST_SLOTS - 3; k++)
			bounds[n++] = ((double)(2ULL << k) - 1) * scale;
		return n;
	}
	for (int i = 0; i + 1 < (int)ttype_hist_slots(v); i++)
		bounds[n++] = (double)(v->lhist_min + i * v->lhist_step - 1) *
			      scale;
	return n;
}

static void unpublish_one(struct mprog *mp)
{
	for (int i = 0; i < mp->mp->nexports; i++) {
		expo_family_remove(mp->fams[i]);
		mp->fams[i] = NULL;
	}
}

void metric_set_unpublish(struct metric_set *s)
{
	for (int i = 0; s && i < s->n; i++)
		unpublish_one(&s->progs[i]);
}

static int publish_one(struct mprog *mp, struct expo_registry *r, char *err,
		       size_t errlen)
{
	for (int i = 0; i < mp->mp->nexports; i++) {
		const struct metric_export *x = &mp->mp->exports[i];
		const char *labels[EXPO_MAX_LABELS];
		double bounds[EXPO_MAX_BUCKETS];
		enum expo_type type;
		const char *why;
		int nbounds = 0;

		value_type(&mp->maps[i]->value, &type, &why);
		if (type == EXPO_HISTOGRAM)
			nbounds = hist_bounds(&mp->maps[i]->value,
					      metric_unit_scale(x->unit),
					      bounds);
		for (int k = 0; k < x->nlabels; k++)
			labels[k] = x->labels[k].name;
		mp->fams[i] = expo_family_add(r, x->name, x->help, type,
					      labels, x->nlabels, bounds,
					      nbounds, err, errlen);
		if (!mp->fams[i])
			return -EEXIST;
	}
	return 0;
}

int metric_set_publish(struct metric_set *s, struct expo_registry *r,
		       char *err, size_t errlen)
{
	for (int i = 0; i < s->n; i++)
		if (publish_one(&s->progs[i], r, err, errlen)) {
			metric_set_unpublish(s);
			return -EEXIST;
		}
	return 0;
}

/* ---- reading ------------------------------------------------------------ */

struct reader {
	const struct trace_map *m;
	const struct metric_export *x;
	struct expo_family *f;
	double scale;
};

/* Label l's value from key element k. */
static void key_label(const struct reader *r, const uint8_t *key, int l,
		      const struct ttype *el, unsigned int off, char *buf)
{
	enum label_kind kind = r->x->labels[l].kind;
	long long v;

	if (el->kind == TT_STR) {
		size_t len = el->size < LABEL_LEN - 1 ? el->size :
			     LABEL_LEN - 1;

		memcpy(buf, key + off, len);
		buf[len] = '\0';
		return;
	}
	v = tp_read_int(el, key + off);
	if (kind != LABEL_AUTO)
		labels_format_int(kind, v, buf, LABEL_LEN);
	else if (el->is_signed)
		snprintf(buf, LABEL_LEN, "%lld", v);
	else
		snprintf(buf, LABEL_LEN, "%llu", (unsigned long long)v);
}

static void key_labels(const struct reader *r, const uint8_t *key,
		       char (*buf)[LABEL_LEN], const char **values)
{
	const struct ttype *el = NULL;
	const unsigned int *off = NULL;
	int n = tp_key_elems(&r->m->key, &el, &off), k = -1;

	for (int l = 0; l < r->x->nlabels && l < EXPO_MAX_LABELS; l++) {
		if (!r->x->labels[l].same_key)
			k++;
		if (k < 0 || k >= n)
			break;
		values[l] = buf[l];
		key_label(r, key, l, &el[k], off[k], buf[l]);
	}
}

static void hist_entry(const struct reader *r, const char **values,
		       const uint64_t *slots)
{
	const struct ttype *v = &r->m->value;
	int nslots = ttype_hist_slots(v);
	uint64_t counts[EXPO_MAX_BUCKETS + 1] = { 0 };
	int64_t sum;
	int n = 0;

	if (v->kind == TT_HIST) {
		counts[n++] = slots[0] + slots[1];
		for (int i = 2; i < nslots; i++)
			counts[n++] = slots[i];
	} else {
		for (int i = 0; i < nslots; i++)
			counts[n++] = slots[i];
	}
	memcpy(&sum, &slots[nslots], sizeof(sum));
	expo_hist_add(r->f, values, counts, (double)sum * r->scale);
}

static void read_entry(void *ctx, const void *key, const void *val)
{
	const struct reader *r = ctx;
	const struct ttype *t = &r->m->value;
	char buf[EXPO_MAX_LABELS][LABEL_LEN];
	const char *values[EXPO_MAX_LABELS];
	struct trace_avg_value avg;
	struct trace_minmax_value mm;
	int64_t v;

	key_labels(r, key, buf, values);
	/*
	 * Counts, sums and histograms add up (the family was cleared before
	 * the map's walk): keys that share their labels, as every host
	 * cgroup's {container=""} does, make one series of their total.
	 */
	switch (t->kind) {
	case TT_COUNT:
		/* events, whatever unit the values of the program are in */
		memcpy(&v, val, 8);
		expo_add(r->f, values, (double)(uint64_t)v);
		break;
	case TT_SUM:
		memcpy(&v, val, 8);
		expo_add(r->f, values, (t->is_signed ? (double)v :
			 (double)(uint64_t)v) * r->scale);
		break;
	case TT_AVG:
		memcpy(&avg, val, sizeof(avg));
		if (avg.count)
			expo_set(r->f, values,
				 (double)avg.sum / avg.count * r->scale);
		break;
	case TT_MIN:
	case TT_MAX:
		memcpy(&mm, val, sizeof(mm));
		if (mm.set)
			expo_set(r->f, values, (t->is_signed ?
				 (double)mm.value :
				 (double)(uint64_t)mm.value) * r->scale);
		break;
	case TT_INT:
		v = tp_read_int(t, val);
		expo_set(r->f, values, (t->is_signed ? (double)v :
			 (double)(uint64_t)v) * r->scale);
		break;
	case TT_HIST:
	case TT_LHIST:
		hist_entry(r, values, val);
		break;
	default:
		break;
	}
}

static void self_series(struct mprog *mp, struct metric_self *self)
{
	struct session_prog_stats st, total = { 0 };
	const char *id[] = { mp->mp->id };

	for (int i = 0; i < mp->p.ninsts; i++) {
		struct trace_inst *inst = &mp->p.insts[i];
		const char *labels[] = { mp->mp->id, inst->name,
					 provider_name(inst->kind) };

		expo_set(self->attached, labels, mp->attached);
		if (session_prog_stats(inst->prog_fd, &st))
			continue;
		total.missed += st.missed;
		total.run_ns += st.run_ns;
		total.runs += st.runs;
	}
	expo_set(self->skipped, id, total.missed);
	expo_set(self->map_bytes, id, mp->kernel_bytes);
	/* the kernel counts runs only while BPF stats are on (the sysctl
	 * or a BPF_ENABLE_STATS fd anyone holds) */
	if (total.runs) {
		expo_set(self->run_seconds, id, total.run_ns / 1e9);
		expo_set(self->runs, id, total.runs);
	}
}

void metric_set_refresh(struct metric_set *s, struct metric_self *self)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++) {
		struct mprog *mp = &s->progs[i];

		for (int k = 0; k < mp->mp->nexports; k++) {
			struct reader r = {
				.m = mp->maps[k],
				.x = &mp->mp->exports[k],
				.f = mp->fams[k],
				.scale = metric_unit_scale(mp->mp->exports[k].unit),
			};

			if (!r.f)
				continue;
			expo_family_clear(r.f);
			tprint_map_each(r.m, s->ncpus, read_entry, &r);
		}
		if (self)
			self_series(mp, self);
	}
}

void metric_self_unattached(struct metric_self *self,
			    const struct metric_program *mp)
{
	const char *text = mp->program + strspn(mp->program, " \t\n");
	char probe[128];
	const char *labels[] = { mp->id, probe, "none" };

	snprintf(probe, sizeof(probe), "%.*s",
		 (int)strcspn(text, " \t\n,{/"), text);
	expo_set(self->attached, labels, 0);
}

void metric_set_each_probe(struct metric_set *s,
			   void (*fn)(void *ctx, const char *id,
				      const char *probe, const char *hook),
			   void *ctx)
{
	for (int i = 0; s && i < s->n; i++)
		for (int k = 0; k < s->progs[i].p.ninsts; k++) {
			struct trace_inst *inst = &s->progs[i].p.insts[k];

			fn(ctx, s->progs[i].mp->id, inst->name,
			   provider_name(inst->kind));
		}
}

void metric_set_stop(struct metric_set *s)
{
	if (!s)
		return;
	metric_set_unpublish(s);
	for (int i = 0; i < s->n; i++) {
		if (s->progs[i].attached)
			trace_detach(&s->progs[i].p);
		trace_prog_free(&s->progs[i].p);
	}
	free(s->progs);
	free(s);
}

/* ---- self metrics ------------------------------------------------------- */

int metric_self_add(struct expo_registry *r, struct metric_self *self,
		    char *err, size_t errlen)
{
	static const char *const probe_labels[] = { "metric", "probe", "hook" };
	static const char *const metric_label[] = { "metric" };

	memset(self, 0, sizeof(*self));
	if (!(self->attached = expo_family_add(r,
			"loupe_agent_probe_attached",
			"Whether a metric program's probe is attached, and the hook it uses",
			EXPO_GAUGE, probe_labels, 3, NULL, 0, err, errlen)) ||
	    !(self->skipped = expo_family_add(r,
			"loupe_agent_bpf_skipped_runs_total",
			"Runs of a metric program the kernel skipped (another BPF program was running on the CPU): events not counted",
			EXPO_COUNTER, metric_label, 1, NULL, 0, err, errlen)) ||
	    !(self->run_seconds = expo_family_add(r,
			"loupe_agent_bpf_run_seconds_total",
			"Time a metric program's BPF programs ran (counted while kernel.bpf_stats_enabled is 1)",
			EXPO_COUNTER, metric_label, 1, NULL, 0, err, errlen)) ||
	    !(self->runs = expo_family_add(r,
			"loupe_agent_bpf_runs_total",
			"Runs of a metric program's BPF programs (counted while kernel.bpf_stats_enabled is 1)",
			EXPO_COUNTER, metric_label, 1, NULL, 0, err, errlen)) ||
	    !(self->map_bytes = expo_family_add(r,
			"loupe_agent_map_kernel_bytes",
			"Kernel memory of a metric program's BPF maps, preallocated when they are created (the kernel's figure)",
			EXPO_GAUGE, metric_label, 1, NULL, 0, err, errlen)))
		return -EEXIST;
	return 0;
}

void metric_self_clear(struct metric_self *self)
{
	expo_family_clear(self->attached);
	expo_family_clear(self->skipped);
	expo_family_clear(self->run_seconds);
	expo_family_clear(self->runs);
	expo_family_clear(self->map_bytes);
}

/*
 * The Prometheus text format 0.0.4 and the registry behind it. A series is
 * stored under its label set already rendered ({a="x",b="y"}): the key is
 * what Prometheus would see, so two raw values that render alike (after
 * UTF-8 repair) are one series, never a duplicate line, and a scrape
 * copies the key as it is. One mutex guards the registry: scrapes run on
 * the HTTP threads while the main thread updates.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "expo.h"

#define DROPPED_NAME	"loupe_agent_series_dropped_total"

struct expo_series {
	char *key;		/* rendered label set, "" without labels */
	uint64_t hash;
	struct expo_series *next;	/* in its hash chain */
	struct expo_series *order;	/* in insertion order */
	double value;		/* counter, gauge */
	double sum;		/* histogram */
	uint64_t *counts;	/* histogram: nbounds + 1, not cumulative */
};

struct expo_family {
	struct expo_registry *reg;
	char *name;
	char *help;
	enum expo_type type;
	char *labels[EXPO_MAX_LABELS];
	int nlabels;
	double bounds[EXPO_MAX_BUCKETS];
	int nbounds;
	struct expo_series **table;
	size_t table_size;	/* a power of two */
	size_t nseries;
	struct expo_series *first, *last;
	uint64_t dropped;
	struct expo_family *next;
};

struct expo_registry {
	pthread_mutex_t lock;
	size_t max_series;
	struct expo_family *first, *last;
	struct expo_family *dropped;	/* DROPPED_NAME{metric} */
};

const char *expo_type_name(enum expo_type type)
{
	switch (type) {
	case EXPO_COUNTER:
		return "counter";
	case EXPO_GAUGE:
		return "gauge";
	case EXPO_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

static bool name_char(char c, bool first, bool colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return true;
	if (colon && c == ':')
		return true;
	return !first && c >= '0' && c <= '9';
}

bool expo_metric_name_valid(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *c = name; *c; c++)
		if (!name_char(*c, c == name, true))
			return false;
	return true;
}

/* Names starting with "__" are reserved for Prometheus itself. */
bool expo_label_name_valid(const char *name)
{
	if (!name || !*name || !strncmp(name, "__", 2))
		return false;
	for (const char *c = name; *c; c++)
		if (!name_char(*c, c == name, false))
			return false;
	return true;
}

void expo_format_double(char *buf, size_t len, double v)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* The shortest of %.15g..%.17g that reads back as the same value. */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/*
 * s with the characters in `special` backslash-escaped (newline as \n) and
 * each byte that does not start a valid UTF-8 sequence as U+FFFD.
 */
static void escape(struct out_buf *b, const char *str, const char *special)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n, i = 0, run = 0;
	unsigned int cp;

	/*
	 * The plain ASCII start in one scan and one copy, not a strchr() per
	 * byte: a series is looked up by its rendered labels per sample.
	 */
	n = strcspn(str, special);
	while (i < n && s[i] < 0x80)
		i++;
	out_buf_add(b, str, i);
	run = i;
	n = strlen(str);
	while (i < n) {
		size_t len = 1;

		if (s[i] >= 0x80)
			len = out_utf8_decode(s + i, n - i, &cp);
		if (len && !(s[i] < 0x80 && strchr(special, s[i]))) {
			i += len;
			continue;
		}
		out_buf_add(b, str + run, i - run);
		if (!len)
			out_buf_add(b, "\xef\xbf\xbd", 3);
		else if (s[i] == '\n')
			out_buf_add(b, "\\n", 2);
		else {
			out_buf_add(b, "\\", 1);
			out_buf_add(b, str + i, 1);
		}
		run = ++i;
	}
	out_buf_add(b, str + run, i - run);
}

void expo_escape_label(struct out_buf *b, const char *s)
{
	escape(b, s, "\\\"\n");
}

void expo_escape_help(struct out_buf *b, const char *s)
{
	escape(b, s, "\\\n");
}

struct expo_registry *expo_registry_new(size_t max_series)
{
	static const char *const metric_label[] = { "metric" };
	struct expo_registry *r = calloc(1, sizeof(*r));
	char err[128];

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->max_series = max_series ? max_series : EXPO_DEFAULT_MAX_SERIES;
	r->dropped = expo_family_add(r, DROPPED_NAME,
		"Label sets not exported because the metric had --max-series series",
		EXPO_COUNTER, metric_label, 1, NULL, 0, err, sizeof(err));
	if (!r->dropped) {
		expo_registry_free(r);
		return NULL;
	}
	return r;
}

static void family_free(struct expo_family *f)
{
	expo_family_clear(f);
	free(f->table);
	free(f->name);
	free(f->help);
	for (int i = 0; i < f->nlabels; i++)
		free(f->labels[i]);
	free(f);
}

void expo_registry_free(struct expo_registry *r)
{
	struct expo_family *f, *next;

	if (!r)
		return;
	for (f = r->first; f; f = next) {
		next = f->next;
		family_free(f);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Whether a family's rendered names would collide with name's. */
static bool names_clash(const struct expo_family *f, const char *name)
{
	static const char *const suffixes[] = { "", "_bucket", "_sum",
						"_count" };
	char a[256], b[256];

	for (size_t i = 0; i < 4; i++) {
		if (i && f->type != EXPO_HISTOGRAM)
			break;
		snprintf(a, sizeof(a), "%s%s", f->name, suffixes[i]);
		if (!strcmp(a, name))
			return true;
	}
	for (size_t i = 1; i < 4; i++) {
		snprintf(b, sizeof(b), "%s%s", name, suffixes[i]);
		if (!strcmp(f->name, b))
			return true;
	}
	return false;
}

static int check_family(struct expo_registry *r, const char *name,
			enum expo_type type, const char *const *labels,
			int nlabels, const double *bounds, int nbounds,
			char *err, size_t errlen)
{
	if (!expo_metric_name_valid(name) || strlen(name) > 200) {
		snprintf(err, errlen,
			 "invalid metric name '%s': letters, digits, '_' and ':', not starting with a digit",
			 name);
		return -EINVAL;
	}
	for (struct expo_family *f = r->first; f; f = f->next)
		if (names_clash(f, name)) {
			snprintf(err, errlen, "metric '%s' %s", name,
				 strcmp(f->name, name) ?
				 "clashes with a histogram's series" :
				 "is defined twice");
			return -EEXIST;
		}
	if (nlabels < 0 || nlabels > EXPO_MAX_LABELS) {
		snprintf(err, errlen, "metric '%s' has %d labels; at most %d",
			 name, nlabels, EXPO_MAX_LABELS);
		return -EINVAL;
	}
	for (int i = 0; i < nlabels; i++) {
		if (!expo_label_name_valid(labels[i])) {
			snprintf(err, errlen,
				 "invalid label name '%s': letters, digits and '_', not starting with a digit or '__'",
				 labels[i]);
			return -EINVAL;
		}
		if (type == EXPO_HISTOGRAM && !strcmp(labels[i], "le")) {
			snprintf(err, errlen,
				 "label name 'le' is reserved for histogram buckets");
			return -EINVAL;
		}
		for (int k = 0; k < i; k++)
			if (!strcmp(labels[i], labels[k])) {
				snprintf(err, errlen,
					 "label '%s' is given twice", labels[i]);
				return -EINVAL;
			}
	}
	if (type != EXPO_HISTOGRAM && nbounds) {
		snprintf(err, errlen, "only a histogram has buckets");
		return -EINVAL;
	}
	if (nbounds < 0 || nbounds > EXPO_MAX_BUCKETS) {
		snprintf(err, errlen, "%d buckets; at most %d", nbounds,
			 EXPO_MAX_BUCKETS);
		return -EINVAL;
	}
	for (int i = 0; i < nbounds; i++)
		if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1])) {
			snprintf(err, errlen,
				 "bucket bounds must be finite and increasing");
			return -EINVAL;
		}
	return 0;
}

struct expo_family *expo_family_add(struct expo_registry *r,
				    const char *name, const char *help,
				    enum expo_type type,
				    const char *const *labels, int nlabels,
				    const double *bounds, int nbounds,
				    char *err, size_t errlen)
{
	struct expo_family *f = NULL;

	pthread_mutex_lock(&r->lock);
	if (check_family(r, name, type, labels, nlabels, bounds, nbounds,
			 err, errlen))
		goto out;
	f = calloc(1, sizeof(*f));
	if (!f)
		goto nomem;
	f->reg = r;
	f->type = type;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	if (!f->name || !f->help)
		goto nomem;
	for (int i = 0; i < nlabels; i++) {
		f->labels[i] = strdup(labels[i]);
		f->nlabels++;
		if (!f->labels[i])
			goto nomem;
	}
	if (nbounds)
		memcpy(f->bounds, bounds, nbounds * sizeof(*bounds));
	f->nbounds = nbounds;
	if (r->last)
		r->last->next = f;
	else
		r->first = f;
	r->last = f;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
	if (f)
		family_free(f);
	f = NULL;
out:
	pthread_mutex_unlock(&r->lock);
	return f;
}

void expo_family_remove(struct expo_family *f)
{
	struct expo_registry *r;
	struct expo_family **pp, *prev = NULL;

	if (!f)
		return;
	r = f->reg;
	pthread_mutex_lock(&r->lock);
	for (pp = &r->first; *pp && *pp != f; pp = &(*pp)->next)
		prev = *pp;
	if (*pp) {
		*pp = f->next;
		if (r->last == f)
			r->last = prev;
	}
	pthread_mutex_unlock(&r->lock);
	family_free(f);
}

static void series_free(struct expo_series *s)
{
	free(s->key);
	free(s->counts);
	free(s);
}

/* Callers hold the registry lock. */
static void family_clear_locked(struct expo_family *f)
{
	struct expo_series *s, *next;

	for (s = f->first; s; s = next) {
		next = s->order;
		series_free(s);
	}
	f->first = f->last = NULL;
	f->nseries = 0;
	if (f->table)
		memset(f->table, 0, f->table_size * sizeof(*f->table));
}

void expo_family_clear(struct expo_family *f)
{
	pthread_mutex_lock(&f->reg->lock);
	family_clear_locked(f);
	pthread_mutex_unlock(&f->reg->lock);
}

void expo_family_stats(struct expo_family *f, size_t *series,
		       uint64_t *dropped)
{
	pthread_mutex_lock(&f->reg->lock);
	*series = f->nseries;
	*dropped = f->dropped;
	pthread_mutex_unlock(&f->reg->lock);
}

/* FNV-1a */
static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static void render_key(const struct expo_family *f,
		       const char *const *values, struct out_buf *b)
{
	b->len = 0;
	out_buf_add(b, "", 0);
	for (int i = 0; i < f->nlabels; i++) {
		/* No printf: this runs for each sample (an HTTP request). */
		out_buf_add(b, i ? "," : "{", 1);
		out_buf_add(b, f->labels[i], strlen(f->labels[i]));
		out_buf_add(b, "=\"", 2);
		expo_escape_label(b, values[i] ? values[i] : "");
		out_buf_add(b, "\"", 1);
	}
	if (f->nlabels)
		out_buf_add(b, "}", 1);
}

static int table_grow(struct expo_family *f)
{
	size_t size = f->table_size ? f->table_size * 2 : 16;
	struct expo_series **t = calloc(size, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (struct expo_series *s = f->first; s; s = s->order) {
		size_t i = s->hash & (size - 1);

		s->next = t[i];
		t[i] = s;
	}
	free(f->table);
	f->table = t;
	f->table_size = size;
	return 0;
}

static struct expo_series *series_find(struct expo_family *f,
				       const char *key, uint64_t hash)
{
	if (!f->table)
		return NULL;
	for (struct expo_series *s = f->table[hash & (f->table_size - 1)];
	     s; s = s->next)
		if (s->hash == hash && !strcmp(s->key, key))
			return s;
	return NULL;
}

static void count_dropped(struct expo_family *f);

/*
 * The series of these label values, created if there is room; NULL with
 * *err set (-ENOSPC: the cap, dropped and counted). Callers hold the lock.
 */
static struct expo_series *series_get(struct expo_family *f,
				      const char *const *values, int *err)
{
	struct out_buf key = { 0 };
	struct expo_series *s;
	uint64_t hash;
	size_t i;

	render_key(f, values, &key);
	hash = hash_str(key.data);
	s = series_find(f, key.data, hash);
	if (s) {
		free(key.data);
		return s;
	}
	/* The self metric has one series per family: never capped. */
	if (f->nseries >= f->reg->max_series && f != f->reg->dropped) {
		free(key.data);
		count_dropped(f);
		*err = -ENOSPC;
		return NULL;
	}
	if (f->nseries >= f->table_size && table_grow(f))
		goto nomem;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	if (f->type == EXPO_HISTOGRAM) {
		s->counts = calloc(f->nbounds + 1, sizeof(*s->counts));
		if (!s->counts) {
			free(s);
			goto nomem;
		}
	}
	s->key = key.data;
	s->hash = hash;
	i = hash & (f->table_size - 1);
	s->next = f->table[i];
	f->table[i] = s;
	if (f->last)
		f->last->order = s;
	else
		f->first = s;
	f->last = s;
	f->nseries++;
	return s;
nomem:
	free(key.data);
	*err = -ENOMEM;
	return NULL;
}

static void count_dropped(struct expo_family *f)
{
	const char *values[] = { f->name };
	struct expo_series *s;
	int err;

	f->dropped++;
	s = series_get(f->reg->dropped, values, &err);
	if (s)
		s->value = f->dropped;
}

enum op { OP_SET, OP_ADD, OP_OBSERVE };

static int update(struct expo_family *f, const char *const *values,
		  enum op op, double v)
{
	struct expo_series *s;
	int err = 0, b;

	pthread_mutex_lock(&f->reg->lock);
	s = series_get(f, values, &err);
	if (!s)
		goto out;
	if (op == OP_SET) {
		s->value = v;
	} else if (op == OP_ADD) {
		s->value += v;
	} else {
		for (b = 0; b < f->nbounds && v > f->bounds[b]; b++)
			;
		s->counts[b]++;
		s->sum += v;
	}
out:
	pthread_mutex_unlock(&f->reg->lock);
	return err;
}

int expo_set(struct expo_family *f, const char *const *values, double v)
{
	if (f->type == EXPO_HISTOGRAM)
		return -EINVAL;
	return update(f, values, OP_SET, v);
}

int expo_add(struct expo_family *f, const char *const *values, double v)
{
	if (f->type == EXPO_HISTOGRAM)
		return -EINVAL;
	return update(f, values, OP_ADD, v);
}

int expo_observe(struct expo_family *f, const char *const *values, double v)
{
	if (f->type != EXPO_HISTOGRAM)
		return -EINVAL;
	return update(f, values, OP_OBSERVE, v);
}

static int hist_update(struct expo_family *f, const char *const *values,
		       const uint64_t *counts, double sum, bool add)
{
	struct expo_series *s;
	int err = 0;

	if (f->type != EXPO_HISTOGRAM)
		return -EINVAL;
	pthread_mutex_lock(&f->reg->lock);
	s = series_get(f, values, &err);
	if (s) {
		for (int i = 0; i <= f->nbounds; i++)
			s->counts[i] = (add ? s->counts[i] : 0) + counts[i];
		s->sum = (add ? s->sum : 0) + sum;
	}
	pthread_mutex_unlock(&f->reg->lock);
	return err;
}

int expo_hist_set(struct expo_family *f, const char *const *values,
		  const uint64_t *counts, double sum)
{
	return hist_update(f, values, counts, sum, false);
}

int expo_hist_add(struct expo_family *f, const char *const *values,
		  const uint64_t *counts, double sum)
{
	return hist_update(f, values, counts, sum, true);
}

/* NAME{labels,le="X"} COUNT for one bucket; key is "" or "{...}". */
static void render_bucket(struct out_buf *b, const struct expo_family *f,
			  const char *key, const char *le, uint64_t count)
{
	size_t klen = strlen(key);

	out_buf_printf(b, "%s_bucket", f->name);
	if (klen) {
		out_buf_add(b, key, klen - 1);
		out_buf_add(b, ",", 1);
	} else {
		out_buf_add(b, "{", 1);
	}
	out_buf_printf(b, "le=\"%s\"} %llu\n", le, (unsigned long long)count);
}

static void render_series(struct out_buf *b, const struct expo_family *f,
			  const struct expo_series *s)
{
	char num[EXPO_NUM_LEN];
	uint64_t total = 0;

	if (f->type != EXPO_HISTOGRAM) {
		expo_format_double(num, sizeof(num), s->value);
		out_buf_printf(b, "%s%s %s\n", f->name, s->key, num);
		return;
	}
	for (int i = 0; i < f->nbounds; i++) {
		total += s->counts[i];
		expo_format_double(num, sizeof(num), f->bounds[i]);
		render_bucket(b, f, s->key, num, total);
	}
	total += s->counts[f->nbounds];
	render_bucket(b, f, s->key, "+Inf", total);
	expo_format_double(num, sizeof(num), s->sum);
	out_buf_printf(b, "%s_sum%s %s\n", f->name, s->key, num);
	out_buf_printf(b, "%s_count%s %llu\n", f->name, s->key,
		       (unsigned long long)total);
}

void expo_render(struct expo_registry *r, struct out_buf *b)
{
	out_buf_add(b, "", 0);
	pthread_mutex_lock(&r->lock);
	for (struct expo_family *f = r->first; f; f = f->next) {
		out_buf_printf(b, "# HELP %s ", f->name);
		expo_escape_help(b, f->help);
		out_buf_printf(b, "\n# TYPE %s %s\n", f->name,
			       expo_type_name(f->type));
		for (struct expo_series *s = f->first; s; s = s->order)
			render_series(b, f, s);
	}
	pthread_mutex_unlock(&r->lock);
}

void expo_each_family(struct expo_registry *r,
		      void (*fn)(void *ctx, const char *name,
				 const char *help, enum expo_type type),
		      void *ctx)
{
	pthread_mutex_lock(&r->lock);
	for (struct expo_family *f = r->first; f; f = f->next)
		fn(ctx, f->name, f->help, f->type);
	pthread_mutex_unlock(&r->lock);
}

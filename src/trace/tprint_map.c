/*
 * print(@map), the end-of-run dump, clear() and zero() of trace maps, in
 * bpftrace 0.17's text and JSON layouts.
 *
 * Entries are read with bpf_map_get_next_key()/bpf_map_lookup_elem(),
 * per-CPU values folded into one (ttype.h), then sorted as bpftrace sorts
 * them: count/sum/int/min/max maps by value, avg/stats by average,
 * hist/lhist by their total count (ties in key byte order), every other
 * map by key. bpftrace's std::sort keeps equal values in reading order for
 * small maps; a stable sort does the same here for every size.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tprint.h"
#include "tprint_priv.h"
#include "tustack.h"

struct entry {
	uint8_t *key;
	uint8_t *val;		/* one CPU's layout, CPUs folded in */
	int64_t metric;		/* what the map sorts by */
	size_t idx;		/* reading order, for a stable sort */
};

struct map_snap {
	struct entry *e;
	size_t n;
	uint8_t *keys, *vals;	/* storage of all keys and values */
	unsigned int ksize, vsize;
};

static void snap_free(struct map_snap *s)
{
	free(s->e);
	free(s->keys);
	free(s->vals);
	memset(s, 0, sizeof(*s));
}

static int map_info(int fd, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		return -errno;
	return 0;
}

static bool info_percpu(const struct bpf_map_info *info)
{
	return info->type == BPF_MAP_TYPE_PERCPU_HASH ||
	       info->type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       info->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* Snapshot of every key, bounded by max_entries so a map the program keeps
 * changing still ends. */
static int read_keys(int fd, const struct bpf_map_info *info, uint8_t **out,
		     size_t *n)
{
	size_t cap = info->max_entries ? info->max_entries : 1;
	size_t ks = info->key_size;
	uint8_t *keys, *prev = NULL;

	*out = NULL;
	*n = 0;
	keys = malloc(cap * (ks ? ks : 1));
	if (!keys)
		return -ENOMEM;
	while (*n < cap &&
	       !bpf_map_get_next_key(fd, prev, keys + *n * ks)) {
		prev = keys + *n * ks;
		(*n)++;
	}
	*out = keys;
	return 0;
}

static bool signed_value(const struct ttype *t)
{
	return t->kind != TT_COUNT && t->is_signed;
}

/* Folds the per-CPU copies of raw into one value at out. */
static void fold(const struct ttype *t, const uint8_t *raw, int ncpu,
		 size_t stride, uint8_t *out, unsigned int vsize)
{
	switch (t->kind) {
	case TT_COUNT:
	case TT_SUM:
	case TT_HIST:
	case TT_LHIST:
	case TT_AVG:
	case TT_STATS:
		/* every 8-byte word adds up: counters, slots, sum and count */
		memset(out, 0, vsize);
		for (int c = 0; c < ncpu; c++)
			for (unsigned int w = 0; w + 8 <= vsize; w += 8) {
				uint64_t a, b;

				memcpy(&a, out + w, 8);
				memcpy(&b, raw + c * stride + w, 8);
				a += b;
				memcpy(out + w, &a, 8);
			}
		return;
	case TT_MIN:
	case TT_MAX: {
		struct trace_minmax_value best = { 0, 0 }, v;
		bool sgn = t->is_signed, better;

		for (int c = 0; c < ncpu; c++) {
			memcpy(&v, raw + c * stride, sizeof(v));
			if (!v.set)
				continue;
			if (!best.set) {
				best = v;
				continue;
			}
			if (sgn) {
				better = v.value < best.value;
			} else {
				uint64_t a = v.value, b = best.value;

				better = a < b;
			}
			if (t->kind == TT_MAX)
				better = !better && v.value != best.value;
			if (better)
				best = v;
		}
		memset(out, 0, vsize);
		memcpy(out, &best, vsize < sizeof(best) ? vsize : sizeof(best));
		return;
	}
	case TT_INT: {
		/* bpftrace adds up per-CPU integers */
		int64_t sum = 0;

		for (int c = 0; c < ncpu; c++)
			sum += tp_read_int(t, raw + c * stride);
		memcpy(out, &sum, vsize < 8 ? vsize : 8);
		return;
	}
	default:
		memcpy(out, raw, vsize);
	}
}

static int64_t metric_of(const struct ttype *t, const uint8_t *v,
			 unsigned int vsize)
{
	switch (t->kind) {
	case TT_COUNT:
	case TT_SUM:
	case TT_MIN:
	case TT_MAX:
		return (int64_t)tp_rd64(v);
	case TT_INT:
		return tp_read_int(t, v);
	case TT_AVG:
	case TT_STATS: {
		struct trace_avg_value a;

		memcpy(&a, v, sizeof(a));
		return a.count ? a.sum / (int64_t)a.count : 0;
	}
	case TT_HIST:
	case TT_LHIST: {
		int64_t sum = 0;

		/* the total count: the slots, not the values' sum after them */
		for (unsigned int w = 0; w < ttype_hist_slots(t) &&
		     (w + 1) * 8 <= vsize; w++)
			sum += (int64_t)tp_rd64(v + w * 8);
		return sum;
	}
	default:
		return 0;
	}
}

/* Elements of a key: the tuple's, or the key itself. */
int tp_key_elems(const struct ttype *k, const struct ttype **elems,
		 const unsigned int **offs)
{
	static const unsigned int zero;

	if (k->kind == TT_NONE) {
		return 0;
	} else if (k->kind == TT_TUPLE) {
		*elems = k->elems;
		*offs = k->offsets;
		return k->nelems;
	}
	*elems = k;
	*offs = &zero;
	return 1;
}

struct sort_ctx {
	const struct trace_map *m;
	unsigned int ksize;
	enum { BY_VALUE_U, BY_VALUE_S, BY_METRIC_KEYED, BY_KEY } how;
};

static int cmp_key_elems(const struct trace_map *m, const uint8_t *a,
			 const uint8_t *b)
{
	const struct ttype *el = NULL;
	const unsigned int *off = NULL;
	int n = tp_key_elems(&m->key, &el, &off);

	for (int i = 0; i < n; i++) {
		const uint8_t *x = a + off[i], *y = b + off[i];
		uint64_t u = 0, v = 0;
		int c;

		if (el[i].kind == TT_INT) {
			/* bpftrace compares integer keys unsigned */
			memcpy(&u, x, el[i].size > 8 ? 8 : el[i].size);
			memcpy(&v, y, el[i].size > 8 ? 8 : el[i].size);
			if (u != v)
				return u < v ? -1 : 1;
		} else if (el[i].kind == TT_STR) {
			c = strncmp((const char *)x, (const char *)y,
				    el[i].size);
			if (c)
				return c < 0 ? -1 : 1;
		}
	}
	return 0;
}

static int cmp_entry(const void *pa, const void *pb, void *arg)
{
	const struct entry *a = pa, *b = pb;
	const struct sort_ctx *s = arg;
	int c;

	switch (s->how) {
	case BY_VALUE_U:
		if ((uint64_t)a->metric != (uint64_t)b->metric)
			return (uint64_t)a->metric < (uint64_t)b->metric ?
			       -1 : 1;
		break;
	case BY_VALUE_S:
	case BY_METRIC_KEYED:
		if (a->metric != b->metric)
			return a->metric < b->metric ? -1 : 1;
		if (s->how == BY_METRIC_KEYED) {
			/* bpftrace gathers these in a std::map by key bytes */
			c = memcmp(a->key, b->key, s->ksize);
			if (c)
				return c;
		}
		break;
	case BY_KEY:
		c = cmp_key_elems(s->m, a->key, b->key);
		if (c)
			return c;
		break;
	}
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int snapshot(int ncpus, const struct trace_map *m,
		    struct map_snap *s, bool sorted)
{
	struct bpf_map_info info;
	unsigned int raw_size;
	size_t stride, nkeys;
	uint8_t *keys = NULL, *raw = NULL;
	int ncpu, err;
	struct sort_ctx ctx = { m, 0, BY_KEY };

	memset(s, 0, sizeof(*s));
	err = map_info(m->fd, &info);
	if (err)
		return err;
	raw_size = info.value_size;
	s->ksize = info.key_size;
	s->vsize = ttype_value_size(&m->value);
	if (s->vsize > raw_size || !s->vsize)
		s->vsize = raw_size;
	ncpu = (m->percpu || info_percpu(&info)) ? ncpus : 1;
	stride = ncpu > 1 ? (raw_size + 7) / 8 * 8 : raw_size;
	err = read_keys(m->fd, &info, &keys, &nkeys);
	if (err)
		return err;
	raw = malloc(stride * ncpu);
	s->keys = keys;
	s->vals = calloc(nkeys ? nkeys : 1, s->vsize);
	s->e = calloc(nkeys ? nkeys : 1, sizeof(*s->e));
	if (!raw || !s->vals || !s->e) {
		free(raw);
		snap_free(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nkeys; i++) {
		struct entry *e = &s->e[s->n];

		/* a key the program deleted since: skip it, as bpftrace */
		if (bpf_map_lookup_elem(m->fd, keys + i * s->ksize, raw))
			continue;
		e->key = keys + i * s->ksize;
		e->val = s->vals + s->n * s->vsize;
		fold(&m->value, raw, ncpu, stride, e->val, s->vsize);
		e->metric = metric_of(&m->value, e->val, s->vsize);
		e->idx = s->n++;
	}
	free(raw);
	if (!sorted)
		return 0;

	ctx.ksize = s->ksize;
	switch (m->value.kind) {
	case TT_COUNT:
	case TT_SUM:
	case TT_INT:
	case TT_MIN:
	case TT_MAX:
		ctx.how = signed_value(&m->value) ? BY_VALUE_S : BY_VALUE_U;
		break;
	case TT_AVG:
	case TT_STATS:
	case TT_HIST:
	case TT_LHIST:
		ctx.how = BY_METRIC_KEYED;
		break;
	default:
		ctx.how = BY_KEY;
	}
	qsort_r(s->e, s->n, sizeof(*s->e), cmp_entry, &ctx);
	return 0;
}

/* "[1, abc]" (text: the elements; JSON wants them joined with ","). */
static void key_str(struct tprint *p, struct sbuf *b, const struct trace_map *m,
		    const uint8_t *key, const char *sep)
{
	const struct ttype *el = NULL;
	const unsigned int *off = NULL;
	int n = tp_key_elems(&m->key, &el, &off);

	for (int i = 0; i < n; i++) {
		if (i)
			sb_puts(b, sep);
		if (el[i].kind == TT_PTR)
			sb_printf(b, "0x%llx",
				  (unsigned long long)tp_rd64(key + off[i]));
		else
			tp_format_value(p, b, &el[i], key + off[i], false, 4);
	}
}

static void hist_label(struct sbuf *b, int power)
{
	static const char suffix[] = { 0, 'K', 'M', 'G', 'T' };
	int s = power >= 40 ? 4 : power / 10;

	/* bpftrace stops at T: 2^50 is "1024T" */
	sb_printf(b, "%lld", 1LL << (power - s * 10));
	if (s)
		sb_add(b, &suffix[s], 1);
}

static void lhist_label(struct sbuf *b, long long n)
{
	if (n == 0)
		sb_puts(b, "0");
	else if (n % 1048576 == 0)
		sb_printf(b, "%lldM", n / 1048576);
	else if (n % 1024 == 0)
		sb_printf(b, "%lldK", n / 1024);
	else
		sb_printf(b, "%lld", n);
}

static void hist_line(struct sbuf *b, const char *label, uint64_t shown,
		      uint64_t v, uint64_t maxv)
{
	char bar[53];
	int w = maxv ? (int)((float)v / (float)maxv * 52) : 0;

	if (w < 0)
		w = 0;
	if (w > 52)
		w = 52;
	memset(bar, '@', w);
	memset(bar + w, ' ', 52 - w);
	bar[52] = '\0';
	sb_printf(b, "%-16s%8llu |%s|\n", label, (unsigned long long)shown,
		  bar);
}

/* The slots a hist/lhist shows: first to last non-empty; false if none. */
static bool slot_range(const uint64_t *v, int n, int *lo, int *hi,
		       uint64_t *maxv)
{
	*lo = -1;
	*hi = -1;
	*maxv = 0;
	for (int i = 0; i < n; i++) {
		if (v[i]) {
			if (*lo < 0)
				*lo = i;
			*hi = i;
		}
		if (v[i] > *maxv)
			*maxv = v[i];
	}
	return *lo >= 0;
}

/*
 * What one slot of a histogram covers: as JSON bounds ("min"/"max"
 * members, then a comma) or as bpftrace's text label.
 */
typedef void (*slot_fn)(struct sbuf *l, const struct ttype *t, int n, int i,
			bool json);

/* Slot 0: negative values, 1: zero, i: [2^(i-2), 2^(i-1)). */
static void hist_slot(struct sbuf *l, const struct ttype *t, int n, int i,
		      bool json)
{
	(void)t;
	(void)n;
	if (json) {
		if (i == 0)
			sb_puts(l, "\"max\": -1, ");
		else if (i == 1)
			sb_puts(l, "\"min\": 0, \"max\": 0, ");
		else if (i == 2)
			sb_puts(l, "\"min\": 1, \"max\": 1, ");
		else
			sb_printf(l, "\"min\": %llu, \"max\": %llu, ",
				  1ULL << (i - 2),
				  (i < 65 ? 1ULL << (i - 1) : 0) - 1);
	} else if (i == 0) {
		sb_puts(l, "(..., 0)");
	} else if (i == 1) {
		sb_puts(l, "[0]");
	} else if (i == 2) {
		sb_puts(l, "[1]");
	} else {
		sb_puts(l, "[");
		hist_label(l, i - 2);
		sb_puts(l, ", ");
		hist_label(l, i - 1);
		sb_puts(l, ")");
	}
}

/* Slot 0: below min, n - 1: max and above, i: [min + (i-1) step, +step). */
static void lhist_slot(struct sbuf *l, const struct ttype *t, int n, int i,
		       bool json)
{
	long long min = t->lhist_min, max = t->lhist_max, step = t->lhist_step;

	if (json) {
		if (i == 0)
			sb_printf(l, "\"max\": %lld, ", min - 1);
		else if (i == n - 1)
			sb_printf(l, "\"min\": %lld, ", max);
		else
			sb_printf(l, "\"min\": %lld, \"max\": %lld, ",
				  (i - 1) * step + min, i * step + min - 1);
	} else if (i == 0) {
		sb_puts(l, "(..., ");
		lhist_label(l, min);
		sb_puts(l, ")");
	} else if (i == n - 1) {
		sb_puts(l, "[");
		lhist_label(l, max);
		sb_puts(l, ", ...)");
	} else {
		sb_puts(l, "[");
		lhist_label(l, (i - 1) * step + min);
		sb_puts(l, ", ");
		lhist_label(l, i * step + min);
		sb_puts(l, ")");
	}
}

/* The used slots, from the first to the last non-empty one. */
static void slots_str(struct sbuf *b, const struct ttype *t, slot_fn slot,
		      const uint64_t *v, int n, uint64_t div, bool json)
{
	struct sbuf l = { 0 };
	uint64_t maxv;
	int lo, hi;

	if (!slot_range(v, n, &lo, &hi, &maxv)) {
		if (json)
			sb_puts(b, "[]");
		return;
	}
	if (json)
		sb_puts(b, "[");
	for (int i = lo; i <= hi; i++) {
		l.len = 0;
		slot(&l, t, n, i, json);
		if (!json) {
			hist_line(b, sb_str(&l), v[i] / div, v[i], maxv);
			continue;
		}
		if (i > lo)
			sb_puts(b, ", ");
		sb_printf(b, "{%s\"count\": %llu}", sb_str(&l),
			  (unsigned long long)(v[i] / div));
	}
	if (json)
		sb_puts(b, "]");
	sb_free(&l);
}

/* Slots of a hist/lhist value of vsize bytes (the sum follows them). */
static int hist_nslots(const struct ttype *t, unsigned int vsize)
{
	unsigned int n = ttype_hist_slots(t);

	return n < vsize / 8 ? n : vsize / 8;
}

/* The value part of one entry. */
static void entry_value(struct tprint *p, struct sbuf *b,
			const struct trace_map *m, const struct entry *e,
			unsigned int vsize, long long div, bool json)
{
	const struct ttype *t = &m->value;
	bool sgn = signed_value(t);
	int64_t v;

	switch (t->kind) {
	case TT_COUNT:
	case TT_SUM:
	case TT_MIN:
	case TT_MAX:
	case TT_INT:
		v = t->kind == TT_INT ? tp_read_int(t, e->val) :
					(int64_t)tp_rd64(e->val);
		if (sgn)
			sb_printf(b, "%lld", (long long)(v / div));
		else
			sb_printf(b, "%llu",
				  (unsigned long long)((uint64_t)v /
						       (uint64_t)div));
		break;
	case TT_AVG:
		sb_printf(b, "%lld", (long long)(e->metric / div));
		break;
	case TT_STATS: {
		struct trace_avg_value a;

		memcpy(&a, e->val, sizeof(a));
		if (json)
			sb_printf(b, "{\"count\": %lld, \"average\": %lld, \"total\": %lld}",
				  (long long)a.count, (long long)e->metric,
				  (long long)a.sum);
		else
			sb_printf(b, "count %lld, average %lld, total %lld",
				  (long long)a.count, (long long)e->metric,
				  (long long)a.sum);
		break;
	}
	case TT_HIST:
		slots_str(b, t, hist_slot, (const uint64_t *)e->val,
			  hist_nslots(t, vsize), div, json);
		break;
	case TT_LHIST:
		/* bpftrace does not divide lhist counts */
		slots_str(b, t, lhist_slot, (const uint64_t *)e->val,
			  hist_nslots(t, vsize), 1, json);
		break;
	default:
		tp_format_value(p, b, t, e->val, json, 8);
	}
}

int tprint_map(struct tprint *p, const struct trace_map *m, long long top,
	       long long div)
{
	enum ttype_kind k = m->value.kind;
	bool hist = k == TT_HIST || k == TT_LHIST;
	bool stats = k == TT_AVG || k == TT_STATS;
	bool keyed = m->key.kind != TT_NONE;
	const char *delim = "\n";
	struct map_snap s;
	struct sbuf b = { 0 }, ks = { 0 };
	size_t skip = 0;
	int err;

	err = snapshot(p->ncpus, m, &s, true);
	if (err)
		return err;
	/* bpftrace keeps a keyless count() in an array: never fired or
	 * cleared, it still reads 0 ("@: 0") */
	if (!s.n && !keyed && k == TT_COUNT) {
		memset(s.keys, 0, s.ksize);
		s.e[0].key = s.keys;
		s.e[0].val = s.vals;
		s.n = 1;
	}
	if (div <= 0)
		div = 1;
	/* print(@m, top) keeps the last (largest) entries; bpftrace forgets
	 * top for stats() maps */
	if (top > 0 && s.n > (size_t)top && k != TT_STATS)
		skip = s.n - top;
	if (k == TT_KSTACK || k == TT_USTACK || k == TT_KSYM || k == TT_USYM ||
	    k == TT_INET)
		delim = "";	/* bpftrace's: no separator for these */

	if (p->json) {
		if (!s.n)
			goto out;
		sb_printf(&b, "{\"type\": \"%s\", \"data\": {\"",
			  hist ? "hist" : stats ? "stats" : "map");
		sb_json_str(&b, m->name, strlen(m->name));
		sb_puts(&b, keyed ? "\": {" : "\": ");
		for (size_t i = skip; i < s.n; i++) {
			if (i > skip)
				sb_puts(&b, ", ");
			if (keyed) {
				ks.len = 0;
				key_str(p, &ks, m, s.e[i].key, ",");
				sb_puts(&b, "\"");
				sb_json_str(&b, sb_str(&ks), ks.len);
				sb_puts(&b, "\": ");
			}
			entry_value(p, &b, m, &s.e[i], s.vsize, div, true);
		}
		sb_puts(&b, keyed ? "}}}\n" : "}}\n");
		goto out;
	}

	for (size_t i = skip; i < s.n; i++) {
		if (i > skip)
			sb_puts(&b, hist || stats ? "\n" : delim);
		sb_puts(&b, m->name);
		if (keyed) {
			sb_puts(&b, "[");
			key_str(p, &b, m, s.e[i].key, ", ");
			sb_puts(&b, "]");
		}
		sb_puts(&b, hist ? ": \n" : ": ");
		entry_value(p, &b, m, &s.e[i], s.vsize, div, false);
	}
	sb_puts(&b, stats ? "\n\n" : "\n");
out:
	if (b.oom)
		err = -ENOMEM;
	sb_flush(p, &b);
	fflush(p->out);
	sb_free(&b);
	sb_free(&ks);
	snap_free(&s);
	return err;
}

int tprint_map_each(const struct trace_map *m, int ncpus,
		    void (*fn)(void *ctx, const void *key, const void *value),
		    void *ctx)
{
	struct map_snap s;
	int err = snapshot(ncpus, m, &s, false);

	if (err)
		return err;
	for (size_t i = 0; i < s.n; i++)
		fn(ctx, s.e[i].key, s.e[i].val);
	snap_free(&s);
	return 0;
}

/*
 * Each CPU's copy of src folded into dst's (stride bytes apart) the way
 * print folds CPUs: counts, sums and slots add up, min/max keep the
 * better one, integers (@m[k]++) add up, other values take src.
 */
static void merge_into(const struct ttype *t, uint8_t *dst,
		       const uint8_t *src, int ncpu, size_t stride,
		       unsigned int vsize, uint8_t *pair)
{
	for (int c = 0; c < ncpu; c++) {
		memcpy(pair, src + c * stride, vsize);
		memcpy(pair + stride, dst + c * stride, vsize);
		fold(t, pair, 2, stride, dst + c * stride, vsize);
	}
}

/*
 * The ustack elements of a key or value of type t: any may hold
 * ustack(dwarf) values (a map's type is its first assignment's, fp or
 * not).
 */
static int ustack_elems(const struct ttype *t, unsigned int *offs, int max)
{
	const struct ttype *el = NULL;
	const unsigned int *off = NULL;
	int n = tp_key_elems(t, &el, &off), k = 0;

	for (int i = 0; i < n && k < max; i++)
		if (el[i].kind == TT_USTACK)
			offs[k++] = off[i];
	return k;
}

/* One tagged key of m rekeyed (rekeyed: its walked form): 0 or -errno. */
static int rekey_one(const struct trace_map *m, const uint8_t *key,
		     const uint8_t *rekeyed, uint8_t *src, uint8_t *dst,
		     uint8_t *pair, int ncpu, size_t stride)
{
	unsigned int vsize = ttype_value_size(&m->value);

	if (bpf_map_lookup_elem(m->fd, key, src))
		return 0;	/* deleted since (clear()) */
	if (bpf_map_lookup_elem(m->fd, rekeyed, dst))
		memcpy(dst, src, stride * ncpu);
	else
		merge_into(&m->value, dst, src, ncpu, stride, vsize, pair);
	/* a full map keeps the tag's entry: printed apart, not lost */
	if (bpf_map_update_elem(m->fd, rekeyed, dst, BPF_ANY))
		return -errno;
	if (bpf_map_delete_elem(m->fd, key) && errno != ENOENT)
		return -errno;
	return 0;
}

/*
 * A map whose values hold ustack(dwarf) (@last[tid] = ustack(dwarf)):
 * each settled tag is swapped for its walked stack in place, so that it
 * still prints once the tag is forgotten. Values whose copy never came
 * keep their tag (they print as an empty stack, as a failed fp id does).
 */
static int rekey_values(struct tprint *p, const struct trace_map *m,
			uint64_t before_ns)
{
	unsigned int offs[TRACE_MAX_TUPLE];
	struct bpf_map_info info;
	uint8_t *keys = NULL, *val;
	size_t n;
	int nel, err;

	nel = ustack_elems(&m->value, offs, TRACE_MAX_TUPLE);
	if (!nel || m->percpu)
		return 0;
	err = map_info(m->fd, &info);
	if (err)
		return err;
	err = read_keys(m->fd, &info, &keys, &n);
	val = err ? NULL : malloc(info.value_size);
	for (size_t i = 0; val && i < n; i++) {
		const uint8_t *key = keys + i * info.key_size;
		int moved = 0;

		if (bpf_map_lookup_elem(m->fd, key, val))
			continue;
		for (int e = 0; e < nel; e++)
			moved |= tustacks_rekey(p->ustacks, val + offs[e],
						before_ns) > 0;
		/* BPF_EXIST: a key the program deleted since stays deleted */
		if (moved)
			bpf_map_update_elem(m->fd, key, val, BPF_EXIST);
	}
	if (!err && !val)
		err = -ENOMEM;
	free(val);
	free(keys);
	return err;
}

int tprint_map_rekey(struct tprint *p, const struct trace_map *m,
		     uint64_t before_ns)
{
	unsigned int offs[TRACE_MAX_TUPLE];
	struct bpf_map_info info;
	uint8_t *keys = NULL, *buf = NULL, *nk;
	size_t n, stride;
	int nel, ncpu, err;

	if (!p->ustacks)
		return 0;
	err = rekey_values(p, m, before_ns);
	nel = ustack_elems(&m->key, offs, TRACE_MAX_TUPLE);
	if (!nel || err)
		return err;
	err = map_info(m->fd, &info);
	if (err)
		return err;
	ncpu = (m->percpu || info_percpu(&info)) ? p->ncpus : 1;
	stride = ncpu > 1 ? (info.value_size + 7) / 8 * 8 : info.value_size;
	err = read_keys(m->fd, &info, &keys, &n);
	if (err)
		return err;
	/* the tag's values, the walked key's, a pair to fold, the key */
	buf = malloc(stride * ncpu * 2 + stride * 2 + info.key_size);
	if (!buf) {
		free(keys);
		return -ENOMEM;
	}
	nk = buf + stride * ncpu * 2 + stride * 2;
	for (size_t i = 0; i < n && !err; i++) {
		const uint8_t *key = keys + i * info.key_size;
		int moved = 0, lost = 0;

		memcpy(nk, key, info.key_size);
		for (int e = 0; e < nel; e++) {
			int r = tustacks_rekey(p->ustacks, nk + offs[e],
					       before_ns);

			lost |= r < 0;
			moved |= r > 0;
		}
		if (lost)
			bpf_map_delete_elem(m->fd, key);
		else if (moved)
			err = rekey_one(m, key, nk, buf,
					buf + stride * ncpu,
					buf + stride * ncpu * 2, ncpu,
					stride);
	}
	free(buf);
	free(keys);
	return err;
}

static int zero_all(const struct trace_map *m, int ncpus)
{
	struct bpf_map_info info;
	uint8_t *keys = NULL, *zero;
	size_t n, stride;
	int err, ncpu;

	err = map_info(m->fd, &info);
	if (err)
		return err;
	ncpu = (m->percpu || info_percpu(&info)) ? ncpus : 1;
	stride = ncpu > 1 ? (info.value_size + 7) / 8 * 8 : info.value_size;
	err = read_keys(m->fd, &info, &keys, &n);
	if (err)
		return err;
	zero = calloc(ncpu, stride ? stride : 1);
	if (!zero) {
		free(keys);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(m->fd, keys + i * info.key_size, zero,
					BPF_EXIST) && errno != ENOENT)
			err = -errno;
	free(zero);
	free(keys);
	return err;
}

int tprint_clear_map(const struct trace_map *m)
{
	struct bpf_map_info info;
	uint8_t *keys = NULL;
	size_t n;
	int err, ncpus;

	err = map_info(m->fd, &info);
	if (err)
		return err;
	/* array maps cannot lose keys: bpftrace zeroes them instead */
	if (info.type == BPF_MAP_TYPE_ARRAY ||
	    info.type == BPF_MAP_TYPE_PERCPU_ARRAY) {
		ncpus = libbpf_num_possible_cpus();
		return zero_all(m, ncpus > 0 ? ncpus : 1);
	}
	err = read_keys(m->fd, &info, &keys, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(m->fd, keys + i * info.key_size) &&
		    errno != ENOENT)
			err = -errno;
	free(keys);
	return err;
}

int tprint_zero_map(struct tprint *p, const struct trace_map *m)
{
	return zero_all(m, p->ncpus);
}

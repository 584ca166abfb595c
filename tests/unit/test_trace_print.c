/*
 * Unit tests of the trace printer against bpftrace 0.17's own output.
 *
 * Each test builds real BPF maps (root) holding what the bpftrace script
 * in tests/unit/data/trace_print/gen.sh leaves in its maps, laid out as
 * ttype.h says, then compares tprint's output byte for byte with the text
 * and JSON that script printed (gen.sh regenerates them).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tprint.h"
#include "unit.h"

#define DATA "tests/unit/data/trace_print/"

static char *slurp(const char *name)
{
	char path[256], *buf = NULL;
	size_t size = 0;
	FILE *f, *m;
	int c;

	snprintf(path, sizeof(path), DATA "%s", name);
	f = fopen(path, "r");
	if (!f)
		return strdup("<missing expected file>");
	m = open_memstream(&buf, &size);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(f);
	fclose(m);
	return buf;
}

/* ---- types ---- */

static const struct ttype T_NONE = { .kind = TT_NONE };
static const struct ttype T_I64 = { .kind = TT_INT, .size = 8,
				    .is_signed = true };
static const struct ttype T_STR = { .kind = TT_STR, .size = 64 };
static const struct ttype T_COUNT = { .kind = TT_COUNT, .size = 8 };
static const struct ttype T_SUM = { .kind = TT_SUM, .size = 8,
				    .is_signed = true };
static const struct ttype T_MIN = { .kind = TT_MIN, .size = 16,
				    .is_signed = true };
static const struct ttype T_MAX = { .kind = TT_MAX, .size = 16,
				    .is_signed = true };
static const struct ttype T_AVG = { .kind = TT_AVG, .size = 16,
				    .is_signed = true };
static const struct ttype T_STATS = { .kind = TT_STATS, .size = 16,
				      .is_signed = true };
static const struct ttype T_HIST = { .kind = TT_HIST };

/* ---- maps ---- */

static int ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? n : 1;
}

static bool new_map(struct trace_map *m, const char *name,
		    const struct ttype *key, unsigned int key_size,
		    const struct ttype *val, bool percpu)
{
	memset(m, 0, sizeof(*m));
	m->name = (char *)name;
	m->key = *key;
	m->value = *val;
	m->key_size = key_size;
	m->percpu = percpu;
	m->fd = bpf_map_create(percpu ? BPF_MAP_TYPE_PERCPU_HASH :
				       BPF_MAP_TYPE_HASH, NULL, key_size,
			       ttype_value_size(val), 64, NULL);
	if (m->fd < 0)
		printf("  bpf_map_create %s: %s\n", name, strerror(errno));
	return m->fd >= 0;
}

/*
 * What one BPF program run on a CPU does to an aggregation: read this
 * CPU's copy, update it, write all copies back.
 */
static void agg(struct trace_map *m, const void *key, int cpu, long long v)
{
	unsigned int vs = ttype_value_size(&m->value);
	size_t stride = (vs + 7) / 8 * 8;
	int n = ncpus();
	uint8_t *all = calloc(n, stride), *mine;
	uint64_t *u;
	int slot;

	if (!all)
		return;
	bpf_map_lookup_elem(m->fd, key, all);
	mine = all + (cpu % n) * stride;
	u = (uint64_t *)mine;
	switch (m->value.kind) {
	case TT_COUNT:
		u[0]++;
		break;
	case TT_SUM:
		u[0] += v;
		break;
	case TT_AVG:
	case TT_STATS:
		u[0] += v;
		u[1]++;
		break;
	case TT_MIN:
	case TT_MAX:
		if (!u[1] || (m->value.kind == TT_MIN ? v < (int64_t)u[0] :
							v > (int64_t)u[0]))
			u[0] = v;
		u[1] = 1;
		break;
	case TT_HIST:
		if (v < 0) {
			slot = 0;
		} else if (v == 0) {
			slot = 1;
		} else {
			slot = 2;
			while (v > 1) {
				v >>= 1;
				slot++;
			}
		}
		u[slot]++;
		break;
	case TT_LHIST:
		if (v < m->value.lhist_min)
			slot = 0;
		else if (v >= m->value.lhist_max)
			slot = ttype_lhist_slots(&m->value) - 1;
		else
			slot = (v - m->value.lhist_min) /
			       m->value.lhist_step + 1;
		u[slot]++;
		break;
	default:
		break;
	}
	bpf_map_update_elem(m->fd, key, all, BPF_ANY);
	free(all);
}

static void put(struct trace_map *m, const void *key, const void *val)
{
	CHECK(!bpf_map_update_elem(m->fd, key, val, BPF_ANY));
}

static char *render(struct trace_map *const *maps, int n, bool json,
		    long long top, long long div)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	struct tprint p;

	tprint_init(&p, f, json);
	for (int i = 0; i < n; i++)
		CHECK(!tprint_map(&p, maps[i], top, div));
	tprint_fini(&p);
	fclose(f);
	return text;
}

/* Compares the maps' text and JSON with the files of case name. */
static void expect(const char *name, struct trace_map *const *maps, int n,
		   long long top, long long div)
{
	char file[64], *want, *got;

	for (int json = 0; json < 2; json++) {
		snprintf(file, sizeof(file), "%s.%s", name,
			 json ? "json" : "txt");
		want = slurp(file);
		got = render(maps, n, json, top, div);
		if (strcmp(got, want))
			printf("  case %s:\n", file);
		CHECK_STR(got, want);
		free(want);
		free(got);
	}
}

static void close_maps(struct trace_map *m, int n)
{
	for (int i = 0; i < n; i++)
		if (m[i].fd >= 0)
			close(m[i].fd);
}

static void expect1(const char *name, struct trace_map *m)
{
	struct trace_map *v[] = { m };

	expect(name, v, 1, 0, 0);
	close_maps(m, 1);
}

/* ---- aggregations ---- */

static void test_count(void)
{
	struct trace_map m;
	int64_t k;

	if (!new_map(&m, "@a", &T_I64, 8, &T_COUNT, true))
		return;
	k = 1;
	agg(&m, &k, 0, 0);
	k = 2;
	agg(&m, &k, 0, 0);
	agg(&m, &k, 1, 0);
	expect1("count_keys", &m);
}

static void test_hist(void)
{
	struct trace_map m;
	uint64_t k = 0;

	if (!new_map(&m, "@h", &T_NONE, 8, &T_HIST, true))
		return;
	agg(&m, &k, 0, 5);
	agg(&m, &k, 1, 0);
	agg(&m, &k, 0, -1);
	agg(&m, &k, 1, 3000);
	expect1("hist", &m);

	if (!new_map(&m, "@g", &T_NONE, 8, &T_HIST, true))
		return;
	agg(&m, &k, 0, 1LL << 20);
	agg(&m, &k, 0, 1LL << 30);
	agg(&m, &k, 1, 1LL << 31);
	agg(&m, &k, 0, -1);
	agg(&m, &k, 0, 1);
	agg(&m, &k, 1, 1);
	expect1("hist_big", &m);
}

static void test_hist_labels_beyond_g(void)
{
	struct trace_map m;
	uint64_t k = 0;
	char *got;
	struct trace_map *v[] = { &m };

	if (!new_map(&m, "@x", &T_NONE, 8, &T_HIST, true))
		return;
	agg(&m, &k, 0, 1LL << 40);
	agg(&m, &k, 0, 1LL << 41);
	agg(&m, &k, 0, INT64_MAX);
	got = render(v, 1, false, 0, 0);
	/* bpftrace's labels stop at T */
	CHECK(strstr(got, "\n[1T, 2T)               1 |"));
	CHECK(strstr(got, "\n[2T, 4T)               1 |"));
	CHECK(strstr(got, "\n[4194304T, 8388608T)       1 |"));
	free(got);
	got = render(v, 1, true, 0, 0);
	CHECK(strstr(got, "{\"min\": 4611686018427387904, \"max\": 9223372036854775807, \"count\": 1}]}}\n"));
	free(got);
	close_maps(&m, 1);
}

static struct ttype lhist_type(long long min, long long max, long long step)
{
	struct ttype t = { .kind = TT_LHIST };

	t.lhist_min = min;
	t.lhist_max = max;
	t.lhist_step = step;
	return t;
}

static void test_lhist(void)
{
	struct ttype t = lhist_type(0, 100, 10);
	struct trace_map m[2];
	struct trace_map *v[] = { &m[0], &m[1] };
	uint64_t k = 0;

	if (!new_map(&m[0], "@l", &T_NONE, 8, &t, true))
		return;
	agg(&m[0], &k, 0, 15);
	agg(&m[0], &k, 1, -5);
	agg(&m[0], &k, 0, 500);
	agg(&m[0], &k, 1, 500);
	expect1("lhist", &m[0]);

	t = lhist_type(0, 4096, 1024);
	if (!new_map(&m[0], "@l", &T_NONE, 8, &t, true))
		return;
	t = lhist_type(0, 3145728, 1048576);
	if (!new_map(&m[1], "@m", &T_NONE, 8, &t, true)) {
		close_maps(m, 1);
		return;
	}
	agg(&m[0], &k, 0, 2048);
	agg(&m[0], &k, 0, 1024);
	agg(&m[0], &k, 0, -3);
	agg(&m[1], &k, 0, 1048576);
	agg(&m[1], &k, 0, 3145728);
	expect("lhist_km", v, 2, 0, 0);
	close_maps(m, 2);
}

static void test_stats_avg(void)
{
	struct trace_map m;
	uint64_t k0 = 0;
	int64_t k;

	if (!new_map(&m, "@s", &T_NONE, 8, &T_STATS, true))
		return;
	agg(&m, &k0, 0, 3);
	agg(&m, &k0, 1, 9);
	expect1("stats", &m);

	if (!new_map(&m, "@st", &T_I64, 8, &T_STATS, true))
		return;
	k = 1;
	agg(&m, &k, 0, 10);
	k = 2;
	agg(&m, &k, 1, 30);
	k = 3;
	agg(&m, &k, 0, 20);
	expect1("stats_keys", &m);

	if (!new_map(&m, "@v", &T_NONE, 8, &T_AVG, true))
		return;
	agg(&m, &k0, 1, 7);
	expect1("avg", &m);

	if (!new_map(&m, "@v", &T_I64, 8, &T_AVG, true))
		return;
	k = 1;
	agg(&m, &k, 0, 100);
	k = 2;
	agg(&m, &k, 0, 40);
	k = 3;
	agg(&m, &k, 1, -30);
	expect1("avg_keys", &m);
}

static void test_min_max(void)
{
	struct trace_map m;
	uint64_t k0 = 0;
	int64_t k;

	if (!new_map(&m, "@n", &T_NONE, 8, &T_MIN, true))
		return;
	agg(&m, &k0, 0, 5);
	agg(&m, &k0, 1, 2);
	expect1("min", &m);

	if (!new_map(&m, "@mn", &T_I64, 8, &T_MIN, true))
		return;
	k = 5;
	agg(&m, &k, 0, 70);
	k = 6;
	agg(&m, &k, 1, -20);
	k = 7;
	agg(&m, &k, 0, 95);
	agg(&m, &k, 1, 99);
	expect1("min_keys", &m);

	if (!new_map(&m, "@x", &T_I64, 8, &T_MAX, true))
		return;
	k = 5;
	agg(&m, &k, 0, 70);
	k = 7;
	agg(&m, &k, 1, 95);
	agg(&m, &k, 0, 90);
	k = 6;
	agg(&m, &k, 0, 3);
	expect1("max_keys", &m);
}

/* (int64, string[64]) and (string[64], int64) keys */
static struct ttype i64_str_el[2], str_i64_el[2];
static unsigned int i64_str_off[2] = { 0, 8 }, str_i64_off[2] = { 0, 64 };

static struct ttype tuple(struct ttype *el, unsigned int *off, int n,
			  unsigned int size)
{
	struct ttype t = { .kind = TT_TUPLE, .size = size };

	t.elems = el;
	t.offsets = off;
	t.nelems = n;
	return t;
}

static void test_tuple_and_string_keys(void)
{
	struct trace_map m;
	struct ttype kt;
	uint8_t key[72];
	char skey[64];

	i64_str_el[0] = T_I64;
	i64_str_el[1] = T_STR;
	kt = tuple(i64_str_el, i64_str_off, 2, 72);
	if (!new_map(&m, "@t", &kt, 72, &T_SUM, true))
		return;
	memset(key, 0, sizeof(key));
	*(int64_t *)key = 1;
	strcpy((char *)key + 8, "a");
	agg(&m, key, 0, 5);
	memset(key, 0, sizeof(key));
	*(int64_t *)key = 2;
	strcpy((char *)key + 8, "b");
	agg(&m, key, 1, 3);
	expect1("sum_tuple", &m);

	str_i64_el[0] = T_STR;
	str_i64_el[1] = T_I64;
	kt = tuple(str_i64_el, str_i64_off, 2, 72);
	if (!new_map(&m, "@sk", &kt, 72, &T_COUNT, true))
		return;
	memset(key, 0, sizeof(key));
	strcpy((char *)key, "b");
	*(int64_t *)(key + 64) = 2;
	agg(&m, key, 0, 0);
	memset(key, 0, sizeof(key));
	strcpy((char *)key, "a");
	*(int64_t *)(key + 64) = 1;
	agg(&m, key, 0, 0);
	agg(&m, key, 1, 0);
	expect1("str_count", &m);

	if (!new_map(&m, "@str", &T_STR, 64, &T_STR, false))
		return;
	memset(skey, 0, sizeof(skey));
	strcpy(skey, "x");
	{
		char val[64] = "hello";

		put(&m, skey, val);
	}
	memset(skey, 0, sizeof(skey));
	strcpy(skey, "a");
	{
		char val[64] = "world";

		put(&m, skey, val);
	}
	expect1("str_keys", &m);
}

static void test_small_ints_and_pointers(void)
{
	static struct ttype el[2] = {
		{ .kind = TT_INT, .size = 1, .is_signed = true },
		{ .kind = TT_INT, .size = 2 },
	};
	static unsigned int off[2] = { 0, 2 };
	const struct ttype i8 = { .kind = TT_INT, .size = 1, .is_signed = true };
	const struct ttype ptr = { .kind = TT_PTR, .size = 8 };
	struct trace_map m[2];
	struct trace_map *v[] = { &m[0], &m[1] };
	struct ttype kt = tuple(el, off, 2, 4);
	uint8_t key[4];
	int8_t val;
	int64_t k, one = 1;
	uint64_t p;

	if (!new_map(&m[0], "@i8", &kt, 4, &i8, false))
		return;
	memset(key, 0, sizeof(key));
	key[0] = (uint8_t)-1;
	*(uint16_t *)(key + 2) = 3;
	val = -2;
	put(&m[0], key, &val);
	key[0] = 5;
	*(uint16_t *)(key + 2) = 1;
	val = 3;
	put(&m[0], key, &val);
	expect1("small_ints", &m[0]);

	if (!new_map(&m[0], "@p", &T_I64, 8, &ptr, false))
		return;
	if (!new_map(&m[1], "@q", &ptr, 8, &T_I64, false)) {
		close_maps(m, 1);
		return;
	}
	k = 1;
	p = 1234;
	put(&m[0], &k, &p);
	p = 5;
	put(&m[1], &p, &one);
	expect("ptr", v, 2, 0, 0);
	close_maps(m, 2);
}

static void test_tuple_values(void)
{
	static struct ttype el2[2], el3[3];
	static unsigned int off2[2] = { 0, 8 }, off3[3] = { 0, 8, 72 };
	struct trace_map m[2];
	struct trace_map *v[] = { &m[0], &m[1] };
	struct ttype t2, t3;
	uint8_t val[80];
	int64_t k = 1;
	uint64_t k0 = 0;

	el2[0] = T_I64;
	el2[1] = T_STR;
	el3[0] = T_I64;
	el3[1] = T_STR;
	el3[2] = T_I64;
	t2 = tuple(el2, off2, 2, 72);
	t3 = tuple(el3, off3, 3, 80);
	if (!new_map(&m[0], "@tu", &T_I64, 8, &t2, false))
		return;
	if (!new_map(&m[1], "@tk", &T_NONE, 8, &t3, false)) {
		close_maps(m, 1);
		return;
	}
	memset(val, 0, sizeof(val));
	*(int64_t *)val = 1;
	strcpy((char *)val + 8, "x");
	put(&m[0], &k, val);
	memset(val, 0, sizeof(val));
	*(int64_t *)val = 1;
	strcpy((char *)val + 8, "a");
	*(int64_t *)(val + 72) = -3;
	put(&m[1], &k0, val);
	expect("tuple_val", v, 2, 0, 0);
	close_maps(m, 2);
}

static void test_inet_ksym(void)
{
	const struct ttype inet = { .kind = TT_INET, .size = 24 };
	const struct ttype ksym = { .kind = TT_KSYM, .size = 8 };
	uint64_t read_addr = 0, write_addr = 0, addr;
	struct trace_map m;
	uint8_t val[24];
	char line[512], name[256], type;
	FILE *f;
	int64_t k;

	if (!new_map(&m, "@i", &T_I64, 8, &inet, false))
		return;
	memset(val, 0, sizeof(val));
	*(uint32_t *)val = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", val + 4);
	k = 1;
	put(&m, &k, val);
	inet_pton(AF_INET, "127.0.0.2", val + 4);
	k = 2;
	put(&m, &k, val);
	expect1("inet", &m);

	f = fopen("/proc/kallsyms", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx %c %255s", &addr, &type, name) != 3)
			continue;
		if (!strcmp(name, "vfs_read"))
			read_addr = addr;
		else if (!strcmp(name, "vfs_write"))
			write_addr = addr;
	}
	if (f)
		fclose(f);
	CHECK(read_addr && write_addr);
	if (!new_map(&m, "@q", &T_I64, 8, &ksym, false))
		return;
	k = 1;
	put(&m, &k, &read_addr);
	k = 2;
	put(&m, &k, &write_addr);
	expect1("ksym", &m);
}

static void test_empty_and_zeroed(void)
{
	struct trace_map m[4];
	struct trace_map *v[] = { &m[0], &m[1], &m[2], &m[3] };
	int64_t k1 = 1, k2 = 2, k3 = 3;
	uint64_t k0 = 0;
	struct tprint p;

	if (!new_map(&m[0], "@c", &T_I64, 8, &T_COUNT, true) ||
	    !new_map(&m[1], "@h", &T_I64, 8, &T_HIST, true) ||
	    !new_map(&m[2], "@s", &T_I64, 8, &T_STATS, true) ||
	    !new_map(&m[3], "@v", &T_NONE, 8, &T_AVG, true))
		return;
	agg(&m[0], &k1, 0, 0);
	agg(&m[1], &k1, 0, 1);
	agg(&m[2], &k1, 1, 1);
	agg(&m[3], &k0, 0, 1);
	for (int i = 0; i < 4; i++)
		CHECK(!tprint_clear_map(&m[i]));
	expect("empty", v, 4, 0, 0);

	m[1].name = "@h";
	m[2].name = "@s";
	agg(&m[0], &k1, 0, 0);
	agg(&m[1], &k3, 1, 5);
	agg(&m[2], &k2, 0, 5);
	agg(&m[3], &k0, 1, 4);
	tprint_init(&p, stdout, false);
	for (int i = 0; i < 4; i++)
		CHECK(!tprint_zero_map(&p, &m[i]));
	tprint_fini(&p);
	expect("zeroed", v, 4, 0, 0);
	close_maps(m, 4);
}

static void test_top_div(void)
{
	struct ttype lt = lhist_type(0, 100, 10);
	struct trace_map m[7];
	const struct { long long top, div; } args[7] = {
		{ 2, 0 }, { 2, 10 }, { 2, 2 }, { 1, 2 }, { 2, 10 }, { 1, 10 },
		{ 0, 10 },
	};
	char *want[2], *got, *cat;
	size_t size;
	FILE *f;
	int64_t k;

	for (int json = 0; json < 2; json++)
		want[json] = slurp(json ? "top_div.json" : "top_div.txt");
	if (!new_map(&m[0], "@c", &T_I64, 8, &T_COUNT, true) ||
	    !new_map(&m[1], "@s", &T_I64, 8, &T_SUM, true) ||
	    !new_map(&m[2], "@h", &T_I64, 8, &T_HIST, true) ||
	    !new_map(&m[3], "@l", &T_I64, 8, &lt, true) ||
	    !new_map(&m[4], "@v", &T_I64, 8, &T_AVG, true) ||
	    !new_map(&m[5], "@st", &T_I64, 8, &T_STATS, true) ||
	    !new_map(&m[6], "@mn", &T_I64, 8, &T_MIN, true))
		goto out;
	k = 1;
	agg(&m[0], &k, 0, 0);
	k = 3;
	agg(&m[0], &k, 0, 0);
	agg(&m[0], &k, 1, 0);
	k = 4;
	for (int i = 0; i < 3; i++)
		agg(&m[0], &k, i, 0);
	k = 1;
	agg(&m[1], &k, 0, 100);
	k = 2;
	agg(&m[1], &k, 1, 250);
	k = 3;
	agg(&m[1], &k, 0, -70);
	k = 1;
	agg(&m[2], &k, 0, 5);
	k = 2;
	agg(&m[2], &k, 0, 5);
	agg(&m[2], &k, 1, 1000);
	agg(&m[2], &k, 0, 1000);
	k = 3;
	agg(&m[2], &k, 0, 1);
	agg(&m[2], &k, 0, 2);
	agg(&m[2], &k, 1, 3);
	k = 1;
	agg(&m[3], &k, 0, 5);
	k = 2;
	agg(&m[3], &k, 0, 55);
	agg(&m[3], &k, 1, 55);
	k = 1;
	agg(&m[4], &k, 0, 100);
	k = 2;
	agg(&m[4], &k, 0, 40);
	k = 3;
	agg(&m[4], &k, 0, -30);
	k = 1;
	agg(&m[5], &k, 0, 10);
	k = 2;
	agg(&m[5], &k, 0, 30);
	k = 3;
	agg(&m[5], &k, 0, 20);
	k = 5;
	agg(&m[6], &k, 0, 70);
	k = 6;
	agg(&m[6], &k, 0, -20);
	k = 7;
	agg(&m[6], &k, 0, 95);
	for (int json = 0; json < 2; json++) {
		cat = NULL;
		f = open_memstream(&cat, &size);
		for (int i = 0; i < 7; i++) {
			struct trace_map *v[] = { &m[i] };

			got = render(v, 1, json, args[i].top, args[i].div);
			fputs(got, f);
			free(got);
		}
		fclose(f);
		CHECK_STR(cat, want[json]);
		free(cat);
	}
out:
	close_maps(m, 7);
	free(want[0]);
	free(want[1]);
}

/* ---- stacks ---- */

static __attribute__((noinline)) int stack_target(int x)
{
	return x * 3;
}

static void test_stacks(void)
{
	const struct ttype kst = { .kind = TT_KSTACK, .size = 8 };
	const struct ttype ust = { .kind = TT_USTACK, .size = 16 };
	uint64_t ips[TRACE_STACK_DEPTH], read_addr = 0, addr;
	char line[512], name[256], type, *text = NULL, want[512];
	struct trace_map m;
	uint8_t uval[16];
	size_t size = 0;
	struct tprint p;
	uint32_t id;
	uint64_t sid;
	FILE *f;
	int sfd;

	f = fopen("/proc/kallsyms", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx %c %255s", &addr, &type, name) == 3 &&
		    !strcmp(name, "vfs_read"))
			read_addr = addr;
	if (f)
		fclose(f);
	/* stack trace maps refuse user writes: a hash of the same shape */
	sfd = bpf_map_create(BPF_MAP_TYPE_HASH, NULL, 4, sizeof(ips), 4, NULL);
	CHECK(sfd >= 0 && read_addr);
	if (sfd < 0 || !read_addr)
		return;
	memset(ips, 0, sizeof(ips));
	ips[0] = read_addr + 5;
	ips[1] = 0x10;	/* nothing there: shown as an address */
	id = 7;
	bpf_map_update_elem(sfd, &id, ips, BPF_ANY);
	memset(ips, 0, sizeof(ips));
	ips[0] = (uint64_t)(uintptr_t)stack_target + 2;
	id = 8;
	bpf_map_update_elem(sfd, &id, ips, BPF_ANY);

	if (!new_map(&m, "@", &kst, 8, &T_COUNT, true))
		goto out;
	f = open_memstream(&text, &size);
	tprint_init(&p, f, false);
	p.kstack_fd = sfd;
	p.ustack_fd = sfd;
	sid = 7;
	agg(&m, &sid, 0, 0);
	agg(&m, &sid, 1, 0);
	CHECK(!tprint_map(&p, &m, 0, 0));
	tprint_value(&p, &kst, &sid);
	memset(uval, 0, sizeof(uval));
	*(uint64_t *)uval = 8;
	*(uint32_t *)(uval + 8) = getpid();
	tprint_value(&p, &ust, uval);
	*(uint64_t *)uval = (uint64_t)-14;	/* -EFAULT: no stack */
	tprint_value(&p, &ust, uval);
	tprint_fini(&p);
	fclose(f);
	CHECK_STR(text, "@[\n    vfs_read+5\n    0x10\n]: 2\n"
			"\n        vfs_read+5\n        0x10\n\n"
			"\n        stack_target+2\n\n"
			"\n");
	free(text);
	text = NULL;

	f = open_memstream(&text, &size);
	tprint_init(&p, f, true);
	p.kstack_fd = sfd;
	CHECK(!tprint_map(&p, &m, 0, 0));
	tprint_fini(&p);
	fclose(f);
	snprintf(want, sizeof(want),
		 "{\"type\": \"map\", \"data\": {\"@\": {\"\\n    vfs_read+5\\n    0x10\\n\": 2}}}\n");
	CHECK_STR(text, want);
	free(text);
	close(m.fd);
out:
	close(sfd);
}

/* ---- printf, print(value), time, attach ---- */

struct args {
	struct ttype el[16];
	unsigned int off[16];
	struct ttype tup;
	uint8_t data[1024];
	unsigned int end;
};

static void a_reset(struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->tup.kind = TT_TUPLE;
	a->tup.elems = a->el;
	a->tup.offsets = a->off;
}

static void a_add(struct args *a, const struct ttype *t, const void *v,
		  unsigned int align)
{
	int i = a->tup.nelems++;

	a->end = (a->end + align - 1) / align * align;
	a->el[i] = *t;
	a->off[i] = a->end;
	memcpy(a->data + a->end, v, t->size);
	a->end += t->size;
	a->tup.size = a->end;
}

static void a_int(struct args *a, unsigned int size, bool sgn, long long v)
{
	struct ttype t = { .kind = TT_INT, .size = size, .is_signed = sgn };

	a_add(a, &t, &v, size);
}

static void a_i64(struct args *a, long long v)
{
	a_int(a, 8, true, v);
}

static void a_str(struct args *a, const char *s)
{
	char buf[64] = { 0 };

	strncpy(buf, s, sizeof(buf) - 1);
	a_add(a, &T_STR, buf, 1);
}

static void a_ptr(struct args *a, uint64_t v)
{
	struct ttype t = { .kind = TT_PTR, .size = 8 };

	a_add(a, &t, &v, 8);
}

static void run_printfs(struct tprint *p)
{
	struct args a;

	a_reset(&a);
	a_i64(&a, -5);
	a_i64(&a, 7);
	a_str(&a, "ab");
	a_i64(&a, 255);
	a_i64(&a, 65);
	tprint_printf(p, "%d %5u %-4s| %x %c\n", &a.tup, a.data);
	a_reset(&a);
	a_i64(&a, 1);
	a_i64(&a, 2);
	tprint_printf(p, "a%%b %d|%%|%d %% x\n", &a.tup, a.data);
	a_reset(&a);
	a_i64(&a, 5);
	a_i64(&a, 6);
	tprint_printf(p, "%%d|%d\n", &a.tup, a.data);
	a_reset(&a);
	for (int i = 0; i < 4; i++)
		a_str(&a, "abc");
	tprint_printf(p, "%s|%5s|%-5s|%.2s|\n", &a.tup, a.data);
	a_reset(&a);
	a_i64(&a, 255);
	a_i64(&a, 255);
	a_i64(&a, 257);
	a_i64(&a, 8);
	a_i64(&a, 65);
	a_i64(&a, 300);
	a_i64(&a, 70000);
	a_i64(&a, -1);
	a_i64(&a, 255);
	a_i64(&a, 255);
	tprint_printf(p, "%p|%lp|%hhp|%o|%c|%hhd|%hd|%zu|%jx|%tX\n", &a.tup,
		      a.data);
	a_reset(&a);
	a_i64(&a, 65);
	a_i64(&a, 322);
	for (int i = 0; i < 5; i++)
		a_i64(&a, -1);
	tprint_printf(p, "%c%c|%u|%x|%d|%lu|%hu\n", &a.tup, a.data);
	a_reset(&a);
	a_int(&a, 4, false, 4294967295LL);
	a_int(&a, 4, false, 4294967295LL);
	a_int(&a, 2, false, 65535);
	a_int(&a, 1, true, -1);
	tprint_printf(p, "%d %u %x %X\n", &a.tup, a.data);
	a_reset(&a);
	a_i64(&a, 5);
	tprint_printf(p, "%d 100%%\n", &a.tup, a.data);
	a_reset(&a);
	tprint_printf(p, "100%% %i\n", &a.tup, a.data);
	a_reset(&a);
	a_i64(&a, 42);
	a_i64(&a, 255);
	a_i64(&a, 7);
	a_str(&a, "xyz");
	tprint_printf(p, "%-08d|%08x|%.3d|%5.1s|\n", &a.tup, a.data);
	a_reset(&a);
	a_ptr(&a, 1234);
	a_ptr(&a, 0);
	a_ptr(&a, 0);
	tprint_printf(p, "%d %p %x\n", &a.tup, a.data);
	a_reset(&a);
	tprint_printf(p, "q\"\\\t\x01\n", &a.tup, a.data);
}

static void test_printf(void)
{
	for (int json = 0; json < 2; json++) {
		char *text = NULL, *want;
		size_t size = 0;
		FILE *f = open_memstream(&text, &size);
		struct tprint p;

		tprint_init(&p, f, json);
		run_printfs(&p);
		tprint_fini(&p);
		fclose(f);
		want = slurp(json ? "printf.json" : "printf.txt");
		CHECK_STR(text, want);
		free(text);
		free(want);
	}
}

/* Odd formats print something and never crash. */
static void test_printf_odd(void)
{
	static const char *const fmts[] = {
		"%", "%-", "%.", "%5", "%%%", "%.x", "%-.5d", "abc%",
		"%10000000d|", "%99999999999999999999d|", "%5%d",
	};
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	struct tprint p;
	struct args a;

	tprint_init(&p, f, false);
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		a_reset(&a);
		a_i64(&a, 42);
		tprint_printf(&p, fmts[i], &a.tup, a.data);
		tprint_printf(&p, "\n", NULL, NULL);
	}
	tprint_fini(&p);
	fclose(f);
	CHECK_STR(text, "%\n%-\n%.\n%5\n%%%\n%.x\n00042\nabc%\n"
			"%10000000d|\n%99999999999999999999d|\n%542\n");
	free(text);
}

static void test_values(void)
{
	static struct ttype inner_el[2], outer_el[3];
	static unsigned int inner_off[2] = { 0, 8 }, outer_off[3] = { 0, 8, 72 };
	const struct ttype inet = { .kind = TT_INET, .size = 24 };
	const struct ttype i8 = { .kind = TT_INT, .size = 1, .is_signed = true };
	struct ttype tup;
	uint8_t buf[128];
	char str[64] = "s\"q\\";

	for (int json = 0; json < 2; json++) {
		char *text = NULL, *want;
		size_t size = 0;
		FILE *f = open_memstream(&text, &size);
		struct tprint p;
		int64_t v;
		int8_t c = -3;

		tprint_init(&p, f, json);
		v = 5;
		tprint_value(&p, &T_I64, &v);
		v = -7;
		tprint_value(&p, &T_I64, &v);
		tprint_value(&p, &T_STR, str);
		inner_el[0] = T_I64;
		inner_el[1] = T_I64;
		outer_el[0] = T_I64;
		outer_el[1] = T_STR;
		outer_el[2] = tuple(inner_el, inner_off, 2, 16);
		tup = tuple(outer_el, outer_off, 3, 88);
		memset(buf, 0, sizeof(buf));
		*(int64_t *)buf = 1;
		strcpy((char *)buf + 8, "x");
		*(int64_t *)(buf + 72) = 2;
		*(int64_t *)(buf + 80) = 3;
		tprint_value(&p, &tup, buf);
		memset(buf, 0, sizeof(buf));
		*(uint32_t *)buf = AF_INET;
		inet_pton(AF_INET, "127.0.0.1", buf + 4);
		tprint_value(&p, &inet, buf);
		tprint_value(&p, &i8, &c);
		tprint_fini(&p);
		fclose(f);
		want = slurp(json ? "value.json" : "value.txt");
		CHECK_STR(text, want);
		free(text);
		free(want);
	}
}

static void test_check_format(void)
{
	struct ttype kst = { .kind = TT_KSTACK, .size = 8 };
	struct ttype cnt = T_COUNT;
	char err[256];
	struct args a;
	int bad;

	a_reset(&a);
	a_str(&a, "abc");
	CHECK(tprint_check_format("%d\n", &a.tup, &bad, err, sizeof(err)));
	CHECK_STR(err, "printf: %d specifier expects a value of type integer (string supplied)");
	CHECK(bad == 0);
	CHECK(tprint_check_format("%-5ld\n", &a.tup, &bad, err, sizeof(err)));
	CHECK_STR(err, "printf: %ld specifier expects a value of type integer (string supplied)");

	a_reset(&a);
	a_i64(&a, 5);
	CHECK(tprint_check_format("%s\n", &a.tup, &bad, err, sizeof(err)));
	CHECK_STR(err, "printf: %s specifier expects a value of type string (integer supplied)");
	CHECK(tprint_check_format("%d %d\n", &a.tup, &bad, err, sizeof(err)));
	CHECK_STR(err, "printf: Not enough arguments for format string (1 supplied, 2 expected)");
	CHECK(bad == -1);
	CHECK(tprint_check_format("%q\n", &a.tup, &bad, err, sizeof(err)));
	CHECK_STR(err, "printf: Too many arguments for format string (1 supplied, 0 expected)");
	CHECK(tprint_check_format("%r\n", &a.tup, &bad, err, sizeof(err)));
	CHECK_STR(err, "printf: %r specifier expects a value of type buffer (integer supplied)");
	CHECK(tprint_check_format("%%d|%d\n", &a.tup, &bad, err, sizeof(err)));
	CHECK_STR(err, "printf: Not enough arguments for format string (1 supplied, 2 expected)");
	CHECK(!tprint_check_format("%-08lld|\n", &a.tup, &bad, err,
				   sizeof(err)));

	a_reset(&a);
	a_i64(&a, 5);
	a_i64(&a, 6);
	CHECK(tprint_check_format("%d\n", &a.tup, &bad, err, sizeof(err)));
	CHECK_STR(err, "printf: Too many arguments for format string (2 supplied, 1 expected)");

	a_reset(&a);
	a_add(&a, &kst, &(uint64_t){ 0 }, 8);
	a_i64(&a, 1);
	CHECK(!tprint_check_format("%s %d\n", &a.tup, &bad, err, sizeof(err)));
	a_reset(&a);
	a_add(&a, &cnt, &(uint64_t){ 0 }, 8);
	CHECK(tprint_check_format("%d\n", &a.tup, &bad, err, sizeof(err)));
	CHECK_STR(err, "printf: %d specifier expects a value of type integer (count supplied)");
	CHECK(!tprint_check_format("no args\n", NULL, &bad, err, sizeof(err)));
}

static void test_time_and_attach(void)
{
	char *text = NULL, want[64];
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	struct tprint p;
	time_t now = time(NULL);
	struct tm tm;

	tprint_init(&p, f, false);
	tprint_attached(&p, 1);
	tprint_attached(&p, 3);
	tprint_time(&p, "%Y|\n");
	tprint_fini(&p);
	tprint_init(&p, f, true);
	tprint_attached(&p, 2);
	tprint_time(&p, "%Y\n");
	tprint_fini(&p);
	fclose(f);
	localtime_r(&now, &tm);
	strftime(want, sizeof(want), "%Y", &tm);
	CHECK(!strncmp(text, "Attaching 1 probe...\nAttaching 3 probes...\n",
		       43));
	CHECK(!strncmp(text + 43, want, 4));
	CHECK(strstr(text, "{\"type\": \"attached_probes\", \"data\": {\"probes\": 2}}\n{\"type\": \"time\", \"data\": \""));
	free(text);

	/* the default format: "%H:%M:%S\n" */
	text = NULL;
	f = open_memstream(&text, &size);
	tprint_init(&p, f, false);
	tprint_time(&p, NULL);
	tprint_fini(&p);
	fclose(f);
	CHECK(strlen(text) == 9 && text[2] == ':' && text[5] == ':' &&
	      text[8] == '\n');
	free(text);
}

static void test_strftime(void)
{
	struct ttype ts = { .kind = TT_TIMESTAMP, .size = 8 };
	struct timespec bt;
	char *text = NULL, year[8];
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	time_t now = time(NULL);
	struct tm tm;
	struct tprint p;
	uint64_t ns;

	clock_gettime(CLOCK_BOOTTIME, &bt);
	ns = bt.tv_sec * 1000000000ULL + bt.tv_nsec;
	tprint_init(&p, f, false);
	ts.fmt = "%Y.%f";
	tprint_value(&p, &ts, &ns);
	ts.fmt = "";
	tprint_value(&p, &ts, &ns);
	tprint_fini(&p);
	fclose(f);
	localtime_r(&now, &tm);
	strftime(year, sizeof(year), "%Y", &tm);
	/* "2026.123456\n(?)\n" */
	CHECK(strlen(text) == 16 && !strncmp(text, year, 4) && text[4] == '.');
	CHECK(!strcmp(text + 12, "(?)\n"));
	free(text);
}

static const struct unit_test trace_print_tests[] = {
	{ "trace_print_count", test_count },
	{ "trace_print_hist", test_hist },
	{ "trace_print_hist_labels_beyond_g", test_hist_labels_beyond_g },
	{ "trace_print_lhist", test_lhist },
	{ "trace_print_stats_avg", test_stats_avg },
	{ "trace_print_min_max", test_min_max },
	{ "trace_print_tuple_string_keys", test_tuple_and_string_keys },
	{ "trace_print_small_ints_pointers", test_small_ints_and_pointers },
	{ "trace_print_tuple_values", test_tuple_values },
	{ "trace_print_inet_ksym", test_inet_ksym },
	{ "trace_print_empty_zeroed", test_empty_and_zeroed },
	{ "trace_print_top_div", test_top_div },
	{ "trace_print_stacks", test_stacks },
	{ "trace_print_printf", test_printf },
	{ "trace_print_printf_odd", test_printf_odd },
	{ "trace_print_values", test_values },
	{ "trace_print_check_format", test_check_format },
	{ "trace_print_time_attach", test_time_and_attach },
	{ "trace_print_strftime", test_strftime },
	{ NULL, NULL },
};

UNIT_GROUP(trace_print_tests)

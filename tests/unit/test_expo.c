/* Unit tests of the agent's exposition: escaping, numbers, the cap. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include "expo.h"
#include "unit.h"

static char *label(const char *s)
{
	struct out_buf b = { 0 };

	expo_escape_label(&b, s);
	return b.data;
}

static void test_expo_escape_label(void)
{
	char *s;

	s = label("a\\b\"c\nd");
	CHECK_STR(s, "a\\\\b\\\"c\\nd");
	free(s);
	s = label("");
	CHECK_STR(s, "");
	free(s);
	/* a tab and other control bytes are valid UTF-8: kept */
	s = label("x\ty");
	CHECK_STR(s, "x\ty");
	free(s);
}

static void test_expo_escape_utf8(void)
{
	char *s;

	/* valid multi-byte sequences pass through */
	s = label("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	CHECK_STR(s, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	free(s);
	/* a lone continuation byte, a cut sequence, an overlong form and a
	 * surrogate: each bad byte one U+FFFD */
	s = label("a\x80z");
	CHECK_STR(s, "a\xef\xbf\xbdz");
	free(s);
	s = label("comm\xe2\x82");
	CHECK_STR(s, "comm\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	s = label("\xc0\xaf");
	CHECK_STR(s, "\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	s = label("\xed\xa0\x80\"");
	CHECK_STR(s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\\"");
	free(s);
	s = label("\xff\n");
	CHECK_STR(s, "\xef\xbf\xbd\\n");
	free(s);
}

static void test_expo_escape_help(void)
{
	struct out_buf b = { 0 };

	/* HELP escapes backslash and newline, not quotes */
	expo_escape_help(&b, "say \"hi\"\\\nbye\xfe");
	CHECK_STR(b.data, "say \"hi\"\\\\\\nbye\xef\xbf\xbd");
	free(b.data);
}

static void test_expo_format_double(void)
{
	char buf[EXPO_NUM_LEN];

	expo_format_double(buf, sizeof(buf), 0);
	CHECK_STR(buf, "0");
	expo_format_double(buf, sizeof(buf), 1);
	CHECK_STR(buf, "1");
	expo_format_double(buf, sizeof(buf), 0.1);
	CHECK_STR(buf, "0.1");
	expo_format_double(buf, sizeof(buf), 0.0005);
	CHECK_STR(buf, "0.0005");
	expo_format_double(buf, sizeof(buf), -2.5);
	CHECK_STR(buf, "-2.5");
	expo_format_double(buf, sizeof(buf), 1e-9);
	CHECK_STR(buf, "1e-09");
	expo_format_double(buf, sizeof(buf), 18446744073709551615.0);
	CHECK_STR(buf, "1.8446744073709552e+19");
	/* integers up to 2^53 print exactly, no exponent below 1e17 */
	expo_format_double(buf, sizeof(buf), 9007199254740993.0);
	CHECK_STR(buf, "9007199254740992");
	expo_format_double(buf, sizeof(buf), 123456789012.0);
	CHECK_STR(buf, "123456789012");
	/* needs all 17 digits to read back the same */
	expo_format_double(buf, sizeof(buf), 0.1 + 0.2);
	CHECK_STR(buf, "0.30000000000000004");
	CHECK(strtod(buf, NULL) == 0.1 + 0.2);
	expo_format_double(buf, sizeof(buf), INFINITY);
	CHECK_STR(buf, "+Inf");
	expo_format_double(buf, sizeof(buf), -INFINITY);
	CHECK_STR(buf, "-Inf");
	expo_format_double(buf, sizeof(buf), NAN);
	CHECK_STR(buf, "NaN");
}

static void test_expo_names(void)
{
	CHECK(expo_metric_name_valid("loupe_agent_build_info"));
	CHECK(expo_metric_name_valid("ns:rule_total"));
	CHECK(expo_metric_name_valid("_x"));
	CHECK(!expo_metric_name_valid("9x"));
	CHECK(!expo_metric_name_valid("a-b"));
	CHECK(!expo_metric_name_valid(""));
	CHECK(!expo_metric_name_valid("caf\xc3\xa9"));
	CHECK(expo_label_name_valid("comm"));
	CHECK(expo_label_name_valid("_x1"));
	CHECK(!expo_label_name_valid("__name__"));
	CHECK(!expo_label_name_valid("a:b"));
	CHECK(!expo_label_name_valid("1a"));
	CHECK(!expo_label_name_valid(""));
}

static char *render(struct expo_registry *r)
{
	struct out_buf b = { 0 };

	expo_render(r, &b);
	return b.data;
}

static void test_expo_render(void)
{
	static const char *const labels[] = { "comm", "errno" };
	static const double bounds[] = { 0.001, 0.01 };
	struct expo_registry *r = expo_registry_new(10);
	struct expo_family *c, *h;
	const char *v1[] = { "cat", "2" }, *v2[] = { "a\"b", "13" };
	char err[128], *text;

	c = expo_family_add(r, "opens_total", "open() calls\nby comm",
			    EXPO_COUNTER, labels, 2, NULL, 0, err, sizeof(err));
	h = expo_family_add(r, "lat_seconds", "latency", EXPO_HISTOGRAM,
			    NULL, 0, bounds, 2, err, sizeof(err));
	CHECK(c && h);
	if (!c || !h)
		goto out;
	CHECK(!expo_add(c, v1, 2));
	CHECK(!expo_add(c, v2, 1));
	CHECK(!expo_add(c, v1, 3));
	CHECK(!expo_observe(h, NULL, 0.0005));
	CHECK(!expo_observe(h, NULL, 0.01));
	CHECK(!expo_observe(h, NULL, 7));
	CHECK(expo_observe(c, v1, 1) == -EINVAL);
	text = render(r);
	CHECK_STR(text,
		  "# HELP loupe_agent_series_dropped_total Label sets not exported because the metric had --max-series series\n"
		  "# TYPE loupe_agent_series_dropped_total counter\n"
		  "# HELP opens_total open() calls\\nby comm\n"
		  "# TYPE opens_total counter\n"
		  "opens_total{comm=\"cat\",errno=\"2\"} 5\n"
		  "opens_total{comm=\"a\\\"b\",errno=\"13\"} 1\n"
		  "# HELP lat_seconds latency\n"
		  "# TYPE lat_seconds histogram\n"
		  "lat_seconds_bucket{le=\"0.001\"} 1\n"
		  "lat_seconds_bucket{le=\"0.01\"} 2\n"
		  "lat_seconds_bucket{le=\"+Inf\"} 3\n"
		  "lat_seconds_sum 7.0105\n"
		  "lat_seconds_count 3\n");
	free(text);
out:
	expo_registry_free(r);
}

static void test_expo_hist_labels(void)
{
	static const char *const labels[] = { "disk" };
	static const double bounds[] = { 1, 2, 4 };
	const uint64_t counts[] = { 1, 0, 2, 5 };
	const char *v[] = { "sda" };
	struct expo_registry *r = expo_registry_new(0);
	struct expo_family *h;
	char err[128], *text;

	h = expo_family_add(r, "io_bytes", "sizes", EXPO_HISTOGRAM, labels, 1,
			    bounds, 3, err, sizeof(err));
	CHECK(h && !expo_hist_set(h, v, counts, 99.5));
	text = render(r);
	CHECK(strstr(text,
		     "io_bytes_bucket{disk=\"sda\",le=\"1\"} 1\n"
		     "io_bytes_bucket{disk=\"sda\",le=\"2\"} 1\n"
		     "io_bytes_bucket{disk=\"sda\",le=\"4\"} 3\n"
		     "io_bytes_bucket{disk=\"sda\",le=\"+Inf\"} 8\n"
		     "io_bytes_sum{disk=\"sda\"} 99.5\n"
		     "io_bytes_count{disk=\"sda\"} 8\n"));
	free(text);
	expo_registry_free(r);
}

static void test_expo_family_checks(void)
{
	static const char *const dup[] = { "a", "a" };
	static const char *const le[] = { "le" };
	static const char *const reserved[] = { "__x" };
	static const double bad_bounds[] = { 2, 1 };
	struct expo_registry *r = expo_registry_new(0);
	char err[160];

	CHECK(expo_family_add(r, "x_total", "", EXPO_COUNTER, NULL, 0, NULL,
			      0, err, sizeof(err)));
	CHECK(!expo_family_add(r, "x_total", "", EXPO_GAUGE, NULL, 0, NULL, 0,
			       err, sizeof(err)));
	CHECK_STR(err, "metric 'x_total' is defined twice");
	CHECK(expo_family_add(r, "h", "", EXPO_HISTOGRAM, NULL, 0, NULL, 0,
			      err, sizeof(err)));
	CHECK(!expo_family_add(r, "h_count", "", EXPO_GAUGE, NULL, 0, NULL, 0,
			       err, sizeof(err)));
	CHECK_STR(err, "metric 'h_count' clashes with a histogram's series");
	CHECK(!expo_family_add(r, "y", "", EXPO_GAUGE, dup, 2, NULL, 0, err,
			       sizeof(err)));
	CHECK_STR(err, "label 'a' is given twice");
	CHECK(!expo_family_add(r, "y", "", EXPO_HISTOGRAM, le, 1, NULL, 0,
			       err, sizeof(err)));
	CHECK(!expo_family_add(r, "y", "", EXPO_GAUGE, reserved, 1, NULL, 0,
			       err, sizeof(err)));
	CHECK(!expo_family_add(r, "y", "", EXPO_HISTOGRAM, NULL, 0,
			       bad_bounds, 2, err, sizeof(err)));
	CHECK(!expo_family_add(r, "y-z", "", EXPO_GAUGE, NULL, 0, NULL, 0,
			       err, sizeof(err)));
	expo_registry_free(r);
}

/* Past the cap new label sets are refused and counted; old ones update. */
static void test_expo_series_cap(void)
{
	static const char *const labels[] = { "key" };
	struct expo_registry *r = expo_registry_new(3);
	struct expo_family *f;
	char err[128], key[32], *text;
	const char *v[] = { key };
	int refused = 0;
	uint64_t dropped;
	size_t series;

	f = expo_family_add(r, "keys_total", "k", EXPO_COUNTER, labels, 1,
			    NULL, 0, err, sizeof(err));
	CHECK(f);
	if (!f)
		goto out;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		refused += expo_add(f, v, 1) == -ENOSPC;
	}
	CHECK(refused == 997);
	expo_family_stats(f, &series, &dropped);
	CHECK(series == 3 && dropped == 997);
	snprintf(key, sizeof(key), "k1");
	CHECK(!expo_add(f, v, 1));
	text = render(r);
	CHECK(strstr(text,
		     "loupe_agent_series_dropped_total{metric=\"keys_total\"} 997\n"));
	CHECK(strstr(text, "keys_total{key=\"k1\"} 2\n"));
	CHECK(!strstr(text, "k3\""));
	free(text);
	/* a cleared family has room again */
	expo_family_clear(f);
	expo_family_stats(f, &series, &dropped);
	CHECK(series == 0 && dropped == 997);
	snprintf(key, sizeof(key), "k999");
	CHECK(!expo_set(f, v, 4));
	expo_family_stats(f, &series, &dropped);
	CHECK(series == 1);
out:
	expo_registry_free(r);
}

/* Values that render alike (UTF-8 repair) are one series, not two. */
static void test_expo_same_rendering(void)
{
	static const char *const labels[] = { "comm" };
	struct expo_registry *r = expo_registry_new(0);
	struct expo_family *f;
	const char *a[] = { "x\x80" }, *b[] = { "x\x81" };
	uint64_t dropped;
	size_t series;
	char err[128];

	f = expo_family_add(r, "c_total", "", EXPO_COUNTER, labels, 1, NULL,
			    0, err, sizeof(err));
	CHECK(f && !expo_add(f, a, 1) && !expo_add(f, b, 1));
	expo_family_stats(f, &series, &dropped);
	CHECK(series == 1);
	expo_registry_free(r);
}

/* A removed family is gone from the output and its name free again. */
static void test_expo_family_remove(void)
{
	struct expo_registry *r = expo_registry_new(0);
	struct expo_family *a, *b, *c;
	char err[128], *text;

	a = expo_family_add(r, "a_total", "", EXPO_COUNTER, NULL, 0, NULL, 0,
			    err, sizeof(err));
	b = expo_family_add(r, "b_total", "", EXPO_COUNTER, NULL, 0, NULL, 0,
			    err, sizeof(err));
	c = expo_family_add(r, "c_total", "", EXPO_COUNTER, NULL, 0, NULL, 0,
			    err, sizeof(err));
	CHECK(a && b && c);
	if (!a || !b || !c)
		goto out;
	expo_family_remove(c);	/* the last: a new one goes after b */
	expo_family_remove(a);
	CHECK(!expo_family_add(r, "b_total", "", EXPO_GAUGE, NULL, 0, NULL, 0,
			       err, sizeof(err)));
	c = expo_family_add(r, "c_total", "again", EXPO_GAUGE, NULL, 0, NULL,
			    0, err, sizeof(err));
	CHECK(c && !expo_set(b, NULL, 1) && !expo_set(c, NULL, 2));
	text = render(r);
	CHECK_STR(text,
		  "# HELP loupe_agent_series_dropped_total Label sets not exported because the metric had --max-series series\n"
		  "# TYPE loupe_agent_series_dropped_total counter\n"
		  "# HELP b_total \n"
		  "# TYPE b_total counter\n"
		  "b_total 1\n"
		  "# HELP c_total again\n"
		  "# TYPE c_total gauge\n"
		  "c_total 2\n");
	free(text);
out:
	expo_registry_free(r);
}

static const struct unit_test expo_tests[] = {
	{ "expo_escape_label", test_expo_escape_label },
	{ "expo_escape_utf8", test_expo_escape_utf8 },
	{ "expo_escape_help", test_expo_escape_help },
	{ "expo_format_double", test_expo_format_double },
	{ "expo_names", test_expo_names },
	{ "expo_render", test_expo_render },
	{ "expo_hist_labels", test_expo_hist_labels },
	{ "expo_family_checks", test_expo_family_checks },
	{ "expo_series_cap", test_expo_series_cap },
	{ "expo_same_rendering", test_expo_same_rendering },
	{ "expo_family_remove", test_expo_family_remove },
	{ NULL, NULL },
};

UNIT_GROUP(expo_tests)

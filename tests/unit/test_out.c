/* Unit tests of the output writer: JSON escaping and table layout. */
#include <stdlib.h>
#include "out.h"
#include "unit.h"

/* Render with a writer into a string through a memory stream. */
struct capture {
	char *text;
	size_t size;
	FILE *f;
};

static void capture_open(struct capture *c)
{
	c->text = NULL;
	c->size = 0;
	c->f = open_memstream(&c->text, &c->size);
}

static const char *capture_close(struct capture *c)
{
	fclose(c->f);
	return c->text;
}

static const char *escape(const char *in, size_t n)
{
	static char result[256];
	struct out_buf b = { 0 };

	out_json_string(&b, in, n);
	snprintf(result, sizeof(result), "%s", b.data);
	free(b.data);
	return result;
}

static void test_json_escaping(void)
{
	CHECK_STR(escape("plain", 5), "\"plain\"");
	CHECK_STR(escape("a\"b\\c", 5), "\"a\\\"b\\\\c\"");
	CHECK_STR(escape("l1\nl2\t\r", 7), "\"l1\\nl2\\t\\r\"");
	CHECK_STR(escape("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"");
	/* Valid UTF-8 passes through; invalid bytes become U+FFFD. */
	CHECK_STR(escape("caf\xc3\xa9", 5), "\"caf\xc3\xa9\"");
	CHECK_STR(escape("\xff" "a", 2), "\"\\ufffda\"");
	CHECK_STR(escape("\xc3", 1), "\"\\ufffd\"");
	CHECK_STR(escape("\xc0\x80", 2), "\"\\ufffd\\ufffd\"");
	CHECK_STR(escape("\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\"");
	/* Fixed-size kernel buffers stop at NUL or at their size. */
	CHECK_STR(escape("abc\0def", 7), "\"abc\"");
	CHECK_STR(escape("abcdef", 3), "\"abc\"");
}

static const struct out_col cols[] = {
	{ "PCOMM", -6 }, { "PID", -5 }, { "RET", 3 }, { "ARGS", 0 }, { NULL },
};

static void test_table_layout(void)
{
	struct capture c;
	struct out o;

	capture_open(&c);
	out_init(&o, c.f, false, false, cols);
	out_header(&o);
	out_begin(&o, "exec", 0);
	out_str(&o, 0, "comm", "sh");
	out_int(&o, 1, "pid", 42);
	out_int(&o, 2, "ret", -2);
	out_strv(&o, 3, "args", "/bin/sh\0-c\0x\ny", 15, true);
	out_bool(&o, "args_truncated", true);
	out_end(&o);
	/* A skipped column stays blank; JSON-only fields never show. */
	out_begin(&o, "exec", 0);
	out_str(&o, 0, NULL, "ls");
	out_int(&o, OUT_JSON_ONLY, "pid", 7);
	out_int(&o, 2, NULL, 0);
	out_end(&o);
	out_flush(&o);
	out_free(&o);
	CHECK_STR(capture_close(&c),
		  "PCOMM  PID   RET ARGS\n"
		  "sh     42     -2 /bin/sh -c x?y ...\n"
		  "ls             0\n");
	free(c.text);
}

static void test_json_event(void)
{
	struct capture c;
	struct out o;

	capture_open(&c);
	out_init(&o, c.f, true, true, cols);
	out_header(&o);
	out_begin(&o, "exec", 1700000000123456789ULL);
	out_str(&o, 0, NULL, "table only");
	out_int(&o, 2, "ret", -2);
	out_strv(&o, 3, "args", "a\0b\"", 4, false);
	out_bool(&o, "args_truncated", false);
	out_str(&o, OUT_JSON_ONLY, "cgroup", NULL);
	out_double(&o, OUT_JSON_ONLY, "age_s", 1.5, 2);
	out_end(&o);
	out_flush(&o);
	out_free(&o);
	CHECK_STR(capture_close(&c),
		  "{\"type\":\"exec\",\"ts_ns\":1700000000123456789,"
		  "\"ret\":-2,\"args\":[\"a\",\"b\\\"\"],"
		  "\"args_truncated\":false,\"cgroup\":null,"
		  "\"age_s\":1.5}\n");
	free(c.text);
}

static void test_timestamp_column(void)
{
	struct capture c;
	struct out o;
	const char *text;

	setenv("TZ", "UTC", 1);
	capture_open(&c);
	out_init(&o, c.f, false, true, cols);
	out_header(&o);
	out_begin(&o, "exec", 3723ULL * 1000000000ULL);
	out_str(&o, 0, NULL, "sh");
	out_end(&o);
	out_flush(&o);
	out_free(&o);
	text = capture_close(&c);
	CHECK_STR(text, "TIME     PCOMM  PID   RET ARGS\n01:02:03 sh\n");
	free(c.text);
}

const struct unit_test out_tests[] = {
	{ "out/json_escaping", test_json_escaping },
	{ "out/table_layout", test_table_layout },
	{ "out/json_event", test_json_event },
	{ "out/timestamp_column", test_timestamp_column },
	{ NULL },
};
UNIT_GROUP(out_tests)

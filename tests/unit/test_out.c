/*
 * Unit tests of the output writer: JSON escaping, the exact bytes of
 * invalid UTF-8 (KEY_b64), table layout, escaping and markers, the time
 * and free text lines.
 */
#include <stdlib.h>
#include <time.h>
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
	out_strv(&o, 3, "args", "/bin/sh\0-c\0x\ny", 15, USTR_TRUNCATED);
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
		  "sh     42     -2 /bin/sh -c x\\x0ay \\[truncated]\n"
		  "ls             0\n");
	free(c.text);
}

/* Widths count characters: a UTF-8 command keeps the next column aligned. */
static void test_table_pads_characters(void)
{
	struct capture c;
	struct out o;

	capture_open(&c);
	out_init(&o, c.f, false, false, cols);
	out_begin(&o, "exec", 0);
	out_str(&o, 0, "comm", "caf\xc3\xa9");
	out_int(&o, 1, "pid", 42);
	out_str(&o, 2, "ret", "\xc3\xa9");
	out_end(&o);
	out_begin(&o, "exec", 0);
	out_str(&o, 0, "comm", "cafe");
	out_int(&o, 1, "pid", 42);
	out_int(&o, 2, "ret", 1);
	out_end(&o);
	out_flush(&o);
	out_free(&o);
	CHECK_STR(capture_close(&c),
		  "caf\xc3\xa9   42      \xc3\xa9\n"
		  "cafe   42      1\n");
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
	out_strv(&o, 3, "args", "a\0b\"", 4, 0);
	out_str(&o, OUT_JSON_ONLY, "cgroup", NULL);
	out_double(&o, OUT_JSON_ONLY, "age_s", 1.5, 2);
	out_end(&o);
	out_flush(&o);
	out_free(&o);
	CHECK_STR(capture_close(&c),
		  "{\"type\":\"exec\",\"ts_ns\":1700000000123456789,"
		  "\"ret\":-2,\"args\":[\"a\",\"b\\\"\"],"
		  "\"args_truncated\":false,\"args_unread\":false,"
		  "\"cgroup\":null,"
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

/* A TIME column, free text and a clear sequence: in the table only. */
static void test_time_and_lines(void)
{
	static const struct out_col two[] = {
		{ "TIME", -8 }, { "COMM", -4 }, { NULL },
	};
	struct capture c;
	struct out o;
	bool json;

	setenv("TZ", "UTC", 1);
	for (int i = 0; i < 2; i++) {
		json = i;
		capture_open(&c);
		out_init(&o, c.f, json, false, two);
		out_text(&o, "\033[H");
		out_line(&o, "%s loadavg: %d", "banner", 1);
		out_header(&o);
		out_begin(&o, "x", 3723ULL * 1000000000ULL);
		out_time(&o, 0, 3723ULL * 1000000000ULL);
		out_str(&o, 1, "comm", "sh");
		out_end(&o);
		out_line(&o, "%s", "");
		out_flush(&o);
		out_free(&o);
		CHECK_STR(capture_close(&c), json ?
			  "{\"type\":\"x\",\"ts_ns\":3723000000000,"
			  "\"comm\":\"sh\"}\n" :
			  "\033[Hbanner loadavg: 1\nTIME     COMM\n"
			  "01:02:03 sh\n\n");
		free(c.text);
	}
}

/*
 * BCC's interval separator: a blank line, with -T the time; from then on
 * -T stamps the reports, so rows and headers get no TIME column.
 */
static void test_interval_stamps_reports(void)
{
	static const struct out_col one[] = { { "SYSCALL", -8 }, { NULL } };
	struct capture c;
	struct out o;
	bool stamp;

	setenv("TZ", "UTC", 1);
	for (int i = 0; i < 2; i++) {
		stamp = i;
		capture_open(&c);
		out_init(&o, c.f, false, stamp, one);
		out_interval(&o, 3723ULL * 1000000000ULL);
		out_header(&o);
		out_begin(&o, "x", 3723ULL * 1000000000ULL);
		out_str(&o, 0, NULL, "read");
		out_end(&o);
		out_time_line(&o, 3724ULL * 1000000000ULL);
		out_flush(&o);
		out_free(&o);
		CHECK_STR(capture_close(&c), stamp ?
			  "\n01:02:03\nSYSCALL\nread\n01:02:04\n" :
			  "\nSYSCALL\nread\n");
		free(c.text);
	}
}

/* A caption's value is a string from the kernel: escaped as in a cell. */
static void test_caption_escaped(void)
{
	struct capture c;
	struct out o;

	capture_open(&c);
	out_init(&o, c.f, false, false, NULL);
	out_caption(&o, "Process Name", "a\033[2Jb\\");
	out_flush(&o);
	out_free(&o);
	CHECK_STR(capture_close(&c), "\nProcess Name = a\\x1b[2Jb\\\\\n");
	free(c.text);
	capture_open(&c);
	out_init(&o, c.f, true, false, NULL);
	out_caption(&o, "pid", "1 sh");
	out_flush(&o);
	out_free(&o);
	CHECK_STR(capture_close(&c), "");
	free(c.text);
}

/* out_now_ns() is the wall clock, in nanoseconds. */
static void test_now_ns(void)
{
	/*
	 * Not time(): it reads the coarse clock, which near a second's
	 * boundary can be a second ahead of CLOCK_REALTIME.
	 */
	struct timespec ts;
	uint64_t before, now, after;
	char text[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	before = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	now = out_now_ns();
	clock_gettime(CLOCK_REALTIME, &ts);
	after = ts.tv_sec * 1000000000ULL + ts.tv_nsec;

	CHECK(now >= before && now <= after);
	setenv("TZ", "UTC", 1);
	CHECK_STR(out_strftime(text, sizeof(text), "%Y-%m-%d " OUT_HMS,
			       86399ULL * 1000000000ULL + 999999999ULL),
		  "1970-01-01 23:59:59");
}

static const char *base64(const char *in, size_t n)
{
	static char result[64];
	struct out_buf b = { 0 };

	out_json_base64(&b, in, n);
	snprintf(result, sizeof(result), "%s", b.data);
	free(b.data);
	return result;
}

static void test_base64(void)
{
	/* RFC 4648 section 10. */
	CHECK_STR(base64("", 0), "\"\"");
	CHECK_STR(base64("f", 1), "\"Zg==\"");
	CHECK_STR(base64("fo", 2), "\"Zm8=\"");
	CHECK_STR(base64("foo", 3), "\"Zm9v\"");
	CHECK_STR(base64("foob", 4), "\"Zm9vYg==\"");
	CHECK_STR(base64("fooba", 5), "\"Zm9vYmE=\"");
	CHECK_STR(base64("foobar", 6), "\"Zm9vYmFy\"");
	CHECK_STR(base64("\xff\xfe\n\x1b", 4), "\"//4KGw==\"");
}

/* One JSON event of the given fields, rendered by fn. */
static const char *json_of(void (*fn)(struct out *o))
{
	static char result[1024];
	struct capture c;
	struct out o;

	capture_open(&c);
	out_init(&o, c.f, true, false, NULL);
	out_record_begin(&o);
	fn(&o);
	out_record_end(&o);
	out_flush(&o);
	out_free(&o);
	snprintf(result, sizeof(result), "%s", capture_close(&c));
	free(c.text);
	return result;
}

static void raw_fields(struct out *o)
{
	/* Valid UTF-8, controls included, needs no raw form. */
	out_strn(o, 0, "ok", "caf\xc3\xa9\n\x1b", 16);
	out_strn(o, 0, "path", "/t/\xff\xfe\n\x1b", 16);
	/* The raw form ends where the display form does (NUL or max). */
	out_strn(o, 0, "comm", "a\xff" "bc", 3);
}

static void ustr_fields(struct out *o)
{
	out_ustr(o, 0, "path", "/a/b", 16, 0);
	out_ustr(o, 0, "host", "abcd", 4, USTR_TRUNCATED);
	out_ustr(o, 0, "name", "", 16, USTR_UNREAD);
}

static void strv_fields(struct out *o)
{
	out_strv(o, 0, "args", "/bin/x\0a\xff\0\0", 11,
		 USTR_TRUNCATED | USTR_UNREAD);
}

static void test_json_raw_bytes(void)
{
	CHECK_STR(json_of(raw_fields),
		  "{\"ok\":\"caf\xc3\xa9\\n\\u001b\","
		  "\"path\":\"/t/\\ufffd\\ufffd\\n\\u001b\","
		  "\"path_b64\":\"L3Qv//4KGw==\","
		  "\"comm\":\"a\\ufffdb\",\"comm_b64\":\"Yf9i\"}\n");
	CHECK_STR(json_of(ustr_fields),
		  "{\"path\":\"/a/b\",\"path_truncated\":false,"
		  "\"path_unread\":false,"
		  "\"host\":\"abcd\",\"host_truncated\":true,"
		  "\"host_unread\":false,"
		  "\"name\":\"\",\"name_truncated\":false,"
		  "\"name_unread\":true}\n");
	/* Every element in base64 once one needs it; empty ones too. */
	CHECK_STR(json_of(strv_fields),
		  "{\"args\":[\"/bin/x\",\"a\\ufffd\",\"\"],"
		  "\"args_b64\":[\"L2Jpbi94\",\"Yf8=\",\"\"],"
		  "\"args_truncated\":true,\"args_unread\":true}\n");
}

/* One table row of a single string cell. */
static const char *row_of(const char *val, size_t max, unsigned int state)
{
	static const struct out_col one[] = { { "S", 0 }, { NULL } };
	static char result[512];
	struct capture c;
	struct out o;

	capture_open(&c);
	out_init(&o, c.f, false, false, one);
	out_begin(&o, "x", 0);
	out_ustr(&o, 0, "s", val, max, state);
	out_end(&o);
	out_flush(&o);
	out_free(&o);
	snprintf(result, sizeof(result), "%s", capture_close(&c));
	free(c.text);
	return result;
}

static void test_table_escaping(void)
{
	CHECK_STR(row_of("plain /x y", 64, 0), "plain /x y\n");
	/* Controls, invalid bytes and the backslash itself are escaped. */
	CHECK_STR(row_of("/t/\xff\xfe\n\x1b[31m", 64, 0),
		  "/t/\\xff\\xfe\\x0a\\x1b[31m\n");
	CHECK_STR(row_of("a\\x41\x7f\t", 64, 0), "a\\\\x41\\x7f\\x09\n");
	/* Valid UTF-8 shows; C1 controls and bidi marks do not act. */
	CHECK_STR(row_of("caf\xc3\xa9", 64, 0), "caf\xc3\xa9\n");
	CHECK_STR(row_of("a\xc2\x9b" "2J", 64, 0), "a\\xc2\\x9b2J\n");
	CHECK_STR(row_of("x\xe2\x80\xaey", 64, 0), "x\\xe2\\x80\\xaey\n");
	/* A sequence cut short is escaped byte by byte, then resyncs. */
	CHECK_STR(row_of("\xe2\x82" "a", 64, 0), "\\xe2\\x82a\n");
	/* Markers follow the string; data cannot produce them. */
	CHECK_STR(row_of("/long/pa", 8, USTR_TRUNCATED),
		  "/long/pa\\[truncated]\n");
	CHECK_STR(row_of("", 8, USTR_UNREAD), "\\[unread]\n");
	CHECK_STR(row_of("\\[unread]", 16, 0), "\\\\[unread]\n");
}

static void test_table_strv_markers(void)
{
	static const struct out_col one[] = { { "ARGS", 0 }, { NULL } };
	struct capture c;
	struct out o;

	capture_open(&c);
	out_init(&o, c.f, false, false, one);
	out_begin(&o, "x", 0);
	out_strv(&o, 0, "args", "/bin/x\0a\x1b", 9, USTR_UNREAD);
	out_end(&o);
	out_begin(&o, "x", 0);
	out_strv(&o, 0, "args", "", 0, USTR_UNREAD);
	out_end(&o);
	out_flush(&o);
	out_free(&o);
	CHECK_STR(capture_close(&c), "/bin/x a\\x1b \\[unread]\n\\[unread]\n");
	free(c.text);
}

/* Plaintext bytes: NULs kept in JSON, lines and a hex dump in the table. */
static void test_bytes_block_hexdump(void)
{
	static const char data[] = "GET /\r\nH: a\0b\\\x1b\n";
	struct capture c;
	struct out o;

	capture_open(&c);
	out_init(&o, c.f, true, false, cols);
	out_begin(&o, "ssl", 5);
	out_bytes(&o, "data", data, sizeof(data) - 1, USTR_TRUNCATED);
	out_block(&o, data, sizeof(data) - 1);
	out_hexdump(&o, data, sizeof(data) - 1);
	out_end(&o);
	out_flush(&o);
	out_free(&o);
	CHECK_STR(capture_close(&c),
		  "{\"type\":\"ssl\",\"ts_ns\":5,"
		  "\"data\":\"GET /\\r\\nH: a\\u0000b\\\\\\u001b\\n\","
		  "\"data_b64\":\"R0VUIC8NCkg6IGEAYlwbCg==\","
		  "\"data_truncated\":true,\"data_unread\":false}\n");
	free(c.text);

	capture_open(&c);
	out_init(&o, c.f, false, false, cols);
	out_bytes(&o, "data", data, sizeof(data) - 1, 0);
	out_block(&o, data, sizeof(data) - 1);
	out_block(&o, "\n\nx\r", 4);
	out_hexdump(&o, data, sizeof(data) - 1);
	out_flush(&o);
	out_free(&o);
	CHECK_STR(capture_close(&c),
		  "GET /\n"
		  "H: a\\x00b\\\\\\x1b\n"
		  "\n"
		  "\n"
		  "x\\x0d\n"
		  "00000000  47 45 54 20 2f 0d 0a 48  3a 20 61 00 62 5c 1b 0a  |GET /..H: a.b\\..|\n");
	free(c.text);
}

const struct unit_test out_tests[] = {
	{ "out/json_escaping", test_json_escaping },
	{ "out/table_layout", test_table_layout },
	{ "out/table_pads_characters", test_table_pads_characters },
	{ "out/json_event", test_json_event },
	{ "out/timestamp_column", test_timestamp_column },
	{ "out/time_and_lines", test_time_and_lines },
	{ "out/interval_stamps_reports", test_interval_stamps_reports },
	{ "out/now_ns", test_now_ns },
	{ "out/caption_escaped", test_caption_escaped },
	{ "out/base64", test_base64 },
	{ "out/json_raw_bytes", test_json_raw_bytes },
	{ "out/table_escaping", test_table_escaping },
	{ "out/table_strv_markers", test_table_strv_markers },
	{ "out/bytes_block_hexdump", test_bytes_block_hexdump },
	{ NULL },
};
UNIT_GROUP(out_tests)

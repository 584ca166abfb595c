/*
 * The one output writer: a tool describes each event once, field by field,
 * and the writer renders it as a BCC-style table row or a JSON object.
 * A field with col < 0 appears only in JSON; with key NULL only in the table.
 *
 * Strings are bytes from the kernel. JSON shows them as UTF-8 (invalid
 * bytes as U+FFFD) and adds KEY_b64, the exact bytes in base64, beside a
 * string that is not valid UTF-8. The table shows non-printable and
 * invalid bytes as \xNN and a backslash as \\ (docs/runtime.md).
 */
#ifndef LOUPE_OUT_H
#define LOUPE_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ustr.h"

#define OUT_JSON_ONLY (-1)

/*
 * Table markers after a string that was cut or could not be read (JSON has
 * KEY_truncated and KEY_unread). Data never shows as a single backslash
 * before '[', so a marker cannot be mistaken for part of the string.
 */
#define OUT_MARK_TRUNCATED	"\\[truncated]"
#define OUT_MARK_UNREAD		"\\[unread]"

/* width < 0: left-aligned to -width; > 0: right-aligned; 0: unpadded */
struct out_col {
	const char *header;
	int width;
};

/* A growable line buffer that JSON and table rows are built in. */
struct out_buf {
	char *data;
	size_t len;
	size_t cap;
};

struct out {
	FILE *file;
	bool json;
	bool timestamp;
	bool time_lines;	/* -T stamps each report, not each row */
	bool failed;		/* a write failed (e.g. closed pipe) */
	const struct out_col *cols;	/* ends with header NULL */
	/*
	 * A column the session puts before the tool's (after TIME), e.g.
	 * CONTAINER; header NULL: none. out_lead() fills it in a row.
	 */
	struct out_col lead;
	int next_col;
	int depth;		/* JSON nesting */
	bool need_comma[8];
	struct out_buf line;
	struct out_buf cell;	/* a string cell being escaped */
	/* The HH:MM:SS of second hms_secs (localtime is dear per row). */
	long long hms_secs;
	char hms[16];
};

void out_init(struct out *o, FILE *file, bool json, bool timestamp,
	      const struct out_col *cols);
void out_free(struct out *o);
void out_header(struct out *o);
void out_begin(struct out *o, const char *type, uint64_t ts_ns);
void out_end(struct out *o);
int out_flush(struct out *o);

/*
 * The clocks, read here only. out_now_ns(): now in Unix epoch nanoseconds,
 * the clock of every ts_ns loupe prints. out_mono_ns(): CLOCK_MONOTONIC,
 * for deadlines and elapsed times (bpf_ktime_get_ns() is on it too).
 * out_boot_to_real_ns(): what turns a CLOCK_BOOTTIME stamp (the events'
 * bpf_ktime_get_boot_ns()) into Unix epoch nanoseconds.
 * out_pid_cpu_ns(): the CPU time process pid has used so far (all its
 * threads), -1 if it cannot be read.
 */
uint64_t out_now_ns(void);
uint64_t out_mono_ns(void);
int64_t out_boot_to_real_ns(void);
int64_t out_pid_cpu_ns(int pid);
/* BCC's TIME format, for out_strftime(). */
#define OUT_HMS "%H:%M:%S"
/* ts_ns as local time in buf, formatted by strftime()'s fmt; returns buf. */
const char *out_strftime(char *buf, size_t size, const char *fmt,
			 uint64_t ts_ns);
/* A TIME column: ts_ns as HH:MM:SS in the table, nothing in JSON. */
void out_time(struct out *o, int col, uint64_t ts_ns);

/*
 * Free text in the table, outside rows: banners, captions, summaries,
 * histograms. Nothing in JSON, whose records carry the same facts as
 * fields. out_line() ends the line; out_text() writes text as it is (a
 * terminal's clear-screen sequence).
 */
void out_line(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void out_text(struct out *o, const char *text);
/*
 * With -T, ts_ns as HH:MM:SS on a line of its own. A tool that prints a
 * report per interval stamps the report this way; from the first call
 * on, -T adds no TIME column to its rows.
 */
void out_time_line(struct out *o, uint64_t ts_ns);
/* BCC's separator before an interval's report: a blank line, the time. */
void out_interval(struct out *o, uint64_t ts_ns);
/*
 * BCC's caption above a histogram, a blank line and "KEY = VALUE"; the
 * value is escaped as a table string is (it may be a command name).
 */
void out_caption(struct out *o, const char *key, const char *value);

void out_str(struct out *o, int col, const char *key, const char *val);
/* The lead column's cell of this row (table only; NULL shows "-"). */
void out_lead(struct out *o, const char *val);
void out_strn(struct out *o, int col, const char *key, const char *val,
	      size_t max);
/*
 * A string copied out of a traced process, with its USTR_* state: JSON
 * always adds KEY_truncated and KEY_unread, the table a marker when set.
 */
void out_ustr(struct out *o, int col, const char *key, const char *val,
	      size_t max, unsigned int state);
void out_int(struct out *o, int col, const char *key, long long val);
void out_uint(struct out *o, int col, const char *key,
	      unsigned long long val);
void out_double(struct out *o, int col, const char *key, double val,
		int precision);
void out_bool(struct out *o, const char *key, bool val);
void out_null(struct out *o, const char *key);
void out_strv(struct out *o, int col, const char *key, const char *buf,
	      size_t size, unsigned int state);
/*
 * Bytes a traced process moved (sslsniff's plaintext), NULs included.
 * JSON only: KEY as a string of exactly n bytes (control bytes escaped,
 * invalid UTF-8 as U+FFFD), KEY_b64 with the exact bytes, and KEY's
 * truncated/unread flags. The table shows them with out_block() or
 * out_hexdump(), on lines of their own.
 */
void out_bytes(struct out *o, const char *key, const char *buf, size_t n,
	       unsigned int state);
/*
 * Table only, free text: n bytes line by line, each escaped as a table
 * string is (a CR before the line's LF dropped).
 */
void out_block(struct out *o, const char *buf, size_t n);
/* Table only: n bytes as offset, 16 hex bytes and their ASCII per line. */
void out_hexdump(struct out *o, const char *buf, size_t n);

/* JSON building blocks, also used for records that are not events. */
void out_json_key(struct out *o, const char *key);
void out_json_string(struct out_buf *b, const char *s, size_t max);
/* Exactly n bytes, NULs included (as \u0000). */
void out_json_bytes(struct out_buf *b, const char *s, size_t n);
void out_json_base64(struct out_buf *b, const void *data, size_t n);
void out_obj_begin(struct out *o, const char *key);
void out_obj_end(struct out *o);
void out_arr_begin(struct out *o, const char *key);
void out_arr_end(struct out *o);
void out_record_begin(struct out *o);
void out_record_end(struct out *o);

void out_buf_add(struct out_buf *b, const char *s, size_t n);
/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), 0 if it is
 * not one; its code point in *cp.
 */
size_t out_utf8_decode(const unsigned char *s, size_t n, unsigned int *cp);
/*
 * n bytes as a table cell shows them (text a tool prints outside cells,
 * such as a stack's frames): invalid and control bytes as \xNN.
 */
void out_table_escape(struct out_buf *b, const char *str, size_t n);
void out_buf_printf(struct out_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif

/*
 * The one output writer: a tool describes each event once, field by field,
 * and the writer renders it as a BCC-style table row or a JSON object.
 * A field with col < 0 appears only in JSON; with key NULL only in the table.
 */
#ifndef LOUPE_OUT_H
#define LOUPE_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define OUT_JSON_ONLY (-1)

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
	bool failed;		/* a write failed (e.g. closed pipe) */
	const struct out_col *cols;	/* ends with header NULL */
	int next_col;
	int depth;		/* JSON nesting */
	bool need_comma[8];
	struct out_buf line;
};

void out_init(struct out *o, FILE *file, bool json, bool timestamp,
	      const struct out_col *cols);
void out_free(struct out *o);
void out_header(struct out *o);
void out_begin(struct out *o, const char *type, uint64_t ts_ns);
void out_end(struct out *o);
int out_flush(struct out *o);

void out_str(struct out *o, int col, const char *key, const char *val);
void out_strn(struct out *o, int col, const char *key, const char *val,
	      size_t max);
void out_int(struct out *o, int col, const char *key, long long val);
void out_uint(struct out *o, int col, const char *key,
	      unsigned long long val);
void out_double(struct out *o, int col, const char *key, double val,
		int precision);
void out_bool(struct out *o, const char *key, bool val);
void out_null(struct out *o, const char *key);
void out_strv(struct out *o, int col, const char *key, const char *buf,
	      size_t size, bool truncated);

/* JSON building blocks, also used for records that are not events. */
void out_json_key(struct out *o, const char *key);
void out_json_string(struct out_buf *b, const char *s, size_t max);
void out_obj_begin(struct out *o, const char *key);
void out_obj_end(struct out *o);
void out_arr_begin(struct out *o, const char *key);
void out_arr_end(struct out *o);
void out_record_begin(struct out *o);
void out_record_end(struct out *o);

void out_buf_add(struct out_buf *b, const char *s, size_t n);
void out_buf_printf(struct out_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif

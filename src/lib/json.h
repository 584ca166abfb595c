/*
 * A small JSON reader for the state files container runtimes leave on
 * disk (OCI config.json, containers.json, docker's config.v2.json): a
 * tree of values to look keys up in, strings decoded to UTF-8.
 */
#ifndef LOUPE_JSON_H
#define LOUPE_JSON_H

#include <stddef.h>

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json {
	enum json_type type;
	char *key;		/* in an object: this member's name */
	char *str;		/* JSON_STRING: decoded; JSON_NUMBER: text */
	struct json *child;	/* JSON_ARRAY, JSON_OBJECT: first member */
	struct json *next;	/* the next member of the parent */
};

/* The tree of text (len bytes), NULL if it is not one JSON value. */
struct json *json_parse(const char *text, size_t len);
/* The same for a whole file of at most max bytes. */
struct json *json_parse_file(const char *path, size_t max);
void json_free(struct json *v);
/* An object's member named key, NULL if v is no object or has none. */
const struct json *json_get(const struct json *v, const char *key);
/* The string at v.key, NULL if that is missing or not a string. */
const char *json_get_str(const struct json *v, const char *key);
/* An array's element i, NULL past its end. */
const struct json *json_index(const struct json *v, size_t i);

#endif

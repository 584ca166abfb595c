/*
 * A YAML file loaded with libyaml as one document, and the helpers every
 * agent config file uses to walk it: errors are "FILE:LINE:COL: message"
 * at the node they are about, unknown and repeated keys are errors.
 */
#ifndef LOUPE_AGENT_YDOC_H
#define LOUPE_AGENT_YDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

struct ydoc {
	const char *path;
	char *text;		/* the file, NUL-terminated */
	size_t len;
	yaml_document_t doc;
	bool loaded;
	char *err;		/* where the first error goes */
	size_t errlen;
};

/*
 * Reads and parses path: 0, or EXIT_USAGE with the error in err (a file
 * that cannot be read is the user's to fix too).
 */
int ydoc_load(struct ydoc *d, const char *path, char *err, size_t errlen);
void ydoc_free(struct ydoc *d);
/* The root node, NULL for an empty file. */
yaml_node_t *ydoc_root(struct ydoc *d);
yaml_node_t *ydoc_node(struct ydoc *d, int id);
/* Writes "FILE:LINE:COL: message" for a position; returns EXIT_USAGE. */
int ydoc_error_at(struct ydoc *d, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same at the start of node n. */
int ydoc_error(struct ydoc *d, yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A key of a mapping this file knows: its name and where it goes. */
struct ydoc_key {
	const char *name;
	bool required;
	yaml_node_t **node;	/* set to the value, NULL if absent */
};

/*
 * Fills keys (a table ending with a NULL name) from mapping m; what is
 * a "section" names m in messages. 0 or EXIT_USAGE: m is not a mapping, a
 * key is unknown, given twice, or a required one is missing.
 */
int ydoc_mapping(struct ydoc *d, yaml_node_t *m, const char *what,
		 struct ydoc_key *keys);
/*
 * ydoc_load, then the keys of the root mapping (what: its name in
 * messages) into keys; an empty file has none of them. 0 or an exit
 * status with the error in err; ydoc_free(d) in any case.
 */
int ydoc_load_mapping(struct ydoc *d, const char *path, const char *what,
		      struct ydoc_key *keys, char *err, size_t errlen);
/* The value of a scalar node, or EXIT_USAGE via *err if n is not one. */
const char *ydoc_string(struct ydoc *d, yaml_node_t *n, const char *what,
			int *err);
/*
 * Where byte off of scalar n's value is in the file (1-based), through
 * its quoting, escapes, block indentation and folded lines.
 */
void ydoc_scalar_pos(struct ydoc *d, yaml_node_t *n, size_t off, int *line,
		     int *col);

#endif

/*
 * Tracepoint record formats: tracefs describes each event's record in
 * events/CAT/NAME/format, one "field:DECL; offset:N; size:N; signed:N;"
 * line per field. `args` of a tracepoint probe is typed from this, so the
 * parse keeps what code generation needs (offset, size, signedness) and
 * what the type checker needs (arrays, __data_loc, pointers, strings).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hook.h"
#include "tprobe.h"

/* The common_* header fields are the same for every event: not args. */
static bool is_common(const char *name)
{
	return !strncmp(name, "common_", 7);
}

/* Element size of an array type, to get the length from the field size
 * when the bound is a macro the kernel did not expand (TASK_COMM_LEN). */
static int elem_size(const char *type)
{
	static const struct {
		const char *name;
		int size;
	} known[] = {
		{ "char", 1 }, { "unsigned char", 1 }, { "signed char", 1 },
		{ "u8", 1 }, { "__u8", 1 }, { "s8", 1 }, { "__s8", 1 },
		{ "bool", 1 }, { "short", 2 }, { "unsigned short", 2 },
		{ "u16", 2 }, { "__u16", 2 }, { "s16", 2 }, { "__s16", 2 },
		{ "int", 4 }, { "unsigned int", 4 }, { "unsigned", 4 },
		{ "u32", 4 }, { "__u32", 4 }, { "s32", 4 }, { "__s32", 4 },
		{ "long", 8 }, { "unsigned long", 8 }, { "u64", 8 },
		{ "__u64", 8 }, { "s64", 8 }, { "__s64", 8 },
		{ "long long", 8 }, { "unsigned long long", 8 },
	};

	if (type[0] && type[strlen(type) - 1] == '*')
		return sizeof(void *);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(type, known[i].name))
			return known[i].size;
	return 0;
}

static void trim(char *s)
{
	size_t n = strlen(s);
	char *p = s;

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)*p))
		p++;
	memmove(s, p, strlen(p) + 1);
}

static bool is_char_type(const char *type)
{
	return !strcmp(type, "char") || !strcmp(type, "const char") ||
	       !strcmp(type, "signed char");
}

/*
 * A pointer argument of a syscall entry that the kernel reads as a
 * NUL-terminated user string: "const char *" fields except buffers
 * (write's buf, a message pointer), which have a length beside them.
 */
static bool is_syscall_string(const struct tp_format *f,
			      const struct tp_field *fl)
{
	static const char *const not_strings[] = { "buf", "u_msg_ptr" };

	if (strcmp(f->category, "syscalls") ||
	    strncmp(f->name, "sys_enter_", 10) ||
	    strcmp(fl->type, "const char *"))
		return false;
	for (size_t i = 0; i < sizeof(not_strings) / sizeof(not_strings[0]);
	     i++)
		if (!strcmp(fl->name, not_strings[i]))
			return false;
	return true;
}

/*
 * Splits DECL ("const char * filename", "char comm[16]",
 * "__data_loc char[] name") into type, name and array bound. 0, or -1 if
 * it has no name.
 */
static int parse_decl(char *decl, struct tp_field *fl)
{
	char *name, *bracket = NULL, *end;
	size_t n;

	trim(decl);
	n = strlen(decl);
	if (n && decl[n - 1] == ']') {
		/* "char comm[16]": the bound goes, the name stays. */
		bracket = strrchr(decl, '[');
		if (!bracket)
			return -1;
		*bracket++ = '\0';
		decl[n - 1] = '\0';
		trim(decl);
		n = strlen(decl);
	}
	name = decl + n;
	while (name > decl && (isalnum((unsigned char)name[-1]) ||
			       name[-1] == '_'))
		name--;
	if (!*name || name == decl)
		return -1;
	snprintf(fl->name, sizeof(fl->name), "%s", name);
	*name = '\0';
	trim(decl);
	snprintf(fl->type, sizeof(fl->type), "%s", decl);
	if (bracket) {
		long v = strtol(bracket, &end, 0);

		/* Bound unknown until the size is read: marked with -1. */
		fl->array_len = end != bracket && !*end && v > 0 ? (int)v : -1;
	}
	return 0;
}

/* One "field:" line; 1 if a field was added, 0 if skipped, -1 on ENOMEM. */
static int parse_field(struct tp_format *f, char *line, int *cap)
{
	struct tp_field fl = { 0 }, *grown;
	char *decl = strstr(line, "field:"), *semi, *p;

	if (!decl)
		return 0;
	decl += 6;
	semi = strchr(decl, ';');
	if (!semi)
		return 0;
	*semi = '\0';
	if (!strncmp(decl, "__data_loc ", 11))
		fl.data_loc = true;
	if (parse_decl(decl, &fl) || is_common(fl.name))
		return 0;
	p = strstr(semi + 1, "offset:");
	if (!p)
		return 0;
	fl.offset = atoi(p + 7);
	p = strstr(semi + 1, "size:");
	if (!p)
		return 0;
	fl.size = atoi(p + 5);
	p = strstr(semi + 1, "signed:");
	fl.is_signed = p && atoi(p + 7);
	if (fl.array_len < 0) {
		int es = elem_size(fl.type);

		fl.array_len = es ? fl.size / es : fl.size;
	}
	fl.is_pointer = !fl.data_loc && !fl.array_len &&
			fl.type[0] && fl.type[strlen(fl.type) - 1] == '*';
	fl.is_string = (fl.array_len && is_char_type(fl.type)) ||
		       (fl.data_loc && !strcmp(fl.type, "__data_loc char[]")) ||
		       (fl.is_pointer && is_syscall_string(f, &fl));
	if (f->nfields == *cap) {
		int ncap = *cap ? *cap * 2 : 16;

		grown = realloc(f->fields, ncap * sizeof(*grown));
		if (!grown)
			return -1;
		f->fields = grown;
		*cap = ncap;
	}
	f->fields[f->nfields++] = fl;
	return 1;
}

int tp_format_load(const char *category, const char *name,
		   struct tp_format *out, char *err, size_t errlen)
{
	const char *dir = hook_tracefs();
	char path[512], line[1024];
	bool have_id = false;
	int cap = 0, e;
	FILE *fp;

	memset(out, 0, sizeof(*out));
	if (!dir) {
		hook_tracefs_why(err, errlen);
		return -1;
	}
	if (!category[0] || !name[0] || strchr(category, '/') ||
	    strchr(name, '/') || !strcmp(category, "..") ||
	    !strcmp(name, "..") || strlen(category) >= sizeof(out->category) ||
	    strlen(name) >= sizeof(out->name)) {
		snprintf(err, errlen, "invalid tracepoint name '%s:%s'",
			 category, name);
		return -1;
	}
	snprintf(out->category, sizeof(out->category), "%s", category);
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(path, sizeof(path), "%s/events/%s/%s/format", dir, category,
		 name);
	fp = fopen(path, "re");
	if (!fp) {
		e = errno;
		if (e == ENOENT || e == ENOTDIR)
			snprintf(err, errlen,
				 "tracepoint %s:%s not found; see loupe trace -l 'tracepoint:%s:*'",
				 category, name, category);
		else
			snprintf(err, errlen, "cannot read %s: %s", path,
				 strerror(e));
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		if (!strncmp(line, "ID:", 3)) {
			out->id = atoi(line + 3);
			have_id = true;
		} else if (parse_field(out, line, &cap) < 0) {
			snprintf(err, errlen, "out of memory reading %s", path);
			goto fail;
		}
	}
	if (ferror(fp) || !have_id) {
		snprintf(err, errlen, "cannot parse %s", path);
		goto fail;
	}
	fclose(fp);
	return 0;
fail:
	fclose(fp);
	tp_format_free(out);
	return -1;
}

void tp_format_free(struct tp_format *f)
{
	if (!f)
		return;
	free(f->fields);
	f->fields = NULL;
	f->nfields = 0;
}

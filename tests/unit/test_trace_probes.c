/*
 * Unit tests of probe enumeration (tprobe.h) against this machine: the
 * formats of well-known tracepoints, enumeration compared with a plain
 * walk of tracefs, ELF symbols of the fixture and of libc, USDT notes
 * compared with what readelf prints, and `-l` output compared with
 * bpftrace's own when it is installed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "hook.h"
#include "tprobe.h"
#include "uprobe.h"
#include "unit.h"

#define FIXTURE_FULL	"build/syms_fixture.full"
#define FIXTURE_STRIPPED "build/syms_fixture"

/* --- helpers ------------------------------------------------------------ */

struct list {
	char **v;
	size_t n;
};

static void list_add(struct list *l, const char *s)
{
	char **grown = realloc(l->v, (l->n + 1) * sizeof(*grown));

	if (!grown)
		return;
	l->v = grown;
	l->v[l->n] = strdup(s);
	if (l->v[l->n])
		l->n++;
}

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool list_has(const struct list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

/* Strictly increasing: sorted and without duplicates. */
static bool list_sorted_unique(const struct list *l)
{
	for (size_t i = 1; i < l->n; i++)
		if (strcmp(l->v[i - 1], l->v[i]) >= 0)
			return false;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect_one(void *ctx, const char *a, const char *b)
{
	(void)b;
	list_add(ctx, a);
	return 0;
}

static int collect_tp(void *ctx, const char *cat, const char *name)
{
	char full[512];

	snprintf(full, sizeof(full), "%s:%s", cat, name);
	list_add(ctx, full);
	return 0;
}

static const struct tp_field *field(const struct tp_format *f,
				    const char *name)
{
	for (int i = 0; i < f->nfields; i++)
		if (!strcmp(f->fields[i].name, name))
			return &f->fields[i];
	return NULL;
}

static int read_int_file(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* tprobe_list's output as a string (caller frees); *rc its result.
 * Error lines go to stderr, silenced here: the tests check the code. */
static char *list_output(const char *pattern, bool verbose, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int saved = dup(2), null = open("/dev/null", O_WRONLY);

	if (!f)
		return NULL;
	fflush(stderr);
	if (null >= 0)
		dup2(null, 2);
	*rc = tprobe_list(f, pattern, verbose);
	fflush(stderr);
	if (saved >= 0)
		dup2(saved, 2);
	if (saved >= 0)
		close(saved);
	if (null >= 0)
		close(null);
	fclose(f);
	return buf;
}

static char *command_output(const char *cmd)
{
	char *buf = NULL, chunk[4096];
	size_t len = 0, n;
	FILE *out = open_memstream(&buf, &len);
	FILE *p = popen(cmd, "r");

	if (!out || !p) {
		if (p)
			pclose(p);
		if (out)
			fclose(out);
		free(buf);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		fwrite(chunk, 1, n, out);
	pclose(p);
	fclose(out);
	return buf;
}

static bool have_program(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* Keeps only the lines starting with prefix. */
static void keep_lines(char *s, const char *prefix)
{
	char *out = s, *line = s;
	size_t plen = strlen(prefix);

	while (*line) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line + 1) : strlen(line);

		if (!strncmp(line, prefix, plen)) {
			memmove(out, line, n);
			out += n;
		}
		line += n;
	}
	*out = '\0';
}

/* --- tracepoint formats ------------------------------------------------- */

static void test_format_openat(void)
{
	const char *dir = hook_tracefs();
	const struct tp_field *fl;
	struct tp_format f;
	char err[256], path[256];

	CHECK(dir != NULL);
	if (!dir)
		return;
	CHECK(!tp_format_load("syscalls", "sys_enter_openat", &f, err,
			      sizeof(err)));
	snprintf(path, sizeof(path),
		 "%s/events/syscalls/sys_enter_openat/id", dir);
	CHECK(f.id > 0 && f.id == read_int_file(path));
	CHECK_STR(f.category, "syscalls");
	CHECK_STR(f.name, "sys_enter_openat");
	CHECK(f.nfields == 5);
	/* No common_* field is an arg. */
	for (int i = 0; i < f.nfields; i++)
		CHECK(strncmp(f.fields[i].name, "common_", 7));
	fl = field(&f, "__syscall_nr");
	CHECK(fl && fl->offset == 8 && fl->size == 4 && fl->is_signed &&
	      !strcmp(fl->type, "int") && !fl->is_string);
	fl = field(&f, "filename");
	CHECK(fl && fl->size == 8 && fl->is_pointer && fl->is_string &&
	      !fl->data_loc && !fl->array_len);
	CHECK(fl && !strcmp(fl->type, "const char *"));
	fl = field(&f, "mode");
	CHECK(fl && !strcmp(fl->type, "umode_t") && !fl->is_string &&
	      !fl->is_pointer);
	if (f.nfields >= 5)
		CHECK_STR(f.fields[4].name, "mode");
	tp_format_free(&f);

	/* A buffer is a pointer, not a string. */
	CHECK(!tp_format_load("syscalls", "sys_enter_write", &f, err,
			      sizeof(err)));
	fl = field(&f, "buf");
	CHECK(fl && fl->is_pointer && !fl->is_string);
	tp_format_free(&f);
}

static void test_format_sched_switch(void)
{
	const struct tp_field *fl;
	struct tp_format f;
	char err[256];

	CHECK(!tp_format_load("sched", "sched_switch", &f, err, sizeof(err)));
	CHECK(f.nfields == 7);
	fl = field(&f, "prev_comm");
	CHECK(fl && !strcmp(fl->type, "char") && fl->array_len == 16 &&
	      fl->size == 16 && fl->offset == 8 && fl->is_string &&
	      !fl->is_pointer);
	fl = field(&f, "prev_pid");
	CHECK(fl && !strcmp(fl->type, "pid_t") && fl->size == 4 &&
	      fl->is_signed && fl->offset == 24 && !fl->array_len);
	fl = field(&f, "prev_state");
	CHECK(fl && fl->size == 8 && fl->is_signed);
	fl = field(&f, "next_comm");
	CHECK(fl && fl->array_len == 16 && fl->is_string);
	fl = field(&f, "next_prio");
	CHECK(fl && !strcmp(fl->type, "int") && !fl->is_string);
	tp_format_free(&f);
}

static void test_format_data_loc(void)
{
	const struct tp_field *fl;
	struct tp_format f;
	char err[256];

	CHECK(!tp_format_load("sched", "sched_process_exec", &f, err,
			      sizeof(err)));
	fl = field(&f, "filename");
	CHECK(fl && fl->data_loc && fl->is_string && fl->size == 4 &&
	      !fl->is_pointer && !fl->array_len);
	CHECK(fl && !strcmp(fl->type, "__data_loc char[]"));
	fl = field(&f, "old_pid");
	CHECK(fl && !fl->data_loc && !fl->is_string);
	tp_format_free(&f);
}

static void test_format_errors(void)
{
	struct tp_format f;
	char err[256];

	CHECK(tp_format_load("syscalls", "sys_enter_foo", &f, err,
			     sizeof(err)) == -1);
	CHECK_STR(err, "tracepoint syscalls:sys_enter_foo not found; see loupe trace -l 'tracepoint:syscalls:*'");
	CHECK(f.fields == NULL && f.nfields == 0);
	tp_format_free(&f);
	CHECK(tp_format_load("nosuchcat", "x", &f, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not found") != NULL);
	CHECK(tp_format_load("..", "sched", &f, err, sizeof(err)) == -1);
	CHECK(strstr(err, "invalid tracepoint") != NULL);
	CHECK(tp_format_load("sched/..", "x", &f, err, sizeof(err)) == -1);
	CHECK(tp_format_load("", "x", &f, err, sizeof(err)) == -1);
	tp_format_free(NULL);
}

/* Every format in tracefs parses, with sane offsets and sizes. */
static void test_format_all(void)
{
	struct list tps = { 0 };
	char err[256];
	int bad = 0;

	CHECK(!tprobe_tracepoints(NULL, NULL, collect_tp, &tps));
	CHECK(tps.n > 100);
	for (size_t i = 0; i < tps.n; i++) {
		char *colon = strchr(tps.v[i], ':');
		struct tp_format f;

		*colon = '\0';
		if (tp_format_load(tps.v[i], colon + 1, &f, err,
				   sizeof(err))) {
			printf("  %s\n", err);
			bad++;
			continue;
		}
		for (int j = 0; j < f.nfields; j++) {
			const struct tp_field *fl = &f.fields[j];

			if (fl->offset < 8 || fl->size < 0 || !fl->name[0] ||
			    !fl->type[0] || (fl->array_len &&
					     fl->size % fl->array_len)) {
				printf("  %s:%s: bad field %s\n", tps.v[i],
				       colon + 1, fl->name);
				bad++;
			}
		}
		tp_format_free(&f);
	}
	CHECK(bad == 0);
	list_free(&tps);
}

/* --- enumeration -------------------------------------------------------- */

static void test_match(void)
{
	CHECK(tprobe_match("sys_enter_open*", "sys_enter_openat"));
	CHECK(!tprobe_match("sys_enter_open*", "sys_exit_openat"));
	CHECK(tprobe_match("*", ""));
	CHECK(tprobe_match("sched_sw?tch", "sched_switch"));
	CHECK(tprobe_match("[a-c]pu", "bpu"));
	CHECK(!tprobe_match("[a-c]pu", "dpu"));
	CHECK(tprobe_match("*sched*", "sched:sched_switch"));
	CHECK(tprobe_match(NULL, "anything"));
	CHECK(!tprobe_match("a", "ab"));
}

/* What a plain walk of events/CAT/NAME/ finds: each directory with an
 * enable file, sorted as "cat:name" strings. */
static void walk_tracefs(struct list *out)
{
	char path[PATH_MAX], sub[PATH_MAX + 300];
	struct dirent *c, *e;
	struct stat st;
	DIR *d, *cd;

	snprintf(path, sizeof(path), "%s/events", hook_tracefs());
	d = opendir(path);
	if (!d)
		return;
	while ((c = readdir(d))) {
		snprintf(sub, sizeof(sub), "%s/%s", path, c->d_name);
		if (c->d_name[0] == '.' || stat(sub, &st) ||
		    !S_ISDIR(st.st_mode))
			continue;
		cd = opendir(sub);
		if (!cd)
			continue;
		while ((e = readdir(cd))) {
			char en[PATH_MAX + 600], full[600];

			snprintf(en, sizeof(en), "%s/%s/enable", sub,
				 e->d_name);
			if (e->d_name[0] == '.' || access(en, F_OK))
				continue;
			snprintf(full, sizeof(full), "%s:%s", c->d_name,
				 e->d_name);
			list_add(out, full);
		}
		closedir(cd);
	}
	closedir(d);
	qsort(out->v, out->n, sizeof(*out->v), cmp_str);
}

static void test_tracepoints(void)
{
	struct list got = { 0 }, want = { 0 }, sched = { 0 };
	size_t same = 0;

	CHECK(!tprobe_tracepoints(NULL, NULL, collect_tp, &got));
	walk_tracefs(&want);
	CHECK(got.n == want.n && got.n > 100);
	for (size_t i = 0; i < got.n && i < want.n; i++)
		same += !strcmp(got.v[i], want.v[i]);
	CHECK(same == want.n);
	CHECK(list_sorted_unique(&got));
	CHECK(list_has(&got, "sched:sched_switch"));
	/* ftrace's own formats cannot be attached to. */
	CHECK(!list_has(&got, "ftrace:function"));

	CHECK(!tprobe_tracepoints("sched", "sched_sw*", collect_tp, &sched));
	CHECK(list_has(&sched, "sched:sched_switch"));
	for (size_t i = 0; i < sched.n; i++)
		CHECK(!strncmp(sched.v[i], "sched:sched_sw", 14));
	list_free(&sched);
	CHECK(!tprobe_tracepoints("nosuchcat*", "*", collect_tp, &sched));
	CHECK(sched.n == 0);
	list_free(&got);
	list_free(&want);
}

static int stop_after_one(void *ctx, const char *a, const char *b)
{
	(void)a;
	(void)b;
	(*(int *)ctx)++;
	return 1;
}

static void test_rawtps(void)
{
	struct list got = { 0 };
	int calls = 0;

	CHECK(!tprobe_rawtps(NULL, collect_one, &got));
	CHECK(got.n > 100);
	CHECK(list_sorted_unique(&got));
	CHECK(list_has(&got, "sched_switch"));
	CHECK(list_has(&got, "sys_enter"));
	list_free(&got);
	CHECK(!tprobe_rawtps("sched_sw*", collect_one, &got));
	CHECK(list_has(&got, "sched_switch") && got.n < 10);
	list_free(&got);
	CHECK(!tprobe_rawtps("*", stop_after_one, &calls));
	CHECK(calls == 1);
}

static void test_kfuncs(void)
{
	struct list got = { 0 };
	int err = tprobe_kfuncs("vfs_*", collect_one, &got);

	/* Some kernels refuse available_filter_functions (this one does
	 * with EPERM): then the error is reported, never an empty list. */
	if (err) {
		printf("  (kfuncs not listable here: %s)\n", strerror(-err));
		CHECK(err < 0 && got.n == 0);
	} else {
		CHECK(list_has(&got, "vfs_read"));
		CHECK(list_sorted_unique(&got));
	}
	list_free(&got);
}

/* --- ELF ---------------------------------------------------------------- */

static void test_elf_funcs_fixture(void)
{
	struct list got = { 0 };

	CHECK(!tprobe_elf_funcs(FIXTURE_FULL, NULL, collect_one, &got));
	CHECK(list_has(&got, "fixture_alpha"));
	CHECK(list_has(&got, "fixture_beta"));
	CHECK(list_has(&got, "main"));
	/* Imports (printf@GLIBC) are not functions of this file. */
	CHECK(!list_has(&got, "printf"));
	CHECK(list_sorted_unique(&got));
	list_free(&got);

	CHECK(!tprobe_elf_funcs(FIXTURE_FULL, "fixture_*", collect_one, &got));
	CHECK(got.n == 2);
	list_free(&got);

	/* Stripped: no .symtab, its functions are gone (debug files are
	 * not read: uprobe_func_offset could not place them either). */
	CHECK(!tprobe_elf_funcs(FIXTURE_STRIPPED, "fixture_*", collect_one,
				&got));
	CHECK(got.n == 0);
	list_free(&got);

	CHECK(tprobe_elf_funcs("/nonexistent", NULL, collect_one, &got) ==
	      -ENOENT);
	CHECK(tprobe_elf_funcs("/etc/passwd", NULL, collect_one, &got) ==
	      -ENOEXEC);
	CHECK(got.n == 0);
}

static void test_elf_funcs_libc(void)
{
	struct list got = { 0 };
	char path[PATH_MAX];
	bool at = false;

	CHECK(!uprobe_find_library("libc", 0, path, sizeof(path)));
	CHECK(!tprobe_elf_funcs(path, NULL, collect_one, &got));
	CHECK(list_has(&got, "malloc"));
	CHECK(list_has(&got, "free"));
	CHECK(list_sorted_unique(&got));
	for (size_t i = 0; i < got.n; i++)
		at |= strchr(got.v[i], '@') != NULL;
	CHECK(!at);
	list_free(&got);
}

/* --- USDT --------------------------------------------------------------- */

struct notes {
	struct usdt_note v[256];
	int n;
};

static int collect_note(void *ctx, const struct usdt_note *n)
{
	struct notes *ns = ctx;

	if (ns->n < 256)
		ns->v[ns->n++] = *n;
	return 0;
}

/* A file with stapsdt notes according to readelf, or NULL. */
static const char *usdt_binary(char *path, size_t len)
{
	static const char *const candidates[] = {
		"/usr/bin/python3", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
		"/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
	};

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]);
	     i++) {
		char cmd[PATH_MAX + 64], *out;
		bool has;

		if (!realpath(candidates[i], path))
			continue;
		snprintf(cmd, sizeof(cmd), "readelf -n '%s' 2>/dev/null", path);
		out = command_output(cmd);
		has = out && strstr(out, "NT_STAPSDT");
		free(out);
		if (has)
			return path;
	}
	(void)len;
	return NULL;
}

/* vaddr -> file offset through readelf -lW's LOAD lines. */
static uint64_t readelf_offset(const char *segments, uint64_t addr)
{
	const char *p = segments;

	while ((p = strstr(p, "LOAD"))) {
		unsigned long long off, vaddr, filesz, memsz;

		if (sscanf(p, "LOAD %llx %llx %*x %llx %llx", &off, &vaddr,
			   &filesz, &memsz) == 4 && addr >= vaddr &&
		    addr < vaddr + memsz)
			return addr - vaddr + off;
		p += 4;
	}
	return 0;
}

static void test_usdt(void)
{
	char path[PATH_MAX], cmd[PATH_MAX + 64], *out, *segs, *p;
	struct notes *ns = calloc(1, sizeof(*ns));
	int i = 0;

	if (!ns)
		return;
	if (!have_program("readelf") || !usdt_binary(path, sizeof(path))) {
		printf("  (skipped: no readelf or no binary with USDT)\n");
		free(ns);
		return;
	}
	CHECK(!tprobe_usdt(path, NULL, NULL, collect_note, ns));
	snprintf(cmd, sizeof(cmd), "readelf -nW '%s'", path);
	out = command_output(cmd);
	snprintf(cmd, sizeof(cmd), "readelf -lW '%s'", path);
	segs = command_output(cmd);
	CHECK(out && segs);
	if (!out || !segs)
		goto done;
	/* Notes in file order, as readelf prints them. */
	for (p = strstr(out, "Provider: "); p;
	     p = strstr(p + 1, "Provider: "), i++) {
		char prov[64], name[64], args[256] = "";
		unsigned long long loc, base, sema;
		char *a = strstr(p, "Arguments: "), *next;

		if (sscanf(p, "Provider: %63s Name: %63s Location: %llx, Base: %llx, Semaphore: %llx",
			   prov, name, &loc, &base, &sema) != 5) {
			CHECK(!"readelf output not understood");
			break;
		}
		next = strstr(p + 1, "Provider: ");
		if (a && (!next || a < next))
			sscanf(a, "Arguments: %255[^\n]", args);
		if (i >= ns->n) {
			CHECK(i < ns->n);
			break;
		}
		CHECK_STR(ns->v[i].provider, prov);
		CHECK_STR(ns->v[i].name, name);
		CHECK_STR(ns->v[i].args, args);
		CHECK(ns->v[i].pc == readelf_offset(segs, loc));
		CHECK(ns->v[i].semaphore ==
		      (sema ? readelf_offset(segs, sema) : 0));
	}
	CHECK(i == ns->n && i > 0);
#if defined(__x86_64__)
	/* Each probe point is a nop in the file. */
	{
		int fd = open(path, O_RDONLY);

		for (int j = 0; fd >= 0 && j < ns->n; j++) {
			unsigned char b = 0;

			CHECK(pread(fd, &b, 1, ns->v[j].pc) == 1 && b == 0x90);
		}
		if (fd >= 0)
			close(fd);
	}
#endif
	/* Filters. */
	if (ns->n) {
		struct usdt_note first = ns->v[0];
		int n;

		ns->n = 0;
		CHECK(!tprobe_usdt(path, first.provider, first.name,
				   collect_note, ns));
		CHECK(ns->n >= 1);
		for (n = 0; n < ns->n; n++)
			CHECK_STR(ns->v[n].name, first.name);
		ns->n = 0;
		CHECK(!tprobe_usdt(path, "no_such_provider", NULL, collect_note,
				   ns));
		CHECK(ns->n == 0);
	}
done:
	free(out);
	free(segs);
	ns->n = 0;
	CHECK(!tprobe_usdt(FIXTURE_FULL, NULL, NULL, collect_note, ns));
	CHECK(ns->n == 0);
	CHECK(tprobe_usdt("/etc/passwd", NULL, NULL, collect_note, ns) ==
	      -ENOEXEC);
	free(ns);
}

/* --- -l ----------------------------------------------------------------- */

static void test_list_local(void)
{
	const char *want;
	char *out;
	int rc;

	out = list_output("tracepoint:sched:sched_switch", false, &rc);
	CHECK(rc == 0);
	CHECK_STR(out, "tracepoint:sched:sched_switch\n");
	free(out);
	out = list_output("t:sched:sched_switch", true, &rc);
	want = "tracepoint:sched:sched_switch\n    char prev_comm[16]\n"
	       "    pid_t prev_pid\n";
	CHECK(rc == 0 && out && !strncmp(out, want, strlen(want)));
	free(out);
	out = list_output("software:cpu*", false, &rc);
	CHECK_STR(out, "software:cpu-clock:\nsoftware:cpu-migrations:\n");
	free(out);
	out = list_output("rawtracepoint:sched_switch", true, &rc);
	CHECK(rc == 0 && out && strstr(out, "rawtracepoint:sched_switch\n") &&
	      strstr(out, "    struct task_struct * "));
	free(out);
	out = list_output("uprobe:" FIXTURE_FULL ":fixture_*", false, &rc);
	CHECK_STR(out, "uprobe:" FIXTURE_FULL ":fixture_alpha\nuprobe:"
		  FIXTURE_FULL ":fixture_beta\n");
	free(out);
	/* Bad patterns: 2; missing things: 1; nothing printed to out. */
	out = list_output("foo:bar", false, &rc);
	CHECK(rc == 2 && out && !out[0]);
	free(out);
	out = list_output("tracepoint:a:b:c", false, &rc);
	CHECK(rc == 2);
	free(out);
	out = list_output("uprobe:/bin/sh", false, &rc);
	CHECK(rc == 2);
	free(out);
	out = list_output("uprobe:/nonexistent/x:*", false, &rc);
	CHECK(rc == 1);
	free(out);
	out = list_output("uprobe:/etc/passwd:*", false, &rc);
	CHECK(rc == 1);
	free(out);
	out = list_output("tracepoint:nosuch:*", false, &rc);
	CHECK(rc == 0 && out && !out[0]);
	free(out);
	out = list_output("BEGIN", false, &rc);
	CHECK(rc == 0);
	free(out);
	/* A bare pattern matches every provider's probes. */
	out = list_output("*sched_switch*", false, &rc);
	CHECK(rc == 0 && out && strstr(out, "tracepoint:sched:sched_switch\n"));
	free(out);
}

/* bpftrace -l (or -lv) PATTERN vs ours, only lines starting with keep. */
static void compare_bpftrace(const char *pattern, bool verbose,
			     const char *keep)
{
	char cmd[512], *want, *got;
	int rc;

	snprintf(cmd, sizeof(cmd), "bpftrace -l%s %s%s%s 2>/dev/null",
		 verbose ? "v" : "", pattern[0] ? "'" : "", pattern,
		 pattern[0] ? "'" : "");
	want = command_output(cmd);
	got = list_output(pattern, verbose, &rc);
	CHECK(rc == 0 && want && got);
	if (want && got) {
		if (keep) {
			keep_lines(want, keep);
			keep_lines(got, keep);
		}
		if (strcmp(want, got)) {
			printf("  -l%s '%s' differs from bpftrace\n",
			       verbose ? "v" : "", pattern);
			CHECK(!strcmp(want, got));
		}
	}
	free(want);
	free(got);
}

static void test_list_vs_bpftrace(void)
{
	char py[PATH_MAX], pat[PATH_MAX + 32];

	if (!have_program("bpftrace")) {
		printf("  (skipped: bpftrace is not installed)\n");
		return;
	}
	/* No pattern: bpftrace 0.17 prints "software:*:" and iter probes,
	 * loupe real event names; the tracepoints must be the same. */
	compare_bpftrace("", false, "tracepoint:");
	compare_bpftrace("tracepoint:syscalls:sys_enter_open*", false, NULL);
	compare_bpftrace("t:sched:*", false, NULL);
	compare_bpftrace("tracepoint:*:sched_switch", false, NULL);
	compare_bpftrace("*sched*", false, "tracepoint:");
	compare_bpftrace("tracepoint:syscalls:sys_enter_openat", true, NULL);
	compare_bpftrace("t:sched:sched_*", true, NULL);
	compare_bpftrace("uprobe:/bin/bash:read*", false, NULL);
	if (realpath("/usr/bin/python3", py)) {
		snprintf(pat, sizeof(pat), "usdt:%s:*", py);
		compare_bpftrace(pat, false, NULL);
	}
}

static const struct unit_test trace_probes_tests[] = {
	{ "trace_probes_format_openat", test_format_openat },
	{ "trace_probes_format_sched_switch", test_format_sched_switch },
	{ "trace_probes_format_data_loc", test_format_data_loc },
	{ "trace_probes_format_errors", test_format_errors },
	{ "trace_probes_format_all", test_format_all },
	{ "trace_probes_match", test_match },
	{ "trace_probes_tracepoints", test_tracepoints },
	{ "trace_probes_rawtps", test_rawtps },
	{ "trace_probes_kfuncs", test_kfuncs },
	{ "trace_probes_elf_fixture", test_elf_funcs_fixture },
	{ "trace_probes_elf_libc", test_elf_funcs_libc },
	{ "trace_probes_usdt", test_usdt },
	{ "trace_probes_list", test_list_local },
	{ "trace_probes_list_vs_bpftrace", test_list_vs_bpftrace },
	{ NULL, NULL },
};
UNIT_GROUP(trace_probes_tests)

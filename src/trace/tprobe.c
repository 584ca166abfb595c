/*
 * What can be probed here, and `loupe trace -l`: tracepoints from tracefs,
 * raw tracepoints and kernel functions from vmlinux BTF, function symbols
 * of binaries; listed in bpftrace 0.17's spelling and order (each
 * provider's matches sorted as strings, providers by name) so that
 * scripts and habits built on `bpftrace -l` carry over.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "hook.h"
#include "provider.h"
#include "tprobe.h"
#include "uprobe.h"

/* A growable array of owned strings. */
struct strvec {
	char **v;
	size_t n, cap;
};

static int strvec_add(struct strvec *sv, const char *s)
{
	char *copy;

	if (sv->n == sv->cap) {
		size_t ncap = sv->cap ? sv->cap * 2 : 256;
		char **grown = realloc(sv->v, ncap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		sv->v = grown;
		sv->cap = ncap;
	}
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	sv->v[sv->n++] = copy;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts bytewise (as bpftrace's std::set does) and drops duplicates. */
static void strvec_sort_unique(struct strvec *sv)
{
	size_t out = 0;

	if (!sv->n)
		return;
	qsort(sv->v, sv->n, sizeof(*sv->v), cmp_str);
	for (size_t i = 0; i < sv->n; i++) {
		if (out && !strcmp(sv->v[out - 1], sv->v[i])) {
			free(sv->v[i]);
			continue;
		}
		sv->v[out++] = sv->v[i];
	}
	sv->n = out;
}

static bool strvec_has(const struct strvec *sv, const char *s)
{
	return bsearch(&s, sv->v, sv->n, sizeof(*sv->v), cmp_str) != NULL;
}

static void strvec_free(struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

/* --- tracepoints -------------------------------------------------------- */

/*
 * An event directory is a tracepoint one can attach to when it has an
 * enable file: events/ftrace/ holds the tracer's own record formats,
 * which cannot be enabled (and are not in available_events).
 */
static bool tp_attachable(int catfd, const char *name)
{
	char rel[512];
	struct stat st;

	snprintf(rel, sizeof(rel), "%s/enable", name);
	return !fstatat(catfd, rel, &st, 0);
}

static bool entry_is_dir(int dirfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_name[0] == '.')
		return false;
	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	return !fstatat(dirfd, de->d_name, &st, 0) && S_ISDIR(st.st_mode);
}

/* "cat:name" of every attachable tracepoint matching the patterns. */
static int collect_tracepoints(const char *cat_pat, const char *name_pat,
			       struct strvec *out)
{
	const char *tracefs = hook_tracefs();
	char path[512], full[512];
	struct dirent *cde, *nde;
	DIR *events, *cat;
	int err = 0;

	if (!tracefs)
		return -ENODEV;
	snprintf(path, sizeof(path), "%s/events", tracefs);
	events = opendir(path);
	if (!events)
		return -errno;
	while (!err && (cde = readdir(events))) {
		int catfd;

		if (!entry_is_dir(dirfd(events), cde) ||
		    !tprobe_match(cat_pat, cde->d_name))
			continue;
		catfd = openat(dirfd(events), cde->d_name,
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (catfd < 0)
			continue;
		cat = fdopendir(catfd);
		if (!cat) {
			close(catfd);
			continue;
		}
		while (!err && (nde = readdir(cat))) {
			if (!entry_is_dir(catfd, nde) ||
			    !tprobe_match(name_pat, nde->d_name) ||
			    !tp_attachable(catfd, nde->d_name))
				continue;
			snprintf(full, sizeof(full), "%s:%s", cde->d_name,
				 nde->d_name);
			err = strvec_add(out, full);
		}
		closedir(cat);
	}
	closedir(events);
	strvec_sort_unique(out);
	return err;
}

int tprobe_tracepoints(const char *cat_pat, const char *name_pat,
		       tprobe_cb cb, void *ctx)
{
	struct strvec tps = { 0 };
	int err = collect_tracepoints(cat_pat, name_pat, &tps);

	for (size_t i = 0; !err && i < tps.n; i++) {
		char *colon = strchr(tps.v[i], ':');

		*colon = '\0';
		if (cb(ctx, tps.v[i], colon + 1))
			break;
	}
	strvec_free(&tps);
	return err;
}

/* --- BTF: raw tracepoints and kernel functions -------------------------- */

/*
 * vmlinux BTF is about 5 MB parsed: loaded for one enumeration and freed,
 * never kept for the life of the tracer.
 */
static struct btf *load_btf(int *err)
{
	struct btf *btf = btf__load_vmlinux_btf();

	*err = libbpf_get_error(btf);
	if (*err) {
		*err = *err < 0 ? *err : -ENOENT;
		return NULL;
	}
	return btf;
}

/* Names of kind KIND starting with prefix (prefix removed), sorted. */
static int btf_names(const struct btf *btf, int kind, const char *prefix,
		     const char *pat, struct strvec *out)
{
	size_t plen = strlen(prefix);
	__u32 n = btf__type_cnt(btf);
	int err = 0;

	for (__u32 id = 1; !err && id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const char *name;

		if (btf_kind(t) != kind)
			continue;
		name = btf__name_by_offset(btf, t->name_off);
		if (!name || strncmp(name, prefix, plen) ||
		    !tprobe_match(pat, name + plen))
			continue;
		err = strvec_add(out, name + plen);
	}
	strvec_sort_unique(out);
	return err;
}

static int emit_names(const struct strvec *sv, tprobe_cb cb, void *ctx)
{
	for (size_t i = 0; i < sv->n; i++)
		if (cb(ctx, sv->v[i], NULL))
			break;
	return 0;
}

int tprobe_rawtps(const char *pat, tprobe_cb cb, void *ctx)
{
	struct strvec names = { 0 };
	struct btf *btf;
	int err;

	btf = load_btf(&err);
	if (!btf)
		return err;
	err = btf_names(btf, BTF_KIND_TYPEDEF, "btf_trace_", pat, &names);
	btf__free(btf);
	if (!err)
		emit_names(&names, cb, ctx);
	strvec_free(&names);
	return err;
}

/*
 * Functions ftrace can hook, from available_filter_functions: "name" or
 * "name [module]" per line, sorted and unique. Static functions of the
 * same name appear several times; "__ftrace_invalid_address___N" lines
 * stand for functions the kernel dropped.
 */
static int ftrace_funcs(const char *pat, bool skip_parts, struct strvec *out)
{
	const char *tracefs = hook_tracefs();
	char path[512], line[512];
	int err = 0;
	FILE *f;

	if (!tracefs)
		return -ENODEV;
	snprintf(path, sizeof(path), "%s/available_filter_functions",
		 tracefs);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!err && fgets(line, sizeof(line), f)) {
		line[strcspn(line, " \t\n")] = '\0';
		if (!line[0] || !strncmp(line, "__ftrace_invalid_address", 24))
			continue;
		/* foo.part.0 and the like cannot be probed by name. */
		if (skip_parts && strstr(line, ".part."))
			continue;
		if (tprobe_match(pat, line))
			err = strvec_add(out, line);
	}
	fclose(f);
	strvec_sort_unique(out);
	return err;
}

/* Kernel functions with a BTF prototype that ftrace can attach to. */
static int collect_kfuncs(const struct btf *btf, const char *pat,
			  struct strvec *out)
{
	struct strvec traceable = { 0 }, funcs = { 0 };
	int err;

	err = ftrace_funcs(pat, false, &traceable);
	if (!err)
		err = btf_names(btf, BTF_KIND_FUNC, "", pat, &funcs);
	for (size_t i = 0; !err && i < funcs.n; i++)
		if (strvec_has(&traceable, funcs.v[i]))
			err = strvec_add(out, funcs.v[i]);
	strvec_free(&traceable);
	strvec_free(&funcs);
	return err;
}

int tprobe_kfuncs(const char *pat, tprobe_cb cb, void *ctx)
{
	struct strvec names = { 0 };
	struct btf *btf;
	int err;

	/* Readable at all? Checked first: no BTF parse for nothing. */
	err = ftrace_funcs("", false, &names);
	if (err)
		return err;
	btf = load_btf(&err);
	if (!btf)
		return err;
	err = collect_kfuncs(btf, pat, &names);
	btf__free(btf);
	if (!err)
		emit_names(&names, cb, ctx);
	strvec_free(&names);
	return err;
}

/* --- listing ------------------------------------------------------------ */

/* perf's software and hardware event names, as bpftrace spells them. */
static const char *const sw_events[] = {
	"alignment-faults", "bpf-output", "context-switches", "cpu-clock",
	"cpu-migrations", "dummy", "emulation-faults", "major-faults",
	"minor-faults", "page-faults", "task-clock",
};
static const char *const hw_events[] = {
	"backend-stalls", "branch-instructions", "branch-misses",
	"bus-cycles", "cache-misses", "cache-references", "cpu-cycles",
	"frontend-stalls", "instructions", "ref-cycles",
};

struct lister {
	FILE *out;
	bool verbose;
	const char *prov;	/* canonical provider name */
	const char *prefix;	/* printed between provider and match */
	const char *combined;	/* tracepoints: pattern for "cat:name" */
	struct btf *btf;	/* -lv of BTF-typed probes */
	struct btf_dump *dump;
	char decl[512];		/* btf_dump output being assembled */
	size_t decl_len;
	int err;
};

static bool has_wildcard(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static int list_err(int rc, const char *fmt, ...)
{
	va_list ap;

	fputs("loupe trace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return rc;
}

static bool kprobe_pmu(void)
{
	return !access("/sys/bus/event_source/devices/kprobe", F_OK);
}

/* Hardware events exist only where the CPU's PMU is exposed (not in most
 * VMs): try to open the cycle counter for this task. */
static bool hw_events_work(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_HARDWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_HW_CPU_CYCLES,
		.disabled = 1,
		.exclude_kernel = 1,
		.exclude_hv = 1,
	};
	int fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1,
			 PERF_FLAG_FD_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* kfuncs are listed by default only where fentry really attaches. */
static bool kfuncs_work(void)
{
	struct hook_point pt = { .kind = HOOK_FENTRY };
	struct strvec probe = { 0 };
	char why[HOOK_WHY_LEN];
	int err = ftrace_funcs("vfs_read", false, &probe);

	strvec_free(&probe);
	if (err)
		return false;
	snprintf(pt.target, sizeof(pt.target), "vfs_read");
	return !hook_test_point(&pt, why, sizeof(why));
}

static void print_probe(struct lister *l, const char *match)
{
	fprintf(l->out, "%s:%s%s\n", l->prov, l->prefix, match);
}

static void dump_printf(void *ctx, const char *fmt, va_list args)
{
	struct lister *l = ctx;
	int n;

	if (l->decl_len >= sizeof(l->decl))
		return;
	n = vsnprintf(l->decl + l->decl_len, sizeof(l->decl) - l->decl_len,
		      fmt, args);
	if (n > 0)
		l->decl_len += n;
}

/* "TYPE NAME" of a BTF type as bpftrace -lv prints it: "struct file *
 * file", the declarator empty and the name after a space. */
static const char *type_text(struct lister *l, __u32 type_id)
{
	LIBBPF_OPTS(btf_dump_emit_type_decl_opts, opts, .field_name = "");

	l->decl_len = 0;
	l->decl[0] = '\0';
	if (btf_dump__emit_type_decl(l->dump, type_id, &opts))
		snprintf(l->decl, sizeof(l->decl), "?");
	if (l->decl_len >= sizeof(l->decl))
		l->decl[sizeof(l->decl) - 1] = '\0';
	return l->decl;
}

/* Params of a FUNC_PROTO, from param `first`, and retval if wanted. */
static void print_proto(struct lister *l, __u32 proto_id, int first,
			bool retval)
{
	const struct btf_type *t = btf__type_by_id(l->btf, proto_id);
	const struct btf_param *p;

	if (!t || !btf_is_func_proto(t))
		return;
	p = btf_params(t);
	for (int i = first; i < btf_vlen(t); i++) {
		const char *name = btf__name_by_offset(l->btf, p[i].name_off);

		if (!p[i].type)		/* a variadic "..." */
			continue;
		if (name && name[0])
			fprintf(l->out, "    %s %s\n",
				type_text(l, p[i].type), name);
		else
			fprintf(l->out, "    %s arg%d\n",
				type_text(l, p[i].type), i - first);
	}
	if (retval && t->type)
		fprintf(l->out, "    %s retval\n", type_text(l, t->type));
}

/* The FUNC_PROTO behind a typedef to a function pointer. */
static __u32 typedef_proto(const struct btf *btf, const char *name)
{
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	const struct btf_type *t;

	if (id <= 0)
		return 0;
	t = btf__type_by_id(btf, id);
	t = t ? btf__type_by_id(btf, t->type) : NULL;
	return t && btf_is_ptr(t) ? t->type : 0;
}

static void print_btf_probe(struct lister *l, const char *name, bool rawtp)
{
	char tname[256];
	const struct btf_type *t;
	int id;

	print_probe(l, name);
	if (!l->verbose)
		return;
	if (rawtp) {
		/*
		 * The first parameter is the BPF context, not an arg. The
		 * btf_trace_ typedef has no parameter names; the kernel's
		 * __bpf_trace_ stub of the event, when kept, has them.
		 */
		snprintf(tname, sizeof(tname), "__bpf_trace_%s", name);
		id = btf__find_by_name_kind(l->btf, tname, BTF_KIND_FUNC);
		t = id > 0 ? btf__type_by_id(l->btf, id) : NULL;
		if (t) {
			print_proto(l, t->type, 1, false);
			return;
		}
		snprintf(tname, sizeof(tname), "btf_trace_%s", name);
		print_proto(l, typedef_proto(l->btf, tname), 1, false);
		return;
	}
	id = btf__find_by_name_kind(l->btf, name, BTF_KIND_FUNC);
	t = id > 0 ? btf__type_by_id(l->btf, id) : NULL;
	if (t)
		print_proto(l, t->type, 0, true);
}

static int list_btf(struct lister *l, bool rawtp, const char *pat,
		    bool quiet)
{
	struct strvec names = { 0 };
	struct btf *btf;
	int err;

	if (!rawtp) {
		/* Readable at all? Checked first: no BTF parse for nothing. */
		err = ftrace_funcs("", false, &names);
		if (err) {
			if (quiet)
				return 0;
			return list_err(1, "cannot list kernel functions: %s/available_filter_functions: %s",
					hook_tracefs() ? hook_tracefs() :
					"tracefs", strerror(-err));
		}
	}
	btf = load_btf(&err);
	if (!btf) {
		if (quiet)
			return 0;
		return list_err(1, "cannot load vmlinux BTF: %s",
				strerror(-err));
	}
	if (rawtp)
		err = btf_names(btf, BTF_KIND_TYPEDEF, "btf_trace_", pat,
				&names);
	else
		err = collect_kfuncs(btf, pat, &names);
	if (!err && l->verbose) {
		l->btf = btf;
		l->dump = btf_dump__new(btf, dump_printf, l, NULL);
		if (libbpf_get_error(l->dump))
			l->dump = NULL;
	}
	for (size_t i = 0; !err && i < names.n; i++) {
		if (l->verbose && l->dump)
			print_btf_probe(l, names.v[i], rawtp);
		else
			print_probe(l, names.v[i]);
	}
	if (l->dump)
		btf_dump__free(l->dump);
	l->dump = NULL;
	l->btf = NULL;
	btf__free(btf);
	strvec_free(&names);
	if (err)
		return list_err(1, "listing kernel functions: %s",
				strerror(-err));
	return 0;
}

static void print_tp_args(struct lister *l, const char *cat, const char *name)
{
	struct tp_format f;
	char err[256];

	if (tp_format_load(cat, name, &f, err, sizeof(err))) {
		fprintf(stderr, "loupe trace: %s\n", err);
		return;
	}
	for (int i = 0; i < f.nfields; i++) {
		const struct tp_field *fl = &f.fields[i];

		if (fl->array_len)
			fprintf(l->out, "    %s %s[%d]\n", fl->type, fl->name,
				fl->array_len);
		else
			fprintf(l->out, "    %s %s\n", fl->type, fl->name);
	}
	tp_format_free(&f);
}

static int tp_cb(void *ctx, const char *cat, const char *name)
{
	struct lister *l = ctx;
	char full[512];

	snprintf(full, sizeof(full), "%s:%s", cat, name);
	if (!tprobe_match(l->combined, full))
		return 0;
	print_probe(l, full);
	if (l->verbose)
		print_tp_args(l, cat, name);
	return 0;
}

/* "tracepoint:CAT:NAME", or one part matched against "CAT:NAME" as
 * bpftrace does ("tracepoint:sched*", a bare "*sched_switch*"). */
static int list_tracepoints(struct lister *l, char **parts, int nparts,
			    bool quiet)
{
	int err;

	if (nparts > 2)
		return quiet ? 0 :
		       list_err(2, "tracepoint probes take CATEGORY:NAME");
	l->combined = nparts == 1 ? parts[0] : NULL;
	err = tprobe_tracepoints(nparts == 2 ? parts[0] : NULL,
				 nparts == 2 ? parts[1] : NULL, tp_cb, l);
	l->combined = NULL;
	if (err == -ENODEV) {
		char why[HOOK_WHY_LEN];

		hook_tracefs_why(why, sizeof(why));
		return list_err(1, "%s", why);
	}
	if (err)
		return list_err(1, "cannot list tracepoints: %s",
				strerror(-err));
	return 0;
}

static void list_events(struct lister *l, const char *const *events,
			size_t n, const char *pat)
{
	for (size_t i = 0; i < n; i++) {
		if (!tprobe_match(pat, events[i]))
			continue;
		fprintf(l->out, "%s:%s:\n", l->prov, events[i]);
	}
}

static int list_kprobes(struct lister *l, const char *pat, bool quiet)
{
	struct strvec names = { 0 };
	int err;

	if (!kprobe_pmu()) {
		if (quiet)
			return 0;
		return list_err(1, "kprobes are not available on this kernel (no kprobe PMU in /sys/bus/event_source/devices)");
	}
	err = ftrace_funcs(pat, true, &names);
	if (err && !quiet) {
		strvec_free(&names);
		return list_err(1, "cannot list kernel functions: %s/available_filter_functions: %s",
				hook_tracefs() ? hook_tracefs() : "tracefs",
				strerror(-err));
	}
	for (size_t i = 0; i < names.n; i++)
		print_probe(l, names.v[i]);
	strvec_free(&names);
	return 0;
}

/*
 * A binary named in a uprobe/usdt pattern: a path is printed as given,
 * a bare name as the file it resolves to (as bpftrace does).
 */
static int resolve_binary(const char *name, char *path, size_t len)
{
	int err;

	if (has_wildcard(name))
		return list_err(2, "wildcards in a binary path are not supported: '%s'",
				name);
	err = uprobe_find_binary(name, 0, path, len);
	if (!err && access(path, R_OK))
		err = -errno;
	if (err)
		return list_err(1, "cannot find binary '%s': %s", name,
				strerror(-err));
	return 0;
}

static int print_cb(void *ctx, const char *a, const char *b)
{
	(void)b;
	print_probe(ctx, a);
	return 0;
}

static int list_uprobes(struct lister *l, const char *bin, const char *pat)
{
	char path[4096], prefix[4200];
	int err;

	err = resolve_binary(bin, path, sizeof(path));
	if (err)
		return err;
	snprintf(prefix, sizeof(prefix), "%s:", path);
	l->prefix = prefix;
	err = tprobe_elf_funcs(path, pat, print_cb, l);
	l->prefix = "";
	if (err)
		return list_err(1, "cannot read symbols of %s: %s", path,
				err == -ENOEXEC ? "not an ELF file" :
				strerror(-err));
	return 0;
}

static int usdt_add(void *ctx, const struct usdt_note *n)
{
	char full[160];

	snprintf(full, sizeof(full), "%s:%s", n->provider, n->name);
	return strvec_add(ctx, full);
}

static int list_usdt(struct lister *l, const char *bin, const char *prov,
		     const char *name)
{
	struct strvec names = { 0 };
	char path[4096], prefix[4200];
	int err;

	err = resolve_binary(bin, path, sizeof(path));
	if (err)
		return err;
	err = tprobe_usdt(path, prov, name, usdt_add, &names);
	if (err) {
		strvec_free(&names);
		return list_err(1, "cannot read USDT probes of %s: %s", path,
				err == -ENOEXEC ? "not an ELF file" :
				strerror(-err));
	}
	/* The same probe may be in several places (inlined): once here. */
	strvec_sort_unique(&names);
	snprintf(prefix, sizeof(prefix), "%s:", path);
	l->prefix = prefix;
	for (size_t i = 0; i < names.n; i++)
		print_probe(l, names.v[i]);
	l->prefix = "";
	strvec_free(&names);
	return 0;
}

/*
 * Splits "PATH:REST" where PATH may itself hold ':' ("/a:b/bin:main"):
 * the path ends at the first ':' after its last '/'.
 */
static char *split_path(char *s)
{
	char *slash = strrchr(s, '/');
	char *colon = strchr(slash ? slash : s, ':');

	if (!colon)
		return NULL;
	*colon = '\0';
	return colon + 1;
}

static int split_parts(char *rest, char **parts, int max)
{
	int n = 0;

	while (n < max) {
		parts[n++] = rest;
		rest = strchr(rest, ':');
		if (!rest)
			return n;
		*rest++ = '\0';
	}
	return n + 1;		/* more than max: the caller refuses */
}

/* One provider, REST being what follows "provider:"; quiet when the
 * provider came from a wildcard and may simply not exist here. */
static int list_provider(struct lister *l, enum list_method how, char *rest,
			 bool quiet)
{
	char *parts[4], *tail;
	int n;

	switch (how) {
	case LIST_TRACEPOINTS:
		n = split_parts(rest, parts, 3);
		return list_tracepoints(l, parts, n, quiet);
	case LIST_SOFTWARE:
	case LIST_HARDWARE:
		/* software:EVENT[:COUNT]: the count is no part of the match. */
		rest[strcspn(rest, ":")] = '\0';
		if (how == LIST_HARDWARE && !hw_events_work()) {
			if (quiet)
				return 0;
			return list_err(1, "hardware events are not available here (no CPU PMU)");
		}
		if (how == LIST_SOFTWARE)
			list_events(l, sw_events, sizeof(sw_events) /
				    sizeof(sw_events[0]), rest);
		else
			list_events(l, hw_events, sizeof(hw_events) /
				    sizeof(hw_events[0]), rest);
		return 0;
	case LIST_KFUNCS:
		if (quiet && !kfuncs_work())
			return 0;
		return list_btf(l, false, rest, quiet);
	case LIST_RAWTPS:
		return list_btf(l, true, rest, quiet);
	case LIST_KPROBES:
		return list_kprobes(l, rest, quiet);
	case LIST_UPROBES:
		tail = split_path(rest);
		if (!tail || !rest[0])
			return list_err(2, "%s probes take BINARY:FUNCTION",
					l->prov);
		return list_uprobes(l, rest, tail);
	case LIST_USDT:
		tail = split_path(rest);
		if (!tail || !rest[0])
			return list_err(2, "usdt probes take BINARY:[PROVIDER:]NAME");
		n = split_parts(tail, parts, 2);
		if (n > 2)
			return list_err(2, "usdt probes take BINARY:[PROVIDER:]NAME");
		return list_usdt(l, rest, n == 2 ? parts[0] : "*",
				 parts[n - 1]);
	case LIST_NONE:
		break;
	}
	return 0;
}

int tprobe_list(FILE *out, const char *pattern, bool verbose)
{
	struct lister l = { .out = out, .verbose = verbose, .prefix = "" };
	char *copy, *rest;
	const struct probe_provider *pv;
	int rc = 0;

	/* No pattern, or none naming a provider: every provider's "*". */
	if (!pattern || !pattern[0])
		pattern = "*:*";
	if (!strchr(pattern, ':')) {
		if (asprintf(&copy, "*:%s", pattern) < 0)
			return list_err(1, "out of memory");
	} else {
		copy = strdup(pattern);
		if (!copy)
			return list_err(1, "out of memory");
	}
	rest = strchr(copy, ':');
	*rest++ = '\0';
	if (has_wildcard(copy)) {
		char *buf = malloc(strlen(rest) + 1);

		if (!buf) {
			free(copy);
			return list_err(1, "out of memory");
		}
		for (size_t i = 0; (pv = provider_at(i)) && !rc; i++) {
			if (!pv->listed_by_default ||
			    !tprobe_match(copy, pv->names[0]))
				continue;
			l.prov = pv->names[0];
			strcpy(buf, rest);	/* each provider splits it */
			rc = list_provider(&l, pv->list, buf, true);
		}
		free(buf);
		free(copy);
		return rc;
	}
	pv = provider_find(copy);
	if (!pv) {
		rc = list_err(2, "unknown probe type '%s' in '%s'", copy,
			      pattern);
	} else {
		l.prov = pv->names[0];
		rc = list_provider(&l, pv->list, rest, false);
	}
	free(copy);
	return rc;
}

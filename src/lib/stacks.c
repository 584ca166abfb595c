/*
 * User side of the stack-sampling tools: reads the counts the kernel
 * aggregated, symbolizes each stack through syms.h and prints it as BCC
 * does (frames leaf first, "comm (pid)", count), as folded lines for flame
 * graphs, or as one JSON record per stack; then reports on stderr (and in
 * JSON) everything that could not be counted or resolved.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "flame.h"
#include "log.h"
#include "session.h"
#include "stacks.h"

/* One report of the counted stacks, read from the tool's maps. */
struct stacks_report {
	const char *unit;	/* "samples", "us" */
	unsigned long long divisor;	/* map value / divisor = count */
	bool folded;
	bool user, kernel;	/* halves collected */
	int counts_fd, stackmap_fd, stats_fd;
	struct syms_cache *syms;
	int pid;		/* -p, or 0 */
	long long pid_cpu_ns;	/* its CPU time while counted, or -1 */
};

struct entry {
	struct stack_key key;
	__u64 value;
};

/* Names that would break a folded line: ';' separates frames. */
static void fold_name(struct out_buf *b, const char *s)
{
	for (; *s; s++) {
		char ch = *s == ';' || *s == '\n' ? '_' : *s;

		out_buf_add(b, &ch, 1);
	}
}

static void fold_frame(struct out_buf *b, const struct syms_frame *f)
{
	out_buf_add(b, ";", 1);
	if (!f->name) {
		out_buf_add(b, "[unknown]", 9);
		return;
	}
	fold_name(b, f->name);
	if (f->kind == SYMS_KERNEL)
		out_buf_add(b, "_[k]", 4);
	else if (f->kind == SYMS_JIT)
		out_buf_add(b, "_[j]", 4);
}

/* A folded line without its count. */
static void fold_stack(struct out_buf *b, const char *comm,
		       const struct stacks_half *user,
		       const struct stacks_half *kernel)
{
	fold_name(b, comm);
	if (user && user->missed)
		out_buf_add(b, ";[Missed User Stack]", 20);
	for (int i = user ? user->n - 1 : -1; i >= 0; i--)
		fold_frame(b, &user->frames[i]);
	if (kernel && kernel->missed)
		out_buf_add(b, ";[Missed Kernel Stack]", 22);
	for (int i = kernel ? kernel->n - 1 : -1; i >= 0; i--)
		fold_frame(b, &kernel->frames[i]);
}

void stacks_fold(struct out_buf *b, const char *comm,
		 const struct stacks_half *user,
		 const struct stacks_half *kernel, unsigned long long count)
{
	fold_stack(b, comm, user, kernel);
	out_buf_printf(b, " %llu\n", count);
}

/*
 * Stacks that differ only in addresses inside the same functions print
 * the same (folded or not): they are merged before printing.
 */
struct folded {
	char *text;
	unsigned long long count;
};

struct folded_set {
	struct folded *v;
	size_t n, cap;
};

static void folded_add(struct folded_set *fs, const struct out_buf *b,
		       unsigned long long count)
{
	struct folded *nv;
	char *text;

	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 256;

		nv = realloc(fs->v, cap * sizeof(*nv));
		if (!nv)
			return;
		fs->v = nv;
		fs->cap = cap;
	}
	text = strndup(b->data ? b->data : "", b->len);
	if (!text)
		return;
	fs->v[fs->n++] = (struct folded){ text, count };
}

static int folded_by_text(const void *a, const void *b)
{
	return strcmp(((const struct folded *)a)->text,
		      ((const struct folded *)b)->text);
}

static int folded_by_count(const void *a, const void *b)
{
	const struct folded *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? -1 : 1;
	return strcmp(x->text, y->text);
}

/* Text and count: "TEXT COUNT" for folded lines, BCC's count line else. */
static void folded_print(struct folded_set *fs, struct out *o, bool folded)
{
	size_t n = 0;

	if (fs->n)
		qsort(fs->v, fs->n, sizeof(*fs->v), folded_by_text);
	for (size_t i = 0; i < fs->n; i++) {
		if (n && !strcmp(fs->v[n - 1].text, fs->v[i].text)) {
			fs->v[n - 1].count += fs->v[i].count;
			free(fs->v[i].text);
		} else {
			fs->v[n++] = fs->v[i];
		}
	}
	if (n)
		qsort(fs->v, n, sizeof(*fs->v), folded_by_count);
	for (size_t i = 0; i < n; i++) {
		if (folded)
			out_line(o, "%s %llu", fs->v[i].text, fs->v[i].count);
		else
			out_line(o, "%s\n        %llu\n", fs->v[i].text,
				 fs->v[i].count);
		free(fs->v[i].text);
	}
	free(fs->v);
}

static int by_value(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	if (x->key.pid != y->key.pid)
		return x->key.pid < y->key.pid ? -1 : 1;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

static struct entry *read_counts(int fd, size_t *n)
{
	struct stack_key key, next;
	struct entry *v = NULL, *nv;
	size_t len = 0, cap = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (len == cap) {
			cap = cap ? cap * 2 : 1024;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[len].key = key;
		if (!bpf_map_lookup_elem(fd, &key, &v[len].value))
			len++;
	}
	if (len)
		qsort(v, len, sizeof(*v), by_value);
	*n = len;
	return v;
}

bool stacks_tracing_frame(const struct syms_frame *f)
{
	static const char *const prefixes[] = {
		"bpf_prog_", "bpf_trace_run", "__traceiter_", "__bpf_trace_",
		"perf_trace_", "trace_call_bpf", "perf_tp_event",
		"trace_event_raw_event_",
	};

	if (f->kind != SYMS_KERNEL || !f->name)
		return false;
	if (f->module && !strcmp(f->module, "bpf"))
		return true;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(f->name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

struct symbolizer {
	const struct stacks_report *r;
	unsigned long long frames, unresolved;
};

/*
 * Symbolizes one half. Every frame but the leaf is a return address,
 * which may already be past the end of its caller (a call as the last
 * instruction): look up the byte before it.
 */
static void symbolize(struct symbolizer *z, int pid, __s32 id, bool user,
		      uint64_t *ips, struct syms_frame *frames,
		      struct stacks_half *h)
{
	int n;

	memset(h, 0, sizeof(*h));
	h->frames = frames;
	if (id == STACK_ID_NONE)
		return;
	n = id < 0 ? 0 : addr_stack(z->r->stackmap_fd, id, ips,
				    STACKS_MAX_DEPTH);
	if (!n) {
		h->missed = true;
		return;
	}
	for (int i = 0; i < n; i++) {
		uint64_t addr = i ? ips[i] - 1 : ips[i];
		struct syms_frame *f = &frames[h->n];
		int err;

		if (user)
			err = syms_user(z->r->syms, pid, addr, f);
		else
			err = syms_kernel_frame(z->r->syms, addr, f);
		f->addr = ips[i];
		if (!err)
			f->offset += addr != ips[i];
		if (!user && !h->n && stacks_tracing_frame(f))
			continue;
		z->frames++;
		z->unresolved += err != 0;
		h->n++;
	}
}

static void print_text_half(struct out_buf *b, const struct stacks_half *h,
			    const char *missed)
{
	if (h->missed)
		out_buf_printf(b, "    [Missed %s Stack]\n", missed);
	for (int i = 0; i < h->n; i++) {
		const struct syms_frame *fr = &h->frames[i];

		if (fr->kind == SYMS_KERNEL && fr->module)
			out_buf_printf(b, "    %s [%s]\n", fr->name,
				       fr->module);
		else
			out_buf_printf(b, "    %s\n", fr->name ? fr->name :
				       "[unknown]");
	}
}

static void print_json_half(struct out *o, const char *key,
			    const struct stacks_half *h)
{
	if (h->missed) {
		out_null(o, key);
		return;
	}
	out_arr_begin(o, key);
	for (int i = 0; i < h->n; i++) {
		const struct syms_frame *fr = &h->frames[i];

		out_obj_begin(o, NULL);
		out_uint(o, OUT_JSON_ONLY, "addr", fr->addr);
		if (fr->name) {
			out_str(o, OUT_JSON_ONLY, "name", fr->name);
			out_uint(o, OUT_JSON_ONLY, "offset", fr->offset);
		} else {
			out_null(o, "name");
		}
		if (fr->module)
			out_str(o, OUT_JSON_ONLY, "module", fr->module);
		else
			out_null(o, "module");
		out_str(o, OUT_JSON_ONLY, "kind",
			fr->kind == SYMS_KERNEL ? "kernel" :
			fr->kind == SYMS_JIT ? "jit" :
			fr->kind == SYMS_USER ? "user" : "unknown");
		out_obj_end(o);
	}
	out_arr_end(o);
}

static void read_stats(int fd, unsigned long long *stats)
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 *vals;

	memset(stats, 0, STACKS_NSTATS * sizeof(*stats));
	if (fd < 0 || ncpus <= 0)
		return;
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return;
	for (__u32 k = 0; k < STACKS_NSTATS; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int i = 0; i < ncpus; i++)
			stats[k] += vals[i];
	}
	free(vals);
}

/* What the tool counts, in words. */
static const char *counted_what(const struct stacks_report *r)
{
	return r->divisor > 1 ? "off-CPU periods" : "samples";
}

/* What could not be counted or resolved: stderr, and a JSON record. */
static void report_losses(struct session *s, const struct stacks_report *r,
			  const struct symbolizer *z)
{
	unsigned long long st[STACKS_NSTATS];
	struct out *o = &s->out;

	read_stats(r->stats_fd, st);
	if (o->json && (st[STACKS_MISSED_USER] || st[STACKS_MISSED_KERNEL] ||
			st[STACKS_COUNTS_FULL] || st[STACKS_START_FULL] ||
			z->unresolved)) {
		out_record_begin(o);
		out_str(o, OUT_JSON_ONLY, "type", "missed");
		out_uint(o, OUT_JSON_ONLY, "ts_ns", out_now_ns());
		out_str(o, OUT_JSON_ONLY, "tool", s->tool->name);
		out_uint(o, OUT_JSON_ONLY, "user_stacks",
			 st[STACKS_MISSED_USER]);
		out_uint(o, OUT_JSON_ONLY, "kernel_stacks",
			 st[STACKS_MISSED_KERNEL]);
		out_uint(o, OUT_JSON_ONLY, "counts_full",
			 st[STACKS_COUNTS_FULL]);
		out_uint(o, OUT_JSON_ONLY, "blocked_full",
			 st[STACKS_START_FULL]);
		out_uint(o, OUT_JSON_ONLY, "unresolved_frames",
			 z->unresolved);
		out_uint(o, OUT_JSON_ONLY, "frames", z->frames);
		out_record_end(o);
	}
	out_flush(o);
	if (st[STACKS_MISSED_USER] || st[STACKS_MISSED_KERNEL])
		log_err("%llu user and %llu kernel stacks not recorded (stack map full or colliding); raise --stack-storage-size",
			st[STACKS_MISSED_USER], st[STACKS_MISSED_KERNEL]);
	if (st[STACKS_COUNTS_FULL])
		log_err("%llu %s dropped: more than %d distinct stacks",
			st[STACKS_COUNTS_FULL], counted_what(r), STACKS_MAX_KEYS);
	if (st[STACKS_START_FULL])
		log_err("%llu off-CPU periods dropped: too many threads blocked at once",
			st[STACKS_START_FULL]);
	if (z->unresolved)
		log_err("%llu of %llu frames could not be symbolized (shown as [unknown])",
			z->unresolved, z->frames);
}

/*
 * Loads only the kernel symbols the counted stacks need: a few hundred KB
 * instead of all of /proc/kallsyms.
 */
static void prepare_kernel(const struct stacks_report *r,
			   const struct entry *v, size_t n)
{
	struct addr_list addrs = { 0 };

	for (size_t i = 0; i < n; i++) {
		__s32 id = v[i].key.kernel_stack_id;

		if (id >= 0 && addr_list_add_stack(&addrs, r->stackmap_fd, id,
						   STACKS_MAX_DEPTH))
			goto out;
	}
	syms_kernel_prepare(r->syms, addrs.v, addrs.n);
out:
	addr_list_free(&addrs);
}

/* Prints every counted stack, least frequent first, then the losses. */
static int stacks_print(struct session *s, const struct stacks_report *r)
{
	struct syms_frame *uf = NULL, *kf = NULL;
	struct symbolizer z = { .r = r };
	uint64_t *ips = NULL;
	struct out *o = &s->out;
	unsigned long long ts = out_now_ns();
	struct out_buf line = { 0 };
	struct folded_set folded = { 0 };
	size_t n, printed = 0;
	struct entry *v;

	v = read_counts(r->counts_fd, &n);
	if (r->kernel && v)
		prepare_kernel(r, v, n);
	uf = calloc(STACKS_MAX_DEPTH, sizeof(*uf));
	kf = calloc(STACKS_MAX_DEPTH, sizeof(*kf));
	ips = calloc(STACKS_MAX_DEPTH, sizeof(*ips));
	if (!uf || !kf || !ips)
		n = 0;
	for (size_t i = 0; i < n && !o->failed; i++) {
		const struct stack_key *k = &v[i].key;
		unsigned long long count = v[i].value / r->divisor;
		char comm[TASK_COMM_LEN + 1];
		struct stacks_half u, kh;

		/* Off-CPU periods that add up to less than a unit. */
		if (!count)
			continue;
		printed++;
		snprintf(comm, sizeof(comm), "%.*s", TASK_COMM_LEN, k->comm);
		symbolize(&z, k->pid, k->user_stack_id, true, ips, uf, &u);
		symbolize(&z, k->pid, k->kernel_stack_id, false, ips, kf,
			  &kh);
		if (o->json) {
			out_record_begin(o);
			out_str(o, OUT_JSON_ONLY, "type", "stack");
			out_uint(o, OUT_JSON_ONLY, "ts_ns", ts);
			out_uint(o, OUT_JSON_ONLY, "pid", k->pid);
			out_str(o, OUT_JSON_ONLY, "comm", comm);
			out_uint(o, OUT_JSON_ONLY, "count", count);
			out_str(o, OUT_JSON_ONLY, "unit", r->unit);
			if (r->user)
				print_json_half(o, "user_stack", &u);
			if (r->kernel)
				print_json_half(o, "kernel_stack", &kh);
			out_record_end(o);
		} else if (r->folded) {
			line.len = 0;
			fold_stack(&line, comm, r->user ? &u : NULL,
				   r->kernel ? &kh : NULL);
			folded_add(&folded, &line, count);
		} else {
			line.len = 0;
			print_text_half(&line, &kh, "Kernel");
			if ((kh.n || kh.missed) && (u.n || u.missed))
				out_buf_printf(&line, "    --\n");
			print_text_half(&line, &u, "User");
			out_buf_printf(&line, "    %-16s %s (%u)", "-", comm,
				       k->pid);
			folded_add(&folded, &line, count);
		}
	}
	folded_print(&folded, o, r->folded);
	free(line.data);
	free(ips);
	free(kf);
	free(uf);
	free(v);
	report_losses(s, r, &z);
	/*
	 * Folded and JSON output have no header: without this line an
	 * empty profile (a -p process that never ran on a sampled CPU)
	 * would end without a word.
	 */
	if (!printed && !o->failed && r->pid_cpu_ns >= 0)
		log_err("no %s counted: PID %d was on CPU for %.3f s meanwhile",
			counted_what(r), r->pid, r->pid_cpu_ns / 1e9);
	else if (!printed && !o->failed)
		log_err("no %s counted", counted_what(r));
	return out_flush(o);
}

/* The ring-buffer callback: captures the announced process's mappings. */
static int stacks_on_pid(struct syms_cache *c, const void *data, size_t size)
{
	const struct stacks_pid_event *e = data;

	if (size >= sizeof(*e))
		syms_capture(c, e->pid);
	return 0;
}

/* Forgets the announced pids: their next sample announces them again. */
static void stacks_rearm(int seen_fd)
{
	__u32 key, next;

	/* Deleting the current key would restart the walk: take the first. */
	while (!bpf_map_get_next_key(seen_fd, NULL, &next)) {
		key = next;
		if (bpf_map_delete_elem(seen_fd, &key))
			break;
	}
}

static int stacks_svg_begin(struct session *s, struct stacks_svg *svg)
{
	svg->mem = open_memstream(&svg->text, &svg->len);
	if (!svg->mem) {
		log_err("cannot buffer the stacks for %s: %s", svg->path,
			strerror(errno));
		return EXIT_RUNTIME;
	}
	s->out_file = svg->mem;
	return 0;
}

static int stacks_svg_end(struct stacks_svg *svg, bool ok)
{
	struct flame_opts fo = {
		.title = svg->title,
		.palette = svg->palette,
		.count_name = svg->count_name,
	};
	char err[256] = "";
	int status = EXIT_OK;
	FILE *f;

	if (!svg->mem)
		return EXIT_OK;
	fclose(svg->mem);
	svg->mem = NULL;
	if (ok) {
		f = fopen(svg->path, "w");
		if (!f) {
			log_err("cannot write %s: %s", svg->path,
				strerror(errno));
			status = EXIT_RUNTIME;
		} else {
			if (flame_render_folded(svg->text ? svg->text : "",
						svg->len, &fo, f, err,
						sizeof(err)))
				log_err("cannot draw %s: %s", svg->path, err);
			if (fclose(f) || err[0]) {
				if (!err[0])
					log_err("cannot write %s: %s",
						svg->path, strerror(errno));
				status = EXIT_RUNTIME;
			}
		}
	}
	free(svg->text);
	svg->text = NULL;
	return status;
}

int stacks_tool_opt(struct stacks_tool *t, int index, const char *arg)
{
	unsigned long long v;

	switch (index) {
	case 0:
		t->user_only = true;
		break;
	case 1:
		t->kernel_only = true;
		break;
	case 2:
		t->folded = true;
		break;
	case 3:
		if (opts_uint("--stack-storage-size", arg, 1, 1 << 20,
			      "a number of stacks", &v))
			return EXIT_USAGE;
		t->storage = v;
		break;
	case 4:
		t->svg.path = arg;
		break;
	}
	return 0;
}

int stacks_tool_check(const struct session *s, const struct stacks_tool *t)
{
	if (t->user_only && t->kernel_only) {
		log_err("-U and -K are exclusive (both halves is the default)");
		return EXIT_USAGE;
	}
	if ((t->folded || t->svg.path) && s->opts.json) {
		log_err("--folded/--svg and -j are exclusive");
		return EXIT_USAGE;
	}
	if (t->folded && t->svg.path) {
		log_err("--folded and --svg are exclusive (--svg draws the folded stacks)");
		return EXIT_USAGE;
	}
	return 0;
}

int stacks_tool_prepare(struct session *s, struct stacks_tool *t,
			struct bpf_object *obj)
{
	struct bpf_map *stackmap;
	int err;

	s->tool_state = t;
	t->obj = obj;
	t->pid_cpu_start = -1;
	t->syms = syms_cache_new();
	if (!t->syms) {
		log_err("out of memory");
		return EXIT_RUNTIME;
	}
	stackmap = bpf_object__find_map_by_name(obj, "stackmap");
	if (!stackmap || bpf_map__set_max_entries(stackmap, t->storage)) {
		log_err("cannot size the stack map");
		return EXIT_RUNTIME;
	}
	/* Re-read the counted processes' mappings every second. */
	s->opts.interval = 1;
	if (t->svg.path) {
		t->folded = true;
		err = stacks_svg_begin(s, &t->svg);
		if (err)
			return err;
	}
	/* BCC's banner stands in the header row of the multi-line output. */
	t->columns[0].header = t->banner;
	s->columns = t->folded ? NULL : t->columns;
	return 0;
}

static int stacks_tool_map_fd(const struct stacks_tool *t, const char *name)
{
	return bpf_object__find_map_fd_by_name(t->obj, name);
}

int stacks_tool_on_event(struct session *s, const void *data, size_t size)
{
	struct stacks_tool *t = s->tool_state;

	return stacks_on_pid(t->syms, data, size);
}

/* Every second: have each counted process announced (and captured) again. */
int stacks_tool_on_tick(struct session *s)
{
	stacks_rearm(stacks_tool_map_fd(s->tool_state, "seen_pids"));
	return 0;
}

int stacks_tool_attached(struct session *s, void *skel)
{
	struct stacks_tool *t = s->tool_state;

	(void)skel;
	t->pid_cpu_start = out_pid_cpu_ns(s->opts.pid);
	return 0;
}

int stacks_tool_finish(struct session *s, void *skel)
{
	struct stacks_tool *t = s->tool_state;
	long long cpu_end = out_pid_cpu_ns(s->opts.pid);
	struct stacks_report r = {
		.unit = t->unit, .divisor = t->divisor, .folded = t->folded,
		.user = !t->kernel_only, .kernel = !t->user_only,
		.counts_fd = stacks_tool_map_fd(t, "counts"),
		.stackmap_fd = stacks_tool_map_fd(t, "stackmap"),
		.stats_fd = stacks_tool_map_fd(t, "stack_stats"),
		.syms = t->syms,
		.pid = s->opts.pid,
		.pid_cpu_ns = t->pid_cpu_start >= 0 && cpu_end >= 0 ?
			      cpu_end - t->pid_cpu_start : -1,
	};

	(void)skel;
	stacks_print(s, &r);
	return 0;
}

int stacks_tool_cleanup(struct session *s, int err)
{
	struct stacks_tool *t = s->tool_state;

	if (!t)
		return err;
	if (stacks_svg_end(&t->svg, !err) && !err)
		err = EXIT_RUNTIME;
	syms_cache_free(t->syms);
	t->syms = NULL;
	return err;
}

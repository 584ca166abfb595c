/*
 * memleak: allocations not freed yet, grouped by the stack that made
 * them, the biggest printed every interval. With -p, a process's libc
 * allocator (uprobes, user stacks); without, the kernel's (kmem
 * tracepoints, kernel stacks), as BCC's memleak does.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "memleak.h"
#include "memleak.skel.h"
#include "session.h"
#include "stacks.h"
#include "inlines.h"
#include "syms.h"

static unsigned long top = 10;
static unsigned long long min_size, max_size = ~0ULL;
static unsigned long long older_ms;
static bool no_demangle;
static bool inline_frames;

struct stack_total {
	long long stack_id;
	unsigned long long bytes;
	unsigned long long count;
};

struct memleak_state {
	struct memleak_bpf *skel;
	struct tool mode_tool;	/* this run's tool: user or kernel probes */
	struct syms_cache *syms;
	struct inlines *inlines;	/* --inline, or NULL */
	/* The last report's allocations whose stack the kernel could not
	 * record (stack map full, or another stack in its hash bucket). */
	unsigned long long missed_allocs, missed_bytes;
};

static int by_stack(const void *a, const void *b)
{
	const struct stack_total *x = a, *y = b;

	return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

/* Ascending, as BCC prints them: the biggest stack comes last. */
static int by_bytes(const void *a, const void *b)
{
	const struct stack_total *x = a, *y = b;

	return x->bytes < y->bytes ? -1 : x->bytes > y->bytes;
}

struct collector {
	struct stack_total *v;
	size_t len, cap;
	long long cutoff;	/* CLOCK_MONOTONIC; with --older */
};

static void collect_one(struct collector *c, const struct alloc_info *info)
{
	struct stack_total *grown;

	if (older_ms && (long long)info->ts_ns > c->cutoff)
		return;
	if (c->len == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;

		grown = realloc(c->v, cap * sizeof(*c->v));
		if (!grown)
			return;
		c->v = grown;
		c->cap = cap;
	}
	c->v[c->len++] = (struct stack_total){ info->stack_id, info->size, 1 };
}

#define BATCH 4096

/*
 * Batched reads walk the hash bucket by bucket, so frees racing with the
 * walk cannot send it back to the start (get_next_key on a key deleted
 * meanwhile restarts from the first one); that is the fallback, bounded.
 */
static void read_allocs(int fd, struct collector *c)
{
	static __u64 keys[BATCH];
	static struct alloc_info vals[BATCH];
	__u64 in = 0, out = 0, key, next, *prev = NULL;
	struct alloc_info info;
	bool first = true;
	__u32 count, max = 1 << 18;
	int err;

	for (;;) {
		count = BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys,
					   vals, &count, NULL);
		if (err && errno != ENOENT)
			break;
		for (__u32 i = 0; i < count; i++)
			collect_one(c, &vals[i]);
		if (err)
			return;	/* ENOENT: the last batch */
		in = out;
		first = false;
	}
	if (!first)
		return;
	while (max-- && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &info))
			collect_one(c, &info);
	}
}

/* Every outstanding allocation, folded into one total per stack. */
static struct stack_total *collect(struct memleak_bpf *skel, size_t *n)
{
	struct collector c = {
		.cutoff = (long long)out_mono_ns() - older_ms * 1000000LL,
	};
	size_t out = 0;

	read_allocs(bpf_map__fd(skel->maps.allocs), &c);
	if (c.len)
		qsort(c.v, c.len, sizeof(*c.v), by_stack);
	for (size_t i = 0; i < c.len; i++) {
		if (out && c.v[out - 1].stack_id == c.v[i].stack_id) {
			c.v[out - 1].bytes += c.v[i].bytes;
			c.v[out - 1].count++;
		} else {
			c.v[out++] = c.v[i];
		}
	}
	*n = out;
	return c.v;
}

/* User frames of process pid, or kernel frames if pid is 0. */
static void format_frame(struct syms_cache *c, int pid, __u64 ip, char *buf,
			 size_t len)
{
	struct syms_frame f;

	if (pid)
		syms_user(c, pid, ip, &f);
	else
		syms_kernel_frame(c, ip, &f);
	syms_format(&f, buf, len);
}

static void put_frame(struct out *o, const char *frame)
{
	if (o->json) {
		out_json_key(o, NULL);
		out_json_string(&o->line, frame, strlen(frame));
	} else {
		out_line(o, "\t\t%s", frame);
	}
}

/*
 * --inline: the functions inlined at user frame ip, innermost first, as
 * frames of their own before it. Every user frame is a return address
 * (the stack is taken as the allocator returns): look up the call.
 */
static void put_inlined(const struct memleak_state *st, struct out *o,
			int pid, __u64 ip)
{
	const char *names[INLINES_MAX_DEPTH];
	char frame[512];
	int n;

	if (!st->inlines || !pid)
		return;
	n = inlines_user(st->inlines, st->syms, pid, ip - 1, names,
			 INLINES_MAX_DEPTH);
	for (int i = 0; i < n; i++) {
		snprintf(frame, sizeof(frame), "%s (inlined)", names[i]);
		put_frame(o, frame);
	}
}

static void print_stack(struct session *s, int pid,
			const struct stack_total *t, unsigned long long ts)
{
	struct memleak_state *st = s->tool_state;
	int fd = bpf_map__fd(st->skel->maps.stack_traces);
	__u64 ips[MEMLEAK_STACK_DEPTH] = { 0 };
	__u32 id = (__u32)t->stack_id;
	struct out *o = &s->out;
	char frame[512];
	bool have = t->stack_id >= 0 && !bpf_map_lookup_elem(fd, &id, ips);

	if (o->json) {
		out_record_begin(o);
		out_str(o, OUT_JSON_ONLY, "type", "memleak");
		out_uint(o, OUT_JSON_ONLY, "ts_ns", ts);
		if (s->opts.pid)
			out_int(o, OUT_JSON_ONLY, "pid", s->opts.pid);
		out_uint(o, OUT_JSON_ONLY, "bytes", t->bytes);
		out_uint(o, OUT_JSON_ONLY, "allocations", t->count);
		out_int(o, OUT_JSON_ONLY, "stack_id", t->stack_id);
		if (have)
			out_arr_begin(o, "stack");
		else
			out_null(o, "stack");
	} else {
		out_line(o, "\t%llu bytes in %llu allocations from stack",
			 t->bytes, t->count);
	}
	for (int i = 0; have && i < MEMLEAK_STACK_DEPTH && ips[i]; i++) {
		put_inlined(st, o, pid, ips[i]);
		format_frame(st->syms, pid, ips[i], frame, sizeof(frame));
		put_frame(o, frame);
	}
	if (!have)
		out_line(o, "\t\t[Missed %s Stack]", pid ? "User" : "Kernel");
	if (o->json) {
		if (have)
			out_arr_end(o);
		out_record_end(o);
	}
}

static int on_interval(struct session *s)
{
	struct memleak_state *st = s->tool_state;
	unsigned long long ts = out_now_ns();
	struct stack_total *v;
	char when[16];
	size_t n, first;

	v = collect(st->skel, &n);
	if (n)
		qsort(v, n, sizeof(*v), by_bytes);
	first = n > top ? n - top : 0;
	st->missed_allocs = st->missed_bytes = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].stack_id < 0) {
			st->missed_allocs += v[i].count;
			st->missed_bytes += v[i].bytes;
		}
	}
	/* Mappings change (dlopen): read them again for each report. */
	if (s->opts.pid)
		syms_capture(st->syms, s->opts.pid);
	out_line(&s->out, "[%s] Top %lu stacks with outstanding allocations:",
		 out_strftime(when, sizeof(when), OUT_HMS, ts), top);
	for (size_t i = first; i < n; i++)
		print_stack(s, s->opts.pid, &v[i], ts);
	free(v);
	return out_flush(&s->out);
}

static const struct hook_probe user_probes[] = {
	{ "malloc", {
		{ { "malloc_enter", "malloc_exit", "free_uprobe" } },
	} },
	{ "calloc", { { { "calloc_enter", "calloc_exit" } } } },
	{ "realloc", { { { "realloc_enter", "realloc_exit" } } } },
	{ "posix_memalign", {
		{ { "posix_memalign_enter", "posix_memalign_exit" } },
	} },
	{ "aligned_alloc", {
		{ { "aligned_alloc_enter", "aligned_alloc_exit" } },
	} },
	{ NULL },
};

static const struct hook_probe kernel_probes[] = {
	{ "kmalloc", { { { "kmalloc_tp", "kfree_tp" } } } },
	{ "kmem_cache", {
		{ { "kmem_cache_alloc_tp", "kmem_cache_free_tp" } },
	} },
	{ "pages", { { { "mm_page_alloc_tp", "mm_page_free_tp" } } } },
	{ NULL },
};

/* Programs of the mode not in use are never loaded. */
static void select_mode(struct memleak_state *st, bool user)
{
	const struct hook_probe *off = user ? kernel_probes : user_probes;

	for (int p = 0; off[p].name; p++) {
		const struct hook_candidate *c = &off[p].candidates[0];

		for (int i = 0; i < HOOK_MAX_PROGS && c->progs[i]; i++)
			bpf_program__set_autoload(
				bpf_object__find_program_by_name(
					st->skel->obj, c->progs[i]), false);
	}
}

static struct memleak_state state;

static int memleak_prepare(struct session *s, void *p)
{
	bool user = s->opts.pid > 0;

	state.skel = p;
	state.syms = syms_cache_new();
	if (!state.syms) {
		log_err("out of memory");
		return EXIT_RUNTIME;
	}
	syms_set_demangle(state.syms, !no_demangle);
	if (inline_frames) {
		state.inlines = inlines_new(0);
		if (!state.inlines) {
			log_err("out of memory");
			return EXIT_RUNTIME;
		}
	}
	state.skel->rodata->min_size = min_size;
	state.skel->rodata->max_size = max_size;
	state.skel->rodata->page_size = sysconf(_SC_PAGESIZE);
	select_mode(&state, user);
	/* The session chooses hooks from its tool's table: this mode's. */
	state.mode_tool = *s->tool;
	state.mode_tool.probes = user ? user_probes : kernel_probes;
	s->tool = &state.mode_tool;
	/* BCC prints every 5 seconds unless told otherwise. */
	if (!(s->opts.given & OPT_INTERVAL))
		s->opts.interval = 5;
	s->tool_state = &state;
	return 0;
}

/*
 * The run ends when the process exits, and its mappings go with it: the
 * last report resolves stacks from what is read now and later.
 */
static int memleak_attached(struct session *s, void *skel)
{
	(void)skel;
	if (s->opts.pid > 0)
		syms_capture(state.syms, s->opts.pid);
	return 0;
}

static int memleak_cleanup(struct session *s, int err)
{
	(void)s;
	if (state.missed_allocs)
		log_err("%llu outstanding allocations (%llu bytes) from stacks not recorded (stack map full or colliding)",
			state.missed_allocs, state.missed_bytes);
	inlines_free(state.inlines);
	syms_cache_free(state.syms);
	return err;
}

static const struct tool_opt memleak_opts[] = {
	{ "top", 0, "N", "show the N biggest stacks (default 10)" },
	{ "min-size", 'z', "BYTES", "ignore allocations smaller than BYTES" },
	{ "max-size", 'Z', "BYTES", "ignore allocations larger than BYTES" },
	{ "older", 'o', "MS", "only allocations older than MS milliseconds" },
	STACKS_NO_DEMANGLE_OPT,
	STACKS_INLINE_OPT,
	{ NULL },
};

static int memleak_parse_opt(int index, const char *arg)
{
	unsigned long long v;

	switch (index) {
	case 0:
		if (opts_uint("--top", arg, 1, 100000, "a number of stacks",
			      &v))
			return EXIT_USAGE;
		top = v;
		break;
	case 1:
	case 2:
		if (opts_uint(index == 1 ? "--min-size" : "--max-size", arg,
			      0, ~0ULL, "bytes", &v))
			return EXIT_USAGE;
		if (index == 1)
			min_size = v;
		else
			max_size = v;
		break;
	case 3:
		/* As long as the longest --duration: ns fit in 64 bits. */
		if (opts_uint("--older", arg, 0, OPTS_MAX_SECONDS * 1000,
			      "milliseconds", &v))
			return EXIT_USAGE;
		older_ms = v;
		break;
	case 4:
		no_demangle = true;
		break;
	default:
		inline_frames = true;
		break;
	}
	if (min_size > max_size) {
		log_err("--min-size is larger than --max-size");
		return EXIT_USAGE;
	}
	return 0;
}

static const struct hook_probe memleak_probes[] = {
	{ "user alloc", {
		{ { "malloc_enter", "malloc_exit", "free_uprobe",
		    "calloc_enter", "calloc_exit", "realloc_enter",
		    "realloc_exit" } },
	} },
	{ "user memalign", {
		{ { "posix_memalign_enter", "posix_memalign_exit",
		    "aligned_alloc_enter", "aligned_alloc_exit" } },
	} },
	{ "kernel alloc", {
		{ { "kmalloc_tp", "kfree_tp", "kmem_cache_alloc_tp",
		    "kmem_cache_free_tp", "mm_page_alloc_tp",
		    "mm_page_free_tp" } },
	} },
	{ NULL },
};

TOOL_SKEL(memleak);

static const struct tool memleak_tool = {
	.name = "memleak",
	.summary = "Outstanding allocations by stack: a process's libc heap (-p) or the kernel's",
	.examples =
		"  loupe memleak -p 181          # PID 181's malloc/free, top 10 stacks every 5 s\n"
		"  loupe memleak                 # kernel allocations (kmalloc, slabs, pages)\n"
		"  loupe memleak -p 181 -o 10000 -i 30  # blocks older than 10 s, every 30 s\n"
		"  loupe memleak -p 181 -j --top 3      # as JSON, one object per stack\n",
	.common = OPT_PID | OPT_DURATION | OPT_INTERVAL | OPT_JSON,
	.opts = memleak_opts,
	.parse_opt = memleak_parse_opt,
	.probes = memleak_probes,
	.skel = &memleak_skel,
	.on_interval = on_interval,
	.prepare = memleak_prepare,
	.attached = memleak_attached,
	.cleanup = memleak_cleanup,
};
TOOL_REGISTER(memleak_tool);

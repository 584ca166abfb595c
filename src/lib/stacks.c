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
#include "inlines.h"
#include "log.h"
#include "session.h"
#include "stacks.h"
#include "unwind.h"

/* One report of the counted stacks, read from the tool's maps. */
struct stacks_report {
	const char *unit;	/* "samples", "us" */
	unsigned long long divisor;	/* map value / divisor = count */
	bool folded;
	bool user, kernel;	/* halves collected */
	int counts_fd, stackmap_fd, stats_fd;
	struct syms_cache *syms;
	struct inlines *inlines;	/* --inline, or NULL */
	const struct ustacks *ustacks;	/* user-space counts, or NULL */
	int pid;		/* -p, or 0 */
	long long pid_cpu_ns;	/* its CPU time while counted, or -1 */
};

/* Frames of a user half: every address and the functions inlined there. */
#define STACKS_MAX_FRAMES	(4 * STACKS_MAX_DEPTH)

struct entry {
	struct stack_key key;
	__u64 value;
	const struct ustack *u;	/* user-space count: its user frames */
};

/*
 * --unwind dwarf: samples are counted here, after their user stack was
 * walked, keyed by what the kernel's key holds with the frames in place
 * of the user stack id (an open-addressing table, a power of two slots).
 */
struct ustack {
	struct stack_key key;	/* user_stack_id unused */
	uint64_t *ips;		/* NULL: a free slot */
	int n;
	unsigned long long count;
	uint64_t hash;
};

struct ustacks {
	struct ustack *v;
	size_t n, cap;
	unsigned long long full;	/* samples beyond STACKS_MAX_KEYS */
	unsigned long long truncated;	/* stacks the copy ended early */
	unsigned long long pending_full;	/* copies with no room to wait */
};

static uint64_t ustack_hash(const struct stack_key *k, const uint64_t *ips,
			    int n)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	for (int i = 0; i < n; i++)
		h = (h ^ ips[i]) * 0x100000001b3ULL;
	return h;
}

static int ustacks_grow(struct ustacks *us)
{
	size_t cap = us->cap ? us->cap * 2 : 1024;
	struct ustack *v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < us->cap; i++) {
		size_t j;

		if (!us->v[i].ips)
			continue;
		for (j = us->v[i].hash & (cap - 1); v[j].ips;
		     j = (j + 1) & (cap - 1))
			;
		v[j] = us->v[i];
	}
	free(us->v);
	us->v = v;
	us->cap = cap;
	return 0;
}

/* Adds value (1 sample, or nanoseconds off CPU) to a walked stack. */
static void ustacks_add(struct ustacks *us, const struct stack_key *k,
			const uint64_t *ips, int n, unsigned long long value)
{
	uint64_t h = ustack_hash(k, ips, n);
	struct ustack *e;
	size_t i;

	if (us->n * 2 >= us->cap && ustacks_grow(us))
		goto full;
	for (i = h & (us->cap - 1); us->v[i].ips; i = (i + 1) & (us->cap - 1)) {
		e = &us->v[i];
		if (e->hash == h && e->n == n &&
		    !memcmp(&e->key, k, sizeof(*k)) &&
		    !memcmp(e->ips, ips, n * sizeof(*ips))) {
			e->count += value;
			return;
		}
	}
	if (us->n >= STACKS_MAX_KEYS)
		goto full;
	e = &us->v[i];
	/* One more slot: a walk that found nothing is kept as well. */
	e->ips = malloc((n + 1) * sizeof(*ips));
	if (!e->ips)
		goto full;
	memcpy(e->ips, ips, n * sizeof(*ips));
	e->key = *k;
	e->n = n;
	e->count = value;
	e->hash = h;
	us->n++;
	return;
full:
	us->full++;
}

/*
 * offcputime --unwind dwarf: a thread's stack is walked when its copy
 * arrives, at the switch-out, and waits here by thread id for the time
 * off CPU (struct stacks_done) that comes when the thread is back. A
 * thread's next copy replaces its entry (a period too short to count
 * sends no time), so entries follow the threads, at most
 * UPENDING_MAX of them.
 */
#define UPENDING_BUCKETS	4096
#define UPENDING_MAX		32768	/* offcputime's OFFCPU_MAX_BLOCKED */

struct upend {
	struct upend *next;
	__u32 tid;
	__u64 ts_ns;
	struct stack_key key;
	int n;
	uint64_t ips[];
};

struct upending {
	struct upend *bucket[UPENDING_BUCKETS];
	size_t n;
};

static struct upend **upending_find(struct upending *up, __u32 tid)
{
	struct upend **pp = &up->bucket[tid % UPENDING_BUCKETS];

	while (*pp && (*pp)->tid != tid)
		pp = &(*pp)->next;
	return pp;
}

static void upending_put(struct upending *up, struct ustacks *us, __u32 tid,
			 __u64 ts_ns, const struct stack_key *k,
			 const uint64_t *ips, int n)
{
	struct upend **pp = upending_find(up, tid), *e = *pp;

	if (e) {
		*pp = e->next;
		free(e);
		up->n--;
	}
	e = up->n < UPENDING_MAX ? malloc(sizeof(*e) + n * sizeof(*ips)) :
				   NULL;
	if (!e) {
		us->pending_full++;
		return;
	}
	e->tid = tid;
	e->ts_ns = ts_ns;
	e->key = *k;
	e->n = n;
	memcpy(e->ips, ips, n * sizeof(*ips));
	e->next = up->bucket[tid % UPENDING_BUCKETS];
	up->bucket[tid % UPENDING_BUCKETS] = e;
	up->n++;
}

/*
 * The time off CPU of the copy tid sent at ts_ns: counted on its walked
 * stack. A copy the ring had no room for (a loss counted as such) has
 * nothing waiting, or an older entry that does not match.
 */
static void upending_done(struct upending *up, struct ustacks *us,
			  const struct stacks_done *d)
{
	struct upend **pp = upending_find(up, d->tid), *e = *pp;

	if (!e || e->ts_ns != d->ts_ns)
		return;
	ustacks_add(us, &e->key, e->ips, e->n, d->value);
	*pp = e->next;
	free(e);
	up->n--;
}

static void upending_free(struct upending *up)
{
	if (!up)
		return;
	for (size_t i = 0; i < UPENDING_BUCKETS; i++) {
		while (up->bucket[i]) {
			struct upend *e = up->bucket[i];

			up->bucket[i] = e->next;
			free(e);
		}
	}
	free(up);
}

static void ustacks_free(struct ustacks *us)
{
	if (!us)
		return;
	for (size_t i = 0; i < us->cap; i++)
		free(us->v[i].ips);
	free(us->v);
	free(us);
}

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
	if (f->inlined)
		out_buf_add(b, "_[i]", 4);
	else if (f->kind == SYMS_KERNEL)
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

static struct entry *read_counts(int fd, const struct ustacks *us, size_t *n)
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
		v[len].u = NULL;
		if (!bpf_map_lookup_elem(fd, &key, &v[len].value))
			len++;
	}
	for (size_t i = 0; us && i < us->cap; i++) {
		if (!us->v[i].ips)
			continue;
		if (len == cap) {
			cap = cap ? cap * 2 : 1024;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[len++] = (struct entry){ us->v[i].key, us->v[i].count,
					   &us->v[i] };
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
 * --inline: the functions inlined at user frame f (just resolved), put
 * before it, innermost first, as perf report --inline does; room frames
 * are free at f. The number added.
 */
static int add_inlined(struct symbolizer *z, int pid, uint64_t addr,
		       struct syms_frame *f, int room)
{
	const char *names[INLINES_MAX_DEPTH];
	struct syms_frame real = *f;
	int n;

	if (!z->r->inlines || f->kind != SYMS_USER || room < 2)
		return 0;
	n = inlines_user(z->r->inlines, z->r->syms, pid, addr, names,
			 room - 1 < INLINES_MAX_DEPTH ? room - 1 :
			 INLINES_MAX_DEPTH);
	for (int i = 0; i < n; i++)
		f[i] = (struct syms_frame){
			.addr = real.addr, .kind = SYMS_USER, .name = names[i],
			.module = real.module, .inlined = true,
		};
	f[n] = real;
	return n;
}

/*
 * Symbolizes one half. Every frame but the leaf is a return address,
 * which may already be past the end of its caller (a call as the last
 * instruction): look up the byte before it.
 */
static void symbolize(struct symbolizer *z, int pid, __s32 id, bool user,
		      const struct ustack *us, uint64_t *ips,
		      struct syms_frame *frames, struct stacks_half *h)
{
	int n;

	memset(h, 0, sizeof(*h));
	h->frames = frames;
	if (us) {
		n = us->n < STACKS_MAX_DEPTH ? us->n : STACKS_MAX_DEPTH;
		memcpy(ips, us->ips, n * sizeof(*ips));
	} else if (id == STACK_ID_NONE) {
		return;
	} else {
		n = id < 0 ? 0 : addr_stack(z->r->stackmap_fd, id, ips,
					    STACKS_MAX_DEPTH);
	}
	if (!n) {
		h->missed = true;
		return;
	}
	for (int i = 0; i < n && h->n < STACKS_MAX_FRAMES; i++) {
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
		if (user && !err)
			h->n += add_inlined(z, pid, addr, f,
					    STACKS_MAX_FRAMES - h->n);
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

		out_buf_add(b, "    ", 4);
		if (fr->name)
			out_table_escape(b, fr->name, strlen(fr->name));
		else
			out_buf_add(b, "[unknown]", 9);
		if (fr->inlined)
			out_buf_add(b, " (inlined)", 10);
		if (fr->kind == SYMS_KERNEL && fr->module && fr->name)
			out_buf_printf(b, " [%s]", fr->module);
		out_buf_add(b, "\n", 1);
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
			/* an inlined function has no symbol to be inside of */
			if (!fr->inlined)
				out_uint(o, OUT_JSON_ONLY, "offset",
					 fr->offset);
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
		if (fr->inlined)
			out_bool(o, "inlined", true);
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
	if (r->ustacks)
		st[STACKS_COUNTS_FULL] += r->ustacks->full;
	if (st[STACKS_COUNTS_FULL])
		log_err("%llu %s dropped: more than %d distinct stacks",
			st[STACKS_COUNTS_FULL], counted_what(r), STACKS_MAX_KEYS);
	if (r->ustacks)
		st[STACKS_START_FULL] += r->ustacks->pending_full;
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

	v = read_counts(r->counts_fd, r->ustacks, &n);
	if (r->kernel && v)
		prepare_kernel(r, v, n);
	uf = calloc(STACKS_MAX_FRAMES, sizeof(*uf));
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
		symbolize(&z, k->pid, k->user_stack_id, true, v[i].u, ips, uf,
			  &u);
		symbolize(&z, k->pid, k->kernel_stack_id, false, NULL, ips, kf,
			  &kh);
		if (o->json) {
			out_record_begin(o);
			out_str(o, OUT_JSON_ONLY, "type", "stack");
			out_uint(o, OUT_JSON_ONLY, "ts_ns", ts);
			out_uint(o, OUT_JSON_ONLY, "pid", k->pid);
			out_str(o, OUT_JSON_ONLY, "comm", comm);
			out_uint(o, OUT_JSON_ONLY, "count", count);
			out_str(o, OUT_JSON_ONLY, "unit", r->unit);
			/* --unwind dwarf/auto: how it was walked */
			if (r->ustacks && r->user)
				out_str(o, OUT_JSON_ONLY, "unwind",
					v[i].u ? "dwarf" : "fp");
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
			/* a command name is the process's own choice of bytes */
			out_buf_printf(&line, "    %-16s ", "-");
			out_table_escape(&line, comm, strlen(comm));
			out_buf_printf(&line, " (%u)", k->pid);
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

/*
 * --unwind auto: the first time a process is announced, frame pointers
 * for it if its executable keeps them (the kernel walks its stacks, no
 * copy), else the copy and a walk by CFI. True if it is walked by fp.
 */
static bool stacks_choose_unwind(struct stacks_tool *t, __u32 pid)
{
	int fd = bpf_object__find_map_fd_by_name(t->obj, "fp_pids");
	__u8 fp;

	if (fd < 0)
		return false;
	if (bpf_map_lookup_elem(fd, &pid, &fp)) {
		fp = unwind_exe_has_fp(pid);
		bpf_map_update_elem(fd, &pid, &fp, BPF_ANY);
	}
	return fp;
}

/*
 * The ring-buffer callback of an announced process: captures its
 * mappings (and with --unwind dwarf reads its modules for the walks).
 */
static int stacks_on_pid(struct stacks_tool *t, const void *data,
			 size_t size)
{
	const struct stacks_pid_event *e = data;

	if (size < sizeof(*e))
		return 0;
	syms_capture(t->syms, e->pid);
	if (t->unwind == STACKS_UNWIND_AUTO && stacks_choose_unwind(t, e->pid))
		return 0;
	if (t->unwinder)
		unwind_prepare(t->unwinder, e->pid);
	return 0;
}

/* --unwind dwarf: one sample, walked and counted. */
static int stacks_on_sample(struct stacks_tool *t,
			    const struct stacks_sample *e)
{
	uint64_t ips[STACKS_MAX_DEPTH];
	struct stack_key k = {
		.pid = e->pid,
		.user_stack_id = STACK_ID_NONE,
		.kernel_stack_id = e->kernel_stack_id,
	};
	size_t len = e->size < STACKS_COPY_MAX ? e->size : STACKS_COPY_MAX;
	int n;

	memcpy(k.comm, e->comm, sizeof(k.comm));
	n = unwind_stack(t->unwinder, e->pid, e->tid,
			 (const uint64_t *)e->regs,
			 STACKS_NREGS, e->stack, len, ips, STACKS_MAX_DEPTH);
	if (t->pending)
		upending_put(t->pending, t->ustacks, e->tid, e->ts_ns, &k, ips,
			     n);
	else
		ustacks_add(t->ustacks, &k, ips, n, 1);
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
	case 5:
		t->no_demangle = true;
		break;
	case 7:
		t->inline_frames = true;
		break;
	case 6:
		return stacks_parse_unwind(arg, &t->unwind);
	}
	return 0;
}

static const char *const unwind_names[] = {
	[STACKS_UNWIND_FP] = "fp",
	[STACKS_UNWIND_DWARF] = "dwarf",
	[STACKS_UNWIND_AUTO] = "auto",
};

bool stacks_unwind_of_name(const char *name, enum stacks_unwind *out)
{
	for (size_t i = 0; i < sizeof(unwind_names) / sizeof(*unwind_names);
	     i++)
		if (!strcmp(name, unwind_names[i])) {
			*out = i;
			return true;
		}
	return false;
}

const char *stacks_unwind_name(enum stacks_unwind u)
{
	return unwind_names[u];
}

int stacks_parse_unwind(const char *arg, enum stacks_unwind *out)
{
	if (stacks_unwind_of_name(arg, out))
		return 0;
	log_err("invalid --unwind '%s': fp, dwarf or auto", arg);
	return EXIT_USAGE;
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
	if (t->unwind != STACKS_UNWIND_FP && t->kernel_only) {
		log_err("--unwind dwarf/auto walks user stacks: not with -K");
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
	syms_set_demangle(t->syms, !t->no_demangle);
	if (t->inline_frames) {
		t->inlines = inlines_new(0);
		if (!t->inlines) {
			log_err("out of memory");
			return EXIT_RUNTIME;
		}
	}
	if (t->unwind != STACKS_UNWIND_FP) {
		t->unwinder = unwind_new(UNWIND_MAX_PROCS);
		t->ustacks = calloc(1, sizeof(*t->ustacks));
		if (t->copy_waits)
			t->pending = calloc(1, sizeof(*t->pending));
		if (!t->unwinder || !t->ustacks ||
		    (t->copy_waits && !t->pending)) {
			log_err("out of memory");
			return EXIT_RUNTIME;
		}
		/* Room for a few hundred samples between two drains. */
		s->ring_size = STACKS_COPY_RING;
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

	if (size >= sizeof(struct stacks_sample) && t->ustacks)
		return stacks_on_sample(t, data);
	if (size == sizeof(struct stacks_done) && t->pending) {
		upending_done(t->pending, t->ustacks, data);
		return 0;
	}
	return stacks_on_pid(t, data, size);
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
		.inlines = t->inlines,
		.ustacks = t->ustacks,
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
	inlines_free(t->inlines);
	t->inlines = NULL;
	unwind_free(t->unwinder);
	t->unwinder = NULL;
	ustacks_free(t->ustacks);
	t->ustacks = NULL;
	upending_free(t->pending);
	t->pending = NULL;
	return err;
}

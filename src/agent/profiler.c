/*
 * The agent's continuous profiler (profiler.h). The kernel counts CPU
 * samples (and off-CPU time while a request asks for it) by stack; a
 * thread of the profiler's own drains those counts each second, deletes
 * the stacks it read, symbolizes the frames and files them in a ring of
 * per-second buckets that covers the longest window a request may ask
 * for. Frames, mappings and names are interned with reference counts,
 * so a bucket that leaves the ring frees what only it used: memory
 * follows the last five minutes' distinct stacks, not the uptime. A
 * request waits, suspended, for its window's buckets and gets them
 * merged as a gzip'd pprof profile.proto.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "container.h"
#include "http.h"
#include "inlines.h"
#include "log.h"
#include "opts.h"
#include "out.h"
#include "flame.h"
#include "pb.h"
#include "privs.h"
#include "profiler.h"
#include "profiler.skel.h"
#include "session.h"
#include "stacks.h"
#include "syms.h"
#include "unwind.h"

#define PROF_MAX_SECONDS	300
#define PROF_DEFAULT_SECONDS	30
/* buckets kept: the longest window, and the one being filled */
#define PROF_HISTORY		(PROF_MAX_SECONDS + 2)
/* distinct (process, stack) entries per kind and second; more: dropped */
#define PROF_BUCKET_MAX		4096
#define PROF_INTERN_SLOTS	4096
/*
 * User symbols are read afresh this often, so exited processes go, or
 * after 30 s when the heap passes PROF_HEAP_MAX. The function indexes of
 * the objects sampled (libLLVM's is 0.54 MB) stay within
 * PROF_SYMS_BUDGET (syms_set_budget(): a hard cap, the least recently
 * used are closed past it).
 */
#define PROF_SYMS_BUDGET	(4 << 20)
#define PROF_SYMS_REFRESH_S	600
#define PROF_SYMS_MIN_AGE_S	30
#define PROF_HEAP_MAX		(6 << 20)
#define PROF_MAX_CPUS		1024
#define PROF_MMAP_THRESHOLD	(128 << 10)
/*
 * Kernel addresses whose names are cached, and
 * new ones looked up per profile at most. All of kallsyms in memory would
 * be 10 MB, reading it each second 5% of a CPU: kernel frames are named
 * when a profile is built, the addresses new to the cache in one pass.
 */
#define PROF_KCACHE		32768	/* emptied before a profile if half full */
#define PROF_KMISS		16384
#define MAX_PID			4194304
/* --inline: DWARF kept open (inlines.h), and inlined names per frame */
#define PROF_INLINE_BUDGET	(8UL << 20)
#define PROF_MAX_INLINE		8
/*
 * --unwind dwarf|auto: copies walked per drain at most (the rest wait in
 * the ring for the next second), and the ring: two seconds of samples of
 * every CPU at --profile-hz, between 1 and 16 MB.
 */
#define PROF_COPIES_MAX		2048
/* off-CPU time sent again for a walked state, per drain at most */
#define PROF_AGAIN_MAX		PROF_MAX_KEYS
/*
 * off-CPU copies the ring has room for per second beyond the CPU
 * samples' (more, in one second: counted frame-pointer walked)
 */
#define PROF_OFFCPU_COPIES_S	64
/* threads whose last walked off-CPU user stack is kept (for AGAIN) */
#define PROF_WALKED		PROF_OFFCPU_COPIED
/*
 * an off-CPU block whose thread has not returned from its system call
 * this long after it came back is counted frame-pointer walked
 */
#define PROF_WAIT_STALE_NS	1000000000ULL
/* stack ids a drain may have read: counts, copies, stale waits (2 each) */
#define PROF_MAX_USED	(2 * (2 * PROF_MAX_KEYS + PROF_COPIES_MAX + \
			      PROF_AGAIN_MAX + PROF_MAX_BLOCKED))
#define PROF_COPY_RING_MIN	(1UL << 20)
#define PROF_COPY_RING_MAX	(16UL << 20)
/* processes whose modules are re-read per drain before their walks */
#define PROF_PREPARED		512
/*
 * processes whose libdw sessions stay open (LRU), and the heap they may
 * hold (unwind_set_budget(): the least recently used are closed past
 * it); all of it is dropped whenever the user symbols are read afresh
 */
#define PROF_UNWIND_PROCS	64
#define PROF_UNWIND_BUDGET	(32UL << 20)

enum prof_kind { PROF_CPU, PROF_OFFCPU, PROF_NKINDS };

enum blob_type { BLOB_STR, BLOB_MAP, BLOB_STACK, BLOB_NAMES };

/* An interned, reference-counted value: a string, a mapping or a stack. */
struct blob {
	struct blob *next;
	uint32_t hash, refs, len;
	enum blob_type type;
	char data[];
};

/* A BLOB_MAP; path and build_id are BLOB_STRs (build_id may be NULL). */
struct prof_map {
	uint64_t start, limit, offset;
	struct blob *path, *build_id;
	bool kernel;
};

/* A BLOB_STACK is an array of these, leaf first. */
struct prof_frame {
	uint64_t addr;
	struct blob *name;	/* NULL: not resolved, or a kernel frame */
	struct blob *map;	/* NULL: in no file */
	/* --inline: a BLOB_NAMES, the functions inlined at addr, or NULL */
	struct blob *inl;
};

/*
 * The cgroup path and the container are read when the entry is filed,
 * while the cgroup still exists: a profile of a container that has
 * since gone still names it.
 */
struct prof_entry {
	uint32_t tgid;
	struct blob *comm, *stack;
	uint64_t cgroup_id;
	struct blob *cgroup;	/* its v2 path, NULL if unknown */
	struct blob *container;	/* name, else short id; NULL: none */
	struct blob *pod, *pod_namespace;	/* Kubernetes' names or NULL */
	uint64_t count, ns;
};

struct prof_bucket {
	uint64_t seq;
	struct prof_entry *v[PROF_NKINDS];
	size_t n[PROF_NKINDS], cap[PROF_NKINDS];
};

/* A request waiting for its window: buckets first..last. */
struct prof_pending {
	struct prof_pending *next;
	struct http_request *req;
	enum prof_kind kind;
	uint64_t first, last;
	uint32_t tgid;		/* 0: every process */
	char *cgroup;		/* a v2 path and below; NULL: all */
	char what[96];		/* the filter, for a flame graph's title */
	uint64_t start_real_ns;
	bool flame;		/* an SVG of the last seconds, not pprof */
};

struct profiler {
	struct profiler_bpf *skel;
	struct bpf_link *links[PROF_MAX_CPUS];
	int nlinks;
	struct bpf_link *offcpu_link;
	struct bpf_link *return_link;	/* --unwind: sys_exit */
	unsigned int hz;
	struct syms_cache *usyms;
	struct inlines *inlines;	/* --inline, else NULL */
	bool demangle;		/* user names demangled (not --no-demangle) */
	/* --unwind dwarf|auto: CPU and off-CPU samples walked by CFI */
	enum stacks_unwind unwind;
	struct unwinder *unwinder;
	struct ring_buffer *copies;
	/* the drain in progress, for on_copy() */
	struct prof_bucket *cur;
	size_t copies_from[PROF_NKINDS];	/* first entry from a copy */
	int32_t *used;
	size_t nused, ncopies, nagain;
	/* each thread's last walked off-CPU user stack (by tid % slots) */
	struct {
		uint32_t tid, n;
		uint64_t *ips;
	} walked[PROF_WALKED];
	uint32_t prepared[PROF_PREPARED];	/* this drain's, 0: free */
	/* kernel addresses to their names (blobs), open addressing */
	struct {
		uint64_t addr;
		struct blob *name;
		bool tracing;	/* stacks_tracing_frame() */
	} kcache[PROF_KCACHE];
	size_t nkcache;
	uint64_t kmiss[PROF_KMISS];
	uint64_t usyms_born_ns;
	struct blob *slots[PROF_INTERN_SLOTS];
	struct blob *kernel_map;
	struct prof_bucket ring[PROF_HISTORY];
	uint64_t seq;		/* buckets filled so far */
	uint64_t user_dropped;
	uint32_t offcpu_epoch;
	/* lock: pending, seq and stopping, shared with the HTTP threads */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct prof_pending *pending;
	int offcpu_waiting;
	bool stopping, thread_started;
	pthread_t thread;
	/* the drain's scratch space */
	struct prof_key *keys;
	struct prof_value *vals;
};

/* ------------------------------------------------------------ intern */

static uint32_t hash_bytes(const void *p, size_t n, uint32_t h)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 16777619u;
	return h;
}

/* The interned copy of data (a new reference), or NULL without memory. */
static struct blob *intern(struct profiler *p, enum blob_type type,
			   const void *data, size_t len)
{
	uint32_t h = hash_bytes(data, len, 2166136261u ^ type);
	struct blob **slot = &p->slots[h % PROF_INTERN_SLOTS], *b;

	for (b = *slot; b; b = b->next)
		if (b->hash == h && b->type == type && b->len == len &&
		    !memcmp(b->data, data, len)) {
			b->refs++;
			return b;
		}
	b = malloc(sizeof(*b) + len + 1);
	if (!b)
		return NULL;
	b->hash = h;
	b->refs = 1;
	b->len = len;
	b->type = type;
	memcpy(b->data, data, len);
	b->data[len] = '\0';
	b->next = *slot;
	*slot = b;
	return b;
}

static struct blob *intern_str(struct profiler *p, const char *s)
{
	return s ? intern(p, BLOB_STR, s, strlen(s)) : NULL;
}

static void release(struct profiler *p, struct blob *b)
{
	struct blob **slot;

	if (!b || --b->refs)
		return;
	for (slot = &p->slots[b->hash % PROF_INTERN_SLOTS]; *slot != b;
	     slot = &(*slot)->next)
		;
	*slot = b->next;
	if (b->type == BLOB_MAP) {
		struct prof_map *m = (struct prof_map *)b->data;

		release(p, m->path);
		release(p, m->build_id);
	} else if (b->type == BLOB_STACK) {
		struct prof_frame *f = (struct prof_frame *)b->data;

		for (size_t i = 0; i < b->len / sizeof(*f); i++) {
			release(p, f[i].name);
			release(p, f[i].map);
			release(p, f[i].inl);
		}
	} else if (b->type == BLOB_NAMES) {
		struct blob **v = (struct blob **)b->data;

		for (size_t i = 0; i < b->len / sizeof(*v); i++)
			release(p, v[i]);
	}
	free(b);
}

/* ------------------------------------------------------------ drain */

static void bucket_clear(struct profiler *p, struct prof_bucket *b)
{
	for (int k = 0; k < PROF_NKINDS; k++) {
		for (size_t i = 0; i < b->n[k]; i++) {
			release(p, b->v[k][i].comm);
			release(p, b->v[k][i].stack);
			release(p, b->v[k][i].cgroup);
			release(p, b->v[k][i].container);
			release(p, b->v[k][i].pod);
			release(p, b->v[k][i].pod_namespace);
		}
		b->n[k] = 0;
	}
}

static struct blob *user_map(struct profiler *p, int pid, uint64_t addr)
{
	struct prof_map m = { 0 };
	struct syms_map sm;
	struct blob *b;

	if (syms_user_map(p->usyms, pid, addr, &sm) || !sm.path)
		return NULL;
	m.start = sm.start;
	m.limit = sm.end;
	m.offset = sm.offset;
	m.path = intern_str(p, sm.path);
	m.build_id = intern_str(p, sm.build_id);
	b = intern(p, BLOB_MAP, &m, sizeof(m));
	/* the map's own references are the ones intern gave us */
	if (b && b->refs > 1) {
		release(p, m.path);
		release(p, m.build_id);
	}
	return b;
}

/* The cache slot of a kernel address (the free one it would take). */
static size_t kcache_slot(struct profiler *p, uint64_t addr)
{
	size_t i = (addr * 0x9e3779b97f4a7c15ULL >> 32) % PROF_KCACHE;

	while (p->kcache[i].addr && p->kcache[i].addr != addr)
		i = (i + 1) % PROF_KCACHE;
	return i;
}

static void kcache_clear(struct profiler *p)
{
	for (size_t i = 0; i < PROF_KCACHE; i++) {
		release(p, p->kcache[i].name);
		p->kcache[i].addr = 0;
		p->kcache[i].name = NULL;
		p->kcache[i].tracing = false;
	}
	p->nkcache = 0;
}

/*
 * Names the kernel addresses in p->kmiss (n of them) that the cache does
 * not know, reading only their symbols from /proc/kallsyms.
 */
static void kcache_fill(struct profiler *p, size_t n)
{
	struct syms_frame sf;
	struct syms_cache *c;

	if (!n)
		return;
	c = syms_cache_new();
	if (!c || syms_kernel_prepare(c, p->kmiss, n))
		n = 0;
	for (size_t i = 0; i < n; i++) {
		size_t slot = kcache_slot(p, p->kmiss[i]);

		if (p->kcache[slot].addr)
			continue;
		if (p->nkcache >= PROF_KCACHE * 3 / 4)
			break;
		/* an address without a symbol is cached as such (NULL) */
		syms_kernel_frame(c, p->kmiss[i], &sf);
		p->kcache[slot].name = intern_str(p, sf.name);
		p->kcache[slot].tracing = stacks_tracing_frame(&sf);
		p->kcache[slot].addr = p->kmiss[i];
		p->nkcache++;
	}
	syms_cache_free(c);
}

/*
 * --inline: the functions inlined at user address addr as a BLOB_NAMES
 * (innermost first), or NULL if none.
 */
static struct blob *inlined_names(struct profiler *p, uint32_t tgid,
				  uint64_t addr)
{
	const char *names[PROF_MAX_INLINE];
	struct blob *v[PROF_MAX_INLINE], *b = NULL;
	int n = inlines_user(p->inlines, p->usyms, tgid, addr, names,
			     PROF_MAX_INLINE);

	for (int i = 0; i < n; i++) {
		v[i] = intern_str(p, names[i]);
		if (!v[i]) {
			n = i;
			goto out;
		}
	}
	b = n ? intern(p, BLOB_NAMES, v, n * sizeof(*v)) : NULL;
	/* a new list holds its names' references, an existing one its own */
	if (b && b->refs == 1)
		return b;
out:
	for (int i = 0; i < n; i++)
		release(p, v[i]);
	return b;
}

/* Symbolizes one half of a stack into f (leaf first): frames added. */
static int symbolize(struct profiler *p, const uint64_t *ips, bool kernel,
		     uint32_t tgid, struct prof_frame *f, int room)
{
	struct syms_frame sf;
	int n = 0;

	for (int i = 0; i < PROF_MAX_DEPTH && ips[i] && n < room; i++, n++) {
		f[n].addr = ips[i];
		f[n].inl = NULL;
		if (kernel) {
			/* named when a profile is built (kcache_fill) */
			f[n].map = p->kernel_map;
			f[n].map->refs++;
			f[n].name = NULL;
			continue;
		}
		syms_user(p->usyms, tgid, ips[i], &sf);
		f[n].map = user_map(p, tgid, ips[i]);
		f[n].name = intern_str(p, sf.name);
		/* a return address: the call is the byte before it */
		if (p->inlines && sf.name)
			f[n].inl = inlined_names(p, tgid, i ? ips[i] - 1 :
						 ips[i]);
	}
	return n;
}

static bool stack_ips(struct profiler *p, int32_t id, uint64_t *ips)
{
	memset(ips, 0, PROF_MAX_DEPTH * sizeof(*ips));
	return id < 0 ||
	       !bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.stacks), &id,
				    ips);
}

/*
 * A half the kernel could not record (its stack map bucket held another
 * stack) is one frame named like BCC's profile names it: its time stays
 * visible as lost rather than passing for a shorter stack.
 */
static int lost_marker(struct profiler *p, int32_t id, const char *name,
		       struct prof_frame *f)
{
	if (id != PROF_STACK_LOST)
		return 0;
	f->addr = 0;
	f->map = NULL;
	f->inl = NULL;
	f->name = intern_str(p, name);
	return 1;
}

/*
 * The interned stack of a key, or NULL (its stacks are gone); uips: the
 * user half walked in user space (leaf first, 0-terminated) instead of
 * the key's user stack id.
 */
static struct blob *key_stack(struct profiler *p, const struct prof_key *k,
			      const uint64_t *uips)
{
	static struct prof_frame f[2 * PROF_MAX_DEPTH];
	static uint64_t ips[PROF_MAX_DEPTH];
	struct blob *b;
	int n = 0;

	if (!stack_ips(p, k->kernel_stack, ips))
		return NULL;
	n += symbolize(p, ips, true, k->tgid, f, PROF_MAX_DEPTH);
	n += lost_marker(p, k->kernel_stack, "[Missed Kernel Stack]", f + n);
	b = NULL;
	if (uips) {
		n += symbolize(p, uips, false, k->tgid, f + n, PROF_MAX_DEPTH);
		if (!uips[0])
			n += lost_marker(p, PROF_STACK_LOST,
					 "[Missed User Stack]", f + n);
		b = intern(p, BLOB_STACK, f, n * sizeof(*f));
	} else if (stack_ips(p, k->user_stack, ips)) {
		n += symbolize(p, ips, false, k->tgid, f + n, PROF_MAX_DEPTH);
		n += lost_marker(p, k->user_stack, "[Missed User Stack]",
				 f + n);
		b = intern(p, BLOB_STACK, f, n * sizeof(*f));
	}
	/* an existing stack already holds its frames' references */
	if (!b || b->refs > 1)
		for (int i = 0; i < n; i++) {
			release(p, f[i].name);
			release(p, f[i].map);
			release(p, f[i].inl);
		}
	return b;
}

/* The entry's cgroup path and container (see struct prof_entry). */
static void entry_cgroup(struct profiler *p, struct prof_entry *e,
			 uint64_t id)
{
	char path[PATH_MAX], label[CONTAINER_SHORT_ID + 1];
	struct container_info c;

	e->cgroup = intern_str(p, cgroup_path(id, path, sizeof(path)));
	e->container = e->pod = e->pod_namespace = NULL;
	if (!container_of_cgroup(id, &c))
		return;
	snprintf(label, sizeof(label), "%.12s", c.ref.id);
	e->container = intern_str(p, c.name[0] ? c.name : label);
	if (c.pod[0])
		e->pod = intern_str(p, c.pod);
	if (c.namespace[0])
		e->pod_namespace = intern_str(p, c.namespace);
}

/*
 * A walked sample of the same process, thread name, cgroup and stack as
 * an earlier one of this drain: counted there.
 */
static bool copy_merge(struct profiler *p, struct prof_bucket *b,
		       enum prof_kind kind, const struct prof_key *k,
		       const struct prof_value *v, struct blob *stack)
{
	size_t len = strnlen(k->comm, PROF_COMM_LEN);

	for (size_t i = p->copies_from[kind]; i < b->n[kind]; i++) {
		struct prof_entry *e = &b->v[kind][i];

		if (e->stack == stack && e->tgid == k->tgid &&
		    e->cgroup_id == k->cgroup && e->comm &&
		    e->comm->len == len &&
		    !memcmp(e->comm->data, k->comm, len)) {
			e->count += v->count;
			e->ns += v->ns;
			release(p, stack);
			return true;
		}
	}
	return false;
}

static void bucket_add(struct profiler *p, struct prof_bucket *b,
		       enum prof_kind kind, const struct prof_key *k,
		       const struct prof_value *v, const uint64_t *uips)
{
	char comm[PROF_COMM_LEN + 1];
	struct blob *stack;
	struct prof_entry *e;

	if (b->n[kind] == b->cap[kind]) {
		size_t cap = b->cap[kind] ? 2 * b->cap[kind] : 64;

		e = cap <= PROF_BUCKET_MAX ?
		    realloc(b->v[kind], cap * sizeof(*e)) : NULL;
		if (!e)
			goto drop;
		b->v[kind] = e;
		b->cap[kind] = cap;
	}
	stack = key_stack(p, k, uips);
	if (!stack)
		goto drop;
	if (uips && copy_merge(p, b, kind, k, v, stack))
		return;
	e = &b->v[kind][b->n[kind]];
	e->stack = stack;
	memcpy(comm, k->comm, PROF_COMM_LEN);
	comm[PROF_COMM_LEN] = '\0';
	e->comm = intern_str(p, comm);
	e->tgid = k->tgid;
	e->cgroup_id = k->cgroup;
	entry_cgroup(p, e, k->cgroup);
	e->count = v->count;
	e->ns = v->ns;
	b->n[kind]++;
	return;
drop:
	/* read by scrapes */
	__atomic_fetch_add(&p->user_dropped, kind == PROF_CPU ? v->count : 1,
			   __ATOMIC_RELAXED);
}

/* Reads and deletes a counts map's entries: how many. */
static int take_counts(struct profiler *p, int fd)
{
	struct prof_key *prev = NULL;
	int n = 0, got = 0;

	while (n < PROF_MAX_KEYS &&
	       !bpf_map_get_next_key(fd, prev, &p->keys[n])) {
		prev = &p->keys[n];
		n++;
	}
	for (int i = 0; i < n; i++)
		if (!bpf_map_lookup_and_delete_elem(fd, &p->keys[i],
						    &p->vals[got]))
			p->keys[got] = p->keys[i], got++;
	return got;
}

static int cmp_s32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* Marks id as still in use, if the (sorted, distinct) used ids have it. */
static void keep_stack(const int32_t *used, bool *keep, size_t n, int32_t id)
{
	const int32_t *u = bsearch(&id, used, n, sizeof(*used), cmp_s32);

	if (u)
		keep[u - used] = true;
}

/*
 * Deletes the stacks the drained keys used, except those a thread still
 * off CPU will count under when it comes back, and those of keys counted
 * since the drain read the counts (symbolizing takes a while: a thread
 * that napped meanwhile counted under the same stack again).
 */
static void delete_stacks(struct profiler *p, int32_t *used, size_t n,
			  bool offcpu)
{
	int sfd = bpf_map__fd(p->skel->maps.stacks);
	int ofd = bpf_map__fd(p->skel->maps.offcpu_start);
	int wfd = bpf_map__fd(p->skel->maps.offcpu_wait);
	int cfds[PROF_NKINDS] = {
		bpf_map__fd(p->skel->maps.cpu_counts),
		bpf_map__fd(p->skel->maps.offcpu_counts),
	};
	static bool keep[PROF_MAX_USED];
	struct prof_key key, *kprev;
	struct offcpu_start st;
	struct offcpu_wait w;
	uint32_t tid, *prev = NULL;
	size_t nd = 0;

	qsort(used, n, sizeof(*used), cmp_s32);
	for (size_t i = 0; i < n; i++)
		if (used[i] >= 0 && (!nd || used[i] != used[nd - 1]))
			used[nd++] = used[i];
	n = nd;
	memset(keep, 0, n * sizeof(*keep));
	for (int k = 0; k < PROF_NKINDS; k++)
		for (kprev = NULL; !bpf_map_get_next_key(cfds[k], kprev, &key);
		     kprev = &key) {
			keep_stack(used, keep, n, key.user_stack);
			keep_stack(used, keep, n, key.kernel_stack);
		}
	if (offcpu) {
		while (!bpf_map_get_next_key(ofd, prev, &tid)) {
			prev = &tid;
			if (bpf_map_lookup_elem(ofd, &tid, &st))
				continue;
			keep_stack(used, keep, n, st.key.user_stack);
			keep_stack(used, keep, n, st.key.kernel_stack);
		}
		for (prev = NULL; !bpf_map_get_next_key(wfd, prev, &tid);
		     prev = &tid) {
			if (bpf_map_lookup_elem(wfd, &tid, &w))
				continue;
			keep_stack(used, keep, n, w.key.user_stack);
			keep_stack(used, keep, n, w.key.kernel_stack);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!keep[i])
			bpf_map_delete_elem(sfd, &used[i]);
}

/* A user symbol cache as the agent keeps one: bounded, demangling as asked. */
static struct syms_cache *new_usyms(const struct profiler *p)
{
	struct syms_cache *c = syms_cache_new();

	if (c) {
		syms_set_budget(c, PROF_SYMS_BUDGET);
		syms_set_demangle(c, p->demangle);
	}
	return c;
}

/* An unwinder as the agent keeps one: at most so many sessions and bytes. */
static struct unwinder *new_unwinder(void)
{
	struct unwinder *u = unwind_new(PROF_UNWIND_PROCS);

	if (u)
		unwind_set_budget(u, PROF_UNWIND_BUDGET);
	return u;
}

/*
 * The heap past PROF_HEAP_MAX counts without the unwinder's sessions:
 * their own budget bounds them.
 */
static bool syms_too_old(struct profiler *p)
{
	uint64_t age_s = (out_mono_ns() - p->usyms_born_ns) / 1000000000ULL;
	size_t heap = mallinfo2().uordblks, sessions, walks = 0;

	if (p->unwinder)
		unwind_stats(p->unwinder, &sessions, &walks);
	heap -= walks < heap ? walks : heap;
	return age_s >= PROF_SYMS_REFRESH_S ||
	       (age_s >= PROF_SYMS_MIN_AGE_S && heap > PROF_HEAP_MAX);
}

/*
 * --unwind: reads process tgid's modules once per drain before its walks
 * (they may have changed since the last), and with auto chooses, the
 * first time, between the kernel's frame-pointer walk and copies.
 */
static void copy_prepare(struct profiler *p, uint32_t tgid)
{
	size_t i = (tgid * 2654435761U) % PROF_PREPARED;
	int fd = bpf_map__fd(p->skel->maps.fp_pids);
	__u8 fp;

	for (size_t n = 0; n < PROF_PREPARED; n++) {
		if (p->prepared[i] == tgid)
			return;
		if (!p->prepared[i])
			break;
		i = (i + 1) % PROF_PREPARED;
	}
	if (!p->prepared[i])
		p->prepared[i] = tgid;
	if (p->unwind == STACKS_UNWIND_AUTO &&
	    bpf_map_lookup_elem(fd, &tgid, &fp)) {
		fp = unwind_exe_has_fp(tgid);
		bpf_map_update_elem(fd, &tgid, &fp, BPF_ANY);
	}
	unwind_prepare(p->unwinder, tgid);
}

/* Keeps ips (n of them) as thread tid's last walked off-CPU stack. */
static void walked_keep(struct profiler *p, uint32_t tid, const uint64_t *ips,
			int n)
{
	size_t i = tid % PROF_WALKED;
	uint64_t *v = malloc((n + 1) * sizeof(*v));

	if (!v) {
		n = 0;
		tid = 0;
	} else {
		memcpy(v, ips, n * sizeof(*v));
		v[n] = 0;
	}
	free(p->walked[i].ips);
	p->walked[i].tid = tid;
	p->walked[i].n = n;
	p->walked[i].ips = v;
}

static void walked_clear(struct profiler *p)
{
	for (size_t i = 0; i < PROF_WALKED; i++) {
		free(p->walked[i].ips);
		p->walked[i].ips = NULL;
		p->walked[i].tid = 0;
	}
}

/*
 * One record of the copies ring: a copy walked, then filed like a
 * counted sample; or more off-CPU time of a thread in the state of its
 * last copy, filed under that copy's walk (or, if it was not kept, the
 * frame-pointer walk of the record's key).
 */
static int on_copy(void *ctx, void *data, size_t size)
{
	static uint64_t ips[PROF_MAX_DEPTH];
	struct profiler *p = ctx;
	const struct prof_copy *c = data;
	const struct prof_copy_head *h = data;
	struct prof_value v;
	enum prof_kind kind;
	const uint64_t *uips;
	size_t len;
	int n;

	if (size < sizeof(*h))
		return 0;
	v = (struct prof_value){ h->count, h->ns };
	if (h->type == PROF_COPY_AGAIN) {
		size_t i = h->tid % PROF_WALKED;

		if (p->nagain++ >= PROF_AGAIN_MAX)
			return -E2BIG;
		uips = p->walked[i].tid == h->tid ? p->walked[i].ips : NULL;
		bucket_add(p, p->cur, PROF_OFFCPU, &h->key, &v, uips);
		p->used[p->nused++] = h->key.kernel_stack;
		p->used[p->nused++] = h->key.user_stack;
		return 0;
	}
	if (size < sizeof(*c))
		return 0;
	if (p->ncopies++ >= PROF_COPIES_MAX)
		return -E2BIG;
	kind = h->type == PROF_COPY_OFFCPU ? PROF_OFFCPU : PROF_CPU;
	copy_prepare(p, h->key.tgid);
	len = c->size < STACKS_COPY_MAX ? c->size : STACKS_COPY_MAX;
	memset(ips, 0, sizeof(ips));
	n = unwind_stack(p->unwinder, h->key.tgid, h->tid,
			 (const uint64_t *)c->regs, STACKS_NREGS, c->stack,
			 len, ips, PROF_MAX_DEPTH - 1);
	if (kind == PROF_OFFCPU)
		walked_keep(p, h->tid, ips, n);
	bucket_add(p, p->cur, kind, &h->key, &v, ips);
	p->used[p->nused++] = h->key.kernel_stack;
	p->used[p->nused++] = h->key.user_stack;
	return 0;
}

/*
 * Off-CPU time waiting for a sys_exit that has not come for a second
 * (the thread went back to user mode through a fault or a preemption,
 * or is blocked in the kernel again elsewhere): counted with the
 * frame-pointer walk of its key. Everything when no request waits.
 */
static size_t sweep_waits(struct profiler *p, struct prof_bucket *b,
			  bool offcpu, int32_t *used)
{
	int fd = bpf_map__fd(p->skel->maps.offcpu_wait);
	uint64_t now = out_mono_ns();
	uint32_t tid, *prev = NULL;
	static uint32_t stale[PROF_MAX_BLOCKED];
	struct offcpu_wait w;
	size_t n = 0, nused = 0;

	while (n < PROF_MAX_BLOCKED &&
	       !bpf_map_get_next_key(fd, prev, &stale[n])) {
		prev = &stale[n];
		if (bpf_map_lookup_elem(fd, prev, &w) ||
		    (offcpu && w.last_ns + PROF_WAIT_STALE_NS > now))
			continue;
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		tid = stale[i];
		if (bpf_map_lookup_and_delete_elem(fd, &tid, &w) || !offcpu)
			continue;
		bucket_add(p, b, PROF_OFFCPU, &w.key,
			   &(struct prof_value){ w.count, w.ns }, NULL);
		used[nused++] = w.key.kernel_stack;
		used[nused++] = w.key.user_stack;
	}
	return nused;
}

static void drain(struct profiler *p, bool offcpu)
{
	static int32_t used[PROF_MAX_USED];
	struct prof_bucket *b = &p->ring[(p->seq + 1) % PROF_HISTORY];
	int fds[PROF_NKINDS] = {
		bpf_map__fd(p->skel->maps.cpu_counts),
		bpf_map__fd(p->skel->maps.offcpu_counts),
	};
	size_t nused = 0;

	bucket_clear(p, b);
	b->seq = p->seq + 1;
	if (syms_too_old(p)) {
		struct syms_cache *c = new_usyms(p);
		struct unwinder *u = p->unwinder ? new_unwinder() : NULL;

		if (u) {
			unwind_free(p->unwinder);
			p->unwinder = u;
		}
		if (c) {
			syms_cache_free(p->usyms);
			p->usyms = c;
			p->usyms_born_ns = out_mono_ns();
			malloc_trim(0);
		}
	}
	if (p->copies) {
		p->cur = b;
		for (int k = 0; k < PROF_NKINDS; k++)
			p->copies_from[k] = b->n[k];
		p->used = used;
		p->nused = p->ncopies = p->nagain = 0;
		memset(p->prepared, 0, sizeof(p->prepared));
		ring_buffer__consume(p->copies);
		nused = p->nused;
		nused += sweep_waits(p, b, offcpu, used + nused);
	}
	for (int kind = 0; kind < PROF_NKINDS; kind++) {
		int n = take_counts(p, fds[kind]);

		for (int i = 0; i < n; i++) {
			bucket_add(p, b, kind, &p->keys[i], &p->vals[i],
				   NULL);
			used[nused++] = p->keys[i].kernel_stack;
			used[nused++] = p->keys[i].user_stack;
		}
	}
	delete_stacks(p, used, nused, offcpu);
}

/* ------------------------------------------------------------ pprof */

/* A small open-addressing map from a (pointer, number) pair to an id. */
struct idmap {
	struct { const void *a; uint64_t b; uint32_t id; } *v;
	size_t n, cap;
};

static uint32_t pair_hash(const void *a, uint64_t b)
{
	return hash_bytes(&a, sizeof(a), hash_bytes(&b, sizeof(b), 0));
}

/* The pair's id (a new one: *isnew), or 0 without memory. */
static uint32_t idmap_get(struct idmap *m, const void *a, uint64_t b,
			  bool *isnew)
{
	size_t i;

	*isnew = false;
	if (2 * (m->n + 1) > m->cap) {
		struct idmap old = *m;

		m->cap = m->cap ? 2 * m->cap : 256;
		m->v = calloc(m->cap, sizeof(*m->v));
		if (!m->v) {
			*m = old;
			return 0;
		}
		m->n = 0;
		for (i = 0; i < old.cap; i++)
			if (old.v[i].id) {
				size_t j = pair_hash(old.v[i].a, old.v[i].b) %
					   m->cap;

				while (m->v[j].id)
					j = (j + 1) % m->cap;
				m->v[j] = old.v[i];
				m->n++;
			}
		free(old.v);
	}
	i = pair_hash(a, b) % m->cap;
	while (m->v[i].id) {
		if (m->v[i].a == a && m->v[i].b == b)
			return m->v[i].id;
		i = (i + 1) % m->cap;
	}
	m->v[i].a = a;
	m->v[i].b = b;
	m->v[i].id = ++m->n;
	*isnew = true;
	return m->v[i].id;
}

/* The sections of a profile being built, each its own buffer. */
struct pprof {
	struct out_buf samples, mappings, locations, functions, strings;
	struct idmap str, map, loc, fn, sample;
	uint32_t kernel_map;
	uint64_t kmin, kmax;
	struct prof_entry *merged;	/* by sample id - 1 */
	size_t nmerged, capmerged;
};

enum {
	STR_EMPTY, STR_SAMPLES, STR_COUNT, STR_CPU, STR_OFFCPU, STR_NS,
	STR_PID, STR_COMM, STR_KERNEL, STR_CONTAINER, STR_POD, STR_NAMESPACE,
	STR_FIXED
};
static const char *const fixed_strings[] = {
	"", "samples", "count", "cpu", "offcpu", "nanoseconds", "pid",
	"comm", "[kernel.kallsyms]", "container", "pod", "namespace",
};

static uint32_t pprof_str(struct pprof *pp, struct blob *s)
{
	bool isnew;
	uint32_t id;

	if (!s)
		return STR_EMPTY;
	id = idmap_get(&pp->str, s, 0, &isnew);
	if (isnew)
		pb_bytes(&pp->strings, 6, s->data, s->len);
	return id + STR_FIXED - 1;
}

static void value_type(struct out_buf *b, int field, int type, int unit)
{
	struct out_buf m = { 0 };

	pb_uint(&m, 1, type);
	pb_uint(&m, 2, unit);
	pb_bytes(b, field, m.data, m.len);
	free(m.data);
}

static uint32_t pprof_mapping(struct pprof *pp, struct blob *b)
{
	const struct prof_map *m = (const struct prof_map *)b->data;
	struct out_buf o = { 0 };
	bool isnew;
	uint32_t id;

	if (m->kernel) {
		if (!pp->kernel_map)
			pp->kernel_map = idmap_get(&pp->map, b, 0, &isnew);
		return pp->kernel_map;
	}
	id = idmap_get(&pp->map, b, 0, &isnew);
	if (!isnew)
		return id;
	pb_uint(&o, 1, id);
	pb_uint(&o, 2, m->start);
	pb_uint(&o, 3, m->limit);
	pb_uint(&o, 4, m->offset);
	pb_uint(&o, 5, pprof_str(pp, m->path));
	pb_uint(&o, 6, pprof_str(pp, m->build_id));
	pb_uint(&o, 7, 1);	/* has_functions */
	pb_bytes(&pp->mappings, 3, o.data, o.len);
	free(o.data);
	return id;
}

/* A Line of a Location: the Function of name (added on first use). */
static void pprof_line(struct pprof *pp, struct out_buf *loc,
		       struct blob *name)
{
	struct out_buf line = { 0 };
	bool isnew;
	uint32_t fn = idmap_get(&pp->fn, name, 0, &isnew);

	if (isnew) {
		struct out_buf fo = { 0 };
		uint32_t s = pprof_str(pp, name);

		pb_uint(&fo, 1, fn);
		pb_uint(&fo, 2, s);
		pb_uint(&fo, 3, s);
		pb_bytes(&pp->functions, 5, fo.data, fo.len);
		free(fo.data);
	}
	pb_uint(&line, 1, fn);
	pb_bytes(loc, 4, line.data, line.len);
	free(line.data);
}

static uint32_t pprof_location(struct profiler *p, struct pprof *pp,
			       const struct prof_frame *f)
{
	struct out_buf o = { 0 };
	uint32_t id, map = f->map ? pprof_mapping(pp, f->map) : 0;
	struct blob *name = f->name;
	bool isnew;

	if (f->map == p->kernel_map)
		name = p->kcache[kcache_slot(p, f->addr)].name;
	if (map && map == pp->kernel_map) {
		if (!pp->kmin || f->addr < pp->kmin)
			pp->kmin = f->addr;
		if (f->addr > pp->kmax)
			pp->kmax = f->addr;
	}
	/* anonymous code is told apart by its name */
	id = idmap_get(&pp->loc, f->map ? (void *)f->map : (void *)f->name,
		       f->addr, &isnew);
	if (!isnew)
		return id;
	pb_uint(&o, 1, id);
	if (map)
		pb_uint(&o, 2, map);
	pb_uint(&o, 3, f->addr);
	/*
	 * pprof's inlining: one Line per function, the inlined ones first
	 * (innermost first), the function that holds them last.
	 */
	if (name && f->inl) {
		struct blob **v = (struct blob **)f->inl->data;

		for (size_t i = 0; i < f->inl->len / sizeof(*v); i++)
			pprof_line(pp, &o, v[i]);
	}
	if (name)
		pprof_line(pp, &o, name);
	pb_bytes(&pp->locations, 4, o.data, o.len);
	free(o.data);
	return id;
}

/* Adds an entry to the merged samples (by stack, process and comm). */
static void pprof_merge(struct pprof *pp, const struct prof_entry *e)
{
	bool isnew;
	uint32_t id = idmap_get(&pp->sample, e->stack,
				(uint64_t)e->tgid << 32 |
				(uintptr_t)e->comm >> 4, &isnew);

	if (!id)
		return;
	if (isnew) {
		if (pp->nmerged == pp->capmerged) {
			size_t cap = pp->capmerged ? 2 * pp->capmerged : 64;
			struct prof_entry *v = realloc(pp->merged,
						       cap * sizeof(*v));

			if (!v)
				return;
			pp->merged = v;
			pp->capmerged = cap;
		}
		pp->merged[pp->nmerged] = *e;
		pp->merged[pp->nmerged].count = 0;
		pp->merged[pp->nmerged].ns = 0;
		pp->nmerged++;
	}
	if (id > pp->nmerged)
		return;
	pp->merged[id - 1].count += e->count;
	pp->merged[id - 1].ns += e->ns;
}

/*
 * The first frame of an entry's stack to show: the kernel stack of an
 * off-CPU switch begins in the BPF program that took it (its frames are
 * named by then: name_kernel_frames()).
 */
static size_t first_frame(struct profiler *p, const struct prof_entry *e)
{
	const struct prof_frame *f = (const struct prof_frame *)e->stack->data;
	size_t n = e->stack->len / sizeof(*f), i;

	for (i = 0; i < n && f[i].map == p->kernel_map; i++)
		if (!p->kcache[kcache_slot(p, f[i].addr)].tracing)
			break;
	return i < n ? i : 0;
}

static void pprof_label(struct out_buf *o, uint32_t key, uint32_t str,
			uint64_t num)
{
	struct out_buf l = { 0 };

	pb_uint(&l, 1, key);
	if (str)
		pb_uint(&l, 2, str);
	else
		pb_uint(&l, 3, num);
	pb_bytes(o, 3, l.data, l.len);
	free(l.data);
}

static void pprof_sample(struct profiler *p, struct pprof *pp,
			 const struct prof_entry *e, uint64_t v0, uint64_t v1)
{
	const struct prof_frame *f = (const struct prof_frame *)e->stack->data;
	size_t n = e->stack->len / sizeof(*f), first = first_frame(p, e);
	uint64_t locs[2 * PROF_MAX_DEPTH], vals[2] = { v0, v1 };
	struct out_buf o = { 0 };

	for (size_t i = first; i < n; i++)
		locs[i - first] = pprof_location(p, pp, &f[i]);
	pb_packed(&o, 1, locs, n - first);
	pb_packed(&o, 2, vals, 2);
	pprof_label(&o, STR_PID, 0, e->tgid);
	pprof_label(&o, STR_COMM, pprof_str(pp, e->comm), 0);
	if (e->container)
		pprof_label(&o, STR_CONTAINER, pprof_str(pp, e->container),
			    0);
	if (e->pod)
		pprof_label(&o, STR_POD, pprof_str(pp, e->pod), 0);
	if (e->pod_namespace)
		pprof_label(&o, STR_NAMESPACE, pprof_str(pp, e->pod_namespace),
			    0);
	pb_bytes(&pp->samples, 2, o.data, o.len);
	free(o.data);
}

/*
 * Reads the names of the entries' kernel frames that the cache does not
 * know, in one pass: whether there are kernel frames at all.
 */
static bool name_kernel_frames(struct profiler *p,
			       const struct prof_entry *v, size_t n)
{
	size_t nmiss = 0;
	bool any = false;

	if (p->nkcache > PROF_KCACHE / 2)
		kcache_clear(p);
	for (size_t i = 0; i < n; i++) {
		const struct prof_frame *f =
			(const struct prof_frame *)v[i].stack->data;

		for (size_t j = 0; j < v[i].stack->len / sizeof(*f) &&
		     f[j].map == p->kernel_map; j++) {
			any = true;
			if (nmiss < PROF_KMISS &&
			    !p->kcache[kcache_slot(p, f[j].addr)].addr)
				p->kmiss[nmiss++] = f[j].addr;
		}
	}
	kcache_fill(p, nmiss);
	return any;
}

/* The cgroup path is under (or is) the cgroup dir, both as v2 paths. */
static bool cgroup_under(const struct blob *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return true;
	return path && path->len >= n && !memcmp(path->data, dir, n) &&
	       (path->len == n || path->data[n] == '/');
}

/* Merges the window's entries that the request's filters keep. */
static void window_merge(struct profiler *p, const struct prof_pending *q,
			 struct pprof *pp)
{
	for (uint64_t s = q->first; s <= q->last; s++) {
		struct prof_bucket *b = &p->ring[s % PROF_HISTORY];

		if (b->seq != s)
			continue;
		for (size_t i = 0; i < b->n[q->kind]; i++) {
			struct prof_entry *e = &b->v[q->kind][i];

			if ((q->tgid && e->tgid != q->tgid) ||
			    (q->cgroup && !cgroup_under(e->cgroup, q->cgroup)))
				continue;
			pprof_merge(pp, e);
		}
	}
}

/* One entry's stack as a folded line (flame.h), the kernel's on top. */
static void fold_entry(struct profiler *p, struct out_buf *b,
		       const struct prof_entry *e)
{
	static struct syms_frame sf[(PROF_MAX_INLINE + 1) * 2 * PROF_MAX_DEPTH];
	const struct prof_frame *f = (const struct prof_frame *)e->stack->data;
	size_t n = e->stack->len / sizeof(*f), nk = 0, m = 0;
	size_t first = first_frame(p, e);
	struct stacks_half user = { 0 }, kernel = { 0 };

	f += first;
	n -= first;
	for (size_t i = 0; i < n; i++) {
		struct blob *name = f[i].name;
		bool k = f[i].map == p->kernel_map;

		if (k) {
			name = p->kcache[kcache_slot(p, f[i].addr)].name;
			nk++;
		}
		/* --inline: the inlined functions before their holder */
		for (size_t j = 0; f[i].inl && j < f[i].inl->len /
		     sizeof(struct blob *); j++)
			sf[m++] = (struct syms_frame){
				.addr = f[i].addr, .kind = SYMS_USER,
				.name = ((struct blob **)f[i].inl->data)[j]
					->data,
				.inlined = true,
			};
		sf[m++] = (struct syms_frame){
			.addr = f[i].addr,
			.kind = !name ? SYMS_UNKNOWN :
				k ? SYMS_KERNEL : SYMS_USER,
			.name = name ? name->data : NULL,
		};
	}
	/* kernel frames come first and are never inlined ones */
	kernel.frames = sf;
	kernel.n = nk;
	user.frames = sf + nk;
	user.n = m - nk;
	stacks_fold(b, e->comm->data, &user, &kernel, e->count);
}

/* The last seconds as a flame graph (SVG): a malloc'ed body, or NULL. */
static char *flame_build(struct profiler *p, const struct prof_pending *q,
			 size_t *len)
{
	struct flame_opts fo = {
		.title = "CPU Flame Graph", .palette = "hot",
		.count_name = "samples",
	};
	struct pprof pp = { 0 };
	struct out_buf folded = { 0 };
	char err[256], sub[160], *svg = NULL;
	FILE *f;

	window_merge(p, q, &pp);
	name_kernel_frames(p, pp.merged, pp.nmerged);
	for (size_t i = 0; i < pp.nmerged; i++)
		fold_entry(p, &folded, &pp.merged[i]);
	snprintf(sub, sizeof(sub), "the last %llu s at %u Hz%s%s",
		 (unsigned long long)(q->last - q->first + 1), p->hz,
		 q->what[0] ? ", " : "", q->what);
	fo.subtitle = sub;
	f = open_memstream(&svg, len);
	if (f) {
		if (flame_render_folded(folded.data ? folded.data : "",
					folded.len, &fo, f, err, sizeof(err)))
			log_err("profiler: cannot draw the flame graph: %s",
				err);
		if (fclose(f)) {
			free(svg);
			svg = NULL;
		}
	}
	free(folded.data);
	free(pp.sample.v);
	free(pp.merged);
	return svg;
}

/* The window's profile, gzip'd: a malloc'ed body, or NULL. */
static char *pprof_build(struct profiler *p, const struct prof_pending *q,
			 size_t *len)
{
	struct pprof pp = { 0 };
	struct out_buf out = { 0 }, km = { 0 };
	uint64_t period = q->kind == PROF_CPU ? 1000000000ULL / p->hz : 1;
	char *z;

	window_merge(p, q, &pp);
	/* mapping ids run in order: the kernel's, if any, is the first */
	if (name_kernel_frames(p, pp.merged, pp.nmerged))
		pprof_mapping(&pp, p->kernel_map);
	for (size_t i = 0; i < pp.nmerged; i++) {
		struct prof_entry *e = &pp.merged[i];
		uint64_t v1 = q->kind == PROF_CPU ? e->count * period : e->ns;

		if (e->count && v1)
			pprof_sample(p, &pp, e, e->count, v1);
	}
	value_type(&out, 1, STR_SAMPLES, STR_COUNT);
	value_type(&out, 1, q->kind == PROF_CPU ? STR_CPU : STR_OFFCPU,
		   STR_NS);
	out_buf_add(&out, pp.samples.data, pp.samples.len);
	if (pp.kernel_map) {
		/* written once its addresses' bounds are known */
		struct out_buf m = { 0 };

		pb_uint(&m, 1, pp.kernel_map);
		pb_uint(&m, 2, pp.kmin);
		pb_uint(&m, 3, pp.kmax + 1);
		pb_uint(&m, 5, STR_KERNEL);
		pb_uint(&m, 7, 1);
		pb_bytes(&km, 3, m.data, m.len);
		free(m.data);
	}
	out_buf_add(&out, km.data, km.len);
	out_buf_add(&out, pp.mappings.data, pp.mappings.len);
	out_buf_add(&out, pp.locations.data, pp.locations.len);
	out_buf_add(&out, pp.functions.data, pp.functions.len);
	for (int i = 0; i < STR_FIXED; i++)
		pb_str(&out, 6, fixed_strings[i]);
	out_buf_add(&out, pp.strings.data, pp.strings.len);
	pb_uint(&out, 9, q->start_real_ns);
	pb_uint(&out, 10, (q->last - q->first + 1) * 1000000000ULL);
	value_type(&out, 11, q->kind == PROF_CPU ? STR_CPU : STR_OFFCPU,
		   STR_NS);
	pb_uint(&out, 12, period);
	out_buf_add(&out, "", 0);
	z = http_gzip(out.data, out.len, len);
	free(out.data);
	free(km.data);
	free(pp.samples.data);
	free(pp.mappings.data);
	free(pp.locations.data);
	free(pp.functions.data);
	free(pp.strings.data);
	free(pp.str.v);
	free(pp.map.v);
	free(pp.loc.v);
	free(pp.fn.v);
	free(pp.sample.v);
	free(pp.merged);
	return z;
}

/* ------------------------------------------------------------ targets */

#define PROF_TARGETS_MAX	256

/* A process, or a cgroup (pid 0: the first len bytes of cgroup). */
struct target_row {
	uint32_t pid;
	const struct blob *comm, *cgroup, *container;
	size_t len;
	uint64_t samples;
};

static void target_add(struct target_row *v, size_t *n,
		       const struct target_row *t)
{
	for (size_t i = 0; i < *n; i++) {
		bool same = t->pid ? v[i].pid == t->pid :
			    !v[i].pid && v[i].len == t->len &&
			    !memcmp(v[i].cgroup->data, t->cgroup->data,
				    t->len);

		if (same) {
			v[i].samples += t->samples;
			/* a process's latest name and cgroup */
			v[i].comm = t->comm;
			v[i].cgroup = t->cgroup;
			v[i].container = t->container;
			return;
		}
	}
	if (*n < PROF_TARGETS_MAX)
		v[(*n)++] = *t;
}

static int by_samples(const void *a, const void *b)
{
	const struct target_row *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples < y->samples ? 1 : -1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int by_path(const void *a, const void *b)
{
	const struct target_row *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->cgroup->data, y->cgroup->data, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/*
 * The buckets read here are complete: the drain writes only the one
 * after p->seq, and p->seq does not move while the lock is held. Their
 * blobs live as long as the buckets do.
 */
void profiler_each_target(struct profiler *p, unsigned int seconds,
			  void (*fn)(void *ctx,
				     const struct profiler_target *t),
			  void *ctx)
{
	static struct target_row procs[PROF_TARGETS_MAX];
	static struct target_row cgroups[PROF_TARGETS_MAX];
	static pthread_mutex_t rows_lock = PTHREAD_MUTEX_INITIALIZER;
	char path[PATH_MAX];
	size_t np = 0, nc = 0;

	if (seconds > PROF_MAX_SECONDS)
		seconds = PROF_MAX_SECONDS;
	pthread_mutex_lock(&rows_lock);
	pthread_mutex_lock(&p->lock);
	for (uint64_t s = p->seq; s && s + seconds > p->seq; s--) {
		struct prof_bucket *b = &p->ring[s % PROF_HISTORY];

		for (size_t i = 0; b->seq == s && i < b->n[PROF_CPU]; i++) {
			const struct prof_entry *e = &b->v[PROF_CPU][i];
			struct target_row t = {
				.pid = e->tgid, .comm = e->comm,
				.cgroup = e->cgroup,
				.container = e->container,
				.samples = e->count,
			};

			target_add(procs, &np, &t);
			/* the cgroup and each of its ancestors but "/" */
			t.pid = 0;
			for (t.len = e->cgroup ? e->cgroup->len : 0;
			     t.len > 1; t.len--)
				if (t.len == e->cgroup->len ||
				    e->cgroup->data[t.len] == '/')
					target_add(cgroups, &nc, &t);
		}
	}
	qsort(procs, np, sizeof(*procs), by_samples);
	qsort(cgroups, nc, sizeof(*cgroups), by_path);
	for (size_t i = 0; i < np + nc; i++) {
		const struct target_row *r = i < np ? &procs[i] :
					     &cgroups[i - np];
		struct profiler_target t = {
			.pid = r->pid,
			.comm = r->comm ? r->comm->data : "",
			.container = r->container ? r->container->data : NULL,
			.samples = r->samples,
		};

		if (r->cgroup)
			snprintf(path, sizeof(path), "%.*s",
				 (int)(r->pid ? r->cgroup->len : r->len),
				 r->cgroup->data);
		t.cgroup = r->cgroup ? path : NULL;
		fn(ctx, &t);
	}
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&rows_lock);
}

/* ------------------------------------------------------------ requests */

static void answer_text(struct http_request *r, unsigned int status,
			const char *fmt, ...)
{
	struct out_buf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	b.cap = 256;
	b.data = malloc(b.cap);
	if (b.data)
		b.len = vsnprintf(b.data, b.cap, fmt, ap);
	va_end(ap);
	if (b.len >= b.cap)
		b.len = b.cap - 1;
	http_answer(r, status, "text/plain; charset=utf-8", b.data, b.len);
}

/* Sets the off-CPU hook on or off as requests wait for it (lock held). */
static void offcpu_waiting(struct profiler *p, int delta)
{
	p->offcpu_waiting += delta;
	if (p->offcpu_waiting && !p->skel->bss->offcpu_on) {
		/* threads that left the CPU before this are not counted */
		p->skel->bss->offcpu_on = ++p->offcpu_epoch ?: ++p->offcpu_epoch;
	} else if (!p->offcpu_waiting) {
		p->skel->bss->offcpu_on = 0;
	}
}

/*
 * --unwind dwarf|auto: the processes whose long blocks are copied, as
 * off-CPU requests start (delta 1) and end (-1): a request's pid, or
 * every process for one without pid= (lock held).
 */
static void offcpu_scope(struct profiler *p, const struct prof_pending *q,
			 int delta)
{
	int fd = bpf_map__fd(p->skel->maps.offcpu_scope);
	uint32_t n = 0;

	if (!p->copies || q->kind != PROF_OFFCPU)
		return;
	if (!q->tgid) {
		p->skel->bss->offcpu_copy_all += delta;
		return;
	}
	bpf_map_lookup_elem(fd, &q->tgid, &n);
	n += delta;
	/* a full map: that request's process keeps frame pointers */
	if (n)
		bpf_map_update_elem(fd, &q->tgid, &n, BPF_ANY);
	else
		bpf_map_delete_elem(fd, &q->tgid);
}

static void pending_free(struct prof_pending *q)
{
	free(q->cgroup);
	free(q);
}

/* Answers the requests whose window is complete (lock held). */
static void answer_ready(struct profiler *p, bool all)
{
	struct prof_pending **pp = &p->pending, *q;
	bool built = false;

	while ((q = *pp)) {
		char *body;
		size_t len;

		if (!all && q->last > p->seq) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		if (q->kind == PROF_OFFCPU)
			offcpu_waiting(p, -1);
		offcpu_scope(p, q, -1);
		if (all) {
			answer_text(q->req, 503, "the agent is stopping\n");
		} else {
			body = q->flame ? flame_build(p, q, &len) :
			       pprof_build(p, q, &len);
			if (body)
				http_answer(q->req, 200, q->flame ?
					    "image/svg+xml" :
					    "application/octet-stream",
					    body, len);
			else
				answer_text(q->req, 500, "out of memory\n");
			built = true;
		}
		pending_free(q);
	}
	/* a build's buffers (folded text, the SVG, the tables) go back */
	if (built)
		malloc_trim(0);
}

static bool parse_uint(const char *s, unsigned long long max,
		       unsigned long long *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && !*end && *v <= max;
}

/* An argument of the request; an empty one (a form's "all") is none. */
static const char *arg(struct http_request *r, const char *name)
{
	const char *v = http_arg(r, name);

	return v && *v ? v : NULL;
}

/*
 * The v2 path (as /proc/PID/cgroup shows it) of a cgroup directory, the
 * form the entries' paths have: malloc'ed, NULL if not under the root.
 */
static char *cgroup_v2_path(const char *dir)
{
	const char *root = opts_cgroup2_root();
	size_t n = root ? strlen(root) : 0, len;
	char *rel;

	if (!root || strncmp(dir, root, n) || (dir[n] && dir[n] != '/'))
		return NULL;
	rel = strdup(dir[n] ? dir + n : "/");
	for (len = rel ? strlen(rel) : 0; len > 1 && rel[len - 1] == '/';)
		rel[--len] = '\0';
	return rel;
}

/*
 * cgroup= or container=: the v2 path whose tasks and descendants' tasks
 * the request keeps (*dir, malloc'ed; NULL: every cgroup). 0, or -1
 * after a 400.
 */
static int cgroup_filter(struct http_request *r, const char *cg,
			 const char *ct, char **dir)
{
	char path[PATH_MAX];
	int err;

	*dir = NULL;
	if (cg && ct) {
		answer_text(r, 400, "give cgroup= or container=, not both\n");
		return -1;
	}
	if (cg) {
		const char *root = opts_cgroup2_root();

		if (!strcmp(cg, "/") && root)
			snprintf(path, sizeof(path), "%s", root);
		else if (opts_resolve_cgroup(cg, path, sizeof(path)))
			path[0] = '\0';
		*dir = path[0] ? cgroup_v2_path(path) : NULL;
		if (!*dir)
			answer_text(r, 400,
				"cgroup: '%.64s' is not a cgroup v2 path (give it as /proc/PID/cgroup shows it, e.g. /system.slice)\n",
				cg);
		return *dir ? 0 : -1;
	}
	if (!ct)
		return 0;
	err = container_find(ct, path, sizeof(path));
	if (err == -EEXIST)
		answer_text(r, 400,
			"container: more than one container's id starts with '%.64s'; give more of the id or the name\n",
			ct);
	else if (err || !(*dir = cgroup_v2_path(path)))
		answer_text(r, 400,
			"container: no running container is named or has the id '%.64s'\n",
			ct);
	return *dir ? 0 : -1;
}

static void request(struct profiler *p, struct http_request *r,
		    enum prof_kind kind, bool flame)
{
	const char *secs = arg(r, "seconds");
	const char *pid = arg(r, "pid");
	const char *cg = arg(r, "cgroup"), *ct = arg(r, "container");
	struct prof_pending *q;
	unsigned long long n = PROF_DEFAULT_SECONDS, v = 0;
	char *dir;

	if (secs && (!parse_uint(secs, PROF_MAX_SECONDS, &n) || !n)) {
		answer_text(r, 400,
			"seconds: give a whole number of seconds from 1 to %d (got '%.32s')\n",
			PROF_MAX_SECONDS, secs);
		return;
	}
	if (pid && (!parse_uint(pid, MAX_PID, &v) || !v)) {
		answer_text(r, 400,
			"pid: give a process id from 1 to %d (got '%.32s')\n",
			MAX_PID, pid);
		return;
	}
	if (cgroup_filter(r, cg, ct, &dir))
		return;
	q = calloc(1, sizeof(*q));
	if (!q) {
		free(dir);
		answer_text(r, 500, "out of memory\n");
		return;
	}
	q->tgid = pid ? v : 0;
	q->cgroup = dir;
	if (pid)
		snprintf(q->what, sizeof(q->what), "pid %llu", v);
	else if (dir)
		snprintf(q->what, sizeof(q->what), "%s %.64s",
			 cg ? "cgroup" : "container", cg ? dir : ct);
	q->req = r;
	q->kind = kind;
	q->flame = flame;
	q->start_real_ns = out_now_ns();
	pthread_mutex_lock(&p->lock);
	if (p->stopping) {
		pthread_mutex_unlock(&p->lock);
		pending_free(q);
		answer_text(r, 503, "the agent is stopping\n");
		return;
	}
	if (flame) {
		/* the last n buckets, and the one being filled */
		q->first = p->seq + 2 > n ? p->seq + 2 - n : 1;
		q->last = p->seq + 1;
	} else {
		/* the next n buckets hold what the kernel counts from now */
		q->first = p->seq + 1;
		q->last = p->seq + n;
	}
	q->next = p->pending;
	p->pending = q;
	if (kind == PROF_OFFCPU)
		offcpu_waiting(p, 1);
	offcpu_scope(p, q, 1);
	pthread_mutex_unlock(&p->lock);
}

void profiler_cpu_request(void *ctx, struct http_request *r)
{
	request(ctx, r, PROF_CPU, false);
}

void profiler_flame_request(void *ctx, struct http_request *r)
{
	request(ctx, r, PROF_CPU, true);
}

void profiler_offcpu_request(void *ctx, struct http_request *r)
{
	request(ctx, r, PROF_OFFCPU, false);
}

/* ------------------------------------------------------------ life */

static const int thread_caps[] = { CAP_SYS_PTRACE, CAP_SYSLOG };

/* Each second: drain the kernel's counts, answer the complete windows. */
static void *profiler_main(void *arg)
{
	struct profiler *p = arg;
	uint64_t next_ns = out_mono_ns();
	struct timespec next;
	bool offcpu;
	int err;

	pthread_setname_np(pthread_self(), "loupe-profiler");
	/*
	 * Reading another process's /proc/PID/maps and files takes ptrace
	 * read access, /proc/kallsyms's addresses CAP_SYSLOG: this thread
	 * alone has those two effective.
	 */
	err = privs_effective_only(thread_caps, 2);
	if (err)
		log_err("profiler: without CAP_SYS_PTRACE and CAP_SYSLOG, symbols are missing: %s",
			strerror(-err));

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		next_ns += 1000000000ULL;
		next.tv_sec = next_ns / 1000000000ULL;
		next.tv_nsec = next_ns % 1000000000ULL;
		while (!p->stopping &&
		       pthread_cond_timedwait(&p->wake, &p->lock, &next) !=
		       ETIMEDOUT)
			;
		if (p->stopping)
			break;
		/* the HTTP threads only touch pending and seq */
		offcpu = p->offcpu_waiting;
		pthread_mutex_unlock(&p->lock);
		drain(p, offcpu);
		pthread_mutex_lock(&p->lock);
		p->seq++;
		answer_ready(p, false);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

uint64_t profiler_dropped(struct profiler *p)
{
	int ncpus = libbpf_num_possible_cpus();
	uint64_t total = __atomic_load_n(&p->user_dropped, __ATOMIC_RELAXED);
	uint64_t *v;

	v = calloc(ncpus, sizeof(*v));
	for (uint32_t k = 0; v && k < PROF_NSTATS; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.prof_stats),
					&k, v))
			continue;
		for (int c = 0; c < ncpus; c++)
			total += v[c];
	}
	free(v);
	return total;
}

static int attach(struct profiler *p)
{
	int ncpus = libbpf_num_possible_cpus(), err;

	if (ncpus > PROF_MAX_CPUS) {
		log_err("--profile-hz: %d CPUs, more than %d to sample",
			ncpus, PROF_MAX_CPUS);
		return EXIT_RUNTIME;
	}
	for (int cpu = 0; cpu < ncpus; cpu++) {
		err = session_cpu_clock_link(p->skel->progs.sample, p->hz, cpu,
					     true, &p->links[p->nlinks]);
		if (err == -ENODEV)
			continue;
		if (err)
			return err;
		p->nlinks++;
	}
	p->offcpu_link = bpf_program__attach(p->skel->progs.offcpu_switch);
	if (!p->offcpu_link) {
		log_err("profiler: cannot attach to sched_switch: %s",
			strerror(errno));
		return EXIT_RUNTIME;
	}
	if (p->unwind == STACKS_UNWIND_FP)
		return 0;
	p->return_link = bpf_program__attach(p->skel->progs.offcpu_return);
	if (!p->return_link) {
		log_err("profiler: cannot attach to sys_exit: %s",
			strerror(errno));
		return EXIT_RUNTIME;
	}
	return 0;
}

/*
 * The copies ring: two seconds of every CPU's samples and of
 * PROF_OFFCPU_COPIES_S off-CPU copies, a power of two.
 */
static unsigned long copy_ring_size(unsigned int hz)
{
	unsigned long want = 2UL * (hz * libbpf_num_possible_cpus() +
				    PROF_OFFCPU_COPIES_S) *
			     (sizeof(struct prof_copy) + 8);
	unsigned long size = PROF_COPY_RING_MIN;

	while (size < want && size < PROF_COPY_RING_MAX)
		size *= 2;
	return size;
}

struct profiler *profiler_start(unsigned int hz, bool demangle,
				enum stacks_unwind unwind)
{
	struct profiler *p = calloc(1, sizeof(*p));
	struct prof_map km = { 0 };
	pthread_condattr_t ca;

	if (!p)
		return NULL;
	p->hz = hz;
	p->demangle = demangle;
	/*
	 * A fixed threshold: glibc's own grows with each large block freed
	 * (an SVG, a profile), and blocks under it are kept in the heap,
	 * where they stay resident after being freed.
	 */
	mallopt(M_MMAP_THRESHOLD, PROF_MMAP_THRESHOLD);
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	p->keys = calloc(PROF_MAX_KEYS, sizeof(*p->keys));
	p->vals = calloc(PROF_MAX_KEYS, sizeof(*p->vals));
	p->usyms = new_usyms(p);
	p->usyms_born_ns = out_mono_ns();
	km.kernel = true;
	p->kernel_map = intern(p, BLOB_MAP, &km, sizeof(km));
	if (!p->keys || !p->vals || !p->usyms ||
	    !p->kernel_map) {
		log_err("profiler: out of memory");
		goto fail;
	}
	p->unwind = unwind;
	p->skel = profiler_bpf__open();
	if (p->skel && unwind != STACKS_UNWIND_FP) {
		p->skel->rodata->copy_user = true;
		bpf_map__set_max_entries(p->skel->maps.copies,
					 copy_ring_size(hz));
	} else if (p->skel) {
		bpf_program__set_autoload(p->skel->progs.offcpu_return, false);
	}
	if (!p->skel || profiler_bpf__load(p->skel)) {
		log_err("profiler: cannot load its BPF programs: %s",
			strerror(errno));
		goto fail;
	}
	if (unwind != STACKS_UNWIND_FP) {
		p->unwinder = new_unwinder();
		p->copies = ring_buffer__new(bpf_map__fd(p->skel->maps.copies),
					     on_copy, p, NULL);
		if (!p->unwinder || !p->copies) {
			log_err("profiler: cannot set up --unwind %s",
				stacks_unwind_name(unwind));
			goto fail;
		}
	}
	if (attach(p))
		goto fail;
	/* give back what parsing the kernel's BTF for the load used */
	malloc_trim(0);
	return p;
fail:
	profiler_stop(p);
	return NULL;
}

int profiler_set_inline(struct profiler *p)
{
	p->inlines = inlines_new(PROF_INLINE_BUDGET);
	if (!p->inlines) {
		log_err("profiler: out of memory");
		return EXIT_RUNTIME;
	}
	return 0;
}

int profiler_serve(struct profiler *p)
{
	int err = pthread_create(&p->thread, NULL, profiler_main, p);

	if (err) {
		log_err("profiler: cannot start its thread: %s",
			strerror(err));
		return EXIT_RUNTIME;
	}
	p->thread_started = true;
	return 0;
}

void profiler_close_requests(struct profiler *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_signal(&p->wake);
	answer_ready(p, true);
	pthread_mutex_unlock(&p->lock);
	if (p->thread_started)
		pthread_join(p->thread, NULL);
	p->thread_started = false;
}

void profiler_stop(struct profiler *p)
{
	if (!p)
		return;
	profiler_close_requests(p);
	bpf_link__destroy(p->return_link);
	bpf_link__destroy(p->offcpu_link);
	for (int i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]);
	ring_buffer__free(p->copies);
	unwind_free(p->unwinder);
	walked_clear(p);
	profiler_bpf__destroy(p->skel);
	for (int i = 0; i < PROF_HISTORY; i++) {
		bucket_clear(p, &p->ring[i]);
		for (int k = 0; k < PROF_NKINDS; k++)
			free(p->ring[i].v[k]);
	}
	release(p, p->kernel_map);
	kcache_clear(p);
	syms_cache_free(p->usyms);
	inlines_free(p->inlines);
	free(p->keys);
	free(p->vals);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/*
 * ustack(dwarf) in user space (tustack.h): copies walked as they come,
 * walked stacks interned (one id per distinct pid and frames), tags
 * mapped to them until every key and record that held them is done.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "stacks.h"
#include "syms.h"
#include "tprint.h"
#include "tprint_priv.h"
#include "tustack.h"
#include "unwind.h"

_Static_assert(TRACE_UCOPY_MAX == STACKS_COPY_MAX,
	       "trace copies are the stack tools' copies");

/* A stack walked from a copy: its frames and the process they are in. */
struct walked {
	uint32_t pid;
	int n;
	uint64_t *ips;
	uint64_t hash;
};

/* A copy's tag (tag, cpu1) and its walked stack. */
struct tag {
	uint64_t tag;
	uint32_t cpu1;		/* 0: a free slot */
	uint32_t walked;
};

struct tustacks {
	struct unwinder *unwinder;
	int fp_pids_fd;
	struct walked *w;
	size_t nw, capw;
	int *widx;		/* open addressing over w, -1 free */
	size_t capwidx;
	struct tag *t;
	size_t nt, capt;
	uint32_t seen[64];	/* pids copied from since the last tick */
	size_t nseen;
};

static uint64_t hash_frames(uint32_t pid, const uint64_t *ips, int n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ pid;

	for (int i = 0; i < n; i++)
		h = (h ^ ips[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t hash_tag(uint64_t tag, uint32_t cpu1)
{
	return (tag ^ ((uint64_t)cpu1 << 48)) * 0x9e3779b97f4a7c15ULL;
}

struct tustacks *tustacks_new(int fp_pids_fd)
{
	struct tustacks *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->fp_pids_fd = fp_pids_fd;
	u->unwinder = unwind_new(UNWIND_MAX_PROCS);
	if (!u->unwinder) {
		free(u);
		return NULL;
	}
	return u;
}

void tustacks_free(struct tustacks *u)
{
	if (!u)
		return;
	unwind_free(u->unwinder);
	for (size_t i = 0; i < u->nw; i++)
		free(u->w[i].ips);
	free(u->w);
	free(u->widx);
	free(u->t);
	free(u);
}

static int widx_grow(struct tustacks *u)
{
	size_t cap = u->capwidx ? u->capwidx * 2 : 1024;
	int *v = malloc(cap * sizeof(*v));

	if (!v)
		return -ENOMEM;
	memset(v, 0xff, cap * sizeof(*v));
	for (size_t i = 0; i < u->nw; i++) {
		size_t j = u->w[i].hash & (cap - 1);

		while (v[j] >= 0)
			j = (j + 1) & (cap - 1);
		v[j] = (int)i;
	}
	free(u->widx);
	u->widx = v;
	u->capwidx = cap;
	return 0;
}

/* The id of a walked stack, added if new; -1 without memory. */
static int intern(struct tustacks *u, uint32_t pid, const uint64_t *ips,
		  int n)
{
	uint64_t h = hash_frames(pid, ips, n);
	struct walked *w;
	size_t j;

	if ((u->nw + 1) * 2 > u->capwidx && widx_grow(u))
		return -1;
	for (j = h & (u->capwidx - 1); u->widx[j] >= 0;
	     j = (j + 1) & (u->capwidx - 1)) {
		w = &u->w[u->widx[j]];
		if (w->hash == h && w->pid == pid && w->n == n &&
		    !memcmp(w->ips, ips, n * sizeof(*ips)))
			return u->widx[j];
	}
	if (u->nw == u->capw) {
		size_t cap = u->capw ? u->capw * 2 : 256;
		struct walked *v = realloc(u->w, cap * sizeof(*v));

		if (!v)
			return -1;
		u->w = v;
		u->capw = cap;
	}
	w = &u->w[u->nw];
	w->ips = malloc((n ? n : 1) * sizeof(*ips));
	if (!w->ips)
		return -1;
	memcpy(w->ips, ips, n * sizeof(*ips));
	w->pid = pid;
	w->n = n;
	w->hash = h;
	u->widx[j] = (int)u->nw;
	return (int)u->nw++;
}

static struct tag *tag_find(const struct tustacks *u, uint64_t tag,
			    uint32_t cpu1)
{
	size_t j;

	if (!u->capt)
		return NULL;
	for (j = hash_tag(tag, cpu1) & (u->capt - 1); u->t[j].cpu1;
	     j = (j + 1) & (u->capt - 1))
		if (u->t[j].tag == tag && u->t[j].cpu1 == cpu1)
			return &u->t[j];
	return NULL;
}

/* Rebuilds the tag table cap slots wide, keeping tags from before_ns on. */
static int tags_rebuild(struct tustacks *u, size_t cap, uint64_t before_ns)
{
	struct tag *v = calloc(cap, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < u->capt; i++) {
		size_t j;

		if (!u->t[i].cpu1 || u->t[i].tag < before_ns)
			continue;
		for (j = hash_tag(u->t[i].tag, u->t[i].cpu1) & (cap - 1);
		     v[j].cpu1; j = (j + 1) & (cap - 1))
			;
		v[j] = u->t[i];
		n++;
	}
	free(u->t);
	u->t = v;
	u->capt = cap;
	u->nt = n;
	return 0;
}

/*
 * The kernel saved struct pt_regs; the walk wants DWARF's numbering
 * (rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip): their pt_regs slots.
 */
static const int dwarf_from_pt_regs[STACKS_NREGS] = {
	10, 12, 11, 5, 13, 14, 4, 19, 9, 8, 7, 6, 3, 2, 1, 0, 16,
};

/* ustack(auto): a process's first copy decides how the rest are walked. */
static void choose_unwind(struct tustacks *u, uint32_t pid)
{
	uint8_t fp;

	if (u->fp_pids_fd < 0 || !bpf_map_lookup_elem(u->fp_pids_fd, &pid, &fp))
		return;
	fp = unwind_exe_has_fp((int)pid);
	bpf_map_update_elem(u->fp_pids_fd, &pid, &fp, BPF_ANY);
}

void tustacks_copy(struct tustacks *u, struct syms_cache *syms,
		   const struct trace_ucopy *c, size_t len, int limit)
{
	uint64_t regs[STACKS_NREGS], ips[TRACE_STACK_DEPTH];
	size_t size, head = offsetof(struct trace_ucopy, stack), i;
	struct tag *t;
	size_t nw;
	int n, id;

	if (len < head || !c->cpu1)
		return;
	size = c->size < len - head ? c->size : len - head;
	for (i = 0; i < STACKS_NREGS; i++)
		regs[i] = c->regs[dwarf_from_pt_regs[i]];
	choose_unwind(u, c->pid);
	for (i = 0; i < u->nseen && u->seen[i] != c->pid; i++)
		;
	if (i == u->nseen && i < sizeof(u->seen) / sizeof(u->seen[0]))
		u->seen[u->nseen++] = c->pid;
	n = unwind_stack(u->unwinder, (int)c->pid, (int)c->tid, regs,
			 STACKS_NREGS, c->stack, size, ips, TRACE_STACK_DEPTH);
	if (limit > 0 && n > limit)
		n = limit;
	nw = u->nw;
	id = intern(u, c->pid, ips, n);
	if (id < 0)
		return;
	/* a new stack may be in objects mapped since: read them now */
	if (u->nw > nw && syms)
		syms_capture(syms, (int)c->pid);
	if ((u->nt + 1) * 2 > u->capt &&
	    tags_rebuild(u, u->capt ? u->capt * 2 : 1024, 0))
		return;
	t = tag_find(u, c->tag, c->cpu1);
	if (!t) {
		size_t j = hash_tag(c->tag, c->cpu1) & (u->capt - 1);

		while (u->t[j].cpu1)
			j = (j + 1) & (u->capt - 1);
		t = &u->t[j];
		u->nt++;
	}
	*t = (struct tag){ .tag = c->tag, .cpu1 = c->cpu1,
			   .walked = (uint32_t)id };
}

int tustacks_frames(const struct tustacks *u, const uint8_t *val,
		    const uint64_t **ips)
{
	uint32_t how = tp_rd32(val + 12);
	uint64_t id = tp_rd64(val);
	const struct tag *t;

	if (!u || !how)
		return -1;
	if (how != TRACE_USTACK_WALKED) {
		t = tag_find(u, id, how);
		if (!t)
			return -1;
		id = t->walked;
	}
	if (id >= u->nw)
		return -1;
	*ips = u->w[id].ips;
	return u->w[id].n;
}

/* A tag with no copy this long after its probe ran: the copy is lost. */
#define TUSTACK_LOST_NS	2000000000ULL

int tustacks_rekey(struct tustacks *u, uint8_t *val, uint64_t before_ns)
{
	uint32_t how = tp_rd32(val + 12), walked = TRACE_USTACK_WALKED;
	uint64_t tag = tp_rd64(val), id;
	const struct tag *t;

	if (!how || how == TRACE_USTACK_WALKED || tag >= before_ns)
		return 0;
	t = tag_find(u, tag, how);
	if (!t) {
		return tag + TUSTACK_LOST_NS > before_ns ? 0 : -1;
	}
	id = t->walked;
	memcpy(val, &id, 8);
	memcpy(val + 12, &walked, 4);
	return 1;
}

void tustacks_tick(struct tustacks *u)
{
	for (size_t i = 0; i < u->nseen; i++)
		unwind_prepare(u->unwinder, (int)u->seen[i]);
	u->nseen = 0;
}

void tustacks_forget(struct tustacks *u, uint64_t before_ns)
{
	if (u->capt)
		tags_rebuild(u, u->capt, before_ns);
}

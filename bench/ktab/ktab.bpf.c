/*
 * Kernel half of the in-kernel unwinding prototype (ktab.h): on each
 * cpu-clock sample of the target process, walks its user stack with the
 * rows user space compiled from .eh_frame (two bounded binary searches
 * per frame: the mapping, then the row), and counts the walked stacks.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "ktab.h"

const volatile __u32 target_pid;
const volatile __u32 nmaps;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);		/* sized by user space */
	__type(key, __u32);
	__type(value, struct ktab_row);
} rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KTAB_MAX_MAPS);
	__type(key, __u32);
	__type(value, struct ktab_map);
} maps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ktab_stack);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ktab_stack);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KTAB_NSTATS);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static void stat_add(__u32 k, __u64 v)
{
	__u64 *p = bpf_map_lookup_elem(&stats, &k);

	if (p)
		*p += v;
}

/*
 * The binary searches step without branches (the comparison is the sign
 * of a difference: user addresses are below 2^63) and always take their
 * full number of steps: the verifier then follows one path per step
 * instead of forking at each comparison.
 */
#define LE(a, b)	((((b) - (a)) >> 63) ^ 1)	/* a <= b: 1 */

/* The mapping holding pc: the last one starting at or below it. */
static struct ktab_map *find_map(__u64 pc)
{
	__u64 lo = 0, hi = nmaps, mid, c;
	struct ktab_map *m;
	__u32 k;

	for (int i = 0; i < KTAB_MAP_STEPS; i++) {
		mid = (lo + hi) >> 1;
		k = mid;
		m = bpf_map_lookup_elem(&maps, &k);
		if (!m)
			return NULL;
		c = LE(m->start, pc) & (lo < hi);
		lo += c * (mid + 1 - lo);
		hi -= (1 - c) * (lo < hi) * (hi - mid);
	}
	if (!lo)
		return NULL;
	k = lo - 1;
	m = bpf_map_lookup_elem(&maps, &k);
	return m && pc < m->end ? m : NULL;
}

/* The row of vaddr among the mapping's: the last one at or below it. */
static struct ktab_row *find_row(const struct ktab_map *m, __u64 vaddr)
{
	__u64 first = m->first, lo = first, hi = first + m->n, mid, c;
	struct ktab_row *r;
	__u32 k;

	for (int i = 0; i < KTAB_ROW_STEPS; i++) {
		mid = (lo + hi) >> 1;
		k = mid;
		r = bpf_map_lookup_elem(&rows, &k);
		if (!r)
			return NULL;
		c = LE(r->pc, vaddr) & (lo < hi);
		lo += c * (mid + 1 - lo);
		hi -= (1 - c) * (lo < hi) * (hi - mid);
	}
	if (lo <= first)
		return NULL;
	k = lo - 1;
	return bpf_map_lookup_elem(&rows, &k);
}

/* The walk's registers between two frames (bpf_loop's context). */
struct walk {
	__u64 pc, sp, bp;
	__u32 why;
	int depth;
};

/* One frame: records pc, then steps to the caller; 1 ends the walk. */
static long walk_step(__u64 d, void *arg)
{
	struct walk *w = arg;
	struct ktab_stack *st;
	struct ktab_map *m;
	struct ktab_row *r;
	__u32 zero = 0;
	__u64 cfa, ra, pc = w->pc, look;

	st = bpf_map_lookup_elem(&scratch, &zero);
	if (!st || d >= KTAB_DEPTH)
		return 1;
	st->ips[d] = pc;
	w->depth = d + 1;
	/* a return address may be just past its caller's end */
	look = d ? pc - 1 : pc;
	m = find_map(look);
	if (!m) {
		w->why = KTAB_NO_MAP;
		return 1;
	}
	r = find_row(m, look - m->bias);
	if (!r || r->kind == KTAB_ROW_NONE ||
	    r->kind == KTAB_ROW_UNSUPPORTED) {
		w->why = KTAB_NO_ROW;
		return 1;
	}
	if (r->kind == KTAB_ROW_END) {
		w->why = KTAB_WHOLE;
		return 1;
	}
	cfa = (r->cfa_reg == KTAB_CFA_RBP ? w->bp : w->sp) + r->cfa_off;
	if (r->rbp_off &&
	    bpf_probe_read_user(&w->bp, sizeof(w->bp),
				(void *)(cfa + r->rbp_off))) {
		w->why = KTAB_READ_FAIL;
		return 1;
	}
	if (bpf_probe_read_user(&ra, sizeof(ra), (void *)(cfa - 8))) {
		w->why = KTAB_READ_FAIL;
		return 1;
	}
	if (!ra) {
		w->why = KTAB_WHOLE;
		return 1;
	}
	w->sp = cfa;
	w->pc = ra;
	return 0;
}

SEC("perf_event")
int ktab_sample(struct bpf_perf_event_data *ctx)
{
	struct walk w = { .why = KTAB_TOO_DEEP };
	struct task_struct *task;
	struct ktab_stack *st;
	struct pt_regs *regs;
	__u64 one = 1, *cnt;
	__u32 zero = 0;

	if (bpf_get_current_pid_tgid() >> 32 != target_pid)
		return 0;
	st = bpf_map_lookup_elem(&scratch, &zero);
	if (!st)
		return 0;
	__builtin_memset(st, 0, sizeof(*st));
	task = bpf_get_current_task_btf();
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	w.pc = BPF_CORE_READ(regs, ip);
	w.sp = BPF_CORE_READ(regs, sp);
	w.bp = BPF_CORE_READ(regs, bp);
	stat_add(KTAB_SAMPLES, 1);
	/* one verification of a step instead of one per frame */
	bpf_loop(KTAB_DEPTH, walk_step, &w, 0);
	stat_add(w.why, 1);
	stat_add(KTAB_FRAMES, w.depth);
	cnt = bpf_map_lookup_elem(&counts, st);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	else
		bpf_map_update_elem(&counts, st, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

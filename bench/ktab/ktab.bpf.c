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

/* The mapping holding pc: the last one starting at or below it. */
static struct ktab_map *find_map(__u64 pc)
{
	__u32 lo = 0, hi = nmaps, mid;
	struct ktab_map *m;

	for (int i = 0; i < KTAB_MAP_STEPS && lo < hi; i++) {
		mid = (lo + hi) / 2;
		m = bpf_map_lookup_elem(&maps, &mid);
		if (!m)
			return NULL;
		if (m->start <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	lo--;
	m = bpf_map_lookup_elem(&maps, &lo);
	return m && pc < m->end ? m : NULL;
}

/* The row of vaddr among the mapping's: the last one at or below it. */
static struct ktab_row *find_row(const struct ktab_map *m, __u64 vaddr)
{
	__u32 lo = m->first, hi = m->first + m->n, mid;
	struct ktab_row *r;

	for (int i = 0; i < KTAB_ROW_STEPS && lo < hi; i++) {
		mid = (lo + hi) / 2;
		r = bpf_map_lookup_elem(&rows, &mid);
		if (!r)
			return NULL;
		if (r->pc <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo <= m->first)
		return NULL;
	lo--;
	return bpf_map_lookup_elem(&rows, &lo);
}

SEC("perf_event")
int ktab_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task;
	struct ktab_stack *st;
	struct pt_regs *regs;
	__u64 pc, sp, bp, one = 1, *cnt;
	__u32 zero = 0, why = KTAB_TOO_DEEP;
	int d;

	if (bpf_get_current_pid_tgid() >> 32 != target_pid)
		return 0;
	st = bpf_map_lookup_elem(&scratch, &zero);
	if (!st)
		return 0;
	__builtin_memset(st, 0, sizeof(*st));
	task = bpf_get_current_task_btf();
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	pc = BPF_CORE_READ(regs, ip);
	sp = BPF_CORE_READ(regs, sp);
	bp = BPF_CORE_READ(regs, bp);
	stat_add(KTAB_SAMPLES, 1);
	for (d = 0; d < KTAB_DEPTH; d++) {
		struct ktab_map *m;
		struct ktab_row *r;
		__u64 cfa, ra;

		st->ips[d] = pc;
		/* a return address may be just past its caller's end */
		m = find_map(d ? pc - 1 : pc);
		if (!m) {
			why = KTAB_NO_MAP;
			break;
		}
		r = find_row(m, (d ? pc - 1 : pc) - m->bias);
		if (!r || r->kind == KTAB_ROW_NONE ||
		    r->kind == KTAB_ROW_UNSUPPORTED) {
			why = KTAB_NO_ROW;
			break;
		}
		if (r->kind == KTAB_ROW_END) {
			why = KTAB_WHOLE;
			break;
		}
		cfa = (r->cfa_reg == KTAB_CFA_RBP ? bp : sp) + r->cfa_off;
		if (r->rbp_off &&
		    bpf_probe_read_user(&bp, sizeof(bp), (void *)(cfa + r->rbp_off))) {
			why = KTAB_READ_FAIL;
			break;
		}
		if (bpf_probe_read_user(&ra, sizeof(ra), (void *)(cfa - 8))) {
			why = KTAB_READ_FAIL;
			break;
		}
		if (!ra) {
			why = KTAB_WHOLE;
			break;
		}
		sp = cfa;
		pc = ra;
	}
	stat_add(why, 1);
	stat_add(KTAB_FRAMES, d < KTAB_DEPTH ? d + 1 : KTAB_DEPTH);
	cnt = bpf_map_lookup_elem(&counts, st);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	else
		bpf_map_update_elem(&counts, st, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

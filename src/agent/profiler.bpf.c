/*
 * The agent's profiler, kernel side. A cpu-clock perf event on every CPU
 * runs sample(), which counts the interrupted task's stacks under its
 * (process, thread, cgroup, comm) key; sched_switch adds, while user
 * space asks for it (offcpu_on), the time each thread spent off CPU to the
 * stacks it left the CPU with. User space drains both counts maps each
 * second (lookup and delete) and deletes the stacks it read, so nothing
 * here grows with the agent's uptime.
 *
 * --unwind dwarf|auto: CPU samples send a copy of the user registers and
 * stack top instead. Off-CPU time cannot be copied cheaply at every
 * switch, so a block of at least PROF_OFFCPU_COPY_MIN_NS, of a process
 * a waiting request asks for (any, for one without pid=), waits, when the
 * thread is back, for its return from the system call (sys_exit, in the
 * thread's own context, where its user state is still the one it
 * blocked in) and is copied there, or only announced again when that
 * state is the one of the thread's last copy. Shorter blocks, and those
 * that return to user mode another way, keep the frame-pointer walk.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "profiler.h"
#include "ucopy.bpf.h"

#define EFAULT		14

char LICENSE[] SEC("license") = "GPL";

/*
 * Set by user space while an off-CPU request waits for its window: an
 * epoch, so that a thread that left the CPU during an earlier one is not
 * counted from then.
 */
volatile __u32 offcpu_on;

/* --unwind dwarf|auto: user stacks are copied, not walked. */
const volatile bool copy_user = false;

/*
 * --unwind dwarf|auto, set by user space: off-CPU requests waiting for
 * every process (their blocks are copied machine-wide); without one,
 * only the processes in offcpu_scope are copied.
 */
volatile __u32 offcpu_copy_all;

/* max_entries is set by user space: about two seconds of copies. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} copies SEC(".maps");

/*
 * --unwind auto: user space's choice per process, 1 frame pointers, 0 a
 * copy; a process not there yet is copied.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PROF_UNWIND_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} fp_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, PROF_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, PROF_MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROF_MAX_KEYS);
	__type(key, struct prof_key);
	__type(value, struct prof_value);
} cpu_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROF_MAX_KEYS);
	__type(key, struct prof_key);
	__type(value, struct prof_value);
} offcpu_counts SEC(".maps");

/* Threads off CPU: when they left and with which stacks. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PROF_MAX_BLOCKED);
	__type(key, __u32);
	__type(value, struct offcpu_start);
} offcpu_start SEC(".maps");

/* --unwind: processes an off-CPU request with pid= waits for (count) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROF_OFFCPU_SCOPE);
	__type(key, __u32);
	__type(value, __u32);
} offcpu_scope SEC(".maps");

/* --unwind: threads back from a long block, before their sys_exit */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROF_MAX_BLOCKED);
	__type(key, __u32);
	__type(value, struct offcpu_wait);
} offcpu_wait SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PROF_OFFCPU_COPIED);
	__type(key, __u32);
	__type(value, struct offcpu_copied);
} offcpu_copied SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROF_NSTATS);
	__type(key, __u32);
	__type(value, __u64);
} prof_stats SEC(".maps");

static __always_inline void stat_add(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&prof_stats, &which);

	if (n)
		*n += 1;
}

/*
 * One half of the current task's stack: -EFAULT (no frames of that kind:
 * a sample in user mode has no kernel part, a kernel thread no user part)
 * is not a loss; any other failure is counted, and the sample keeps a
 * marker so that its time is not shown as a shorter stack.
 */
static __always_inline __s32 stack_of(void *ctx, __u64 flags)
{
	long id = bpf_get_stackid(ctx, &stacks, flags);

	if (id >= 0)
		return id;
	if (id == -EFAULT)
		return -1;
	stat_add(PROF_STAT_NO_STACK);
	return PROF_STACK_LOST;
}

static __always_inline void key_current(void *ctx, struct prof_key *k)
{
	__u64 id = bpf_get_current_pid_tgid();

	k->tgid = id >> 32;
	k->cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(k->comm, sizeof(k->comm));
	k->user_stack = stack_of(ctx, BPF_F_USER_STACK);
	k->kernel_stack = stack_of(ctx, 0);
}

static __always_inline void count_n(void *map, struct prof_key *k, __u64 n,
				    __u64 ns)
{
	struct prof_value *v = bpf_map_lookup_elem(map, k);
	struct prof_value init = { n, ns };

	if (!v) {
		if (!bpf_map_update_elem(map, k, &init, BPF_NOEXIST))
			return;
		/* another CPU may have inserted it meanwhile */
		v = bpf_map_lookup_elem(map, k);
		if (!v) {
			stat_add(PROF_STAT_FULL);
			return;
		}
	}
	__sync_fetch_and_add(&v->count, n);
	__sync_fetch_and_add(&v->ns, ns);
}

static __always_inline void count(void *map, struct prof_key *k, __u64 ns)
{
	count_n(map, k, 1, ns);
}

/* Whether process tgid's user stacks are copied (not frame pointers). */
static __always_inline bool copies_of(__u32 tgid)
{
	__u8 *fp;

	if (!copy_user)
		return false;
	fp = bpf_map_lookup_elem(&fp_pids, &tgid);
	return !fp || !*fp;
}

/*
 * --unwind dwarf|auto: sends the sample with its user registers and
 * stack top to user space, which walks and counts it; false when the
 * kernel's frame-pointer walk is to be counted instead (frame pointers
 * chosen for the process, or a task without user memory).
 */
static __always_inline bool copy_sample(void *ctx, __u32 tgid)
{
	struct task_struct *t;
	struct prof_copy *c;

	if (!copies_of(tgid))
		return false;
	t = bpf_get_current_task_btf();
	if (!BPF_CORE_READ(t, mm))
		return false;
	c = bpf_ringbuf_reserve(&copies, sizeof(*c), 0);
	if (!c) {
		stat_add(PROF_STAT_FULL);
		return true;
	}
	c->h.type = PROF_COPY_CPU;
	c->h.tid = (__u32)bpf_get_current_pid_tgid();
	c->h.count = 1;
	c->h.ns = 0;
	c->h.key.tgid = tgid;
	c->h.key.pad = 0;
	c->h.key.cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(c->h.key.comm, sizeof(c->h.key.comm));
	c->h.key.user_stack = -1;
	c->h.key.kernel_stack = stack_of(ctx, 0);
	c->pad = 0;
	c->size = ucopy_user(t, c->regs, c->stack);
	/* read once a second: no wakeup */
	bpf_ringbuf_submit(c, BPF_RB_NO_WAKEUP);
	return true;
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	struct prof_key k = {};
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	/* each CPU's idle task has pid 0 */
	if (!(__u32)bpf_get_current_pid_tgid())
		return 0;
	if (copy_sample(ctx, tgid))
		return 0;
	key_current(ctx, &k);
	count(&cpu_counts, &k, 0);
	return 0;
}

static __always_inline bool same_key(const struct prof_key *a,
				     const struct prof_key *b)
{
	const __u64 *ca = (const __u64 *)a->comm, *cb = (const __u64 *)b->comm;

	return a->tgid == b->tgid && a->cgroup == b->cgroup &&
	       a->user_stack == b->user_stack &&
	       a->kernel_stack == b->kernel_stack && ca[0] == cb[0] &&
	       ca[1] == cb[1];
}

/*
 * Thread next is back after ns off CPU with the stacks of key k. A long
 * block of a copied process waits for the thread's sys_exit (added to
 * what waits there already when the stacks are the same: several blocks
 * in one system call); anything else is counted now.
 */
static __always_inline void offcpu_add(struct task_struct *next,
				       struct prof_key *k, __u64 ns,
				       __u64 now, __u32 epoch)
{
	struct offcpu_wait w = {}, *old;
	__u32 tid;

	if (ns < PROF_OFFCPU_COPY_MIN_NS || !copies_of(k->tgid) ||
	    (!offcpu_copy_all &&
	     !bpf_map_lookup_elem(&offcpu_scope, &k->tgid)) ||
	    !BPF_CORE_READ(next, mm)) {
		count(&offcpu_counts, k, ns);
		return;
	}
	tid = BPF_CORE_READ(next, pid);
	old = bpf_map_lookup_elem(&offcpu_wait, &tid);
	if (old && old->epoch == epoch && same_key(&old->key, k)) {
		__sync_fetch_and_add(&old->count, 1);
		__sync_fetch_and_add(&old->ns, ns);
		old->last_ns = now;
		return;
	}
	/* it went back to user mode without a system call's exit */
	if (old && old->epoch == epoch)
		count_n(&offcpu_counts, &old->key, old->count, old->ns);
	w.key = *k;
	w.count = 1;
	w.ns = ns;
	w.last_ns = now;
	w.epoch = epoch;
	if (bpf_map_update_elem(&offcpu_wait, &tid, &w, BPF_ANY))
		count(&offcpu_counts, k, ns);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(offcpu_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	struct offcpu_start st = {}, *in;
	__u32 tid, epoch = offcpu_on;
	__u64 now;

	if (!epoch)
		return 0;
	now = bpf_ktime_get_ns();
	tid = (__u32)bpf_get_current_pid_tgid();
	/* prev is the current task: its stacks are the ones it blocks in */
	if (tid) {
		st.ts_ns = now;
		st.epoch = epoch;
		key_current(ctx, &st.key);
		bpf_map_update_elem(&offcpu_start, &tid, &st, BPF_ANY);
	}
	tid = BPF_CORE_READ(next, pid);
	in = bpf_map_lookup_elem(&offcpu_start, &tid);
	if (!in)
		return 0;
	if (in->epoch == epoch && now > in->ts_ns) {
		if (copy_user)
			offcpu_add(next, &in->key, now - in->ts_ns, now,
				   epoch);
		else
			count(&offcpu_counts, &in->key, now - in->ts_ns);
	}
	bpf_map_delete_elem(&offcpu_start, &tid);
	return 0;
}

/*
 * The thread's user state, as it blocked, is its own: sent whole, or as
 * a head only when the thread's last copy was made in the same state
 * (a loop that blocks at the same place copies once). A full ring
 * leaves the frame-pointer walk counted.
 */
static __always_inline void offcpu_send(struct offcpu_wait *w, __u32 tid,
					struct pt_regs *regs)
{
	struct offcpu_copied now = {}, *last;
	struct prof_copy_head *h;
	struct task_struct *t;
	struct prof_copy *c;

	now.ip = BPF_CORE_READ(regs, ip);
	now.sp = BPF_CORE_READ(regs, sp);
	now.bp = BPF_CORE_READ(regs, bp);
	now.epoch = w->epoch;
	now.tgid = w->key.tgid;
	last = bpf_map_lookup_elem(&offcpu_copied, &tid);
	if (last && last->ip == now.ip && last->sp == now.sp &&
	    last->bp == now.bp && last->epoch == now.epoch &&
	    last->tgid == now.tgid) {
		h = bpf_ringbuf_reserve(&copies, sizeof(*h), 0);
		if (!h)
			goto full;
		h->type = PROF_COPY_AGAIN;
		h->tid = tid;
		h->count = w->count;
		h->ns = w->ns;
		h->key = w->key;
		bpf_ringbuf_submit(h, BPF_RB_NO_WAKEUP);
		return;
	}
	c = bpf_ringbuf_reserve(&copies, sizeof(*c), 0);
	if (!c)
		goto full;
	t = bpf_get_current_task_btf();
	c->h.type = PROF_COPY_OFFCPU;
	c->h.tid = tid;
	c->h.count = w->count;
	c->h.ns = w->ns;
	c->h.key = w->key;
	c->pad = 0;
	c->size = ucopy_user(t, c->regs, c->stack);
	bpf_ringbuf_submit(c, BPF_RB_NO_WAKEUP);
	bpf_map_update_elem(&offcpu_copied, &tid, &now, BPF_ANY);
	return;
full:
	count_n(&offcpu_counts, &w->key, w->count, w->ns);
}

/* --unwind dwarf|auto: a thread that waits for its copy leaves the kernel. */
SEC("tp_btf/sys_exit")
int BPF_PROG(offcpu_return, struct pt_regs *regs, long ret)
{
	__u32 tid, epoch = offcpu_on;
	struct offcpu_wait *w;

	if (!epoch)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	w = bpf_map_lookup_elem(&offcpu_wait, &tid);
	if (!w)
		return 0;
	if (w->epoch == epoch)
		offcpu_send(w, tid, regs);
	bpf_map_delete_elem(&offcpu_wait, &tid);
	return 0;
}

/*
 * Kernel side of the stack-sampling tools: the stack map, the counts
 * hash keyed by (pid, comm, user stack id, kernel stack id), the loss
 * counters, and the first-sample announcement of each process. Include
 * after loupe.bpf.h.
 */
#ifndef LOUPE_STACKS_BPF_H
#define LOUPE_STACKS_BPF_H

#include "stacks.h"
#include "ucopy.bpf.h"

#define STACKS_EFAULT	14

/* Which halves to collect (-U, -K). */
const volatile bool stacks_user = true;
const volatile bool stacks_kernel = true;
/* --unwind dwarf|auto: copy user stacks to user space instead of walking. */
const volatile bool stacks_copy = false;

/* max_entries is set by user space (--stack-storage-size). */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, STACKS_STORAGE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, STACKS_MAX_DEPTH * sizeof(__u64));
} stackmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STACKS_MAX_KEYS);
	__type(key, struct stack_key);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STACKS_NSTATS);
	__type(key, __u32);
	__type(value, __u64);
} stack_stats SEC(".maps");

/* Processes announced since user space last cleared this. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STACKS_MAX_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} seen_pids SEC(".maps");

/*
 * --unwind auto: user space's choice per process, 1 frame pointers, 0 a
 * copy; a process not there yet is copied.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STACKS_MAX_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} fp_pids SEC(".maps");

/* Whether the user stack of a sample of process pid is copied. */
static __always_inline bool stacks_copies(__u32 pid)
{
	__u8 *fp;

	if (!stacks_copy || !stacks_user)
		return false;
	fp = bpf_map_lookup_elem(&fp_pids, &pid);
	return !fp || !*fp;
}

static __always_inline void stacks_stat(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&stack_stats, &which);

	if (n)
		*n += 1;
}

/*
 * One half of the current task's stack. -EFAULT means there are no
 * frames of that kind (a sample taken in user mode has no kernel part; a
 * task without an mm has no user part): that is not a loss. Everything
 * else is, and is counted.
 */
static __always_inline __s32 stacks_get(void *ctx, bool user)
{
	struct task_struct *t;
	long id;

	if (user ? !stacks_user : !stacks_kernel)
		return STACK_ID_NONE;
	id = bpf_get_stackid(ctx, &stackmap, user ? BPF_F_USER_STACK : 0);
	if (id >= 0)
		return id;
	if (id == -STACKS_EFAULT) {
		if (!user)
			return STACK_ID_NONE;
		t = (struct task_struct *)bpf_get_current_task();
		if (!BPF_CORE_READ(t, mm))
			return STACK_ID_NONE;
	}
	stacks_stat(user ? STACKS_MISSED_USER : STACKS_MISSED_KERNEL);
	return id == STACK_ID_NONE ? -STACKS_EFAULT : id;
}

/* Fills a key for the current task (tgid, comm, both stacks). */
static __always_inline void stacks_key_current(void *ctx, struct stack_key *k)
{
	k->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(k->comm, sizeof(k->comm));
	k->user_stack_id = stacks_copies(k->pid) ? STACK_ID_NONE :
			   stacks_get(ctx, true);
	k->kernel_stack_id = stacks_get(ctx, false);
}

/*
 * --unwind dwarf: the user registers and the top of the user stack
 * (ucopy.bpf.h) go to user space with the kernel stack id, comm and
 * ts_ns; true if sent, or lost to a full ring (counted as such), false
 * for a task without user memory (its user half is then empty).
 */
static __always_inline bool stacks_copy_user(void *ctx, struct stack_key *k,
					     __u64 ts_ns)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct stacks_sample *e;

	if (!BPF_CORE_READ(t, mm))
		return false;
	e = event_reserve(sizeof(*e));
	if (!e)
		return true;
	e->pid = k->pid;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->kernel_stack_id = k->kernel_stack_id;
	__builtin_memcpy(e->comm, k->comm, sizeof(e->comm));
	e->ts_ns = ts_ns;
	e->size = ucopy_user(t, e->regs, e->stack);
	event_submit(e);
	return true;
}

static __always_inline void stacks_add(struct stack_key *k, __u64 v)
{
	__u64 *cur = bpf_map_lookup_elem(&counts, k);

	if (!cur) {
		if (!bpf_map_update_elem(&counts, k, &v, BPF_NOEXIST))
			return;
		/* Another CPU may have inserted it meanwhile. */
		cur = bpf_map_lookup_elem(&counts, k);
		if (!cur) {
			stacks_stat(STACKS_COUNTS_FULL);
			return;
		}
	}
	__sync_fetch_and_add(cur, v);
}

/*
 * User stacks are symbolized from the process's mappings, which are gone
 * once it exits: tell user space to read them on its first sample (and
 * again after each time user space clears seen_pids). That is at most
 * once per process per second, so the reader is woken at once: a process
 * that lives for a few milliseconds is still caught alive. Best effort: a
 * full ring only delays the capture, so it is not counted as a loss.
 */
static __always_inline void stacks_announce(__u32 pid)
{
	struct stacks_pid_event e = { .pid = pid };
	__u8 one = 1;

	if (!stacks_user || !pid)
		return;
	if (bpf_map_update_elem(&seen_pids, &pid, &one, BPF_NOEXIST))
		return;
	bpf_ringbuf_output(&events, &e, sizeof(e), BPF_RB_FORCE_WAKEUP);
}

#endif

/*
 * runqlen, kernel side: a perf_event program run by a cpu-clock timer on
 * every CPU samples how many CFS tasks are waiting on that CPU's run queue
 * into a per-CPU linear histogram. The run queue is reached through CO-RE
 * from the interrupted task: its cfs_rq, that cfs_rq's rq, and the rq's
 * root cfs_rq, whose hierarchical count includes tasks in every cgroup.
 * (The per-CPU runqueues variable would be shorter, but its address is
 * only in kallsyms with CONFIG_KALLSYMS_ALL, which this kernel lacks.)
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "runqlen.h"

/* Before 6.13 the count was called h_nr_running. */
struct cfs_rq___pre613 {
	unsigned int h_nr_running;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct runqlen_hist);
} hists SEC(".maps");

/* SCHED_NORMAL, SCHED_BATCH and SCHED_IDLE tasks run in CFS. */
static __always_inline bool is_fair(struct task_struct *t)
{
	unsigned int policy = BPF_CORE_READ(t, policy);

	return policy == 0 || policy == 3 || policy == 5;
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *curr = (struct task_struct *)bpf_get_current_task();
	struct runqlen_hist *h;
	struct cfs_rq *cfs;
	__u32 zero = 0;
	__u64 len;

	h = bpf_map_lookup_elem(&hists, &zero);
	if (!h)
		return 0;
	cfs = BPF_CORE_READ(curr, se.cfs_rq);
	/* With group scheduling, the task's cfs_rq may be a cgroup's. */
	if (bpf_core_field_exists(cfs->rq)) {
		struct rq *rq = BPF_CORE_READ(cfs, rq);

		cfs = &rq->cfs;
	}
	if (bpf_core_field_exists(cfs->h_nr_queued))
		len = BPF_CORE_READ(cfs, h_nr_queued);
	else
		len = BPF_CORE_READ((struct cfs_rq___pre613 *)cfs,
				    h_nr_running);
	/* The task on the CPU is counted but is not waiting. */
	if (len && BPF_CORE_READ(curr, pid) && is_fair(curr))
		len--;
	if (len >= RUNQLEN_SLOTS)
		len = RUNQLEN_SLOTS - 1;
	h->slots[len]++;
	return 0;
}

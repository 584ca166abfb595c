/*
 * oomkill, kernel side: one record per OOM kill. BCC hooks
 * oom_kill_process(), which also gives the OOM context's page limit; where
 * neither fentry nor kprobes work, oom:mark_victim is the moment the victim
 * is chosen. Either way the triggering task is current.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "oomkill.h"

/* Before 6.2, mm->rss_stat was an array of atomics, not percpu_counters. */
struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

/*
 * Which layout is asked with a field-exists relocation on the old flavour:
 * it is 0, not an error, where rss_stat has the other type. (Asking for
 * the size of mm->rss_stat fails to relocate on old kernels, whose
 * rss_stat is a struct, not an array, and the program does not load.)
 */
static __always_inline __u64 mm_counter(struct mm_struct *mm, int member)
{
	struct mm_struct___old *old = (void *)mm;
	long v;

	if (bpf_core_field_exists(old->rss_stat))
		v = BPF_CORE_READ(old, rss_stat.count[member & 3].counter);
	else
		v = BPF_CORE_READ(mm, rss_stat[member & 3].count);
	/* percpu_counter_read_positive(), as the kernel reports it. */
	return v < 0 ? 0 : v;
}

static __always_inline struct oom_event *oom_begin(void)
{
	struct oom_event *e = event_reserve(sizeof(*e));

	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	event_fill_hdr(&e->hdr);
	return e;
}

/* The victim's identity and memory, read from its task (in pages). */
static __always_inline void victim_from_task(struct oom_event *e,
					     struct task_struct *t)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);

	e->victim_pid = BPF_CORE_READ(t, pid);
	e->victim_uid = BPF_CORE_READ(t, real_cred, uid.val);
	e->oom_score_adj = BPF_CORE_READ(t, signal, oom_score_adj);
	BPF_CORE_READ_STR_INTO(&e->victim_comm, t, comm);
	if (!mm)
		return;
	e->total_vm = BPF_CORE_READ(mm, total_vm);
	e->anon_rss = mm_counter(mm, MM_ANONPAGES);
	e->file_rss = mm_counter(mm, MM_FILEPAGES);
	e->shmem_rss = mm_counter(mm, MM_SHMEMPAGES);
	e->pgtables_kb = BPF_CORE_READ(mm, pgtables_bytes.counter) >> 10;
}

static __always_inline int oom_kill(struct oom_control *oc)
{
	struct oom_event *e = oom_begin();

	if (!e)
		return 0;
	e->totalpages = BPF_CORE_READ(oc, totalpages);
	e->has_totalpages = 1;
	victim_from_task(e, BPF_CORE_READ(oc, chosen));
	event_submit(e);
	return 0;
}

static __always_inline int oom_victim(struct task_struct *t, __u32 uid)
{
	struct oom_event *e = oom_begin();

	if (!e)
		return 0;
	victim_from_task(e, t);
	e->victim_uid = uid;
	event_submit(e);
	return 0;
}

SEC("fentry/oom_kill_process")
int BPF_PROG(oom_kill_fentry, struct oom_control *oc, const char *message)
{
	return oom_kill(oc);
}

SEC("kprobe/oom_kill_process")
int BPF_KPROBE(oom_kill_kprobe, struct oom_control *oc, const char *message)
{
	return oom_kill(oc);
}

SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim_btf, struct task_struct *task, uid_t uid)
{
	return oom_victim(task, uid);
}

SEC("raw_tp/mark_victim")
int BPF_PROG(mark_victim_raw, struct task_struct *task, uid_t uid)
{
	return oom_victim(task, uid);
}

/* The classic tracepoint already did the work, in KB. */
SEC("tracepoint/oom/mark_victim")
int mark_victim_tp(struct trace_event_raw_mark_victim *ctx)
{
	struct oom_event *e = oom_begin();
	__u32 loc;

	if (!e)
		return 0;
	e->in_kb = 1;
	e->victim_pid = ctx->pid;
	e->victim_uid = ctx->uid;
	e->oom_score_adj = ctx->oom_score_adj;
	e->total_vm = ctx->total_vm;
	e->anon_rss = ctx->anon_rss;
	e->file_rss = ctx->file_rss;
	e->shmem_rss = ctx->shmem_rss;
	e->pgtables_kb = ctx->pgtables;
	loc = ctx->__data_loc_comm;
	bpf_probe_read_kernel_str(e->victim_comm, sizeof(e->victim_comm),
				  (void *)ctx + (loc & 0xffff));
	event_submit(e);
	return 0;
}

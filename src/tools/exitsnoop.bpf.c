/*
 * exitsnoop, kernel side: one record per task exit from sched_process_exit,
 * which runs in the exiting task, so all three hook variants share a body.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "exitsnoop.h"

const volatile bool all_threads = false;

static __always_inline int exit_record(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	struct exit_event *e;
	__u32 code;

	if (!all_threads && (__u32)id != id >> 32)
		return 0;
	if (!filter_current_ok())
		return 0;
	code = BPF_CORE_READ(task, exit_code);
	if (filter.failed_only && code == 0)
		return 0;
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	event_fill_hdr(&e->hdr);
	e->start_ns = BPF_CORE_READ(task, start_time);
	e->exit_ns = bpf_ktime_get_ns();
	e->exit_code = code;
	e->pad = 0;
	event_submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int exit_btf(u64 *ctx)
{
	return exit_record();
}

SEC("raw_tp/sched_process_exit")
int exit_raw(u64 *ctx)
{
	return exit_record();
}

SEC("tracepoint/sched/sched_process_exit")
int exit_tp(void *ctx)
{
	return exit_record();
}

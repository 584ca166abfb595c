/*
 * profile, kernel side: a perf_event program run by a cpu-clock timer on
 * every CPU (user space opens the events and attaches it) records the
 * interrupted task's user and kernel stacks and counts samples per
 * (process, comm, stacks) in the kernel. The idle task is skipped unless
 * asked for, like BCC.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "stacks.bpf.h"
#include "profile.h"

const volatile bool include_idle = false;

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	struct stack_key key = {};
	__u64 id = bpf_get_current_pid_tgid();

	/* Each CPU's idle task has pid 0. */
	if (!(__u32)id && !include_idle)
		return 0;
	if (!filter_current_ok())
		return 0;
	stacks_key_current(ctx, &key);
	/* Announced first: user space reads the mappings before the walk. */
	stacks_announce(key.pid);
	if (stacks_copies(key.pid) && stacks_copy_user(ctx, &key, 0))
		return 0;
	stacks_add(&key, 1);
	return 0;
}

/*
 * execsnoop, kernel side: stash the filename and argv at execve/execveat
 * entry, emit one record at syscall exit with the return value.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "execsnoop.h"

const volatile __u32 max_args = 20;

/*
 * Keyed by tgid: a successful exec from a non-leader thread changes tid.
 * Values are 8 KB, so entries are allocated on demand, not preallocated.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct exec_event);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} zero_event SEC(".maps");

static __always_inline int exec_enter(const char *filename,
				      const char *const *argv)
{
	__u32 zero = 0, tgid = bpf_get_current_pid_tgid() >> 32;
	struct exec_event *e, *empty;
	const char *arg;
	long n;

	if (!filter_pid_ok(tgid))
		return 0;
	empty = bpf_map_lookup_elem(&zero_event, &zero);
	if (!empty)
		return 0;
	if (bpf_map_update_elem(&execs, &tgid, empty, BPF_ANY))
		return 0;
	e = bpf_map_lookup_elem(&execs, &tgid);
	if (!e)
		return 0;

	n = bpf_probe_read_user_str(e->args, EXEC_ARG_SIZE, filename);
	if (n <= 0)
		return 0;
	if (n == EXEC_ARG_SIZE)
		e->truncated = 1;
	e->args_size = n;
	e->args_count = 1;

	for (int i = 1; i < EXEC_MAX_ARGS; i++) {
		if (i >= max_args) {
			if (!bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) &&
			    arg)
				e->truncated = 1;
			break;
		}
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			break;
		if (e->args_size > EXEC_ARGS_SIZE - EXEC_ARG_SIZE) {
			e->truncated = 1;
			break;
		}
		n = bpf_probe_read_user_str(&e->args[e->args_size],
					    EXEC_ARG_SIZE, arg);
		if (n <= 0)
			break;
		if (n == EXEC_ARG_SIZE)
			e->truncated = 1;
		e->args_size += n;
		e->args_count++;
	}
	return 0;
}

static __always_inline int exec_exit(long ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct exec_event *e;
	__u64 size;

	e = bpf_map_lookup_elem(&execs, &tgid);
	if (!e)
		return 0;
	if (ret < 0 && !filter.failed_only)
		goto out;
	event_fill_hdr(&e->hdr);
	if (!filter_comm_ok(e->hdr.comm))
		goto out;
	e->ret = ret;
	size = offsetof(struct exec_event, args) + e->args_size;
	if (size > sizeof(*e))
		size = sizeof(*e);
	event_output(e, size);
out:
	bpf_map_delete_elem(&execs, &tgid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int execve_enter(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter((const char *)ctx->args[0],
			  (const char *const *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int execveat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter((const char *)ctx->args[1],
			  (const char *const *)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int execve_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int execveat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret);
}

/*
 * statsnoop, kernel side: the path (and directory fd) is stashed per thread
 * at the entry tracepoint of each stat family syscall and reported with the
 * result at its exit tracepoint.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "statsnoop.h"

#define AT_FDCWD (-100)

struct stat_args {
	const char *path;
	__s32 dfd;
	__u32 syscall;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct stat_args);
} stats SEC(".maps");

static __always_inline int stat_enter(const char *path, int dfd,
				      __u32 syscall)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct stat_args a = { .path = path, .dfd = dfd, .syscall = syscall };

	if (!filter_current_ok())
		return 0;
	bpf_map_update_elem(&stats, &tid, &a, BPF_ANY);
	return 0;
}

static __always_inline int stat_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct stat_args *a = bpf_map_lookup_elem(&stats, &tid);
	struct stat_event *e;

	if (!a)
		return 0;
	if (filter.failed_only && ret >= 0)
		goto out;
	e = event_reserve(sizeof(*e));
	if (!e)
		goto out;
	event_fill_hdr(&e->hdr);
	e->ret = ret;
	e->dfd = a->dfd;
	e->syscall = a->syscall;
	if (bpf_probe_read_user_str(e->path, sizeof(e->path), a->path) < 0)
		e->path[0] = '\0';
	event_submit(e);
out:
	bpf_map_delete_elem(&stats, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_statfs")
int statfs_enter(struct trace_event_raw_sys_enter *ctx)
{
	return stat_enter((const char *)ctx->args[0], AT_FDCWD,
			  STAT_SYSCALL_STATFS);
}

SEC("tracepoint/syscalls/sys_enter_newstat")
int newstat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return stat_enter((const char *)ctx->args[0], AT_FDCWD,
			  STAT_SYSCALL_NEWSTAT);
}

SEC("tracepoint/syscalls/sys_enter_newlstat")
int newlstat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return stat_enter((const char *)ctx->args[0], AT_FDCWD,
			  STAT_SYSCALL_NEWLSTAT);
}

SEC("tracepoint/syscalls/sys_enter_newfstatat")
int newfstatat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return stat_enter((const char *)ctx->args[1], (int)ctx->args[0],
			  STAT_SYSCALL_NEWFSTATAT);
}

SEC("tracepoint/syscalls/sys_enter_statx")
int statx_enter(struct trace_event_raw_sys_enter *ctx)
{
	return stat_enter((const char *)ctx->args[1], (int)ctx->args[0],
			  STAT_SYSCALL_STATX);
}

SEC("tracepoint/syscalls/sys_exit_statfs")
int statfs_exit(struct trace_event_raw_sys_exit *ctx)
{
	return stat_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_newstat")
int newstat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return stat_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_newlstat")
int newlstat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return stat_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_newfstatat")
int newfstatat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return stat_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_statx")
int statx_exit(struct trace_event_raw_sys_exit *ctx)
{
	return stat_exit(ctx->ret);
}

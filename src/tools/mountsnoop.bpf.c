/*
 * mountsnoop, kernel side: mount(), umount() and the new mount API
 * (fsopen, fsconfig, fsmount, move_mount, open_tree, fspick,
 * mount_setattr, open_tree_attr) from their syscall tracepoints. The
 * entry copies the arguments, strings included, while the caller's
 * memory is certainly mapped; the exit adds the result and emits.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "ustr.bpf.h"
#include "mountsnoop.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct mount_event);
} mounts SEC(".maps");

/* Building area: the event is too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mount_event);
} scratch SEC(".maps");

/* fsconfig commands whose value argument is a string (or a path). */
#define FSCONFIG_SET_STRING	1
#define FSCONFIG_SET_PATH	3
#define FSCONFIG_SET_PATH_EMPTY	4

/*
 * Strings are read at the exit, where the kernel has copied them, so they
 * are resident even if they were not at the entry (see ustr.bpf.h); the
 * caller's memory is unchanged until the call returns. A string the call
 * never read (it failed first) may still be unreadable: str_state says so.
 * strmask has bit i set if argument i is a user string.
 */
static __always_inline void read_strings(struct mount_event *e)
{
	int slot = 0;

#pragma unroll
	for (int i = 0; i < MOUNT_NARGS; i++) {
		if (!(e->strmask & (1 << i)) || slot >= MOUNT_NSTR)
			continue;
		if (e->args[i])
			ustr_read(e->str[slot], MOUNT_STR_SIZE,
				  (void *)e->args[i], &e->str_state[slot]);
		slot++;
	}
	if (e->attr_arg < MOUNT_NARGS - 1 && e->args[e->attr_arg] &&
	    e->args[e->attr_arg + 1] >= sizeof(e->attr) &&
	    !bpf_probe_read_user(e->attr, sizeof(e->attr),
				 (void *)e->args[e->attr_arg]))
		e->has_attr = 1;
}

static __always_inline int mnt_call_enter(struct trace_event_raw_sys_enter *ctx,
					  __u32 call, __u32 strmask,
					  int attr_arg)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0;
	struct mount_event *e;

	if (!filter_current_ok())
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	/* One copy: clang would otherwise walk ctx with a moving pointer. */
	if (bpf_probe_read_kernel(e->args, sizeof(e->args), ctx->args))
		return 0;
	e->ret = 0;
	e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	e->call = call;
	e->strmask = strmask;
	e->attr_arg = attr_arg < 0 ? MOUNT_NARGS : attr_arg;
	e->has_attr = 0;
#pragma unroll
	for (int i = 0; i < MOUNT_NSTR; i++) {
		e->str[i][0] = '\0';
		e->str_state[i] = 0;
	}
	event_fill_hdr(&e->hdr);
	bpf_map_update_elem(&mounts, &tid, e, BPF_ANY);
	return 0;
}

static __always_inline int mnt_call_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mount_event *e = bpf_map_lookup_elem(&mounts, &tid);

	if (!e)
		return 0;
	if (!filter.failed_only || ret < 0) {
		e->ret = ret;
		e->hdr.ts_ns = bpf_ktime_get_boot_ns();
		read_strings(e);
		event_output(e, sizeof(*e));
	}
	bpf_map_delete_elem(&mounts, &tid);
	return 0;
}

#define MOUNT_TP(name, call, strmask, attr_arg)				\
SEC("tracepoint/syscalls/sys_enter_" #name)				\
int name##_enter(struct trace_event_raw_sys_enter *ctx)			\
{									\
	return mnt_call_enter(ctx, call, strmask, attr_arg);		\
}									\
SEC("tracepoint/syscalls/sys_exit_" #name)				\
int name##_exit(struct trace_event_raw_sys_exit *ctx)			\
{									\
	return mnt_call_exit(ctx->ret);					\
}

/* mount(source, target, fstype, flags, data): data is read as text. */
MOUNT_TP(mount, MOUNT_CALL_MOUNT, 0x17, -1)
/* umount2(target, flags); x86-64 names it umount. */
MOUNT_TP(umount, MOUNT_CALL_UMOUNT, 0x1, -1)
MOUNT_TP(fsopen, MOUNT_CALL_FSOPEN, 0x1, -1)
MOUNT_TP(fsmount, MOUNT_CALL_FSMOUNT, 0, -1)
MOUNT_TP(move_mount, MOUNT_CALL_MOVE_MOUNT, 0xa, -1)
MOUNT_TP(open_tree, MOUNT_CALL_OPEN_TREE, 0x2, -1)
MOUNT_TP(fspick, MOUNT_CALL_FSPICK, 0x2, -1)
MOUNT_TP(mount_setattr, MOUNT_CALL_MOUNT_SETATTR, 0x2, 3)
MOUNT_TP(open_tree_attr, MOUNT_CALL_OPEN_TREE_ATTR, 0x2, 3)

/* fsconfig(fd, cmd, key, value, aux): value is a string for some cmds. */
SEC("tracepoint/syscalls/sys_enter_fsconfig")
int fsconfig_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 cmd = ctx->args[1];
	__u32 mask = 0x4;

	if (cmd == FSCONFIG_SET_STRING || cmd == FSCONFIG_SET_PATH ||
	    cmd == FSCONFIG_SET_PATH_EMPTY)
		mask |= 0x8;
	return mnt_call_enter(ctx, MOUNT_CALL_FSCONFIG, mask, -1);
}

SEC("tracepoint/syscalls/sys_exit_fsconfig")
int fsconfig_exit(struct trace_event_raw_sys_exit *ctx)
{
	return mnt_call_exit(ctx->ret);
}

/*
 * opensnoop, kernel side. Four hook families, cheapest first: one fexit on
 * do_sys_openat2 (arguments and result together), a kprobe/kretprobe pair
 * on the same function, the syscall exit tracepoints alone (arguments read
 * back from the task's saved user registers), or the entry and exit
 * tracepoints with a per-thread stash in between. User space keeps exactly
 * one family loaded (see hook_choose()).
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "ustr.bpf.h"
#include "opensnoop.h"

struct open_args {
	const char *path;
	__u64 flags;
	__u32 mode;
	__u32 syscall;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct open_args);
} opens SEC(".maps");

/*
 * Building area for a path too long for OPEN_RECORD_SHORT: a record with
 * room for PATH_MAX is too big for the BPF stack, and reserving that much
 * ring for every open would make the ring hold a tenth of the events; only
 * the used part is copied into the ring.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct open_event);
} scratch SEC(".maps");

static __always_inline void open_fill(struct open_event *e,
				      const struct open_args *a, long ret,
				      struct task_struct *task)
{
	if (task)
		event_fill_hdr_btf(&e->hdr, task);
	else
		event_fill_hdr(&e->hdr);
	e->ret = ret;
	e->flags = a->flags;
	e->mode = a->mode;
	e->syscall = a->syscall;
}

/* Read at the call's exit: the kernel has faulted the path in. */
static __always_inline void open_emit_task(const struct open_args *a,
					   long ret, struct task_struct *task)
{
	struct open_event *e;
	__u32 zero = 0, n;

	if (filter.failed_only && ret >= 0)
		return;
	e = event_reserve(OPEN_RECORD_SHORT);
	if (!e)
		return;
	ustr_read(e->path, OPEN_PATH_SHORT, a->path, &e->path_state);
	if (!(e->path_state & USTR_TRUNCATED)) {
		open_fill(e, a, ret, task);
		event_submit(e);
		return;
	}
	bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return;
	open_fill(e, a, ret, task);
	n = ustr_read(e->path, sizeof(e->path), a->path, &e->path_state);
	event_output(e, offsetof(struct open_event, path) + n);
}

static __always_inline void open_emit(const struct open_args *a, long ret)
{
	open_emit_task(a, ret, NULL);
}

static __always_inline int open_enter(const char *path, __u64 flags,
				      __u32 mode, __u32 syscall)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct open_args a = {
		.path = path, .flags = flags, .mode = mode, .syscall = syscall,
	};

	if (!filter_current_ok())
		return 0;
	bpf_map_update_elem(&opens, &tid, &a, BPF_ANY);
	return 0;
}

static __always_inline int open_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct open_args *a = bpf_map_lookup_elem(&opens, &tid);

	if (!a)
		return 0;
	open_emit(a, ret);
	bpf_map_delete_elem(&opens, &tid);
	return 0;
}

/* Syscall numbers; openat2 has the same one everywhere. */
#define OPEN_NR_OPENAT2	437
#if defined(__TARGET_ARCH_x86)
#define OPEN_NR_OPEN	2
#define OPEN_NR_OPENAT	257
#elif defined(__TARGET_ARCH_arm64)
#define OPEN_NR_OPEN	(-1)	/* arm64 has no open() */
#define OPEN_NR_OPENAT	56
#else
#define OPEN_NR_OPEN	(-1)
#define OPEN_NR_OPENAT	(-1)
#endif

/*
 * Below the syscall layer (fexit, kprobe) do_sys_openat2() does not know
 * which syscall it serves, and the syscalls have already added O_LARGEFILE
 * to its flags (and open()/openat() masked the mode). Both are read back from
 * the task's saved user registers, as at syscall exit, so that every hook
 * reports the same event. Kernels without bpf_task_pt_regs() (before 5.15)
 * keep do_sys_openat2()'s view: the verifier drops this code there.
 */
static __always_inline void open_args_from_syscall(struct open_args *a)
{
	struct pt_regs *regs;
	long nr;

	if (!bpf_core_enum_value_exists(enum bpf_func_id,
					BPF_FUNC_task_pt_regs))
		return;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	nr = regs_syscall_nr(regs);
	if (nr == OPEN_NR_OPENAT2) {
		/* openat2() adds O_LARGEFILE to its kernel copy of open_how. */
		struct open_how *how = (void *)PT_REGS_PARM3_CORE_SYSCALL(regs);

		a->syscall = OPEN_SYSCALL_OPENAT2;
		bpf_probe_read_user(&a->flags, sizeof(a->flags), &how->flags);
		bpf_probe_read_user(&a->mode, sizeof(a->mode), &how->mode);
	} else if (nr == OPEN_NR_OPENAT) {
		a->syscall = OPEN_SYSCALL_OPENAT;
		a->flags = PT_REGS_PARM3_CORE_SYSCALL(regs);
		a->mode = PT_REGS_PARM4_CORE_SYSCALL(regs);
	} else if (nr == OPEN_NR_OPEN) {
		a->syscall = OPEN_SYSCALL_OPEN;
		a->flags = PT_REGS_PARM2_CORE_SYSCALL(regs);
		a->mode = PT_REGS_PARM3_CORE_SYSCALL(regs);
	}
}

SEC("fexit/do_sys_openat2")
int BPF_PROG(openat2_fexit, int dfd, const char *path, struct open_how *how,
	     long ret)
{
	struct open_args a = { .path = path };

	if (!filter_current_ok())
		return 0;
	a.flags = BPF_CORE_READ(how, flags);
	a.mode = BPF_CORE_READ(how, mode);
	open_args_from_syscall(&a);
	open_emit(&a, ret);
	return 0;
}

SEC("kprobe/do_sys_openat2")
int BPF_KPROBE(openat2_kprobe, int dfd, const char *path, struct open_how *how)
{
	struct open_args a = { .path = path };

	a.flags = BPF_CORE_READ(how, flags);
	a.mode = BPF_CORE_READ(how, mode);
	open_args_from_syscall(&a);
	return open_enter(path, a.flags, a.mode, a.syscall);
}

SEC("kretprobe/do_sys_openat2")
int BPF_KRETPROBE(openat2_kretprobe, long ret)
{
	return open_exit(ret);
}

/*
 * At syscall exit the arguments are still in the user registers saved on
 * entry: one program per open instead of two, and no stash map.
 */
static __always_inline int open_exit_regs(long ret, __u32 syscall)
{
	struct open_args a = { .syscall = syscall };
	struct task_struct *task;
	struct open_how *how;
	struct pt_regs *regs;

	if (filter.failed_only && ret >= 0)
		return 0;
	if (!filter_current_ok())
		return 0;
	task = bpf_get_current_task_btf();
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (syscall == OPEN_SYSCALL_OPEN) {
		a.path = (const char *)PT_REGS_PARM1_SYSCALL(regs);
		a.flags = PT_REGS_PARM2_SYSCALL(regs);
		a.mode = PT_REGS_PARM3_SYSCALL(regs);
	} else if (syscall == OPEN_SYSCALL_OPENAT) {
		a.path = (const char *)PT_REGS_PARM2_SYSCALL(regs);
		a.flags = PT_REGS_PARM3_SYSCALL(regs);
		a.mode = PT_REGS_PARM4_SYSCALL(regs);
	} else {
		a.path = (const char *)PT_REGS_PARM2_SYSCALL(regs);
		how = (struct open_how *)PT_REGS_PARM3_SYSCALL(regs);
		bpf_probe_read_user(&a.flags, sizeof(a.flags), &how->flags);
		bpf_probe_read_user(&a.mode, sizeof(a.mode), &how->mode);
	}
	open_emit_task(&a, ret, task);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int open_exit_only(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit_regs(ctx->ret, OPEN_SYSCALL_OPEN);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit_only(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit_regs(ctx->ret, OPEN_SYSCALL_OPENAT);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int openat2_exit_only(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit_regs(ctx->ret, OPEN_SYSCALL_OPENAT2);
}

/*
 * --raw-syscalls: the exit of every syscall, the open family picked by
 * its number: one link that detaches at once instead of three syscall
 * tracepoints that each wait for RCU grace periods when detached.
 */
static __always_inline int open_exit_nr(long nr, long ret)
{
	if (nr == OPEN_NR_OPENAT)
		return open_exit_regs(ret, OPEN_SYSCALL_OPENAT);
	if (OPEN_NR_OPEN >= 0 && nr == OPEN_NR_OPEN)
		return open_exit_regs(ret, OPEN_SYSCALL_OPEN);
	if (nr == OPEN_NR_OPENAT2)
		return open_exit_regs(ret, OPEN_SYSCALL_OPENAT2);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(open_exit_raw_btf, struct pt_regs *regs, long ret)
{
	return open_exit_nr(regs_syscall_nr_btf(regs), ret);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(open_exit_raw, struct pt_regs *regs, long ret)
{
	return open_exit_nr(regs_syscall_nr(regs), ret);
}

SEC("tracepoint/syscalls/sys_enter_open")
int open_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter((const char *)ctx->args[0], ctx->args[1],
			  ctx->args[2], OPEN_SYSCALL_OPEN);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter((const char *)ctx->args[1], ctx->args[2],
			  ctx->args[3], OPEN_SYSCALL_OPENAT);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int openat2_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return open_enter((const char *)ctx->args[1], how.flags, how.mode,
			  OPEN_SYSCALL_OPENAT2);
}

SEC("tracepoint/syscalls/sys_exit_open")
int open_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int openat2_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

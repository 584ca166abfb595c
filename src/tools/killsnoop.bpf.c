/*
 * killsnoop, kernel side. Default mode: the kill, tkill and tgkill syscall
 * tracepoints; the entry stashes the arguments per thread and the exit
 * emits them with the result, so -x can be decided in the kernel. With
 * --generated, every signal the kernel generates (from any syscall, a
 * fault, a timer or the kernel itself) through signal:signal_generate.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "killsnoop.h"

/* Only this signal number when non-zero (--sig). */
const volatile int target_sig = 0;

struct kill_args {
	__s32 sig;
	__s32 tpid;
	__s32 tgid;
	__u32 source;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct kill_args);
} kills SEC(".maps");

static __always_inline int kill_enter(__s32 tgid, __s32 tpid, __s32 sig,
				      __u32 source)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct kill_args a = {
		.sig = sig, .tpid = tpid, .tgid = tgid, .source = source,
	};

	if (target_sig && sig != target_sig)
		return 0;
	if (!filter_current_ok())
		return 0;
	bpf_map_update_elem(&kills, &tid, &a, BPF_ANY);
	return 0;
}

static __always_inline int kill_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct kill_args *a = bpf_map_lookup_elem(&kills, &tid);
	struct kill_event *e;

	if (!a)
		return 0;
	if (filter.failed_only && ret >= 0)
		goto out;
	e = event_reserve(sizeof(*e));
	if (!e)
		goto out;
	__builtin_memset(e, 0, sizeof(*e));
	event_fill_hdr(&e->hdr);
	e->ret = ret;
	e->sig = a->sig;
	e->tpid = a->tpid;
	e->tgid = a->tgid;
	e->source = a->source;
	event_submit(e);
out:
	bpf_map_delete_elem(&kills, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_kill")
int kill_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	return kill_enter(0, ctx->args[0], ctx->args[1], KILL_SRC_KILL);
}

SEC("tracepoint/syscalls/sys_enter_tkill")
int tkill_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	return kill_enter(0, ctx->args[0], ctx->args[1], KILL_SRC_TKILL);
}

SEC("tracepoint/syscalls/sys_enter_tgkill")
int tgkill_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	return kill_enter(ctx->args[0], ctx->args[1], ctx->args[2],
			  KILL_SRC_TGKILL);
}

SEC("tracepoint/syscalls/sys_exit_kill")
int kill_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return kill_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int tkill_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return kill_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int tgkill_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return kill_exit(ctx->ret);
}

/*
 * One generated signal. The sender is current (for a fault or a timer,
 * the task the kernel acts for); result is the kernel's TRACE_SIGNAL_*.
 */
static __always_inline int generate_emit(int sig, int code, int group,
					 int result, int tpid,
					 const char *tcomm, bool user_comm)
{
	struct kill_event *e;

	if (target_sig && sig != target_sig)
		return 0;
	/* -x: everything the kernel did not deliver. */
	if (filter.failed_only && result == 0)
		return 0;
	if (!filter_current_ok())
		return 0;
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	event_fill_hdr(&e->hdr);
	e->ret = result;
	e->sig = sig;
	e->tpid = tpid;
	e->code = code;
	e->group = group;
	e->source = KILL_SRC_GENERATE;
	if (user_comm)
		tp_copy(e->tcomm, tcomm, sizeof(e->tcomm));
	else
		bpf_probe_read_kernel_str(e->tcomm, sizeof(e->tcomm), tcomm);
	event_submit(e);
	return 0;
}

/*
 * SEND_SIG_NOINFO (0) and SEND_SIG_PRIV (1) are not pointers; the
 * tracepoint itself reports them as SI_USER and SI_KERNEL.
 */
static __always_inline int siginfo_code(struct kernel_siginfo *info)
{
	if ((unsigned long)info == 0)
		return 0;		/* SI_USER */
	if ((unsigned long)info == 1)
		return 0x80;		/* SI_KERNEL */
	return BPF_CORE_READ(info, si_code);
}

SEC("tp_btf/signal_generate")
int BPF_PROG(generate_btf, int sig, struct kernel_siginfo *info,
	     struct task_struct *task, int group, int result)
{
	return generate_emit(sig, siginfo_code(info), group, result,
			     BPF_CORE_READ(task, pid), task->comm, false);
}

SEC("raw_tp/signal_generate")
int BPF_PROG(generate_raw, int sig, struct kernel_siginfo *info,
	     struct task_struct *task, int group, int result)
{
	return generate_emit(sig, siginfo_code(info), group, result,
			     BPF_CORE_READ(task, pid), task->comm, false);
}

SEC("tracepoint/signal/signal_generate")
int generate_tp(struct trace_event_raw_signal_generate *ctx)
{
	return generate_emit(ctx->sig, ctx->code, ctx->group, ctx->result,
			     ctx->pid, ctx->comm, true);
}

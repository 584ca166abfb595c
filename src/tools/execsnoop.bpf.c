/*
 * execsnoop, kernel side: copy the filename and argv at execve/execveat
 * entry, emit one record at syscall exit with the return value. A failed
 * exec leaves the caller's image as it was, so strings the entry could not
 * read (pages not resident yet) are read again at exit.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "ustr.bpf.h"
#include "execsnoop.h"

const volatile __u32 max_args = 20;

/* One exec in progress: the record, and where its strings came from. */
struct exec_call {
	const char *filename;
	const char *const *argv;
	struct exec_event e;
};

/*
 * Keyed by tgid: a successful exec from a non-leader thread changes tid.
 * Values are 8 KB, so entries are allocated on demand, not preallocated.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct exec_call);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_call);
} zero_call SEC(".maps");

/*
 * The filename, then argv[1..], as NUL-separated strings. The list stops
 * at the first string that cannot be read (USTR_UNREAD): what it holds is
 * always whole strings in their order.
 */
static __always_inline void exec_read_args(struct exec_call *c)
{
	struct exec_event *e = &c->e;
	const char *arg;
	__u32 state, n;

	e->args_state = 0;
	e->args_size = 0;
	e->args_count = 0;
	n = ustr_read(e->args, EXEC_ARG_SIZE, c->filename, &state);
	e->args_state = state;
	if (state & USTR_UNREAD)
		return;
	e->args_size = n;
	e->args_count = 1;
	/* The filename stands for argv[0], but a NULL there ends argv. */
	if (!c->argv)
		return;
	if (bpf_probe_read_user(&arg, sizeof(arg), c->argv)) {
		e->args_state |= USTR_UNREAD;
		return;
	}
	if (!arg)
		return;

	/* One more than the limit: argv[max_args] tells if the list is cut. */
	for (int i = 1; i <= EXEC_MAX_ARGS; i++) {
		if (bpf_probe_read_user(&arg, sizeof(arg), &c->argv[i])) {
			e->args_state |= USTR_UNREAD;
			break;
		}
		if (!arg)
			break;
		if (i >= max_args ||
		    e->args_size > EXEC_ARGS_SIZE - EXEC_ARG_SIZE) {
			e->args_state |= USTR_TRUNCATED;
			break;
		}
		n = ustr_read(&e->args[e->args_size], EXEC_ARG_SIZE, arg,
			      &state);
		e->args_state |= state;
		if (state & USTR_UNREAD)
			break;
		e->args_size += n;
		e->args_count++;
	}
}

static __always_inline int exec_enter(const char *filename,
				      const char *const *argv)
{
	__u32 zero = 0, tgid = bpf_get_current_pid_tgid() >> 32;
	struct exec_call *c, *empty;

	if (!filter_pid_ok(tgid))
		return 0;
	empty = bpf_map_lookup_elem(&zero_call, &zero);
	if (!empty)
		return 0;
	if (bpf_map_update_elem(&execs, &tgid, empty, BPF_ANY))
		return 0;
	c = bpf_map_lookup_elem(&execs, &tgid);
	if (!c)
		return 0;
	c->filename = filename;
	c->argv = argv;
	exec_read_args(c);
	return 0;
}

static __always_inline int exec_exit(long ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct exec_event *e;
	struct exec_call *c;
	__u64 size;

	c = bpf_map_lookup_elem(&execs, &tgid);
	if (!c)
		return 0;
	e = &c->e;
	if (ret < 0 && !filter.failed_only)
		goto out;
	event_fill_hdr(&e->hdr);
	if (!filter_comm_ok(e->hdr.comm))
		goto out;
	/*
	 * The exec failed, so argv is still the caller's, and the kernel has
	 * faulted its pages in if it got as far as copying the strings. After
	 * a successful exec the old image is gone: USTR_UNREAD stays.
	 */
	if (ret < 0 && (e->args_state & USTR_UNREAD))
		exec_read_args(c);
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

/* Syscall numbers (-1: not known on this architecture). */
#if defined(__TARGET_ARCH_x86)
#define EXEC_NR_EXECVE		59
#define EXEC_NR_EXECVEAT	322
#elif defined(__TARGET_ARCH_arm64)
#define EXEC_NR_EXECVE		221
#define EXEC_NR_EXECVEAT	281
#else
#define EXEC_NR_EXECVE		(-1)
#define EXEC_NR_EXECVEAT	(-1)
#endif

/*
 * --raw-syscalls: every syscall's entry and exit, the exec family picked
 * by number: two links that attach and detach at once, instead of four
 * syscall tracepoints that each wait for RCU grace periods (about 60 ms
 * apiece to detach while the overview ends).
 */
static __always_inline int exec_enter_raw(struct pt_regs *regs, long nr)
{
	if (nr < 0)
		return 0;
	if (nr == EXEC_NR_EXECVE)
		return exec_enter(
			(const char *)PT_REGS_PARM1_CORE_SYSCALL(regs),
			(const char *const *)PT_REGS_PARM2_CORE_SYSCALL(regs));
	if (nr == EXEC_NR_EXECVEAT)
		return exec_enter(
			(const char *)PT_REGS_PARM2_CORE_SYSCALL(regs),
			(const char *const *)PT_REGS_PARM3_CORE_SYSCALL(regs));
	return 0;
}

static __always_inline int exec_exit_raw(long nr, long ret)
{
	if (nr < 0 || (nr != EXEC_NR_EXECVE && nr != EXEC_NR_EXECVEAT))
		return 0;
	return exec_exit(ret);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(exec_enter_raw_btf, struct pt_regs *regs, long nr)
{
	return exec_enter_raw(regs, nr);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(exec_exit_raw_btf, struct pt_regs *regs, long ret)
{
	return exec_exit_raw(regs_syscall_nr_btf(regs), ret);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(exec_enter_raw_tp, struct pt_regs *regs, long nr)
{
	return exec_enter_raw(regs, nr);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(exec_exit_raw_tp, struct pt_regs *regs, long ret)
{
	return exec_exit_raw(regs_syscall_nr(regs), ret);
}

/*
 * fsslower, kernel side. BCC hooks each filesystem's file operations with
 * kprobes; here the read, write, open and fsync syscall tracepoints stand
 * in for them: the entry looks the fd up in the current task's file table,
 * keeps only regular files of the wanted filesystem type (read from the
 * file's superblock), and the exit reports calls slower than min_ns.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "file.bpf.h"
#include "fsslower.h"

const volatile __u64 min_ns = 10 * 1000 * 1000;
const volatile char fs_type[FILE_FSTYPE_LEN] = {};
const volatile __u8 raw_calls[FSSLOWER_NR_MAX] = {};

struct fs_call {
	__u64 ts;
	struct file *file;	/* NULL for an open: known at exit */
	__s64 offset;
	__u32 op;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct fs_call);
} calls SEC(".maps");

static __always_inline bool file_wanted(struct file *f)
{
	return f && file_is_regular(f) && file_fstype_is(f, fs_type);
}

/* offset < 0: the call uses (and moves) the file position. */
static __always_inline int fs_enter_fd(long fd, __u32 op, __s64 offset)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct fs_call c = { .op = op };
	struct file *f;

	if (!filter_current_ok())
		return 0;
	f = file_from_fd(fd);
	if (!file_wanted(f))
		return 0;
	c.file = f;
	c.offset = offset >= 0 ? offset : BPF_CORE_READ(f, f_pos);
	c.ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
	return 0;
}

static __always_inline int fs_enter_open(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct fs_call c = { .op = FSSLOWER_OPEN };

	if (!filter_current_ok())
		return 0;
	c.ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
	return 0;
}

static __always_inline int fs_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct fsslower_event *e;
	struct fs_call *c;
	struct file *f;
	__u64 delta;

	c = bpf_map_lookup_elem(&calls, &tid);
	if (!c)
		return 0;
	delta = bpf_ktime_get_ns() - c->ts;
	if (delta < min_ns)
		goto out;
	f = c->file;
	if (c->op == FSSLOWER_OPEN) {
		if (ret < 0)
			goto out;
		f = file_from_fd(ret);
		if (!file_wanted(f))
			goto out;
	}
	e = event_reserve(sizeof(*e));
	if (!e)
		goto out;
	event_fill_hdr(&e->hdr);
	e->delta_ns = delta;
	e->op = c->op;
	e->pad = 0;
	e->offset = c->offset;
	e->bytes = c->op == FSSLOWER_READ || c->op == FSSLOWER_WRITE ? ret : 0;
	file_fstype(f, e->fstype, sizeof(e->fstype));
	file_name(f, e->file, sizeof(e->file));
	event_submit(e);
out:
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

#define ENTER_FD(name, op, off)						\
SEC("tracepoint/syscalls/sys_enter_" #name)				\
int name##_enter(struct trace_event_raw_sys_enter *ctx)			\
{									\
	return fs_enter_fd(ctx->args[0], op, off);			\
}

#define ENTER_OPEN(name)						\
SEC("tracepoint/syscalls/sys_enter_" #name)				\
int name##_enter(struct trace_event_raw_sys_enter *ctx)			\
{									\
	return fs_enter_open();						\
}

#define EXIT(name)							\
SEC("tracepoint/syscalls/sys_exit_" #name)				\
int name##_exit(struct trace_event_raw_sys_exit *ctx)			\
{									\
	return fs_exit(ctx->ret);					\
}

/* pread64/preadv carry the offset as their fourth argument. */
ENTER_FD(read, FSSLOWER_READ, -1)
ENTER_FD(readv, FSSLOWER_READ, -1)
ENTER_FD(pread64, FSSLOWER_READ, (__s64)ctx->args[3])
ENTER_FD(preadv, FSSLOWER_READ, (__s64)ctx->args[3])
ENTER_FD(write, FSSLOWER_WRITE, -1)
ENTER_FD(writev, FSSLOWER_WRITE, -1)
ENTER_FD(pwrite64, FSSLOWER_WRITE, (__s64)ctx->args[3])
ENTER_FD(pwritev, FSSLOWER_WRITE, (__s64)ctx->args[3])
ENTER_FD(fsync, FSSLOWER_FSYNC, 0)
ENTER_FD(fdatasync, FSSLOWER_FSYNC, 0)
ENTER_OPEN(open)
ENTER_OPEN(openat)
ENTER_OPEN(openat2)
ENTER_OPEN(creat)

EXIT(read)
EXIT(readv)
EXIT(pread64)
EXIT(preadv)
EXIT(write)
EXIT(writev)
EXIT(pwrite64)
EXIT(pwritev)
EXIT(fsync)
EXIT(fdatasync)
EXIT(open)
EXIT(openat)
EXIT(openat2)
EXIT(creat)

/*
 * --raw-syscalls: the same calls through the two hooks every syscall
 * passes, sys_enter and sys_exit. Two links instead of 28 tracepoints,
 * which is what a short run wants: detaching a syscall tracepoint waits
 * for RCU grace periods under a kernel-wide lock, about 35 ms each, one
 * after the other. The price is a table look-up on every other syscall.
 */
static __always_inline int fs_enter_raw(struct pt_regs *regs, long nr)
{
	__u32 call, op;
	__s64 offset = -1;

	if (nr < 0 || nr >= FSSLOWER_NR_MAX)
		return 0;
	call = raw_calls[nr];
	if (!call)
		return 0;
	op = call & ~FSSLOWER_AT;
	if (op == FSSLOWER_OPEN)
		return fs_enter_open();
	if (op == FSSLOWER_FSYNC)
		offset = 0;
	else if (call & FSSLOWER_AT)
		offset = PT_REGS_PARM4_CORE_SYSCALL(regs);
	return fs_enter_fd(PT_REGS_PARM1_CORE_SYSCALL(regs), op, offset);
}

static __always_inline int fs_exit_raw(long nr, long ret)
{
	if (nr < 0 || nr >= FSSLOWER_NR_MAX || !raw_calls[nr])
		return 0;
	return fs_exit(ret);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(raw_enter_btf, struct pt_regs *regs, long nr)
{
	return fs_enter_raw(regs, nr);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(raw_exit_btf, struct pt_regs *regs, long ret)
{
	return fs_exit_raw(regs_syscall_nr_btf(regs), ret);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(raw_enter_raw, struct pt_regs *regs, long nr)
{
	return fs_enter_raw(regs, nr);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(raw_exit_raw, struct pt_regs *regs, long ret)
{
	return fs_exit_raw(regs_syscall_nr(regs), ret);
}

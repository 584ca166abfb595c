/*
 * filetop, kernel side. BCC counts at vfs_read/vfs_write kprobes; here the
 * read and write family syscall tracepoints do: the entry finds the file
 * behind the fd (and skips non-regular files unless all_files), the exit
 * adds the call and its byte count to the file's row for this thread.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "file.bpf.h"
#include "filetop.h"

const volatile bool all_files = false;

struct io_call {
	struct file *file;
	__u32 dir;		/* FILETOP_READ or FILETOP_WRITE */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct io_call);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct filetop_key);
	__type(value, struct filetop_value);
} counts SEC(".maps");

static __always_inline int io_enter(long fd, __u32 dir)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct io_call c = { .dir = dir };

	if (!filter_current_ok())
		return 0;
	c.file = file_from_fd(fd);
	if (!c.file || (!all_files && !file_is_regular(c.file)))
		return 0;
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
	return 0;
}

static __always_inline char file_type(__u32 mode)
{
	if ((mode & FILE_S_IFMT) == FILE_S_IFREG)
		return 'R';
	if ((mode & FILE_S_IFMT) == FILE_S_IFSOCK)
		return 'S';
	return 'O';
}

static __always_inline int io_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct filetop_key key = {};
	struct filetop_value *v, zero = {};
	struct io_call *c;
	struct file *f;
	__u32 dir;

	c = bpf_map_lookup_elem(&calls, &tid);
	if (!c)
		return 0;
	if (ret < 0)
		goto out;
	f = c->file;
	key.ino = BPF_CORE_READ(f, f_inode, i_ino);
	key.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	key.tid = tid;
	key.gen = BPF_CORE_READ(f, f_inode, i_generation);
	v = bpf_map_lookup_elem(&counts, &key);
	if (!v) {
		zero.pid = id >> 32;
		zero.cgroup_id = bpf_get_current_cgroup_id();
		zero.type = file_type(file_mode(f));
		bpf_get_current_comm(zero.comm, sizeof(zero.comm));
		file_name(f, zero.file, sizeof(zero.file));
		bpf_map_update_elem(&counts, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&counts, &key);
		if (!v)
			goto out;
	}
	/* Masked so the verifier can bound the index. */
	dir = c->dir & 1;
	__sync_fetch_and_add(&v->calls[dir], 1);
	__sync_fetch_and_add(&v->bytes[dir], ret);
out:
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

#define IO_PROGS(name, dir)						\
SEC("tracepoint/syscalls/sys_enter_" #name)				\
int name##_enter(struct trace_event_raw_sys_enter *ctx)			\
{									\
	return io_enter(ctx->args[0], dir);				\
}									\
SEC("tracepoint/syscalls/sys_exit_" #name)				\
int name##_exit(struct trace_event_raw_sys_exit *ctx)			\
{									\
	return io_exit(ctx->ret);					\
}

IO_PROGS(read, FILETOP_READ)
IO_PROGS(readv, FILETOP_READ)
IO_PROGS(pread64, FILETOP_READ)
IO_PROGS(preadv, FILETOP_READ)
IO_PROGS(write, FILETOP_WRITE)
IO_PROGS(writev, FILETOP_WRITE)
IO_PROGS(pwrite64, FILETOP_WRITE)
IO_PROGS(pwritev, FILETOP_WRITE)

/*
 * vfsstat, kernel side: per-CPU counters of reads, writes, creates, opens
 * and fsyncs. BCC counts calls of vfs_read, vfs_write, vfs_create,
 * vfs_open and vfs_fsync_range with kprobes, used here where they work;
 * otherwise the syscalls are counted at their tracepoints, and a create is
 * an open whose file came back with FMODE_CREATED (it really made it).
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "file.bpf.h"
#include "vfsstat.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VFSSTAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline int count(__u32 slot)
{
	__u64 *n;

	if (!filter_current_ok())
		return 0;
	n = bpf_map_lookup_elem(&counters, &slot);
	if (n)
		*n += 1;
	return 0;
}

static __always_inline int count_if_created(long ret)
{
	struct file *f = file_from_fd(ret);

	if (f && file_was_created(f))
		return count(VFSSTAT_CREATE);
	return 0;
}

SEC("kprobe/vfs_read")
int read_kprobe(void *ctx)
{
	return count(VFSSTAT_READ);
}

SEC("kprobe/vfs_write")
int write_kprobe(void *ctx)
{
	return count(VFSSTAT_WRITE);
}

SEC("kprobe/vfs_create")
int create_kprobe(void *ctx)
{
	return count(VFSSTAT_CREATE);
}

SEC("kprobe/vfs_open")
int open_kprobe(void *ctx)
{
	return count(VFSSTAT_OPEN);
}

SEC("kprobe/vfs_fsync_range")
int fsync_kprobe(void *ctx)
{
	return count(VFSSTAT_FSYNC);
}

#define COUNT_ENTER(name, slot)						\
SEC("tracepoint/syscalls/sys_enter_" #name)				\
int name##_enter(void *ctx)						\
{									\
	return count(slot);						\
}

#define CREATE_EXIT(name)						\
SEC("tracepoint/syscalls/sys_exit_" #name)				\
int name##_exit(struct trace_event_raw_sys_exit *ctx)			\
{									\
	return count_if_created(ctx->ret);				\
}

COUNT_ENTER(read, VFSSTAT_READ)
COUNT_ENTER(readv, VFSSTAT_READ)
COUNT_ENTER(pread64, VFSSTAT_READ)
COUNT_ENTER(preadv, VFSSTAT_READ)
COUNT_ENTER(preadv2, VFSSTAT_READ)
COUNT_ENTER(write, VFSSTAT_WRITE)
COUNT_ENTER(writev, VFSSTAT_WRITE)
COUNT_ENTER(pwrite64, VFSSTAT_WRITE)
COUNT_ENTER(pwritev, VFSSTAT_WRITE)
COUNT_ENTER(pwritev2, VFSSTAT_WRITE)
COUNT_ENTER(open, VFSSTAT_OPEN)
COUNT_ENTER(openat, VFSSTAT_OPEN)
COUNT_ENTER(openat2, VFSSTAT_OPEN)
COUNT_ENTER(creat, VFSSTAT_OPEN)
COUNT_ENTER(fsync, VFSSTAT_FSYNC)
COUNT_ENTER(fdatasync, VFSSTAT_FSYNC)
CREATE_EXIT(open)
CREATE_EXIT(openat)
CREATE_EXIT(openat2)
CREATE_EXIT(creat)

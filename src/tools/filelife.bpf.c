/*
 * filelife, kernel side. A file is born when an open/openat/openat2/creat
 * returns a file whose f_mode has FMODE_CREATED (the open really created
 * it); its inode pointer is remembered with the time. It dies in
 * unlink/unlinkat: BCC reads the inode from vfs_unlink's dentry, which
 * needs a kprobe. Without one, the unlink's own inode timestamp update
 * gives it away: every filesystem sets the ctime of the file it unlinks,
 * and the ctime tracepoints (inode_set_ctime_to_ts, ctime_xchg_skip,
 * ctime_ns_xchg) carry the inode. During an unlink syscall, the one inode
 * touched that is in the birth table is the file being deleted.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "file.bpf.h"
#include "filelife.h"

#define AT_REMOVEDIR 0x200

struct birth {
	__u64 ts;
	__u64 ino;
	__u32 pid;
	__u32 pad;
	char file[FILELIFE_NAME_LEN];
};

struct unlink_call {
	const char *path;
	struct inode *inode;	/* the born file whose ctime changed */
};

/* LRU: files created and never deleted must not fill it for good. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct birth);
} births SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct unlink_call);
} unlinks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct birth);
} scratch SEC(".maps");

static __always_inline int create_exit(long ret)
{
	struct birth *b;
	struct file *f;
	__u32 zero = 0;
	__u64 key;

	if (ret < 0)
		return 0;
	f = file_from_fd(ret);
	if (!f || !file_was_created(f))
		return 0;
	b = bpf_map_lookup_elem(&scratch, &zero);
	if (!b)
		return 0;
	key = (__u64)BPF_CORE_READ(f, f_inode);
	b->ts = bpf_ktime_get_boot_ns();
	b->ino = BPF_CORE_READ(f, f_inode, i_ino);
	b->pid = bpf_get_current_pid_tgid() >> 32;
	b->pad = 0;
	file_name(f, b->file, sizeof(b->file));
	bpf_map_update_elem(&births, &key, b, BPF_ANY);
	return 0;
}

/* Reports a born file's death; path is a user pointer or NULL. */
static __always_inline void death(struct inode *inode, const char *path)
{
	__u64 key = (__u64)inode;
	struct filelife_event *e;
	struct birth *b;
	__u64 now;

	b = bpf_map_lookup_elem(&births, &key);
	if (!b)
		return;
	if (b->ino != BPF_CORE_READ(inode, i_ino))
		goto out;
	if (!filter_current_ok())
		goto out;
	e = event_reserve(sizeof(*e));
	if (!e)
		goto out;
	event_fill_hdr(&e->hdr);
	now = e->hdr.ts_ns;
	e->age_ns = now > b->ts ? now - b->ts : 0;
	e->ino = b->ino;
	e->creator_pid = b->pid;
	e->pad = 0;
	__builtin_memcpy(e->file, b->file, sizeof(e->file));
	e->path[0] = '\0';
	if (path && bpf_probe_read_user_str(e->path, sizeof(e->path), path) < 0)
		e->path[0] = '\0';
	event_submit(e);
out:
	bpf_map_delete_elem(&births, &key);
}

static __always_inline int unlink_enter(const char *path)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct unlink_call c = { .path = path };

	bpf_map_update_elem(&unlinks, &tid, &c, BPF_ANY);
	return 0;
}

static __always_inline int unlink_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct unlink_call *c = bpf_map_lookup_elem(&unlinks, &tid);

	if (!c)
		return 0;
	if (ret == 0 && c->inode)
		death(c->inode, c->path);
	bpf_map_delete_elem(&unlinks, &tid);
	return 0;
}

/* A ctime update inside an unlink: is it the born file's? */
static __always_inline int ctime_update(struct inode *inode)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct unlink_call *c = bpf_map_lookup_elem(&unlinks, &tid);
	__u64 key = (__u64)inode;

	if (!c || c->inode)
		return 0;
	if (bpf_map_lookup_elem(&births, &key))
		c->inode = inode;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int open_exit(struct trace_event_raw_sys_exit *ctx)
{
	return create_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return create_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return create_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int creat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return create_exit(ctx->ret);
}

/* Kernels with kprobes: the dentry being unlinked, as BCC does. */
SEC("kprobe/vfs_unlink")
int BPF_KPROBE(unlink_kprobe, void *idmap, struct inode *dir,
	       struct dentry *dentry)
{
	death(BPF_CORE_READ(dentry, d_inode), NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unlink")
int unlink_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	return unlink_enter((const char *)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int unlinkat_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[2] & AT_REMOVEDIR)
		return 0;
	return unlink_enter((const char *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_unlink")
int unlink_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return unlink_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_unlinkat")
int unlinkat_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return unlink_exit(ctx->ret);
}

SEC("tp_btf/inode_set_ctime_to_ts")
int BPF_PROG(ctime_set_btf, struct inode *inode)
{
	return ctime_update(inode);
}

SEC("tp_btf/ctime_xchg_skip")
int BPF_PROG(ctime_skip_btf, struct inode *inode)
{
	return ctime_update(inode);
}

SEC("tp_btf/ctime_ns_xchg")
int BPF_PROG(ctime_xchg_btf, struct inode *inode)
{
	return ctime_update(inode);
}

/*
 * cachestat, kernel side: per-CPU counters from which user space derives
 * page-cache hits, misses and dirties.
 *
 * Misses are pages added to the page cache (mm_filemap_add_to_page_cache)
 * other than those a write adds: a page added to the very file that the
 * current task is writing with a write-family syscall is counted apart.
 * The syscall and the file it writes are read, at the add, from the user
 * registers the task saved on entering the kernel, so no program runs on
 * syscalls (a pair on sys_enter/sys_exit costs about 130 ns on every
 * syscall of the machine here). Dirties come from writeback_dirty_folio
 * (writeback_dirty_page before Linux 5.17), in pages where the folio can
 * be read (tp_btf), else in folios. Hits need the page accesses
 * (mark_page_accessed / folio_mark_accessed), which have no tracepoint:
 * only fentry or kprobes see them, so on kernels with neither that probe
 * stays unattached and the HITS column is unknown.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "file.bpf.h"
#include "cachestat.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CACHESTAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void bump(__u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &slot);

	if (v)
		*v += n;
}

static __always_inline int add(__u32 slot, __u64 n)
{
	if (filter_current_ok())
		bump(slot, n);
	return 0;
}

/* --- adds by write-family syscalls ------------------------------------ */

/*
 * The syscalls that put data from user space (or from another file) into a
 * file through the page cache, and which argument is the file written.
 * fallocate and truncate are left out: the only pages they add are partial
 * pages they read from disk to zero a part of, which are read misses.
 */
#if defined(__TARGET_ARCH_x86)
#define NR_WRITE		1
#define NR_PWRITE64		18
#define NR_WRITEV		20
#define NR_SENDFILE		40
#define NR_SPLICE		275
#define NR_PWRITEV		296
#define NR_COPY_FILE_RANGE	326
#define NR_PWRITEV2		328
#define regs_syscall_nr(regs)	BPF_CORE_READ(regs, orig_ax)
#define X86_TS_COMPAT		0x0002

/*
 * orig_ax also holds a page fault's error code (0x14, a user instruction
 * fetch, reads as writev): every syscall entry sets ax to -ENOSYS until
 * the syscall returns, while a fault leaves the user's value there. A
 * 32-bit task's syscall numbers are another table: its writes are not
 * recognised.
 */
static __always_inline bool regs_in_syscall(struct pt_regs *regs)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (BPF_CORE_READ(regs, ax) != (unsigned long)-38)
		return false;
	return !(BPF_CORE_READ(task, thread_info.status) & X86_TS_COMPAT);
}
#elif defined(__TARGET_ARCH_arm64)
#define NR_WRITE		64
#define NR_WRITEV		66
#define NR_PWRITE64		68
#define NR_PWRITEV		70
#define NR_SENDFILE		71
#define NR_SPLICE		76
#define NR_COPY_FILE_RANGE	285
#define NR_PWRITEV2		287
#define regs_syscall_nr(regs)	BPF_CORE_READ(regs, syscallno)
/* Entries other than syscalls set syscallno to NO_SYSCALL (-1). */
#define regs_in_syscall(regs)	true
#else
/* Unknown numbers: no add is taken for a write. */
#define NR_WRITE		(-2)
#define NR_WRITEV		(-3)
#define NR_PWRITE64		(-4)
#define NR_PWRITEV		(-5)
#define NR_SENDFILE		(-6)
#define NR_SPLICE		(-7)
#define NR_COPY_FILE_RANGE	(-8)
#define NR_PWRITEV2		(-9)
#define regs_syscall_nr(regs)	(-1L)
#define regs_in_syscall(regs)	false
#endif

/* Index of the argument holding the fd written to, -1 if not a write. */
static __always_inline int write_fd_arg(long nr)
{
	switch (nr) {
	case NR_WRITE:
	case NR_PWRITE64:
	case NR_WRITEV:
	case NR_PWRITEV:
	case NR_PWRITEV2:
	case NR_SENDFILE:
		return 0;
	case NR_SPLICE:
	case NR_COPY_FILE_RANGE:
		return 2;
	default:
		return -1;
	}
}

/* A mapping's file as the add tracepoint identifies it: inode, device. */
static __always_inline void mapping_id(struct address_space *mapping,
				       __u64 *ino, __u32 *dev)
{
	struct inode *host = BPF_CORE_READ(mapping, host);
	struct super_block *sb = BPF_CORE_READ(host, i_sb);

	*ino = BPF_CORE_READ(host, i_ino);
	*dev = sb ? BPF_CORE_READ(sb, s_dev) : BPF_CORE_READ(host, i_rdev);
}

/*
 * Whether the current task is in a write-family syscall whose destination
 * is the file (ino, dev), from the user registers saved when it entered
 * the kernel: nothing runs on other syscalls, and a syscall that was
 * already under way when cachestat started is seen too.
 */
static __always_inline bool adding_for_write(__u64 ino, __u32 dev)
{
	struct pt_regs *regs;
	__u64 wino;
	__u32 wdev;
	struct file *f;
	long fd;
	int which;

	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	which = write_fd_arg(regs_syscall_nr(regs));
	if (which < 0 || !regs_in_syscall(regs))
		return false;
	fd = which == 0 ? PT_REGS_PARM1_CORE_SYSCALL(regs) :
	     PT_REGS_PARM3_CORE_SYSCALL(regs);
	f = file_from_fd(fd);
	if (!f)
		return false;
	mapping_id(BPF_CORE_READ(f, f_mapping), &wino, &wdev);
	return wino == ino && wdev == dev;
}

/* --- pages added ------------------------------------------------------ */

static __always_inline int count_add(__u64 ino, __u32 dev, __u64 pages)
{
	if (!filter_current_ok())
		return 0;
	if (adding_for_write(ino, dev))
		bump(CACHESTAT_WRITE_ADDED, pages);
	else
		bump(CACHESTAT_READ_ADDED, pages);
	return 0;
}

/* Until 6.5 a large folio's order had a byte of its own (6.1 has it). */
struct folio___order_byte {
	unsigned char _folio_order;
} __attribute__((preserve_access_index));

/* Before 6.18 a folio's flags were a plain word. */
struct folio___flags_word {
	unsigned long flags;
} __attribute__((preserve_access_index));

/*
 * Pages in a folio, as folio_nr_pages() computes it: one unless PG_head is
 * set, else 2^order, the order in _flags_1 since 6.6. A kernel with
 * neither layout (older than 6.0) counts a folio as one page. Checked on
 * 6.18 (ext4 folios of up to 512 pages) and 6.1 (XFS readahead folios).
 */
static __always_inline __u64 folio_pages(struct folio *folio)
{
	struct folio___order_byte *ob = (void *)folio;
	struct folio___flags_word *fw = (void *)folio;
	unsigned long flags, head;
	unsigned int order;

	head = 1UL << bpf_core_enum_value(enum pageflags, PG_head);
	if (bpf_core_field_exists(folio->flags.f))
		flags = BPF_CORE_READ(folio, flags.f);
	else if (bpf_core_field_exists(fw->flags))
		flags = BPF_CORE_READ(fw, flags);
	else
		return 1;
	if (!(flags & head))
		return 1;
	if (bpf_core_field_exists(ob->_folio_order))
		order = BPF_CORE_READ(ob, _folio_order);
	else if (bpf_core_field_exists(folio->_flags_1))
		order = BPF_CORE_READ(folio, _flags_1) & 0xff;
	else
		return 1;
	return 1ULL << (order & 31);
}

SEC("tp_btf/mm_filemap_add_to_page_cache")
int BPF_PROG(added_btf, struct folio *folio)
{
	__u64 ino;
	__u32 dev;

	mapping_id(BPF_CORE_READ(folio, mapping), &ino, &dev);
	return count_add(ino, dev, folio_pages(folio));
}

SEC("tracepoint/filemap/mm_filemap_add_to_page_cache")
int added_tp(struct trace_event_raw_mm_filemap_op_page_cache *ctx)
{
	__u64 pages = 1;

	/* A large folio covers 2^order pages (the field is from 6.x). */
	if (bpf_core_field_exists(ctx->order))
		pages <<= BPF_CORE_READ(ctx, order) & 31;
	return count_add(ctx->i_ino, ctx->s_dev, pages);
}

/* Without bpf_task_pt_regs() (before 5.15) adds cannot be told apart. */
SEC("tracepoint/filemap/mm_filemap_add_to_page_cache")
int added_unsorted_tp(struct trace_event_raw_mm_filemap_op_page_cache *ctx)
{
	__u64 pages = 1;

	if (bpf_core_field_exists(ctx->order))
		pages <<= BPF_CORE_READ(ctx, order) & 31;
	return add(CACHESTAT_READ_ADDED, pages);
}

/* --- pages dirtied ---------------------------------------------------- */

SEC("tp_btf/writeback_dirty_folio")
int BPF_PROG(dirtied_btf, struct folio *folio, struct address_space *mapping)
{
	if (!filter_current_ok())
		return 0;
	bump(CACHESTAT_DIRTIED, folio_pages(folio));
	bump(CACHESTAT_DIRTIED_FOLIOS, 1);
	return 0;
}

/* The record does not say how large the folio is: one per folio. */
SEC("tracepoint/writeback/writeback_dirty_folio")
int dirtied_tp(void *ctx)
{
	if (!filter_current_ok())
		return 0;
	bump(CACHESTAT_DIRTIED, 1);
	bump(CACHESTAT_DIRTIED_FOLIOS, 1);
	return 0;
}

SEC("tracepoint/writeback/writeback_dirty_page")
int dirtied_page_tp(void *ctx)
{
	if (!filter_current_ok())
		return 0;
	bump(CACHESTAT_DIRTIED, 1);
	bump(CACHESTAT_DIRTIED_FOLIOS, 1);
	return 0;
}

/* --- page accesses (fentry, kprobe) ----------------------------------- */

SEC("fentry/folio_mark_accessed")
int BPF_PROG(accessed_fentry)
{
	return add(CACHESTAT_ACCESSED, 1);
}

SEC("fentry/mark_buffer_dirty")
int BPF_PROG(buffer_dirty_fentry)
{
	return add(CACHESTAT_BUF_DIRTIED, 1);
}

SEC("kprobe/folio_mark_accessed")
int accessed_kprobe(void *ctx)
{
	return add(CACHESTAT_ACCESSED, 1);
}

/* Before Linux 5.16 the access was counted per page. */
SEC("kprobe/mark_page_accessed")
int page_accessed_kprobe(void *ctx)
{
	return add(CACHESTAT_ACCESSED, 1);
}

SEC("kprobe/mark_buffer_dirty")
int buffer_dirty_kprobe(void *ctx)
{
	return add(CACHESTAT_BUF_DIRTIED, 1);
}

/*
 * Kernel-side helpers for the block I/O tools: what a struct request says
 * about itself (disk, sector, size, direction) read with CO-RE, so the same
 * code runs from tp_btf, raw_tp and kprobe/fentry hooks, and the map key
 * that follows one request from creation to completion.
 * Include after vmlinux.h and loupe.bpf.h.
 */
#ifndef LOUPE_DISK_BPF_H
#define LOUPE_DISK_BPF_H

#include "disk.h"

/* Kernels before 5.17 kept the disk in the request itself. */
struct request___rq_disk {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

/*
 * One in-flight request. Hooks with a struct request * key by its address;
 * plain tracepoints only have the device and start sector, which are unique
 * among in-flight data requests of one disk.
 */
struct disk_rq_key {
	__u64 a;	/* request address, or dev */
	__u64 b;	/* 0, or start sector */
};

static __always_inline struct disk_rq_key disk_key_rq(void *rq)
{
	struct disk_rq_key k = { .a = (__u64)rq, .b = 0 };

	return k;
}

static __always_inline struct disk_rq_key disk_key_tp(__u32 dev, __u64 sector)
{
	struct disk_rq_key k = { .a = dev, .b = sector };

	return k;
}

/* The whole disk's dev_t in the kernel's encoding, as tracepoints give it. */
static __always_inline __u32 disk_rq_dev(struct request *rq)
{
	struct gendisk *disk = NULL;
	int major, minor;

	if (bpf_core_field_exists(rq->q->disk))
		disk = BPF_CORE_READ(rq, q, disk);
	else
		disk = BPF_CORE_READ((struct request___rq_disk *)rq, rq_disk);
	if (!disk)
		return 0;
	major = BPF_CORE_READ(disk, major);
	minor = BPF_CORE_READ(disk, first_minor);
	return DISK_MKDEV(major, minor);
}

static __always_inline __u32 disk_opf_bit(int bit)
{
	return bit >= 0 ? 1U << bit : 0;
}

/* Append one letter to a packed rwbs word (see disk_rwbs()). */
static __always_inline void disk_rwbs_add(__u64 *w, int *n, char c)
{
	*w |= (__u64)(__u8)c << (*n * 8);
	*n += 1;
}

/*
 * The tracepoints' rwbs string ("W", "WS", "FWFS", "RA", ...) from the
 * request's operation and flags; bit numbers come from this kernel's BTF.
 * Letters are packed into a word first: indexing a stack buffer with a
 * running count is something the verifier rejects once clang has its way.
 */
static __always_inline void disk_rwbs(__u32 opf, char *rwbs)
{
	__u32 op = opf & 0xff;
	__u64 w = 0;
	int n = 0;

	if (opf & disk_opf_bit(bpf_core_enum_value(enum req_flag_bits,
						   __REQ_PREFLUSH)))
		disk_rwbs_add(&w, &n, 'F');
	if (op == bpf_core_enum_value(enum req_op, REQ_OP_WRITE) ||
	    op == bpf_core_enum_value(enum req_op, REQ_OP_ZONE_APPEND)) {
		disk_rwbs_add(&w, &n, 'W');
	} else if (op == bpf_core_enum_value(enum req_op, REQ_OP_DISCARD)) {
		disk_rwbs_add(&w, &n, 'D');
	} else if (op == bpf_core_enum_value(enum req_op,
					     REQ_OP_SECURE_ERASE)) {
		disk_rwbs_add(&w, &n, 'D');
		disk_rwbs_add(&w, &n, 'E');
	} else if (op == bpf_core_enum_value(enum req_op, REQ_OP_FLUSH)) {
		disk_rwbs_add(&w, &n, 'F');
	} else if (op == bpf_core_enum_value(enum req_op, REQ_OP_READ)) {
		disk_rwbs_add(&w, &n, 'R');
	} else {
		disk_rwbs_add(&w, &n, 'N');
	}
	if (opf & disk_opf_bit(bpf_core_enum_value(enum req_flag_bits,
						   __REQ_FUA)))
		disk_rwbs_add(&w, &n, 'F');
	if (opf & disk_opf_bit(bpf_core_enum_value(enum req_flag_bits,
						   __REQ_RAHEAD)))
		disk_rwbs_add(&w, &n, 'A');
	if (opf & disk_opf_bit(bpf_core_enum_value(enum req_flag_bits,
						   __REQ_SYNC)))
		disk_rwbs_add(&w, &n, 'S');
	/* At most 7 letters: the 8th byte stays the terminating NUL. */
	if (n < 7 && (opf & disk_opf_bit(bpf_core_enum_value(
					enum req_flag_bits, __REQ_META))))
		disk_rwbs_add(&w, &n, 'M');
	__builtin_memcpy(rwbs, &w, sizeof(w));
}

/* Disk, position, size and direction of a request. */
static __always_inline void disk_rq_info(struct request *rq,
					 struct disk_io *io)
{
	io->dev = disk_rq_dev(rq);
	io->sector = BPF_CORE_READ(rq, __sector);
	/* Requests without data (flushes) say -1; tracepoints say 0. */
	if (io->sector == (__u64)-1)
		io->sector = 0;
	io->bytes = BPF_CORE_READ(rq, __data_len);
	disk_rwbs(BPF_CORE_READ(rq, cmd_flags), io->rwbs);
}

/* The same from a block_rq_* tracepoint record. */
static __always_inline void disk_tp_info(__u32 dev, __u64 sector,
					 __u32 bytes, const char *rwbs,
					 struct disk_io *io)
{
	io->dev = dev;
	io->sector = sector;
	io->bytes = bytes;
	/* The verifier refuses byte loads at computed context offsets. */
	bpf_probe_read_kernel(io->rwbs, DISK_RWBS_LEN - 1, rwbs);
	io->rwbs[DISK_RWBS_LEN - 1] = '\0';
}

/* Keep a request only if --disk was not given or it is that disk. */
static __always_inline bool disk_filter_ok(__u32 want, __u32 dev)
{
	return !want || want == dev;
}

/*
 * The programs that follow a request through its life, in the three hook
 * families a tool's plan lists (DISK_RQ_CANDIDATES in disk.h):
 *
 *   start:    block_io_start (6.5+: in the submitting task, every request)
 *             or block_rq_insert (older kernels; scheduler queues only)
 *   issue:    block_rq_issue (handed to the driver)
 *   complete: block_rq_complete
 *
 * Each tool supplies functions taking (key, io, error; error is 0 but at
 * completion); every program is a thin adapter to them. A tool that needs
 * fewer stages defines only those (DISK_RQ_*_PROGRAMS), so nothing it
 * does not use is attached.
 */
#define DISK_RQ_PROG_BTF(sec, name, fn)					\
SEC(sec)								\
int BPF_PROG(name, struct request *rq)					\
{									\
	struct disk_io io = {};						\
									\
	disk_rq_info(rq, &io);						\
	return fn(disk_key_rq(rq), &io, 0);				\
}

#define DISK_RQ_PROG_TP(sec, name, fn)					\
SEC(sec)								\
int name(struct trace_event_raw_block_rq *ctx)				\
{									\
	struct disk_io io = {};						\
									\
	disk_tp_info(ctx->dev, ctx->sector, ctx->bytes, ctx->rwbs, &io); \
	return fn(disk_key_tp(ctx->dev, ctx->sector), &io, 0);		\
}

#define DISK_RQ_DONE_BTF(sec, name, fn)					\
SEC(sec)								\
int BPF_PROG(name, struct request *rq, int error)			\
{									\
	struct disk_io io = {};						\
									\
	disk_rq_info(rq, &io);						\
	return fn(disk_key_rq(rq), &io, error);				\
}

#define DISK_RQ_DONE_TP(sec, name, fn)					\
SEC(sec)								\
int name(struct trace_event_raw_block_rq_completion *ctx)		\
{									\
	struct disk_io io = {};						\
									\
	disk_tp_info(ctx->dev, ctx->sector, ctx->nr_sector << 9,	\
		     ctx->rwbs, &io);					\
	return fn(disk_key_tp(ctx->dev, ctx->sector), &io, ctx->error); \
}

#define DISK_RQ_START_PROGRAMS(fn)					\
DISK_RQ_PROG_BTF("tp_btf/block_io_start", io_start_btf, fn)		\
DISK_RQ_PROG_BTF("tp_btf/block_rq_insert", rq_insert_btf, fn)		\
DISK_RQ_PROG_BTF("raw_tp/block_io_start", io_start_raw, fn)		\
DISK_RQ_PROG_BTF("raw_tp/block_rq_insert", rq_insert_raw, fn)		\
DISK_RQ_PROG_TP("tracepoint/block/block_io_start", io_start_tp, fn)	\
DISK_RQ_PROG_TP("tracepoint/block/block_rq_insert", rq_insert_tp, fn)

#define DISK_RQ_ISSUE_PROGRAMS(fn)					\
DISK_RQ_PROG_BTF("tp_btf/block_rq_issue", rq_issue_btf, fn)		\
DISK_RQ_PROG_BTF("raw_tp/block_rq_issue", rq_issue_raw, fn)		\
DISK_RQ_PROG_TP("tracepoint/block/block_rq_issue", rq_issue_tp, fn)

#define DISK_RQ_DONE_PROGRAMS(fn)					\
DISK_RQ_DONE_BTF("tp_btf/block_rq_complete", rq_complete_btf, fn)	\
DISK_RQ_DONE_BTF("raw_tp/block_rq_complete", rq_complete_raw, fn)	\
DISK_RQ_DONE_TP("tracepoint/block/block_rq_complete", rq_complete_tp, fn)

#define DISK_RQ_PROGRAMS(start_fn, issue_fn, done_fn)			\
DISK_RQ_START_PROGRAMS(start_fn)					\
DISK_RQ_ISSUE_PROGRAMS(issue_fn)					\
DISK_RQ_DONE_PROGRAMS(done_fn)

#endif

/*
 * Disks for the block I/O tools: the request description both halves
 * share, and in user space dev_t <-> disk name (loop0, sda, nvme0n1) and
 * the names of request flags.
 */
#ifndef LOUPE_DISK_H
#define LOUPE_DISK_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#include <stddef.h>
#endif

#define DISK_RWBS_LEN	8

/* dev_t as the kernel encodes it inside (and in block tracepoints). */
#define DISK_MINORBITS		20
#define DISK_MKDEV(ma, mi) \
	(((__u32)(ma) << DISK_MINORBITS) | (__u32)(mi))
#define DISK_MAJOR(dev)	((__u32)(dev) >> DISK_MINORBITS)
#define DISK_MINOR(dev)	((__u32)(dev) & ((1U << DISK_MINORBITS) - 1))

/* What one request is: disk, start sector, size, blktrace-style rwbs. */
struct disk_io {
	__u64 sector;
	__u32 dev;
	__u32 bytes;
	char rwbs[DISK_RWBS_LEN];
};

#ifndef __VMLINUX_H__
/*
 * The hook families of DISK_RQ_PROGRAMS (disk.bpf.h), for a tool's plan:
 * request start is optional because block_io_start is 6.5+ and
 * block_rq_insert only fires for requests that wait in a queue.
 */
#define DISK_RQ_CANDIDATES						\
	{ { "?io_start_btf", "?rq_insert_btf", "rq_issue_btf",		\
	    "rq_complete_btf" } },					\
	{ { "?io_start_raw", "?rq_insert_raw", "rq_issue_raw",		\
	    "rq_complete_raw" } },					\
	{ { "?io_start_tp", "?rq_insert_tp", "rq_issue_tp",		\
	    "rq_complete_tp" } }

/* Start and issue only (DISK_RQ_START_ and DISK_RQ_ISSUE_PROGRAMS). */
#define DISK_RQ_ISSUE_CANDIDATES					\
	{ { "?io_start_btf", "?rq_insert_btf", "rq_issue_btf" } },	\
	{ { "?io_start_raw", "?rq_insert_raw", "rq_issue_raw" } },	\
	{ { "?io_start_tp", "?rq_insert_tp", "rq_issue_tp" } }

/* Completion only (DISK_RQ_DONE_PROGRAMS). */
#define DISK_RQ_DONE_CANDIDATES						\
	{ { "rq_complete_btf" } },					\
	{ { "rq_complete_raw" } },					\
	{ { "rq_complete_tp" } }

const char *disk_name(__u32 dev);
void disk_name_copy(__u32 dev, char *buf, size_t len);
int disk_lookup(const char *name, __u32 *dev);
void disk_flags_name(const char *rwbs, char *buf, size_t len);
char disk_op_char(const char *rwbs);
#endif

#endif

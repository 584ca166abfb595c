/*
 * Label values from the integers a metric program keys its maps by: a
 * syscall number becomes "openat", a dev_t "vda". Each kind reuses the
 * module that already knows the names (syscalls.c, knames.c, disk.c,
 * cgroup.c, container.c); the caches behind disks, cgroups and
 * containers are bounded, and a number without a name is its own label
 * value rather than a new entry.
 * Scrapes call this from the HTTP threads: nothing here is unlocked.
 */
#include <stdio.h>
#include "cgroup.h"
#include "container.h"
#include "disk.h"
#include "knames.h"
#include "metric.h"
#include "syscalls.h"

static const char *const kind_names[LABEL_KINDS] = {
	[LABEL_AUTO] = "auto",
	[LABEL_SYSCALL] = "syscall",
	[LABEL_ERRNO] = "errno",
	[LABEL_DISK] = "disk",
	[LABEL_BLOCK_OP] = "block_op",
	[LABEL_CGROUP] = "cgroup",
	[LABEL_SOFTIRQ] = "softirq",
	[LABEL_CONTAINER] = "container",
	[LABEL_POD] = "pod",
	[LABEL_NAMESPACE] = "namespace",
};

const char *labels_kind_name(enum label_kind kind)
{
	if ((unsigned int)kind >= LABEL_KINDS)
		return "?";
	return kind_names[kind];
}

/*
 * The operation letter that opens blktrace's rwbs (the kernel's
 * blk_fill_rwbs()): one per REQ_OP, 'N' for the ones without a letter
 * (write zeroes, zone management, driver private); a secure erase is
 * "DE", so it counts as a discard here.
 */
static const char *block_op_name(long long c)
{
	switch (c) {
	case 'R':
		return "read";
	case 'W':
		return "write";
	case 'D':
		return "discard";
	case 'F':
		return "flush";
	case 'N':
		return "other";
	}
	return NULL;
}

static void format_cgroup(long long id, char *buf, size_t len)
{
	if (!cgroup_path((unsigned long long)id, buf, len))
		snprintf(buf, len, "%llu", (unsigned long long)id);
}

/*
 * The container's name (its short id while the name is unknown), pod or
 * namespace; "" on the host, so that every host cgroup is one series.
 */
static void format_container(enum label_kind kind, long long id, char *buf,
			     size_t len)
{
	struct container_info c;

	if (!container_of_cgroup((uint64_t)id, &c))
		snprintf(buf, len, "%s", "");
	else if (kind == LABEL_POD)
		snprintf(buf, len, "%s", c.pod);
	else if (kind == LABEL_NAMESPACE)
		snprintf(buf, len, "%s", c.namespace);
	else if (c.name[0])
		snprintf(buf, len, "%s", c.name);
	else
		snprintf(buf, len, "%.*s", CONTAINER_SHORT_ID, c.ref.id);
}

void labels_format_int(enum label_kind kind, long long v, char *buf,
		       size_t len)
{
	const char *name = NULL;

	switch (kind) {
	case LABEL_SYSCALL:
		if (v >= 0 && v < syscalls_count())
			name = syscalls_name((int)v);
		if (!name)
			snprintf(buf, len, "syscall_%lld", v);
		break;
	case LABEL_ERRNO:
		if (v > 0 && v < 4096)
			name = knames_errno((int)v);
		if (!name)
			snprintf(buf, len, "E%lld", v);
		break;
	case LABEL_DISK:
		disk_name_copy((__u32)v, buf, len);
		break;
	case LABEL_BLOCK_OP:
		name = block_op_name(v);
		if (!name)
			snprintf(buf, len, "op_%lld", v);
		break;
	case LABEL_CGROUP:
		format_cgroup(v, buf, len);
		break;
	case LABEL_CONTAINER:
	case LABEL_POD:
	case LABEL_NAMESPACE:
		format_container(kind, v, buf, len);
		break;
	case LABEL_SOFTIRQ:
		if (v >= 0)
			name = knames_softirq((unsigned int)v);
		if (!name)
			snprintf(buf, len, "vec%lld", v);
		break;
	default:
		snprintf(buf, len, "%lld", v);
		break;
	}
	if (name)
		snprintf(buf, len, "%s", name);
}

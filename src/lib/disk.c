/*
 * Disk names for the block I/O tools. The kernel reports a disk as a dev_t;
 * people know it as loop0 or nvme0n1, which sysfs maps both ways. Names
 * are cached because a histogram or snoop asks for the same few disks
 * over and over; disk_name_copy() is the lookup for threads (the agent's
 * scrapes), under a lock.
 */
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "disk.h"

#define DISK_CACHE	64
#define DISK_NAME_LEN	32

struct disk_entry {
	__u32 dev;
	char name[DISK_NAME_LEN];
};

static struct disk_entry cache[DISK_CACHE];
static int ncached;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* /proc/partitions: "major minor #blocks name", for systems without sysfs. */
static int name_from_partitions(__u32 dev, char *buf, size_t len)
{
	char line[256], name[DISK_NAME_LEN];
	unsigned int ma, mi;
	unsigned long long blocks;
	FILE *f = fopen("/proc/partitions", "r");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u %u %llu %31s", &ma, &mi, &blocks,
			   name) != 4)
			continue;
		if (DISK_MKDEV(ma, mi) == dev) {
			snprintf(buf, len, "%.*s", (int)len - 1, name);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

static void name_of(__u32 dev, char *buf, size_t len)
{
	char path[64], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u",
		 DISK_MAJOR(dev), DISK_MINOR(dev));
	n = readlink(path, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		base = strrchr(target, '/');
		base = base ? base + 1 : target;
		snprintf(buf, len, "%.*s", (int)len - 1, base);
		return;
	}
	if (!name_from_partitions(dev, buf, len))
		return;
	/* Gone already (a detached loop device): say which it was. */
	snprintf(buf, len, "%u:%u", DISK_MAJOR(dev), DISK_MINOR(dev));
}

const char *disk_name(__u32 dev)
{
	struct disk_entry *e;

	if (!dev)
		return "?";
	for (int i = 0; i < ncached; i++)
		if (cache[i].dev == dev)
			return cache[i].name;
	/* A full cache recycles its last slot rather than growing. */
	e = &cache[ncached < DISK_CACHE ? ncached++ : DISK_CACHE - 1];
	e->dev = dev;
	name_of(dev, e->name, sizeof(e->name));
	return e->name;
}

void disk_name_copy(__u32 dev, char *buf, size_t len)
{
	pthread_mutex_lock(&cache_lock);
	snprintf(buf, len, "%s", disk_name(dev));
	pthread_mutex_unlock(&cache_lock);
}

/* "sda", "/dev/sda" or "8:0" to the kernel's dev_t encoding. */
int disk_lookup(const char *name, __u32 *dev)
{
	char path[PATH_MAX], line[64];
	unsigned int ma, mi;
	FILE *f;
	int ok;

	if (!strncmp(name, "/dev/", 5))
		name += 5;
	if (sscanf(name, "%u:%u", &ma, &mi) == 2) {
		*dev = DISK_MKDEV(ma, mi);
		return 0;
	}
	if (!*name || strchr(name, '/') || strlen(name) > 200)
		return -EINVAL;
	snprintf(path, sizeof(path), "/sys/class/block/%s/dev", name);
	f = fopen(path, "r");
	if (!f)
		return -ENOENT;
	ok = fgets(line, sizeof(line), f) &&
	     sscanf(line, "%u:%u", &ma, &mi) == 2;
	fclose(f);
	if (!ok)
		return -ENOENT;
	*dev = DISK_MKDEV(ma, mi);
	return 0;
}

static int is_op(char c)
{
	return c && strchr("WRDFN", c) != NULL;
}

/* The operation letter of an rwbs string, past a leading preflush 'F'. */
char disk_op_char(const char *rwbs)
{
	if (rwbs[0] == 'F' && is_op(rwbs[1]))
		return rwbs[1];
	return rwbs[0] ? rwbs[0] : '?';
}

/* BCC's -F labels: flags then the operation, e.g. "Sync-Write". */
void disk_flags_name(const char *rwbs, char *buf, size_t len)
{
	static const struct {
		char c;
		const char *name;
	} flags[] = {
		{ 'F', "FUA" }, { 'A', "ReadAhead" }, { 'S', "Sync" },
		{ 'M', "Metadata" },
	};
	const char *op = "Unknown", *p = rwbs;
	size_t n = 0;

	buf[0] = '\0';
	if (p[0] == 'F' && is_op(p[1])) {
		n += snprintf(buf + n, len - n, "PreFlush-");
		p++;
	}
	switch (*p) {
	case 'W':
		op = "Write";
		break;
	case 'R':
		op = "Read";
		break;
	case 'F':
		op = "Flush";
		break;
	case 'N':
		op = "Other";
		break;
	case 'D':
		op = p[1] == 'E' ? "SecureErase" : "Discard";
		if (p[1] == 'E')
			p++;
		break;
	}
	if (*p)
		p++;
	for (; *p && n < len; p++)
		for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
			if (*p == flags[i].c && n < len)
				n += snprintf(buf + n, len - n, "%s-",
					      flags[i].name);
	if (n < len)
		snprintf(buf + n, len - n, "%s", op);
}

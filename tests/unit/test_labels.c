/*
 * Unit tests of label values (src/agent/labels.c) against this machine:
 * its syscall header, its disks in /sys and a cgroup made for the test.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "metric.h"
#include "cgroup.h"
#include "opts.h"
#include "privs.h"
#include "syscalls.h"
#include "unit.h"

static const char *fmt(enum label_kind kind, long long v)
{
	static char buf[256];

	labels_format_int(kind, v, buf, sizeof(buf));
	return buf;
}

static void test_syscall(void)
{
	CHECK_STR(fmt(LABEL_SYSCALL, 257), "openat");
	CHECK_STR(fmt(LABEL_SYSCALL, 0), "read");
	CHECK_STR(fmt(LABEL_SYSCALL, 59), "execve");
	CHECK_STR(fmt(LABEL_SYSCALL, 451), "cachestat");
	CHECK_STR(fmt(LABEL_SYSCALL, 469), "file_setattr");
	CHECK_STR(fmt(LABEL_SYSCALL, 335), "uretprobe");
	/* numbers without a syscall: 335 .. 423 are x86_64's gap */
	CHECK_STR(fmt(LABEL_SYSCALL, 400), "syscall_400");
	CHECK_STR(fmt(LABEL_SYSCALL, 100000), "syscall_100000");
	/* orig_ax of a syscall restarted by the kernel */
	CHECK_STR(fmt(LABEL_SYSCALL, -1), "syscall_-1");
}

/* Every __NR_ of the build machine's header has the same name here. */
static void test_syscall_header(void)
{
	FILE *f = fopen("/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "r");
	char line[256], name[128];
	int nr, seen = 0;

	if (!f) {
		printf("  (no x86_64 unistd_64.h here: not compared)\n");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "#define __NR_%127s %d", name, &nr) != 2)
			continue;
		seen++;
		if (!syscalls_name(nr) || strcmp(syscalls_name(nr), name)) {
			printf("  __NR_%s %d: table has %s\n", name, nr,
			       syscalls_name(nr) ? syscalls_name(nr) : "none");
			unit_failed_checks++;
		}
	}
	fclose(f);
	CHECK(seen > 300);
}

static void test_errno(void)
{
	CHECK_STR(fmt(LABEL_ERRNO, 2), "ENOENT");
	CHECK_STR(fmt(LABEL_ERRNO, 1), "EPERM");
	CHECK_STR(fmt(LABEL_ERRNO, 11), "EAGAIN");
	CHECK_STR(fmt(LABEL_ERRNO, 95), "EOPNOTSUPP");
	CHECK_STR(fmt(LABEL_ERRNO, 133), "EHWPOISON");
	/* the kernel's own, which syscall tracepoints see */
	CHECK_STR(fmt(LABEL_ERRNO, 512), "ERESTARTSYS");
	CHECK_STR(fmt(LABEL_ERRNO, 514), "ERESTARTNOHAND");
	CHECK_STR(fmt(LABEL_ERRNO, 524), "ENOTSUPP");
	CHECK_STR(fmt(LABEL_ERRNO, 531), "ENOGRACE");
	CHECK_STR(fmt(LABEL_ERRNO, 520), "E520");
	CHECK_STR(fmt(LABEL_ERRNO, 4095), "E4095");
	CHECK_STR(fmt(LABEL_ERRNO, 0), "E0");
	/* every number up to EHWPOISON has a name but 41 and 58, unused */
	for (int e = 1; e <= 133; e++) {
		const char *s = fmt(LABEL_ERRNO, e);
		char num[16];

		snprintf(num, sizeof(num), "E%d", e);
		if ((e == 41 || e == 58) != !strcmp(s, num)) {
			printf("  errno %d: %s\n", e, s);
			unit_failed_checks++;
		}
	}
}

/* A whole disk of this machine: its name and "MAJ:MIN". */
static int first_disk(char *name, size_t nlen, unsigned int *ma,
		      unsigned int *mi)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	int found = -1;

	if (!d)
		return -1;
	while (found && (e = readdir(d))) {
		char path[512];
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/dev", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%u:%u", ma, mi) == 2) {
			snprintf(name, nlen, "%s", e->d_name);
			found = 0;
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

static void test_disk(void)
{
	char name[256];
	unsigned int ma, mi;

	if (first_disk(name, sizeof(name), &ma, &mi)) {
		printf("  (no disk in /sys/block: not checked)\n");
		return;
	}
	/* the block tracepoints' dev_t: major << 20 | minor */
	CHECK_STR(fmt(LABEL_DISK, ((long long)ma << 20) | mi), name);
	/* a number no device has stays a number */
	CHECK_STR(fmt(LABEL_DISK, (4000LL << 20) | 12345), "4000:12345");
}

static void test_block_op(void)
{
	CHECK_STR(fmt(LABEL_BLOCK_OP, 'R'), "read");
	CHECK_STR(fmt(LABEL_BLOCK_OP, 'W'), "write");
	CHECK_STR(fmt(LABEL_BLOCK_OP, 'D'), "discard");
	CHECK_STR(fmt(LABEL_BLOCK_OP, 'F'), "flush");
	CHECK_STR(fmt(LABEL_BLOCK_OP, 'N'), "other");
	CHECK_STR(fmt(LABEL_BLOCK_OP, 'X'), "op_88");
}

static void test_softirq(void)
{
	CHECK_STR(fmt(LABEL_SOFTIRQ, 0), "hi");
	CHECK_STR(fmt(LABEL_SOFTIRQ, 1), "timer");
	CHECK_STR(fmt(LABEL_SOFTIRQ, 3), "net_rx");
	CHECK_STR(fmt(LABEL_SOFTIRQ, 9), "rcu");
	CHECK_STR(fmt(LABEL_SOFTIRQ, 10), "vec10");
}

/* The id of a cgroup v2 directory, as the kernel's file handle holds it. */
static int cgroup_id_of(const char *path, unsigned long long *id)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[32];
	} h = { .fh = { .handle_bytes = 32 } };
	int mount_id;

	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) ||
	    h.fh.handle_bytes != 8)
		return -1;
	memcpy(id, h.fh.f_handle, 8);
	return 0;
}

static void test_cgroup(void)
{
	const char *root = opts_cgroup2_root();
	char path[4096], want[64];
	unsigned long long id = 0;

	if (!root || geteuid()) {
		printf("  (no cgroup v2 or not root: not checked)\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/loupe-unit-labels-%d", root,
		 (int)getpid());
	if (mkdir(path, 0755)) {
		printf("  cannot make %s\n", path);
		unit_failed_checks++;
		return;
	}
	if (cgroup_id_of(path, &id)) {
		unit_failed_checks++;
	} else {
		snprintf(want, sizeof(want), "/loupe-unit-labels-%d",
			 (int)getpid());
		CHECK_STR(fmt(LABEL_CGROUP, (long long)id), want);
	}
	rmdir(path);
	CHECK(!cgroup_id_of(root, &id));
	CHECK_STR(fmt(LABEL_CGROUP, (long long)id), "/");
	/* an id no cgroup has: the number, and nothing kept for it */
	CHECK_STR(fmt(LABEL_CGROUP, 0x7fffffffffffLL), "140737488355327");
}

/*
 * The agent resolves cgroups after dropping every capability: without
 * CAP_DAC_READ_SEARCH, no open_by_handle_at(), and the tree is walked.
 */
static void test_cgroup_without_caps(void)
{
	const char *root = opts_cgroup2_root();
	char path[4096], want[128], got[256] = "";
	unsigned long long id = 0;
	int fds[2], status;
	pid_t pid;

	if (!root || geteuid()) {
		printf("  (no cgroup v2 or not root: not checked)\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/loupe-unit-nocaps-%d", root,
		 (int)getpid());
	if (mkdir(path, 0755) || cgroup_id_of(path, &id) || pipe(fds)) {
		unit_failed_checks++;
		rmdir(path);
		return;
	}
	pid = fork();
	if (!pid) {
		const char *v;

		cgroup_cache_free();
		if (privs_drop(NULL, 0))
			_exit(1);
		v = fmt(LABEL_CGROUP, (long long)id);
		if (write(fds[1], v, strlen(v)) < 0)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], got, sizeof(got) - 1) < 0)
		got[0] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	rmdir(path);
	snprintf(want, sizeof(want), "/loupe-unit-nocaps-%d", (int)getpid());
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_STR(got, want);
}

static void test_kind_names(void)
{
	CHECK_STR(labels_kind_name(LABEL_AUTO), "auto");
	CHECK_STR(labels_kind_name(LABEL_SYSCALL), "syscall");
	CHECK_STR(labels_kind_name(LABEL_ERRNO), "errno");
	CHECK_STR(labels_kind_name(LABEL_DISK), "disk");
	CHECK_STR(labels_kind_name(LABEL_BLOCK_OP), "block_op");
	CHECK_STR(labels_kind_name(LABEL_CGROUP), "cgroup");
	CHECK_STR(labels_kind_name(LABEL_SOFTIRQ), "softirq");
	CHECK_STR(labels_kind_name(LABEL_KINDS), "?");
	CHECK_STR(fmt(LABEL_AUTO, -42), "-42");
}

const struct unit_test labels_tests[] = {
	{ "labels/syscall", test_syscall },
	{ "labels/syscall_header", test_syscall_header },
	{ "labels/errno", test_errno },
	{ "labels/disk", test_disk },
	{ "labels/block_op", test_block_op },
	{ "labels/softirq", test_softirq },
	{ "labels/cgroup", test_cgroup },
	{ "labels/cgroup_without_caps", test_cgroup_without_caps },
	{ "labels/kind_names", test_kind_names },
	{ NULL },
};
UNIT_GROUP(labels_tests)

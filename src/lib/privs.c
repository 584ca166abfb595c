/*
 * Privileges. Without them the first thing to fail is bpf() (EPERM), then
 * reading tracefs (mode 0700, owner root, on recent kernels), then
 * attaching uprobes (refused without CAP_SYS_ADMIN on Linux 6.18 even with
 * CAP_PERFMON); each would otherwise surface as a misleading error
 * ("tracefs is not mounted", "no hook works"). bpf() and tracefs are
 * judged by really trying, as hooks are, uprobes by the capability the
 * kernel was seen to want; all is reported as one message that says what
 * to grant.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include "hook.h"
#include "log.h"
#include "privs.h"

static bool has_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1U << (cap % 32));
}

/*
 * A tracepoint program is the kind every tool loads; loading one needs
 * CAP_BPF and CAP_PERFMON whatever kernel.unprivileged_bpf_disabled says.
 * 0, or -errno.
 */
static int bpf_tracing_allowed(void)
{
	static int verdict = 1;
	int fd;

	if (verdict > 0) {
		fd = hook_trivial_prog(BPF_PROG_TYPE_TRACEPOINT, 0, 0);
		verdict = fd < 0 ? fd : 0;
		if (fd >= 0)
			close(fd);
	}
	return verdict;
}

static size_t add(char *buf, size_t len, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t add(char *buf, size_t len, size_t n, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (n >= len)
		return n;
	va_start(ap, fmt);
	k = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	return k > 0 ? n + k : n;
}

/*
 * One line: what was refused, what each thing needs, and what to run.
 * fs_err is hook_tracefs_error()'s verdict on dir.
 */
static int report(bool bpf_denied, int fs_err, const char *dir,
		  bool uprobe_denied)
{
	char msg[1024], caps[96], exe[PATH_MAX] = "loupe", owner[64] = "";
	size_t n = 0, c = 0;
	bool grant = bpf_denied;
	struct stat st;
	ssize_t len;

	n = add(msg, sizeof(msg), n, "permission denied (uid %u)",
		(unsigned int)geteuid());
	if (bpf_denied)
		n = add(msg, sizeof(msg), n,
			": loading BPF programs needs CAP_BPF and CAP_PERFMON");
	/* setcap replaces a file's set: always list what loupe needs. */
	c = add(caps, sizeof(caps), c, "cap_bpf,cap_perfmon");
	if (fs_err == -EACCES) {
		if (!stat(dir, &st))
			snprintf(owner, sizeof(owner), " (mode %04o, owner uid %u)",
				 st.st_mode & 07777, (unsigned int)st.st_uid);
		n = add(msg, sizeof(msg), n,
			"%s reading tracefs at %s%s needs CAP_DAC_READ_SEARCH",
			bpf_denied ? ";" : ":", dir, owner);
		c = add(caps, sizeof(caps), c, ",cap_dac_read_search");
		grant = true;
	} else if (fs_err == -EPERM) {
		n = add(msg, sizeof(msg), n,
			"%s tracefs is not mounted at %s and mounting it needs CAP_SYS_ADMIN",
			bpf_denied ? ";" : ":", dir);
	}
	if (uprobe_denied) {
		n = add(msg, sizeof(msg), n,
			"%s attaching uprobes needs CAP_SYS_ADMIN",
			bpf_denied || fs_err ? ";" : ":");
		c = add(caps, sizeof(caps), c, ",cap_sys_admin");
		grant = true;
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0)
		exe[len] = '\0';
	if (fs_err == -EPERM)
		n = add(msg, sizeof(msg), n,
			"; mount it as root (mount -t tracefs nodev %s)", dir);
	if (grant)
		add(msg, sizeof(msg), n,
		    "%s run loupe as root or give it the capabilities it needs (setcap %s+ep %s)",
		    fs_err == -EPERM ? ", then" : ";", caps, exe);
	log_err("%s", msg);
	return EXIT_RUNTIME;
}

int privs_check(unsigned int needs)
{
	const char *dir = NULL;
	int err = bpf_tracing_allowed(), fs_err = 0;

	if (!err)
		return 0;
	if (err != -EPERM && err != -EACCES) {
		log_err("this kernel cannot load BPF programs: %s",
			strerror(-err));
		return EXIT_RUNTIME;
	}
	if (has_cap(CAP_SYS_ADMIN) ||
	    (has_cap(CAP_BPF) && has_cap(CAP_PERFMON))) {
		log_err("the kernel refuses to load BPF programs (%s) although loupe has CAP_BPF and CAP_PERFMON; a security policy forbids them (see /sys/kernel/security/lockdown)",
			strerror(-err));
		return EXIT_RUNTIME;
	}
	/* Name all that is missing, so that one grant is enough. */
	if (needs & PRIVS_TRACEFS)
		fs_err = hook_tracefs_error(&dir);
	return report(true, fs_err, dir,
		      (needs & PRIVS_UPROBE) && !has_cap(CAP_SYS_ADMIN));
}

int privs_check_tracefs(void)
{
	const char *dir = NULL;
	int fs_err = hook_tracefs_error(&dir);

	if (fs_err != -EACCES && fs_err != -EPERM)
		return 0;
	return report(false, fs_err, dir, false);
}

int privs_check_uprobe(int err)
{
	if ((err != -EACCES && err != -EPERM) || has_cap(CAP_SYS_ADMIN))
		return 0;
	return report(false, 0, NULL, true);
}

static bool kept(int cap, const int *keep, int nkeep)
{
	for (int i = 0; i < nkeep; i++)
		if (keep[i] == cap)
			return true;
	return false;
}

/* The highest capability this kernel knows. */
static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = 40;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = 40;
		fclose(f);
	}
	return last < 63 ? last : 63;
}

int privs_drop(const int *keep, int nkeep)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	int last = last_cap();

	/*
	 * The bounding set first: dropping from it needs CAP_SETPCAP,
	 * which the capset below removes. Without CAP_SETPCAP (a process
	 * already confined) it is left as it is; the sets below and
	 * no_new_privs still hold.
	 */
	for (int cap = 0; cap <= last; cap++)
		if (!kept(cap, keep, nkeep) &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EPERM &&
		    errno != EINVAL)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) &&
	    errno != EINVAL)
		return -errno;
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	for (int i = 0; i < 2; i++) {
		unsigned int mask = 0;

		for (int b = 0; b < 32; b++)
			if (kept(i * 32 + b, keep, nkeep))
				mask |= 1U << b;
		data[i].effective &= mask;
		data[i].permitted &= mask;
		data[i].inheritable &= mask;
	}
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return 0;
}

/* The thread's effective set: all it permits, or only caps. */
static int set_effective(bool all, const int *caps, int n)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	for (int i = 0; i < 2; i++)
		data[i].effective = all ? data[i].permitted : 0;
	for (int i = 0; i < n; i++)
		data[caps[i] / 32].effective |= 1U << (caps[i] % 32);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

int privs_effective(bool on)
{
	return set_effective(on, NULL, 0);
}

int privs_effective_only(const int *caps, int n)
{
	return set_effective(false, caps, n);
}

int privs_cap_eff(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		const char *v = line + 7;

		if (strncmp(line, "CapEff:", 7))
			continue;
		v += strspn(v, " \t");
		snprintf(buf, len, "%.*s", (int)strcspn(v, "\n"), v);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

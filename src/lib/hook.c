/*
 * Hook chooser. A hook is judged by really loading a trivial program of the
 * right type against the target and attaching it, never by guessing from
 * kallsyms: a symbol can exist while kprobes or trampolines do not.
 * Sessions may choose at once (the overview): the process-wide caches
 * below are locked, the tests themselves run in parallel, so that their
 * waits in the kernel (attaching a tracepoint: 10-20 ms here) overlap.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "hook.h"

static const char *const kind_names[] = {
	[HOOK_UNKNOWN] = "unknown",	[HOOK_FENTRY] = "fentry",
	[HOOK_FEXIT] = "fexit",		[HOOK_KPROBE] = "kprobe",
	[HOOK_KRETPROBE] = "kretprobe",	[HOOK_TP_BTF] = "tp_btf",
	[HOOK_RAW_TP] = "raw_tp",	[HOOK_TRACEPOINT] = "tracepoint",
	[HOOK_UPROBE] = "uprobe",	[HOOK_URETPROBE] = "uretprobe",
	[HOOK_PERF_EVENT] = "perf_event", [HOOK_XDP] = "xdp",
	[HOOK_TC] = "tc",		[HOOK_SOCKOPS] = "sockops",
	[HOOK_SK_MSG] = "sk_msg",	[HOOK_TCX] = "tcx",
};

/* Section prefixes as libbpf spells them, longest first where ambiguous. */
static const struct {
	const char *prefix;
	enum hook_kind kind;
} sections[] = {
	{ "fentry/", HOOK_FENTRY },	{ "fexit/", HOOK_FEXIT },
	{ "kretprobe/", HOOK_KRETPROBE }, { "kprobe/", HOOK_KPROBE },
	{ "tp_btf/", HOOK_TP_BTF },	{ "raw_tracepoint/", HOOK_RAW_TP },
	{ "raw_tp/", HOOK_RAW_TP },	{ "tracepoint/", HOOK_TRACEPOINT },
	{ "tp/", HOOK_TRACEPOINT },	{ "uretprobe", HOOK_URETPROBE },
	{ "uprobe", HOOK_UPROBE },	{ "perf_event", HOOK_PERF_EVENT },
	{ "xdp", HOOK_XDP },		{ "tcx", HOOK_TCX },
	{ "tc", HOOK_TC },
	{ "classifier", HOOK_TC },	{ "sockops", HOOK_SOCKOPS },
	{ "sk_msg", HOOK_SK_MSG },
};

const char *hook_kind_name(enum hook_kind kind)
{
	if ((unsigned int)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		kind = HOOK_UNKNOWN;
	return kind_names[kind];
}

int hook_parse_section(const char *section, struct hook_point *pt)
{
	size_t i, n;

	memset(pt, 0, sizeof(*pt));
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		n = strlen(sections[i].prefix);
		if (strncmp(section, sections[i].prefix, n))
			continue;
		pt->kind = sections[i].kind;
		section += n;
		if (*section == '/')
			section++;
		if (strlen(section) >= sizeof(pt->target))
			return -ENAMETOOLONG;
		strcpy(pt->target, section);
		return 0;
	}
	return -EINVAL;
}

bool hook_prog_in_candidate(const struct hook_candidate *c, const char *prog,
			    bool *optional)
{
	for (int i = 0; i < HOOK_MAX_PROGS && c->progs[i]; i++) {
		const char *name = c->progs[i];
		bool opt = name[0] == '?';

		if (!strcmp(name + opt, prog)) {
			if (optional)
				*optional = opt;
			return true;
		}
	}
	return false;
}

void hook_disable(struct bpf_object *obj, const struct hook_probe *probes)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj)
		for (int p = 0; probes[p].name; p++)
			for (int c = 0; c < HOOK_MAX_CANDIDATES; c++)
				if (hook_prog_in_candidate(
					    &probes[p].candidates[c],
					    bpf_program__name(prog), NULL))
					bpf_program__set_autoload(prog, false);
}

/*
 * The first candidate whose required programs all pass wins, provided at
 * least one of its programs works (a set of only optional hooks that all
 * fail is no hook at all).
 */
int hook_decide(const struct hook_probe *probe, hook_test_fn test,
		hook_helper_fn helper_ok, void *ctx, struct hook_result *res)
{
	memset(res, 0, sizeof(*res));
	res->chosen = -1;
	for (int c = 0; c < HOOK_MAX_CANDIDATES; c++) {
		const struct hook_candidate *cand = &probe->candidates[c];
		char *why = res->why[c];
		int working = 0, broken = 0;

		if (!cand->progs[0])
			break;
		res->ncandidates = c + 1;
		if (res->chosen >= 0) {
			snprintf(why, HOOK_WHY_LEN, "not needed");
			continue;
		}
		if (cand->helper && helper_ok &&
		    helper_ok(cand, why, HOOK_WHY_LEN, ctx))
			continue;
		for (int i = 0; i < HOOK_MAX_PROGS && cand->progs[i]; i++) {
			const char *name = cand->progs[i];
			bool optional = name[0] == '?';
			char reason[HOOK_WHY_LEN] = "";

			if (test(name + optional, reason, sizeof(reason),
				 ctx) == 0) {
				working++;
				continue;
			}
			if (optional)
				continue;
			broken++;
			snprintf(why, HOOK_WHY_LEN, "%s", reason);
			break;
		}
		if (!broken && !working)
			snprintf(why, HOOK_WHY_LEN, "none of its hooks exist");
		if (!broken && working)
			res->chosen = c;
	}
	return res->chosen >= 0 ? 0 : -ENOENT;
}

/* --- real tests against the running kernel ---------------------------- */

static const char *const tracefs_dirs[] = {
	"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
};
static const char *tracefs_dir;
static int tracefs_err;		/* why none was found: -errno */
static const char *tracefs_denied;	/* the one we may not read */
static pthread_mutex_t tracefs_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *find_tracefs(void);

const char *hook_tracefs(void)
{
	const char *dir = __atomic_load_n(&tracefs_dir, __ATOMIC_ACQUIRE);

	if (dir)
		return dir;
	pthread_mutex_lock(&tracefs_lock);
	dir = find_tracefs();
	pthread_mutex_unlock(&tracefs_lock);
	return dir;
}

static const char *found_tracefs(const char *dir)
{
	__atomic_store_n(&tracefs_dir, dir, __ATOMIC_RELEASE);
	return dir;
}

static const char *find_tracefs(void)
{
	char path[64];
	struct stat st;

	if (tracefs_dir)
		return tracefs_dir;
	tracefs_denied = NULL;
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/events", tracefs_dirs[i]);
		/*
		 * stat(), not access(): access() judges by the real uid and
		 * ignores the capabilities a non-root user may have been
		 * given (CAP_DAC_READ_SEARCH).
		 */
		if (!stat(path, &st))
			return found_tracefs(tracefs_dirs[i]);
		if ((errno == EACCES || errno == EPERM) && !tracefs_denied)
			tracefs_denied = tracefs_dirs[i];
	}
	/* Mounted where we may not look: mounting again would not help. */
	if (tracefs_denied) {
		tracefs_err = -EACCES;
		return NULL;
	}
	/* Not mounted: mount it where libbpf looks first. */
	if (mount("nodev", tracefs_dirs[0], "tracefs", 0, NULL) == 0)
		return found_tracefs(tracefs_dirs[0]);
	tracefs_err = -errno;
	return NULL;
}

int hook_tracefs_error(const char **dir)
{
	if (hook_tracefs())
		return 0;
	*dir = tracefs_denied ? tracefs_denied : tracefs_dirs[0];
	return tracefs_err;
}

void hook_tracefs_why(char *why, size_t len)
{
	const char *dir = NULL;
	int err = hook_tracefs_error(&dir);

	switch (err) {
	case 0:
		snprintf(why, len, "tracefs is at %s", hook_tracefs());
		break;
	case -EACCES:
		snprintf(why, len, "no permission to read tracefs at %s", dir);
		break;
	case -EPERM:
		snprintf(why, len,
			 "tracefs is not mounted at %s and mounting it needs CAP_SYS_ADMIN",
			 dir);
		break;
	case -ENODEV:
		snprintf(why, len, "this kernel has no tracefs");
		break;
	default:
		snprintf(why, len,
			 "tracefs is not mounted and cannot be mounted at %s: %s",
			 dir, strerror(-err));
		break;
	}
}

int hook_trivial_prog(int type, int attach_type, unsigned int btf_id)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = attach_type,
		    .attach_btf_id = btf_id);
	int fd;

	fd = bpf_prog_load(type, NULL, "GPL", insns, 2, &opts);
	return fd < 0 ? -errno : fd;
}

/*
 * Parsed on demand, freed once nothing holds it (libbpf parses its own to
 * load): a hook_choose() holds it across its tests, a BTF test outside a
 * choice only for itself, so a long-running process (the agent) does not
 * keep 6 MB for one test and no thread frees it under another. Under
 * cache_lock, like the test results.
 */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct btf *cached_btf;
static int btf_holders;
static __thread const struct btf *lent_btf;	/* hook_test_point_btf()'s */

/* Call with cache_lock held. */
static void cache_release(void)
{
	if (btf_holders)
		return;
	btf__free(cached_btf);
	cached_btf = NULL;
}

/* The kernel BTF, held until btf_put(); the lent one if there is one. */
static const struct btf *btf_get(void)
{
	const struct btf *btf;

	if (lent_btf)
		return lent_btf;
	pthread_mutex_lock(&cache_lock);
	if (!cached_btf) {
		cached_btf = btf__load_vmlinux_btf();
		if (libbpf_get_error(cached_btf))
			cached_btf = NULL;
	}
	btf = cached_btf;
	btf_holders++;
	pthread_mutex_unlock(&cache_lock);
	return btf;
}

static void btf_put(void)
{
	if (lent_btf)
		return;
	pthread_mutex_lock(&cache_lock);
	btf_holders--;
	cache_release();
	pthread_mutex_unlock(&cache_lock);
}

static int test_btf_prog_with(const struct btf *btf,
			      const struct hook_point *pt, char *why,
			      size_t len)
{
	bool is_tp = pt->kind == HOOK_TP_BTF;
	char name[HOOK_TARGET_LEN + 16];
	int id, fd, link;

	if (!btf) {
		snprintf(why, len, "kernel BTF not available");
		return -ENOENT;
	}
	snprintf(name, sizeof(name), "%s%s", is_tp ? "btf_trace_" : "",
		 pt->target);
	id = btf__find_by_name_kind(btf, name,
				    is_tp ? BTF_KIND_TYPEDEF : BTF_KIND_FUNC);
	if (id < 0) {
		snprintf(why, len, "%s not in kernel BTF", pt->target);
		return -ENOENT;
	}
	fd = hook_trivial_prog(BPF_PROG_TYPE_TRACING,
			       is_tp ? BPF_TRACE_RAW_TP :
			       pt->kind == HOOK_FENTRY ? BPF_TRACE_FENTRY :
			       BPF_TRACE_FEXIT, id);
	if (fd < 0) {
		snprintf(why, len, "load failed: %s", strerror(-fd));
		return fd;
	}
	link = bpf_raw_tracepoint_open(NULL, fd);
	if (link < 0) {
		link = -errno;
		snprintf(why, len, "attach failed: %s", strerror(-link));
		close(fd);
		return link;
	}
	close(link);
	close(fd);
	return 0;
}

static int test_btf_prog(const struct hook_point *pt, char *why, size_t len)
{
	int err = test_btf_prog_with(btf_get(), pt, why, len);

	btf_put();
	return err;
}

static int test_raw_tp(const struct hook_point *pt, char *why, size_t len)
{
	int fd, link;

	fd = hook_trivial_prog(BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0);
	if (fd < 0) {
		snprintf(why, len, "load failed: %s", strerror(-fd));
		return fd;
	}
	link = bpf_raw_tracepoint_open(pt->target, fd);
	if (link < 0) {
		link = -errno;
		snprintf(why, len, "attach failed: %s", strerror(-link));
		close(fd);
		return link;
	}
	close(link);
	close(fd);
	return 0;
}

static int perf_open(struct perf_event_attr *attr)
{
	int fd = syscall(__NR_perf_event_open, attr, -1, 0, -1,
			 PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int hook_read_sysfs_int(const char *path, const char *fmt, int *val)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, fmt, val) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

/* Attach a trivial program of the given type to a perf event fd. */
static int attach_to_perf(int pfd, enum bpf_prog_type type, char *why,
			  size_t len)
{
	int fd = hook_trivial_prog(type, 0, 0), err = 0;

	if (fd < 0) {
		snprintf(why, len, "load failed: %s", strerror(-fd));
		close(pfd);
		return fd;
	}
	if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, fd) < 0) {
		err = -errno;
		snprintf(why, len, "attach failed: %s", strerror(-err));
	}
	close(fd);
	close(pfd);
	return err;
}

/*
 * A tracepoint is judged by its event id in tracefs and by the kernel
 * accepting a tracepoint program. Attaching a test program would be no
 * stronger a proof and costs an RCU grace period on detach (about 100 ms
 * each here), which would dominate loupe's start-up.
 */
static int test_tracepoint(const struct hook_point *pt, char *why, size_t len)
{
	static int prog_err = 1;
	const char *dir = hook_tracefs();
	char path[256];
	int id, fd;

	if (!dir) {
		hook_tracefs_why(why, len);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/events/%s/id", dir, pt->target);
	if (hook_read_sysfs_int(path, "%d", &id)) {
		snprintf(why, len, "tracepoint %s does not exist", pt->target);
		return -ENOENT;
	}
	if (prog_err > 0) {
		fd = hook_trivial_prog(BPF_PROG_TYPE_TRACEPOINT, 0, 0);
		prog_err = fd < 0 ? fd : 0;
		if (fd >= 0)
			close(fd);
	}
	if (prog_err)
		snprintf(why, len, "load failed: %s", strerror(-prog_err));
	return prog_err;
}

static int test_kprobe(const struct hook_point *pt, char *why, size_t len)
{
	const char *pmu = "/sys/bus/event_source/devices/kprobe";
	struct perf_event_attr attr = { .size = sizeof(attr) };
	char path[128];
	int type, bit = 0, pfd;

	snprintf(path, sizeof(path), "%s/type", pmu);
	if (hook_read_sysfs_int(path, "%d", &type)) {
		snprintf(why, len,
			 "no kprobe PMU (kernel built without CONFIG_KPROBES)");
		return -EOPNOTSUPP;
	}
	if (pt->kind == HOOK_KRETPROBE) {
		snprintf(path, sizeof(path), "%s/format/retprobe", pmu);
		if (hook_read_sysfs_int(path, "config:%d", &bit)) {
			snprintf(why, len, "kprobe PMU has no retprobe bit");
			return -EOPNOTSUPP;
		}
		attr.config = 1ULL << bit;
	}
	attr.type = type;
	attr.config1 = (__u64)(unsigned long)pt->target;
	pfd = perf_open(&attr);
	if (pfd < 0) {
		snprintf(why, len, "cannot probe %s: %s", pt->target,
			 strerror(-pfd));
		return pfd;
	}
	return attach_to_perf(pfd, BPF_PROG_TYPE_KPROBE, why, len);
}

static enum bpf_prog_type prog_type_of(enum hook_kind kind);

/*
 * A packet or socket hook is judged by the kernel loading a program of
 * its type. Attaching one would need an interface, a qdisc or a cgroup
 * of the machine's, changed under other users' feet; the tool says why
 * if its own attach fails.
 */
static int test_prog_type(const struct hook_point *pt, char *why, size_t len)
{
	int fd = hook_trivial_prog(prog_type_of(pt->kind), 0, 0);

	if (fd < 0) {
		snprintf(why, len, "the kernel refuses %s programs: %s",
			 hook_kind_name(pt->kind), strerror(-fd));
		return fd;
	}
	close(fd);
	return 0;
}

/*
 * tcx: a link to interface index 0 (none) fails with ENODEV where the
 * kernel has tcx links and EINVAL (unknown attach type) where not, so
 * the test attaches nothing to anyone's interface.
 */
static int test_tcx(const struct hook_point *pt, char *why, size_t len)
{
	int fd = hook_trivial_prog(BPF_PROG_TYPE_SCHED_CLS, 0, 0), lfd, err;

	if (fd < 0) {
		snprintf(why, len, "the kernel refuses tc programs: %s",
			 strerror(-fd));
		return fd;
	}
	lfd = bpf_link_create(fd, 0, strcmp(pt->target, "egress") ?
			      HOOK_BPF_TCX_INGRESS : HOOK_BPF_TCX_EGRESS,
			      NULL);
	err = lfd < 0 ? -errno : 0;
	close(fd);
	if (lfd >= 0) {
		close(lfd);
		return 0;
	}
	if (err == -ENODEV)
		return 0;
	snprintf(why, len, "no tcx links on this kernel (Linux 6.6+): %s",
		 strerror(-err));
	return err;
}

static struct {
	struct hook_point pt;
	int err;
	char why[HOOK_WHY_LEN];
} test_cache[128];
static int test_cached;

/* The cached result of a test: true and err, why set if there is one. */
static bool test_lookup(const struct hook_point *pt, int *err, char *why,
			size_t len)
{
	bool found = false;

	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < test_cached && !found; i++) {
		if (test_cache[i].pt.kind == pt->kind &&
		    !strcmp(test_cache[i].pt.target, pt->target)) {
			snprintf(why, len, "%s", test_cache[i].why);
			*err = test_cache[i].err;
			found = true;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	return found;
}

int hook_test_point(const struct hook_point *pt, char *why, size_t len)
{
	int err;

	if (test_lookup(pt, &err, why, len))
		return err;
	why[0] = '\0';
	switch (pt->kind) {
	case HOOK_FENTRY:
	case HOOK_FEXIT:
	case HOOK_TP_BTF:
		err = test_btf_prog(pt, why, len);
		break;
	case HOOK_RAW_TP:
		err = test_raw_tp(pt, why, len);
		break;
	case HOOK_TRACEPOINT:
		err = test_tracepoint(pt, why, len);
		break;
	case HOOK_KPROBE:
	case HOOK_KRETPROBE:
		err = test_kprobe(pt, why, len);
		break;
	case HOOK_XDP:
	case HOOK_TC:
	case HOOK_SOCKOPS:
	case HOOK_SK_MSG:
		err = test_prog_type(pt, why, len);
		break;
	case HOOK_TCX:
		err = test_tcx(pt, why, len);
		break;
	default:
		/* Attached by the tool itself; judged at attach time. */
		err = 0;
		break;
	}
	/* Two sessions may have tested it at once: either result will do. */
	pthread_mutex_lock(&cache_lock);
	if (test_cached < (int)(sizeof(test_cache) / sizeof(test_cache[0]))) {
		test_cache[test_cached].pt = *pt;
		test_cache[test_cached].err = err;
		snprintf(test_cache[test_cached].why, HOOK_WHY_LEN, "%s", why);
		test_cached++;
	}
	pthread_mutex_unlock(&cache_lock);
	return err;
}

int hook_test_point_btf(const struct hook_point *pt, const struct btf *btf,
			char *why, size_t len)
{
	int err;

	lent_btf = btf;
	err = hook_test_point(pt, why, len);
	lent_btf = NULL;
	return err;
}

/* A hook named by its section (a tool without an object). */
static int test_section(const char *section, char *why, size_t len)
{
	struct hook_point pt;

	if (hook_parse_section(section, &pt)) {
		snprintf(why, len, "unknown section %s", section);
		return -EINVAL;
	}
	return hook_test_point(&pt, why, len);
}

static int test_prog_by_name(const char *prog_name, char *why, size_t len,
			     void *ctx)
{
	struct bpf_program *prog;
	struct hook_point pt;

	/* A tool without an object names sections, not programs. */
	if (!ctx)
		return test_section(prog_name, why, len);
	prog = bpf_object__find_program_by_name(ctx, prog_name);
	if (!prog) {
		snprintf(why, len, "program %s missing from the object",
			 prog_name);
		return -ENOENT;
	}
	if (hook_parse_section(bpf_program__section_name(prog), &pt)) {
		snprintf(why, len, "unknown section %s",
			 bpf_program__section_name(prog));
		return -EINVAL;
	}
	return hook_test_point(&pt, why, len);
}

static enum bpf_prog_type prog_type_of(enum hook_kind kind)
{
	switch (kind) {
	case HOOK_FENTRY:
	case HOOK_FEXIT:
	case HOOK_TP_BTF:
		return BPF_PROG_TYPE_TRACING;
	case HOOK_RAW_TP:
		return BPF_PROG_TYPE_RAW_TRACEPOINT;
	case HOOK_TRACEPOINT:
		return BPF_PROG_TYPE_TRACEPOINT;
	case HOOK_PERF_EVENT:
		return BPF_PROG_TYPE_PERF_EVENT;
	case HOOK_XDP:
		return BPF_PROG_TYPE_XDP;
	case HOOK_TC:
	case HOOK_TCX:
		return BPF_PROG_TYPE_SCHED_CLS;
	case HOOK_SOCKOPS:
		return BPF_PROG_TYPE_SOCK_OPS;
	case HOOK_SK_MSG:
		return BPF_PROG_TYPE_SK_MSG;
	default:
		return BPF_PROG_TYPE_KPROBE;
	}
}

int hook_prog_point(struct bpf_object *obj, const char *name,
		    struct hook_point *pt)
{
	struct bpf_program *prog;

	if (!obj)
		return hook_parse_section(name, pt);
	prog = bpf_object__find_program_by_name(obj, name);
	if (!prog)
		return -ENOENT;
	return hook_parse_section(bpf_program__section_name(prog), pt);
}

/* libbpf loads a small program calling the helper: a real probe too. */
static int test_helper(const struct hook_candidate *c, char *why, size_t len,
		       void *ctx)
{
	const char *name = c->progs[0];
	enum bpf_prog_type type;
	struct hook_point pt;
	int ok;

	if (hook_prog_point(ctx, name + (name[0] == '?'), &pt))
		return 0;	/* judged when its programs are tested */
	type = prog_type_of(pt.kind);
	/*
	 * libbpf cannot probe tracing programs (they need an attach target):
	 * the kernel gives them every raw_tp helper, so that probe suffices.
	 */
	if (type == BPF_PROG_TYPE_TRACING)
		type = BPF_PROG_TYPE_RAW_TRACEPOINT;
	ok = libbpf_probe_bpf_helper(type, c->helper, NULL);
	if (ok > 0)
		return 0;
	snprintf(why, len, "kernel lacks BPF helper #%d for %s programs",
		 c->helper, hook_kind_name(pt.kind));
	return -EOPNOTSUPP;
}

const char *hook_candidate_label(struct bpf_object *obj,
				 const struct hook_candidate *c)
{
	const char *name = c->progs[0];
	struct hook_point pt;

	if (!name)
		return "none";
	if (hook_prog_point(obj, name + (name[0] == '?'), &pt))
		return "unknown";
	return hook_kind_name(pt.kind);
}

int hook_choose(struct bpf_object *obj, const struct hook_probe *probes,
		struct hook_result *results)
{
	struct bpf_program *prog;
	int err = 0;

	pthread_mutex_lock(&cache_lock);
	btf_holders++;
	pthread_mutex_unlock(&cache_lock);
	for (int p = 0; probes[p].name; p++) {
		if (hook_decide(&probes[p], test_prog_by_name, test_helper,
				obj, &results[p]) && !probes[p].optional)
			err = -ENOENT;
	}
	pthread_mutex_lock(&cache_lock);
	btf_holders--;
	cache_release();
	pthread_mutex_unlock(&cache_lock);
	/* Keep only the chosen candidates' programs (and working optionals). */
	if (!obj)
		return err;
	bpf_object__for_each_program(prog, obj) {
		const char *name = bpf_program__name(prog);
		bool listed = false, keep = false, optional;

		for (int p = 0; probes[p].name; p++) {
			const struct hook_probe *probe = &probes[p];

			for (int c = 0; c < results[p].ncandidates; c++) {
				const struct hook_candidate *cand =
					&probe->candidates[c];
				char why[HOOK_WHY_LEN];

				if (!hook_prog_in_candidate(cand, name,
							    &optional))
					continue;
				listed = true;
				if (c != results[p].chosen)
					continue;
				keep = !optional ||
				       !test_prog_by_name(name, why,
							  sizeof(why), obj);
			}
		}
		if (listed)
			bpf_program__set_autoload(prog, keep);
	}
	return err;
}

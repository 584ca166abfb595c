/*
 * The trace program's life: compile (parse, expand probes, type both
 * passes, create maps, lower and emit each instance), load each program
 * with libbpf's low-level API (no ELF object), attach it the way its
 * probe kind needs, run BEGIN, then let the session's event loop (the
 * one every tool runs in) drain the ring buffer until exit(), a signal,
 * the duration or the traced process ends, detach everything, run END
 * and print the maps like bpftrace.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "hook.h"
#include "inlines.h"
#include "ir.h"
#include "trace.h"
#include "log.h"
#include "parallel.h"
#include "session.h"
#include "stacks.h"
#include "tustack.h"

#define TRACE_RINGBUF_SIZE	(512 * 1024)
#define TRACE_STACK_ENTRIES	4096

static int create_map(struct trace_prog *p, enum bpf_map_type type,
		      const char *name, unsigned int key_size,
		      unsigned int value_size, unsigned int entries,
		      unsigned int flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	int fd = bpf_map_create(type, name, key_size, value_size, entries,
				&opts);

	if (fd < 0)
		fprintf(p->err, "loupe: trace: cannot create map %s: %s\n",
			name, strerror(errno));
	return fd;
}

static void map_obj_name(const char *name, char *out, size_t len)
{
	size_t j = 0;

	/* kernel object names: [A-Za-z0-9_.], 15 characters */
	for (size_t i = 0; name[i] && j + 1 < len && j < 15; i++)
		if ((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_')
			out[j++] = name[i];
	if (!j)
		out[j++] = 'm';
	out[j] = '\0';
}

int trace_scratch_map(struct trace_prog *p)
{
	/* no maps (the fuzzer, a check alone): no scratch either */
	if (p->scratch_fd >= 0 || p->ringbuf_fd < 0)
		return p->scratch_fd;
	p->scratch_fd = create_map(p, BPF_MAP_TYPE_PERCPU_ARRAY,
				   "trace_scratch", 4, TRACE_SCRATCH_BASE +
				   TRACE_SCRATCH_SIZE, 1, 0);
	return p->scratch_fd;
}

/* --cgroup/--container: the directory every probe checks against. */
static int set_cgroup_filter(struct trace_prog *p)
{
	int key = 0, fd;

	p->cgroup_fd = create_map(p, BPF_MAP_TYPE_CGROUP_ARRAY,
				  "trace_cgroup", 4, 4, 1, 0);
	if (p->cgroup_fd < 0)
		return -1;
	fd = open(p->cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || bpf_map_update_elem(p->cgroup_fd, &key, &fd, BPF_ANY)) {
		fprintf(p->err, "loupe: trace: cannot filter by cgroup %s: %s\n",
			p->cgroup_dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int create_maps(struct trace_prog *p)
{
	unsigned int zero_size = 8, flags = BPF_F_NO_PREALLOC;

	/* a copy for ustack(dwarf) is 16 KiB: 512 of them, as profile's */
	p->ringbuf_fd = create_map(p, BPF_MAP_TYPE_RINGBUF, "trace_events", 0,
				   0, p->ringbuf_size ? p->ringbuf_size :
				   p->uses_ucopy ? STACKS_COPY_RING :
				   TRACE_RINGBUF_SIZE, 0);
	/* per-CPU, like every tool's lost_events: the session sums it */
	p->lost_fd = create_map(p, BPF_MAP_TYPE_PERCPU_ARRAY, "trace_lost", 4,
				8, 1, 0);
	if (p->ringbuf_fd < 0 || p->lost_fd < 0)
		return -1;
	for (int i = 0; i < p->nmaps; i++)
		if (ttype_value_size(&p->maps[i].value) > zero_size)
			zero_size = ttype_value_size(&p->maps[i].value);
	p->zero_fd = create_map(p, BPF_MAP_TYPE_ARRAY, "trace_zero", 4,
				zero_size, 1, 0);
	if (p->zero_fd < 0)
		return -1;
	if (p->cgroup_dir && set_cgroup_filter(p))
		return -1;
	if (p->uses_kstack) {
		p->kstack_fd = create_map(p, BPF_MAP_TYPE_STACK_TRACE,
					  "trace_kstack", 4,
					  8 * TRACE_STACK_DEPTH,
					  TRACE_STACK_ENTRIES, 0);
		if (p->kstack_fd < 0)
			return -1;
	}
	if (p->uses_ustack) {
		p->ustack_fd = create_map(p, BPF_MAP_TYPE_STACK_TRACE,
					  "trace_ustack", 4,
					  8 * TRACE_STACK_DEPTH,
					  TRACE_STACK_ENTRIES, 0);
		if (p->ustack_fd < 0)
			return -1;
	}
	for (int i = 0; i < p->nstack_maps; i++) {
		struct trace_stack_map *sm = &p->stack_maps[i];
		const char *name = sm->user ? "trace_ustack_n" :
				   "trace_kstack_n";

		sm->fd = create_map(p, BPF_MAP_TYPE_STACK_TRACE, name, 4,
				    8 * sm->limit, TRACE_STACK_ENTRIES, 0);
		if (sm->fd < 0)
			return -1;
	}
	/*
	 * Hash maps get their entries when keys appear rather than 4096
	 * preallocated (a histogram is 528 bytes per key and CPU). Kernels
	 * before 6.1 allow perf_event programs preallocated maps only.
	 */
	for (int i = 0; i < p->ninsts; i++)
		if (provider_of(p->insts[i].kind)->prog_type ==
		    BPF_PROG_TYPE_PERF_EVENT)
			flags = 0;
	if (p->uses_ucopy) {
		p->fp_pids_fd = create_map(p, BPF_MAP_TYPE_HASH, "trace_fp_pids",
					   4, 1, STACKS_MAX_PIDS, flags);
		if (p->fp_pids_fd < 0)
			return -1;
	}
	for (int i = 0; i < p->nmaps; i++) {
		struct trace_map *m = &p->maps[i];
		enum bpf_map_type type = m->percpu ? BPF_MAP_TYPE_PERCPU_HASH :
					 BPF_MAP_TYPE_HASH;
		char name[16];

		/* LRU maps are always preallocated */
		if (p->lru_maps)
			type = m->percpu ? BPF_MAP_TYPE_LRU_PERCPU_HASH :
			       BPF_MAP_TYPE_LRU_HASH;
		map_obj_name(m->name, name, sizeof(name));
		m->fd = create_map(p, type, name, m->key_size,
				   ttype_value_size(&m->value),
				   m->entries ? m->entries : TRACE_MAP_ENTRIES,
				   p->lru_maps ? 0 : flags);
		if (m->fd < 0)
			return -1;
	}
	return 0;
}

int trace_compile(struct trace_prog *p, enum trace_dump dump)
{
	int ret = trace_check(p);

	if (ret)
		return ret;
	if (dump == TRACE_DUMP_AST) {
		ast_dump(stdout, p->ast);
		return 0;
	}
	if (create_maps(p))
		return EXIT_RUNTIME;
	return trace_lower(p, dump == TRACE_DUMP_IR ? stdout : NULL,
			   dump == TRACE_DUMP_BPF ? stdout : NULL);
}

int trace_build(struct trace_prog *p)
{
	if (create_maps(p))
		return EXIT_RUNTIME;
	return trace_lower(p, NULL, NULL);
}

/* ---- loading ------------------------------------------------------------ */

/*
 * The verifier's log ends with its reason; the last "N: (..)" line names
 * the instruction it was checking. Both go back to the script line.
 */
static bool verifier_noise(const char *line, size_t n)
{
	static const char *const prefixes[] = {
		"processed ", "verification time", "stack depth", "from ",
		"func#", "last_idx", "regs=", "parent ", "mark_precise", ";",
		"Live regs", "Validating", "insn ",
	};
	size_t i = 0;

	if (!n)
		return true;
	for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++)
		if (!strncmp(line, prefixes[k], strlen(prefixes[k])))
			return true;
	/* "12: (bf) r1 = r2", "12: R1=ctx()" and "R0=..." state dumps */
	while (i < n && line[i] >= '0' && line[i] <= '9')
		i++;
	if (i && i < n && line[i] == ':')
		return true;
	return line[0] == 'R' && n > 1 && line[1] >= '0' && line[1] <= '9';
}

/*
 * The verifier's log ends with its reason; the last "N: (..)" line names
 * the instruction it was checking. Both go back to the script line.
 */
static void report_verifier(struct trace_prog *p, struct trace_inst *inst,
			    const char *log)
{
	const char *line = log, *reason = NULL, *at;
	int insn = -1, src_line = 0;
	char why[256] = "";

	while (line && *line) {
		const char *next = strchr(line, '\n');
		size_t n = next ? (size_t)(next - line) : strlen(line);
		int k;

		if (sscanf(line, "%d: (", &k) == 1)
			insn = k;
		else if (!verifier_noise(line, n))
			reason = line;
		line = next ? next + 1 : NULL;
	}
	if (reason && (at = strstr(reason, "at insn ")) &&
	    (size_t)(at - reason) < strcspn(reason, "\n"))
		insn = atoi(at + 8);
	if (reason) {
		size_t n = strcspn(reason, "\n");

		snprintf(why, sizeof(why), "%.*s", (int)n, reason);
	}
	if (insn >= 0 && insn < inst->ninsns)
		src_line = inst->lines[insn];
	if (src_line > 0) {
		const char *text = p->src.text;
		int col = 1;

		for (int l = 1; l < src_line && text; l++) {
			text = strchr(text, '\n');
			if (text)
				text++;
		}
		while (text && (text[col - 1] == ' ' || text[col - 1] == '\t'))
			col++;
		diag_error(p->err, &p->src, (struct src_loc){ src_line, col },
			   "the kernel's verifier rejected %s at instruction %d: %s",
			   inst->name, insn, why[0] ? why : "no reason given");
	} else {
		fprintf(p->err,
			"loupe: trace: the kernel's verifier rejected %s: %s\n",
			inst->name, why[0] ? why : strerror(errno));
	}
}

/* One load; with a log buffer the verifier says why it refused. */
static int load_once(const struct trace_inst *inst, char *log, size_t size)
{
	const struct probe_provider *pv = provider_of(inst->kind);
	LIBBPF_OPTS(bpf_prog_load_opts, opts);
	char name[16];

	map_obj_name(inst->func ? inst->func : inst->name, name,
		     sizeof(name));
	if (pv->attach_type) {
		opts.expected_attach_type = pv->attach_type;
		opts.attach_btf_id = inst->btf_func_id;
	}
	if (log) {
		opts.log_buf = log;
		opts.log_size = size;
		opts.log_level = 1;
	}
	return bpf_prog_load(pv->prog_type, name, "GPL", inst->insns,
			     inst->ninsns, &opts);
}

/* Loads again with the verifier's log, to report why it was refused. */
static int load_inst(struct trace_prog *p, struct trace_inst *inst)
{
	char *log = calloc(1, 1 << 20);
	int fd;

	if (!log)
		return -ENOMEM;
	fd = load_once(inst, log, 1 << 20);
	if (fd >= 0) {
		inst->prog_fd = fd;
		free(log);
		return 0;
	}
	report_verifier(p, inst, log);
	free(log);
	return -1;
}

struct load_work {
	struct trace_prog *p;
	int failed;		/* an instance failed: stop (atomic) */
	pthread_mutex_t report;	/* one verifier report at a time */
};

static void load_one(void *ctx, int i)
{
	struct load_work *w = ctx;
	struct trace_inst *inst = &w->p->insts[i];
	int fd;

	if (__atomic_load_n(&w->failed, __ATOMIC_RELAXED))
		return;
	fd = load_once(inst, NULL, 0);
	if (fd >= 0) {
		inst->prog_fd = fd;
		return;
	}
	pthread_mutex_lock(&w->report);
	if (!__atomic_exchange_n(&w->failed, 1, __ATOMIC_RELAXED))
		load_inst(w->p, inst);
	pthread_mutex_unlock(&w->report);
}

/*
 * The verifier is the cost of loading; with hundreds of instances
 * (t:syscalls:*) the CPUs share it.
 */
int trace_load(struct trace_prog *p)
{
	struct load_work w = { .p = p, .report = PTHREAD_MUTEX_INITIALIZER };
	int width = libbpf_num_possible_cpus();

	if (width > 8)
		width = 8;
	if (p->ninsts < 16)
		width = 1;
	parallel_for(p->ninsts, width, load_one, &w);
	return w.failed ? -1 : 0;
}

/* ---- attaching ---------------------------------------------------------- */

static int perf_open(struct perf_event_attr *attr, int pid, int cpu)
{
	return syscall(__NR_perf_event_open, attr, pid, cpu, -1,
		       PERF_FLAG_FD_CLOEXEC);
}

static int add_to(int **arr, int *n, int fd)
{
	int *fds = realloc(*arr, (*n + 1) * sizeof(*fds));

	if (!fds) {
		close(fd);
		return -ENOMEM;
	}
	*arr = fds;
	fds[(*n)++] = fd;
	return 0;
}

static int add_fd(struct trace_inst *inst, int fd)
{
	return add_to(&inst->fds, &inst->nfds, fd);
}

static int add_link(struct trace_inst *inst, int fd)
{
	return add_to(&inst->links, &inst->nlinks, fd);
}

/* A perf event runs the program through a BPF link (closed with it). */
static int attach_perf(struct trace_inst *inst, struct perf_event_attr *attr,
		       int pid, int cpu)
{
	int pfd = perf_open(attr, pid, cpu), lfd;

	if (pfd < 0)
		return -errno;
	if (add_fd(inst, pfd))
		return -ENOMEM;
	lfd = bpf_link_create(inst->prog_fd, pfd, BPF_PERF_EVENT, NULL);
	if (lfd < 0)
		return -errno;
	return add_link(inst, lfd);
}

static int attach_uprobe(struct trace_prog *p, struct trace_inst *inst)
{
	struct perf_event_attr attr = { .size = sizeof(attr) };
	int type, bit = 0, pid = p->target_pid > 0 ? p->target_pid : -1;

	if (hook_read_sysfs_int("/sys/bus/event_source/devices/uprobe/type",
			    "%d", &type))
		return -ENOTSUP;
	if (inst->kind == PK_URETPROBE &&
	    hook_read_sysfs_int("/sys/bus/event_source/devices/uprobe/format/retprobe",
			    "config:%d", &bit))
		return -ENOTSUP;
	attr.type = type;
	attr.config = inst->kind == PK_URETPROBE ? 1ULL << bit : 0;
	/* the kernel counts the USDT semaphore up while the probe is on */
	if (inst->semaphore) {
		if (hook_read_sysfs_int("/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset",
				    "config:%d", &bit))
			return -ENOTSUP;
		attr.config |= (unsigned long long)inst->semaphore << bit;
	}
	attr.config1 = (unsigned long)inst->target;
	attr.config2 = inst->offset;
	return attach_perf(inst, &attr, pid, pid > 0 ? -1 : 0);
}

static int attach_kprobe(struct trace_inst *inst)
{
	struct perf_event_attr attr = { .size = sizeof(attr) };
	int type, bit = 0;

	if (hook_read_sysfs_int("/sys/bus/event_source/devices/kprobe/type",
			    "%d", &type))
		return -ENOTSUP;
	if (inst->kind == PK_KRETPROBE &&
	    hook_read_sysfs_int("/sys/bus/event_source/devices/kprobe/format/retprobe",
			    "config:%d", &bit))
		return -ENOTSUP;
	attr.type = type;
	attr.config = inst->kind == PK_KRETPROBE ? 1ULL << bit : 0;
	attr.config1 = (unsigned long)inst->func;
	return attach_perf(inst, &attr, -1, 0);
}

static int attach_inst(struct trace_prog *p, struct trace_inst *inst)
{
	struct perf_event_attr attr = { .size = sizeof(attr) };
	int fd, ncpus, err = 0;

	switch (provider_of(inst->kind)->attach) {
	case ATTACH_TEST_RUN:
		return 0;
	case ATTACH_TRACEPOINT:
		attr.type = PERF_TYPE_TRACEPOINT;
		attr.config = inst->tp.id;
		attr.sample_period = 1;
		attr.wakeup_events = 1;
		return attach_perf(inst, &attr, -1, 0);
	case ATTACH_RAW_TP:
		fd = bpf_raw_tracepoint_open(inst->func, inst->prog_fd);
		if (fd < 0)
			return -errno;
		return add_link(inst, fd);
	case ATTACH_TRACING:
		fd = bpf_raw_tracepoint_open(NULL, inst->prog_fd);
		if (fd < 0)
			return -errno;
		return add_link(inst, fd);
	case ATTACH_KPROBE:
		return attach_kprobe(inst);
	case ATTACH_UPROBE:
		return attach_uprobe(p, inst);
	case ATTACH_PERF_ONE_CPU:
		attr.type = PERF_TYPE_SOFTWARE;
		attr.config = PERF_COUNT_SW_CPU_CLOCK;
		attr.sample_period = inst->period;
		return attach_perf(inst, &attr, -1, 0);
	case ATTACH_PERF_EACH_CPU:
		attr.type = PERF_TYPE_SOFTWARE;
		if (inst->kind == PK_PROFILE) {
			attr.config = PERF_COUNT_SW_CPU_CLOCK;
			attr.freq = 1;
			attr.sample_freq = inst->period;
		} else {
			attr.config = inst->sw_config;
			attr.sample_period = inst->period;
		}
		ncpus = libbpf_num_possible_cpus();
		for (int cpu = 0; cpu < ncpus; cpu++) {
			int e = attach_perf(inst, &attr, -1, cpu);

			/* offline CPUs cannot be opened; others must */
			if (e && e != -ENODEV && e != -EINVAL)
				err = e;
		}
		return inst->nlinks ? err : -ENODEV;
	}
	return -ENOTSUP;
}

/* Closing the links stops the programs at once; the perf events behind
 * them are closed later (their teardown is the slow part). */
static void close_links(struct trace_inst *inst)
{
	for (int i = inst->nlinks - 1; i >= 0; i--)
		close(inst->links[i]);
	free(inst->links);
	inst->links = NULL;
	inst->nlinks = 0;
}

static void close_events(struct trace_inst *inst)
{
	for (int i = inst->nfds - 1; i >= 0; i--)
		close(inst->fds[i]);
	free(inst->fds);
	inst->fds = NULL;
	inst->nfds = 0;
}

#define DETACH_THREADS 64

struct detach_work {
	struct trace_prog *p;
	void (*close_fn)(struct trace_inst *inst);
};

static void detach_one(void *ctx, int i)
{
	struct detach_work *w = ctx;

	w->close_fn(&w->p->insts[i]);
}

/*
 * Detaching a tracepoint waits for an RCU grace period (tens of ms, one
 * after another in the kernel for perf events); with hundreds of probes
 * (t:syscalls:*) a pool of threads lets whatever can overlap overlap.
 */
static void detach_all(struct trace_prog *p,
		       void (*close_fn)(struct trace_inst *inst))
{
	struct detach_work w = { .p = p, .close_fn = close_fn };

	parallel_for(p->ninsts, DETACH_THREADS, detach_one, &w);
}

/* ---- running ------------------------------------------------------------ */

struct run_state {
	struct trace_prog *p;
	struct tprint *tp;
	int *prog_fds;
	/*
	 * After an exit() record, what the probes queued behind it is
	 * dropped, as bpftrace does: only END's output follows.
	 */
	bool exited;
};

/*
 * ustack(dwarf) tags older than this are settled: the probe run that made
 * a map key of one has finished with it (a BPF program runs for
 * microseconds), so the key can move to its walked stack.
 */
#define TRACE_SETTLE_NS		50000000ULL
/* Tags are forgotten this long after: every record of theirs is read. */
#define TRACE_FORGET_NS		10000000000ULL

static uint64_t settled_ns(void)
{
	return out_mono_ns() - TRACE_SETTLE_NS;
}

/* Every map's tagged keys to their walked stacks, and old tags dropped. */
static void rekey_maps(struct trace_prog *p, struct tprint *tp,
		       uint64_t before_ns)
{
	if (!tp->ustacks)
		return;
	for (int i = 0; i < p->nmaps; i++)
		tprint_map_rekey(tp, &p->maps[i], before_ns);
	if (before_ns > TRACE_FORGET_NS)
		tustacks_forget(tp->ustacks, before_ns - TRACE_FORGET_NS);
}

/* The interval tick of a program with ustack(dwarf) keys. */
static int on_tick(struct session *s)
{
	struct run_state *rs = s->tool_state;

	tustacks_tick(rs->tp->ustacks);
	rekey_maps(rs->p, rs->tp, settled_ns());
	return 0;
}

static int on_record(struct session *s, const void *data, size_t size)
{
	struct run_state *rs = s->tool_state;
	struct trace_prog *p = rs->p;
	const struct trace_rec *r = data;
	const char *payload = (const char *)data + sizeof(*r);
	const struct trace_print_map *pm;

	if (size < sizeof(*r) || rs->exited)
		return 0;
	switch (r->action) {
	case TREC_PRINTF:
		if (r->id < (unsigned int)p->nprintfs)
			tprint_printf(rs->tp, p->printfs[r->id].fmt,
				      &p->printfs[r->id].args, payload);
		break;
	case TREC_SYSTEM:
		if (r->id < (unsigned int)p->nprintfs)
			tprint_system(rs->tp, p->printfs[r->id].fmt,
				      &p->printfs[r->id].args, payload);
		break;
	case TREC_CAT:
		if (r->id < (unsigned int)p->nprintfs)
			tprint_cat(rs->tp, p->printfs[r->id].fmt,
				   &p->printfs[r->id].args, payload);
		break;
	case TREC_EXIT:
		s->ended = true;
		rs->exited = true;
		break;
	case TREC_PRINT_MAP:
		pm = (const void *)payload;
		if (r->id >= (unsigned int)p->nmaps)
			break;
		tprint_map_rekey(rs->tp, &p->maps[r->id], settled_ns());
		tprint_map(rs->tp, &p->maps[r->id], pm->top, pm->div);
		break;
	case TREC_UCOPY:
		tprint_ucopy(rs->tp, payload, size - sizeof(*r), (int)r->id);
		break;
	case TREC_CLEAR:
		if (r->id < (unsigned int)p->nmaps)
			tprint_clear_map(&p->maps[r->id]);
		break;
	case TREC_ZERO:
		if (r->id < (unsigned int)p->nmaps)
			tprint_zero_map(rs->tp, &p->maps[r->id]);
		break;
	case TREC_TIME:
		if (r->id < (unsigned int)p->ntime_fmts)
			tprint_time(rs->tp, p->time_fmts[r->id]);
		break;
	case TREC_PRINT_VALUE:
		if (r->id < (unsigned int)p->nprint_vals)
			tprint_value(rs->tp, &p->print_vals[r->id], payload);
		break;
	}
	return 0;
}

/* BEGIN or END: each program of that kind runs once, here. */
static int run_special(struct trace_prog *p, enum probe_kind kind)
{
	for (int i = 0; i < p->ninsts; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts);
		unsigned long long args[1] = { 0 };

		if (p->insts[i].kind != kind)
			continue;
		opts.ctx_in = args;
		opts.ctx_size_in = sizeof(args);
		if (bpf_prog_test_run_opts(p->insts[i].prog_fd, &opts)) {
			fprintf(p->err, "loupe: trace: cannot run %s: %s\n",
				p->insts[i].name, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int compare_maps(const void *a, const void *b)
{
	const struct trace_map *x = *(const struct trace_map *const *)a;
	const struct trace_map *y = *(const struct trace_map *const *)b;

	return strcmp(x->name, y->name);
}

static void print_all_maps(struct trace_prog *p, struct tprint *tp)
{
	const struct trace_map **order;

	/* the probes are detached: every tag is settled */
	rekey_maps(p, tp, UINT64_MAX);
	/* bpftrace ends the run's output with two newlines, maps or not */
	fputs("\n\n", tp->out);
	if (!p->nmaps)
		return;
	order = calloc(p->nmaps, sizeof(*order));
	if (!order)
		return;
	for (int i = 0; i < p->nmaps; i++)
		order[i] = &p->maps[i];
	qsort(order, p->nmaps, sizeof(*order), compare_maps);
	for (int i = 0; i < p->nmaps; i++)
		tprint_map(tp, order[i], 0, 0);
	free(order);
}

/* Programs stop here; the slow teardown of their perf events waits. */
static void detach_programs(struct session *s)
{
	struct run_state *rs = s->tool_state;

	detach_all(rs->p, close_links);
}

/* After the probes' last events: END, then the maps, like bpftrace. */
static void run_end(struct session *s)
{
	struct run_state *rs = s->tool_state;

	rs->exited = false;
	run_special(rs->p, PK_END);
}

static int attach_insts(struct trace_prog *p)
{
	for (int i = 0; i < p->ninsts; i++) {
		struct trace_inst *inst = &p->insts[i];
		int err = attach_inst(p, inst);

		if (err) {
			fprintf(p->err, "loupe: trace: cannot attach %s: %s\n",
				inst->name, strerror(-err));
			return EXIT_RUNTIME;
		}
	}
	return 0;
}

void trace_detach(struct trace_prog *p)
{
	detach_all(p, close_links);
	detach_all(p, close_events);
}

int trace_attach(struct trace_prog *p)
{
	int ret = attach_insts(p);

	if (ret)
		trace_detach(p);
	return ret;
}

/*
 * The session's loop reads the ring buffer and ends the run (exit(), a
 * signal, --duration, the -p process or -c's command exiting); losses
 * and skipped runs are reported the way every tool reports them.
 */
int trace_run(struct trace_prog *p, struct session *s,
	      const struct trace_run_opts *ro)
{
	struct tprint tp;
	struct run_state rs = { .p = p, .tp = &tp };
	int ret;

	tprint_init(&tp, stdout, s->opts.json);
	tp.kstack_fd = p->kstack_fd;
	tp.ustack_fd = p->ustack_fd;
	tp.no_demangle = p->no_demangle;
	tp.stack_maps = p->stack_maps;
	tp.nstack_maps = p->nstack_maps;
	if (p->uses_ucopy)
		tp.ustacks = tustacks_new(p->fp_pids_fd);
	if (p->inline_frames)
		tp.inlines = inlines_new(0);
	rs.prog_fds = calloc(p->ninsts ? p->ninsts : 1, sizeof(int));
	if (!rs.prog_fds || (p->uses_ucopy && !tp.ustacks) ||
	    (p->inline_frames && !tp.inlines)) {
		ret = EXIT_RUNTIME;
		goto out;
	}
	for (int i = 0; i < p->ninsts; i++)
		rs.prog_fds[i] = p->insts[i].prog_fd;
	s->tool_state = &rs;
	s->prog_fds = rs.prog_fds;
	s->nprog_fds = p->ninsts;
	s->detach = detach_programs;
	s->on_end = run_end;
	/* ustack(dwarf) keys move to their walked stacks every second */
	if (p->uses_ucopy) {
		s->opts.interval = 1;
		s->on_interval = on_tick;
	}
	ret = session_start_ring(s, p->ringbuf_fd, p->lost_fd, on_record);
	if (!ret && ro->child > 0)
		session_watch_pid(s, ro->child);
	if (!ret)
		ret = attach_insts(p);
	if (!ret) {
		tprint_attached(&tp, p->ninsts);
		fflush(tp.out);
	}
	if (!ret && ro->on_attached)
		ro->on_attached(ro->ctx);
	if (!ret && run_special(p, PK_BEGIN))
		ret = EXIT_RUNTIME;
	if (!ret)
		ret = session_loop(s);
	if (!ret)
		print_all_maps(p, &tp);
	detach_all(p, close_links);
	session_stop(s);
	detach_all(p, close_events);
out:
	free(rs.prog_fds);
	tprint_fini(&tp);
	return ret;
}

/*
 * The runtime of one tool run, from opening the tool's skeleton to
 * destroying it. Signals only raise a flag; the event loop notices it and
 * every ending (Ctrl-C, SIGTERM, --duration, the -p process exiting, a
 * write error or a failure while starting) leaves through one teardown,
 * which destroys each link before the skeleton.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <limits.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "container.h"
#include "kbtf.h"
#include "log.h"
#include "parallel.h"
#include "privs.h"
#include "session.h"
#include "uprobe.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD	O_EXCL	/* include/uapi/linux/pidfd.h, 6.9 */
#endif

#define TICK_MS		100
#define LOST_EVERY_NS	1000000000LL

static volatile sig_atomic_t stop_requested;


static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void session_install_signals(void)
{
	struct sigaction sa = {
		.sa_handler = on_signal,
		/*
		 * Restart writes so a signal never cuts an output line;
		 * epoll_wait() is never restarted, so the loop still wakes.
		 */
		.sa_flags = SA_RESTART,
	};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

bool session_interrupted(void)
{
	return stop_requested;
}

void session_init(struct session *s, const struct tool *t)
{
	memset(s, 0, sizeof(*s));
	s->tool = t;
	s->columns = t->columns;
	s->on_event = t->on_event;
	s->on_interval = t->on_interval;
	s->lost_fd = -1;
	s->target_fd = -1;
	s->boot_to_real_ns = out_boot_to_real_ns();
}

unsigned long long session_real_ns(const struct session *s,
				   unsigned long long boot_ns)
{
	return boot_ns + s->boot_to_real_ns;
}

static void fill_filter(struct session *s, struct loupe_filter *f)
{
	const struct opts *o = &s->opts;

	f->pid = o->pid;
	f->use_comm = o->comm[0] != '\0';
	for (int i = 0; i < TASK_COMM_LEN; i++)
		f->comm[i] = o->comm[i];
	f->use_cgroup = o->cgroup[0] != '\0';
	f->failed_only = o->failed;
	f->wakeup_bytes = o->buffer_size / 4;
	f->exclude_pid = o->exclude_pid;
}

static struct bpf_map *rodata_map(struct bpf_object *obj)
{
	static const char suffix[] = ".rodata";
	struct bpf_map *map;
	size_t n;

	bpf_object__for_each_map(map, obj) {
		n = strlen(bpf_map__name(map));
		if (bpf_map__is_internal(map) && n >= sizeof(suffix) - 1 &&
		    !strcmp(bpf_map__name(map) + n - (sizeof(suffix) - 1),
			    suffix))
			return map;
	}
	return NULL;
}

/*
 * Every object has loupe.bpf.h's `filter` in its .rodata; its place there
 * is read from the object's BTF, so no tool hands it over.
 */
static int set_filter(struct session *s, struct bpf_object *obj)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	struct bpf_map *map;
	size_t size;
	char *data;
	int id;

	id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) :
	     -ENOENT;
	if (id < 0)
		return 0;
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), "filter"))
			continue;
		map = rodata_map(obj);
		/* Writable until load: the skeleton's mapping of .rodata. */
		data = map ? (char *)bpf_map__initial_value(map, &size) : NULL;
		if (!data || vs->size != sizeof(struct loupe_filter) ||
		    vs->offset + vs->size > size) {
			log_err("the BPF object's filter is not loupe's");
			return EXIT_RUNTIME;
		}
		fill_filter(s, (struct loupe_filter *)(data + vs->offset));
		return 0;
	}
	return 0;
}

#define DRAIN_CHECK_EVERY	256
#define DRAIN_SLICE_NS		250000000LL
#define DRAIN_FINAL_NS		200000000LL

/*
 * LOUPE_DRAIN_SLICE_MS shortens both (tests use it to cut drains often
 * and check that no event is lost uncounted when they are).
 */
static long long drain_budget_ns(long long dflt)
{
	static long long slice = -1;
	const char *env;

	if (slice < 0) {
		env = getenv("LOUPE_DRAIN_SLICE_MS");
		slice = env && atoi(env) > 0 ? atoi(env) * 1000000LL : 0;
	}
	return slice ? slice : dflt;
}

/*
 * When events arrive faster than they are printed, a drain could go on
 * forever: it is cut into time slices, and stops at once on a signal.
 */
static bool drain_must_stop(struct session *s)
{
	if (stop_requested && !s->final_drain)
		return true;
	return (long long)out_mono_ns() > s->drain_until_ns;
}

/*
 * libbpf has already consumed a sample when it hands it over, so a sample
 * is always printed (or counted) before the drain is cut short.
 */
static void destroy_links(struct session *s);

static int rb_event(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;
	int err;

	if (s->out.failed)
		return -EPIPE;
	if (s->discarding) {
		s->discarded++;
		return 0;
	}
	err = s->on_event ? s->on_event(s, data, size) : 0;
	if (!err && ++s->drained % DRAIN_CHECK_EVERY == 0 &&
	    drain_must_stop(s))
		return -EINTR;
	return err;
}

static void report_unusable(struct bpf_object *obj,
			    const struct hook_probe *p,
			    const struct hook_result *r)
{
	char msg[1024] = "";
	size_t n = 0;

	for (int c = 0; c < r->ncandidates && n < sizeof(msg); c++)
		n += snprintf(msg + n, sizeof(msg) - n, "%s%s: %s",
			      c ? "; " : "",
			      hook_candidate_label(obj, &p->candidates[c]),
			      r->why[c]);
	log_err("no hook for '%s' works on this kernel (%s)", p->name, msg);
}

static int load_object(struct session *s)
{
	struct bpf_map *events;
	int err;

	events = bpf_object__find_map_by_name(s->obj, "events");
	/* Tools that aggregate in the kernel hardly use the ring. */
	if (!(s->tool->common & OPT_BUFFER))
		s->opts.buffer_size = s->ring_size ? s->ring_size : 4096;
	else if (!s->opts.buffer_given && s->ring_size)
		s->opts.buffer_size = s->ring_size;
	if (events && bpf_map__set_max_entries(events, s->opts.buffer_size)) {
		log_err("cannot size the ring buffer to %lu bytes",
			s->opts.buffer_size);
		return EXIT_RUNTIME;
	}
	uprobe_prepare(s->obj);
	if (s->skeleton)
		err = bpf_object__load_skeleton(s->skeleton);
	else
		err = bpf_object__load(s->obj);
	/* Give back the memory of libbpf's kernel BTF, parsed for CO-RE. */
	malloc_trim(0);
	if (!err)
		return 0;
	if ((err == -EPERM || err == -EACCES) && geteuid() != 0) {
		log_err("loading BPF programs failed: %s; run as root (CAP_BPF and CAP_PERFMON)",
			strerror(-err));
		return EXIT_RUNTIME;
	}
	log_err("loading BPF programs failed: %s; the kernel said:",
		strerror(-err));
	log_libbpf_tail(s->opts.verbose ? 0 : 15);
	return EXIT_RUNTIME;
}

static int set_cgroup_filter(struct session *s)
{
	struct bpf_map *map;
	__u32 key = 0;
	int fd, err;

	if (!s->opts.cgroup[0])
		return 0;
	map = bpf_object__find_map_by_name(s->obj, "cgroup_filter");
	fd = open(s->opts.cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!map || fd < 0) {
		log_err("cannot open cgroup %s: %s", s->opts.cgroup,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_RUNTIME;
	}
	err = bpf_map_update_elem(bpf_map__fd(map), &key, &fd, BPF_ANY);
	close(fd);
	if (err) {
		log_err("cannot set the cgroup filter: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	return 0;
}

static int attach_all(struct session *s)
{
	struct bpf_program *prog;
	struct bpf_link *link;
	const char *section;
	int err;

	bpf_object__for_each_program(prog, s->obj) {
		if (!bpf_program__autoload(prog))
			continue;
		/*
		 * A perf_event program needs perf events the tool chooses
		 * (which CPUs, what rate): its attached() callback opens
		 * them with session_attach_cpu_clock().
		 */
		if (bpf_program__type(prog) == BPF_PROG_TYPE_PERF_EVENT)
			continue;
		if (s->nlinks == SESSION_MAX_LINKS) {
			log_err("too many programs to attach");
			return EXIT_RUNTIME;
		}
		section = bpf_program__section_name(prog);
		/* Only uprobe.c attaches uprobes (see uprobe_prepare()). */
		if (s->attach_prog)
			link = s->attach_prog(s, prog);
		else if (uprobe_is_section(section))
			link = uprobe_attach_section(prog, s->opts.pid);
		else
			link = bpf_program__attach(prog);
		if (!link) {
			err = -errno;
			if (uprobe_is_section(section) && privs_check_uprobe(err))
				return EXIT_RUNTIME;
			log_err("attaching %s (%s) failed: %s",
				bpf_program__name(prog), section,
				strerror(-err));
			return EXIT_RUNTIME;
		}
		s->links[s->nlinks++] = link;
	}
	return 0;
}

static int start_choose(struct session *s, struct bpf_object *obj);
static int start_load(struct session *s);

/* What the programs that may load need besides bpf() (PRIVS_*). */
static unsigned int needs_of(struct bpf_object *obj)
{
	struct bpf_program *prog;
	struct hook_point pt;
	unsigned int needs = 0;

	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__autoload(prog) ||
		    hook_parse_section(bpf_program__section_name(prog), &pt))
			continue;
		if (pt.kind == HOOK_TRACEPOINT)
			needs |= PRIVS_TRACEFS;
		if (pt.kind == HOOK_UPROBE || pt.kind == HOOK_URETPROBE)
			needs |= PRIVS_UPROBE;
	}
	return needs;
}

/*
 * With -p the tool can only ever see that process (or activity charged
 * to it): when it exits, the run is over. A pidfd turns readable then;
 * the loop polls it. ESRCH: it exited since the flags were checked.
 */
void session_watch_pid(struct session *s, int pid)
{
	s->target_fd = syscall(SYS_pidfd_open, pid, 0);
	s->target_gone = s->target_fd < 0 && errno == ESRCH;
}

/*
 * A thread's own pidfd (PIDFD_THREAD, Linux 6.9) turns readable when that
 * thread exits, not its process. Older kernels refuse the flag: the loop
 * then asks whether the thread id still names a task.
 */
void session_watch_thread(struct session *s, int tid)
{
	s->target_what = "thread";
	s->target_id = tid;
	s->target_fd = syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (s->target_fd < 0 && errno == EINVAL)
		s->target_tid = tid;
	s->target_gone = s->target_fd < 0 && errno == ESRCH;
}

/* -p, unless the tool watches one of its threads already. */
static void watch_target(struct session *s)
{
	if (!(s->opts.given & OPT_PID) || s->opts.pid <= 0 || s->target_what)
		return;
	s->target_what = "process";
	s->target_id = s->opts.pid;
	session_watch_pid(s, s->opts.pid);
}

static bool target_exited(struct session *s)
{
	struct pollfd pfd = { .fd = s->target_fd, .events = POLLIN };

	if (s->target_fd >= 0 && poll(&pfd, 1, 0) > 0)
		s->target_gone = true;
	if (s->target_tid > 0 && kill(s->target_tid, 0) && errno == ESRCH)
		s->target_gone = true;
	return s->target_gone;
}

static int open_ring(struct session *s, int ring_fd)
{
	s->rb = ring_buffer__new(ring_fd, rb_event, s, NULL);
	if (s->rb)
		return 0;
	log_err("cannot open the ring buffer: %s", strerror(errno));
	return -1;
}

static int session_start(struct session *s, struct bpf_object *obj)
{
	int err;

	/*
	 * Sessions running together (the overview) start at once: the
	 * kernel's waits (registering a tracepoint: 10-20 ms here) overlap.
	 */
	kbtf_begin(s->tool);
	err = start_choose(s, obj);
	if (!err)
		err = start_load(s);
	kbtf_end();
	return err;
}

static int start_choose(struct session *s, struct bpf_object *obj)
{
	const struct hook_probe *probes = s->probes ? s->probes :
					  s->tool->probes;
	int err;

	s->obj = obj;
	out_init(&s->out, s->out_file ? s->out_file : stdout, s->opts.json,
		 s->opts.timestamp, s->columns);
	if (s->opts.containers)
		s->out.lead = (struct out_col){ "CONTAINER", -16 };
	err = privs_check(needs_of(obj));
	if (err)
		return err;
	watch_target(s);
	if (probes && hook_choose(obj, probes, s->hooks)) {
		/* A tracefs we may not read rejects every tracepoint. */
		if (privs_check_tracefs())
			return EXIT_RUNTIME;
		for (int p = 0; probes[p].name; p++)
			if (s->hooks[p].chosen < 0)
				report_unusable(obj, &probes[p], &s->hooks[p]);
		return EXIT_RUNTIME;
	}
	return 0;
}

static int start_load(struct session *s)
{
	struct bpf_map *events, *lost;
	int err;

	err = load_object(s);
	if (!err)
		err = set_cgroup_filter(s);
	if (!err)
		err = attach_all(s);
	if (err)
		return err;

	lost = bpf_object__find_map_by_name(s->obj, "lost_events");
	s->lost_fd = lost ? bpf_map__fd(lost) : -1;
	events = bpf_object__find_map_by_name(s->obj, "events");
	if (events && open_ring(s, bpf_map__fd(events)))
		return EXIT_RUNTIME;
	if (!s->tool->header_per_interval)
		out_header(&s->out);
	return 0;
}

int session_choose(struct session *s, struct bpf_object *obj)
{
	const struct hook_probe *probes = s->probes ? s->probes :
					  s->tool->probes;

	if (!probes || !hook_choose(obj, probes, s->hooks))
		return 0;
	for (int p = 0; probes[p].name; p++)
		if (s->hooks[p].chosen < 0)
			report_unusable(obj, &probes[p], &s->hooks[p]);
	return EXIT_RUNTIME;
}

const char *session_chosen(const struct session *s, int probe)
{
	const struct hook_probe *probes = s->probes ? s->probes :
					  s->tool->probes;
	int c = s->hooks[probe].chosen;

	if (!probes || c < 0)
		return NULL;
	return probes[probe].candidates[c].progs[0];
}

int session_start_ring(struct session *s, int ring_fd, int lost_fd,
		       session_event_fn on_event)
{
	s->on_event = on_event;
	s->lost_fd = lost_fd;
	out_init(&s->out, s->out_file ? s->out_file : stdout, s->opts.json,
		 s->opts.timestamp, NULL);
	watch_target(s);
	/* No ring (loupe drop: counters only): the loop just ticks. */
	if (ring_fd < 0)
		return 0;
	return open_ring(s, ring_fd) ? EXIT_RUNTIME : 0;
}

static void pb_event(void *ctx, int cpu, void *data, __u32 size)
{
	(void)cpu;
	rb_event(ctx, data, size);
}

static void pb_lost(void *ctx, int cpu, __u64 n)
{
	struct session *s = ctx;

	(void)cpu;
	s->pb_lost += n;
}

/* 64 pages a CPU: 256 KiB, a few full-size packets each. */
#define PERF_PAGES	64

int session_start_perf(struct session *s, int map_fd,
		       session_event_fn on_event)
{
	int err = session_start_ring(s, -1, -1, on_event);

	if (err)
		return err;
	s->pb = perf_buffer__new(map_fd, PERF_PAGES, pb_event, pb_lost, s,
				 NULL);
	if (s->pb)
		return 0;
	log_err("cannot open the perf buffer: %s", strerror(errno));
	return EXIT_RUNTIME;
}

static unsigned long long lost_total(struct session *s)
{
	int ncpus = libbpf_num_possible_cpus();
	unsigned long long sum = 0;
	__u32 key = 0;
	__u64 *vals;

	if (s->lost_fd < 0 || ncpus <= 0)
		return s->pb_lost;
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map_lookup_elem(s->lost_fd, &key, vals))
		for (int i = 0; i < ncpus; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

int session_prog_stats(int fd, struct session_prog_stats *st)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(st, 0, sizeof(*st));
	memset(&info, 0, sizeof(info));
	if (fd < 0)
		return -EBADF;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	st->missed = info.recursion_misses;
	st->run_ns = info.run_time_ns;
	st->runs = info.run_cnt;
	return 0;
}

static unsigned long long prog_missed(int fd)
{
	struct session_prog_stats st;

	session_prog_stats(fd, &st);
	return st.missed;
}

/*
 * Runs of the tool's programs that the kernel skipped because one of them
 * was already running on that CPU (an interrupt or softirq arriving while
 * a program ran): their events never existed, so they cannot be counted
 * as lost, but the user must know some are missing.
 */
static unsigned long long missed_total(struct session *s)
{
	unsigned long long sum = 0;
	struct bpf_program *prog;

	for (int i = 0; i < s->nprog_fds; i++)
		sum += prog_missed(s->prog_fds[i]);
	if (!s->obj)
		return sum;
	bpf_object__for_each_program(prog, s->obj)
		sum += prog_missed(bpf_program__fd(prog));
	return sum;
}

static void report_count(struct session *s, const char *type,
			 unsigned long long count, const char *msg)
{
	if (s->opts.json) {
		out_record_begin(&s->out);
		out_str(&s->out, OUT_JSON_ONLY, "type", type);
		out_uint(&s->out, OUT_JSON_ONLY, "ts_ns", out_now_ns());
		out_str(&s->out, OUT_JSON_ONLY, "tool", s->tool->name);
		out_uint(&s->out, OUT_JSON_ONLY, "count", count);
		out_record_end(&s->out);
	}
	out_flush(&s->out);
	log_err("%llu %s", count, msg);
}

/* Losses go to stderr (and a JSON record), never into a table. */
static void report_lost(struct session *s)
{
	unsigned long long total = lost_total(s) + s->discarded;
	unsigned long long missed = missed_total(s);

	if (total > s->lost_reported) {
		/* A tool without --buffer-size sizes its ring itself. */
		report_count(s, "lost", total - s->lost_reported,
			     s->tool->common & OPT_BUFFER ?
			     "events lost; raise --buffer-size" :
			     "events lost: the ring buffer was full");
		s->lost_reported = total;
	}
	if (missed > s->missed_reported) {
		report_count(s, "missed", missed - s->missed_reported,
			     "probe runs skipped by the kernel (a probe was already running on that CPU); their events are missing");
		s->missed_reported = missed;
	}
}

static int drain(struct session *s, int timeout_ms, long long budget_ns)
{
	int err = 0;

	s->drain_until_ns = (long long)out_mono_ns() + timeout_ms * 1000000LL +
			    budget_ns;
	if (s->rb) {
		err = ring_buffer__poll(s->rb, timeout_ms);
		/* Events submitted without a wakeup are picked up here. */
		if (err >= 0 || err == -EINTR)
			err = ring_buffer__consume(s->rb);
		if (err == -EINTR)
			err = 0;
	} else if (s->pb) {
		err = perf_buffer__poll(s->pb, timeout_ms);
		if (err == -EINTR)
			err = 0;
	} else if (timeout_ms > 0) {
		usleep(timeout_ms * 1000);
	}
	if (out_flush(&s->out) || err == -EPIPE)
		return -EPIPE;
	return err < 0 ? err : 0;
}

/* What it has no time to print is counted as lost. */
static void drain_final(struct session *s)
{
	if (drain(s, 0, drain_budget_ns(DRAIN_FINAL_NS)) == 0 && s->rb) {
		s->discarding = true;
		ring_buffer__consume(s->rb);
		s->discarding = false;
	}
}

int session_loop(struct session *s)
{
	long long now = (long long)out_mono_ns(), deadline = 0, next_tick = 0;
	long long next_lost = now + LOST_EVERY_NS, interval_ns;
	int err = 0, timeout;
	bool ticked_last = false;

	interval_ns = (long long)(s->opts.interval * 1e9);
	if (s->opts.duration > 0)
		deadline = now + (long long)(s->opts.duration * 1e9);
	if (interval_ns > 0)
		next_tick = now + interval_ns;

	while (!stop_requested && !s->ended) {
		timeout = TICK_MS;
		if (deadline && (deadline - now) / 1000000 < timeout)
			timeout = (deadline - now) / 1000000;
		if (next_tick && (next_tick - now) / 1000000 < timeout)
			timeout = (next_tick - now) / 1000000;
		err = drain(s, timeout > 0 ? timeout : 0,
			    drain_budget_ns(DRAIN_SLICE_NS));
		if (err)
			break;
		now = (long long)out_mono_ns();
		ticked_last = false;
		if (next_tick && now >= next_tick) {
			ticked_last = true;
			if (s->on_interval)
				s->on_interval(s);
			report_lost(s);
			next_tick += interval_ns;
		}
		if (now >= next_lost) {
			report_lost(s);
			if (s->on_second)
				s->on_second(s);
			next_lost = now + LOST_EVERY_NS;
		}
		if (deadline && now >= deadline)
			break;
		if (target_exited(s))
			break;
	}
	if (err == -EPIPE) {
		/* The reader went away (e.g. `| head`): a normal end. */
		return EXIT_OK;
	}
	if (err) {
		log_err("reading events failed: %s", strerror(-err));
		return EXIT_RUNTIME;
	}
	/*
	 * Detach first, so that the ring holds a bounded number of events;
	 * what the final drain has no time to print is counted as lost.
	 */
	destroy_links(s);
	if (s->detach)
		s->detach(s);
	s->final_drain = true;
	drain_final(s);
	if (s->on_end) {
		s->on_end(s);
		drain_final(s);
	}
	/* Print what the last, partial interval (or the only one) saw. */
	if (s->on_interval && !ticked_last)
		s->on_interval(s);
	report_lost(s);
	out_flush(&s->out);
	/* Not for a process the tool started itself (trace -c). */
	if (s->target_gone && s->target_what)
		log_err("%s %d exited; tracing ended", s->target_what,
			s->target_id);
	return EXIT_OK;
}

int session_add_link(struct session *s, struct bpf_link *link)
{
	if (s->nlinks == SESSION_MAX_LINKS) {
		bpf_link__destroy(link);
		log_err("too many links to attach");
		return EXIT_RUNTIME;
	}
	s->links[s->nlinks++] = link;
	return 0;
}

void session_raw_syscalls(struct session *s, struct bpf_object *obj,
			  const struct hook_probe *raw)
{
	if (!s->opts.raw_syscalls) {
		hook_disable(obj, raw);
		return;
	}
	hook_disable(obj, s->tool->probes);
	s->probes = raw;
}

/*
 * One cpu-clock event on cpu running prog: 0, -ENODEV for a possible CPU
 * that is not online when offline_ok, else an exit status.
 */
int session_cpu_clock_link(struct bpf_program *prog, unsigned long hz,
			   int cpu, bool offline_ok, struct bpf_link **link)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		/*
		 * A fixed period in ns, not freq = 1: the kernel adapts a
		 * frequency on the tick, which an idle NOHZ CPU does not
		 * take, and such a CPU would be sampled far less than hz.
		 */
		.sample_period = 1000000000ULL / hz,
	};
	int fd;

	fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1,
		     PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		if (errno == ENODEV && offline_ok)
			return -ENODEV;
		log_err("cannot open a cpu-clock event on CPU %d: %s", cpu,
			strerror(errno));
		return EXIT_RUNTIME;
	}
	*link = bpf_program__attach_perf_event(prog, fd);
	if (!*link) {
		log_err("cannot attach to the cpu-clock event of CPU %d: %s",
			cpu, strerror(errno));
		close(fd);
		return EXIT_RUNTIME;
	}
	/* The link owns the perf event fd and closes it when destroyed. */
	return 0;
}

static int attach_cpu_clock(struct session *s, struct bpf_program *prog,
			    unsigned long hz, int cpu, bool offline_ok)
{
	struct bpf_link *link;
	int err = session_cpu_clock_link(prog, hz, cpu, offline_ok, &link);

	return err ? err : session_add_link(s, link);
}

int session_attach_cpu_clock(struct session *s, struct bpf_program *prog,
			     unsigned long hz, int cpu)
{
	int ncpus = libbpf_num_possible_cpus(), attached = 0, err;

	if (cpu >= 0)
		return attach_cpu_clock(s, prog, hz, cpu, false);
	for (cpu = 0; cpu < ncpus; cpu++) {
		err = attach_cpu_clock(s, prog, hz, cpu, true);
		if (err == -ENODEV)
			continue;
		if (err)
			return err;
		attached++;
	}
	if (!attached) {
		log_err("no online CPU to sample");
		return EXIT_RUNTIME;
	}
	return 0;
}

static void destroy_link(void *links, int i)
{
	bpf_link__destroy(((struct bpf_link **)links)[i]);
}

/*
 * Detaching a tracepoint or a uprobe_multi link waits for RCU grace
 * periods (tens of ms here); detaching several links at once lets those
 * waits overlap. Eight threads overlap them as well as one per link does
 * (fsslower's 28 syscall tracepoints: the same wall time), and each
 * thread's stack counts in the RSS: 28 took fsslower from 8.0 to 8.4 MiB.
 * Perf-event uprobes gain nothing: the kernel detaches them one at a
 * time under a mutex (uprobe.c uses uprobe_multi links where it can).
 */
#define DESTROY_THREADS	8

void session_destroy_links(struct bpf_link **links, int n)
{
	parallel_for(n, DESTROY_THREADS, destroy_link, links);
}

void session_forget_links(struct bpf_link **list, int *n,
			  struct bpf_link **gone, int ngone)
{
	for (int g = 0; g < ngone; g++) {
		for (int i = 0; i < *n; i++) {
			if (list[i] != gone[g])
				continue;
			list[i] = list[--*n];	/* the order is not kept */
			break;
		}
	}
}

void session_drop_links(struct session *s, struct bpf_link **links, int n)
{
	session_forget_links(s->links, &s->nlinks, links, n);
	session_destroy_links(links, n);
}

static void destroy_links(struct session *s)
{
	session_destroy_links(s->links, s->nlinks);
	s->nlinks = 0;
}

void session_stop(struct session *s)
{
	if (s->target_fd >= 0)
		close(s->target_fd);
	s->target_fd = -1;
	destroy_links(s);
	ring_buffer__free(s->rb);
	s->rb = NULL;
	perf_buffer__free(s->pb);
	s->pb = NULL;
	out_flush(&s->out);
	out_free(&s->out);
}

int session_run(struct session *s)
{
	const struct tool *t = s->tool;
	struct tool_skel_head *head;
	void *skel;
	int err;

	if (t->run)
		return t->run(s);
	skel = t->skel->open();
	if (!skel) {
		log_err("cannot open the BPF object");
		return EXIT_RUNTIME;
	}
	head = skel;
	s->skeleton = head->skeleton;
	err = set_filter(s, head->obj);
	if (!err && t->prepare)
		err = t->prepare(s, skel);
	if (!err) {
		err = session_start(s, head->obj);
		if (!err && t->attached)
			err = t->attached(s, skel);
		if (!err)
			err = session_loop(s);
		if (!err && t->finish)
			err = t->finish(s, skel);
		session_stop(s);
	}
	if (err == TOOL_DONE)
		err = EXIT_OK;
	t->skel->destroy(skel);
	return t->cleanup ? t->cleanup(s, err) : err;
}

static void json_str_or_null(struct out *o, const char *key,
			     const char *val)
{
	out_str(o, OUT_JSON_ONLY, key, val[0] ? val : NULL);
}

/* An event's container: an object in JSON, null on the host. */
static void event_container(struct out *o, bool in,
			    const struct container_info *c)
{
	char label[CONTAINER_SHORT_ID + 1];

	if (!o->json) {
		snprintf(label, sizeof(label), "%.12s", in ? c->ref.id : "");
		out_lead(o, !in ? NULL : c->name[0] ? c->name : label);
		return;
	}
	if (!in) {
		out_null(o, "container");
		return;
	}
	out_obj_begin(o, "container");
	out_str(o, OUT_JSON_ONLY, "id", c->ref.id);
	json_str_or_null(o, "name", c->name);
	json_str_or_null(o, "image", c->image);
	out_str(o, OUT_JSON_ONLY, "runtime",
		container_runtime_name(c->ref.runtime));
	json_str_or_null(o, "pod", c->pod);
	json_str_or_null(o, "namespace", c->namespace);
	json_str_or_null(o, "pod_uid", c->ref.pod_uid);
	out_obj_end(o);
}

void session_event_begin(struct session *s, const char *type,
			 const struct event_hdr *h)
{
	struct out *o = &s->out;
	char cgroup_buf[PATH_MAX];
	struct container_info container;
	const char *cgroup;
	bool in = false;

	out_begin(o, type, session_real_ns(s, h->ts_ns));
	if (o->json || o->lead.header)
		in = container_of_cgroup(h->cgroup_id, &container);
	if (!o->json) {
		event_container(o, in, &container);
		return;
	}
	out_uint(o, OUT_JSON_ONLY, "pid", h->pid);
	out_uint(o, OUT_JSON_ONLY, "tid", h->tid);
	out_uint(o, OUT_JSON_ONLY, "ppid", h->ppid);
	out_uint(o, OUT_JSON_ONLY, "uid", h->uid);
	out_strn(o, OUT_JSON_ONLY, "comm", h->comm, sizeof(h->comm));
	out_uint(o, OUT_JSON_ONLY, "cgroup_id", h->cgroup_id);
	cgroup = cgroup_path(h->cgroup_id, cgroup_buf, sizeof(cgroup_buf));
	out_str(o, OUT_JSON_ONLY, "cgroup", cgroup);
	out_str(o, OUT_JSON_ONLY, "container_id",
		in ? container.ref.id : NULL);
	event_container(o, in, &container);
}

void session_row_container(struct session *s, unsigned long long cgroup_id)
{
	struct container_info container;
	bool in = false;

	if (s->out.json || s->out.lead.header)
		in = container_of_cgroup(cgroup_id, &container);
	event_container(&s->out, in, &container);
}

static const char *const context_names[] = {
	[EVENT_CTX_TASK] = "task",
	[EVENT_CTX_SOFTIRQ] = "softirq",
};

const char *session_context_name(unsigned int ctx)
{
	if (ctx >= sizeof(context_names) / sizeof(context_names[0]))
		return "unknown";
	return context_names[ctx];
}

/*
 * An event that names no task when it ran in a softirq: its task fields
 * are null in JSON, never the interrupted task's, and "context" says why.
 */
void session_event_begin_ctx(struct session *s, const char *type,
			     const struct event_hdr *h, unsigned int ctx)
{
	static const char *const task_keys[] = {
		"pid", "tid", "ppid", "uid", "comm", "cgroup_id", "cgroup",
		"container_id", "container",
	};
	struct out *o = &s->out;

	if (ctx == EVENT_CTX_TASK) {
		session_event_begin(s, type, h);
	} else {
		out_begin(o, type, session_real_ns(s, h->ts_ns));
		out_lead(o, NULL);
		for (size_t i = 0; i < sizeof(task_keys) / sizeof(*task_keys);
		     i++)
			out_null(o, task_keys[i]);
	}
	out_str(o, OUT_JSON_ONLY, "context", session_context_name(ctx));
}

/*
 * One run of one tool: hook choice, load, attach, the event loop and the
 * single teardown every exit path goes through.
 */
#ifndef LOUPE_SESSION_H
#define LOUPE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "event.h"
#include "hook.h"
#include "opts.h"
#include "out.h"
#include "tool.h"

struct bpf_object;
struct bpf_object_skeleton;
struct bpf_link;
struct bpf_program;
struct ring_buffer;

#define SESSION_MAX_LINKS	1024
#define SESSION_MAX_PROBES	16

typedef int (*session_event_fn)(struct session *s, const void *data,
				size_t size);
typedef int (*session_tick_fn)(struct session *s);
typedef void (*session_stage_fn)(struct session *s);
/*
 * Attaches one program in the tool's own way (a uprobe's file and offset
 * are known only at run time); returns its link, or NULL with errno set.
 */
typedef struct bpf_link *(*session_attach_fn)(struct session *s,
					      struct bpf_program *prog);

struct session {
	const struct tool *tool;
	struct opts opts;
	struct out out;
	FILE *out_file;		/* NULL: stdout */
	struct bpf_object *obj;
	/* Loading through the skeleton maps .bss/.data for reading. */
	struct bpf_object_skeleton *skeleton;
	/* The header row; NULL: none at start (tools that print per interval). */
	const struct out_col *columns;
	struct bpf_link *links[SESSION_MAX_LINKS];
	int nlinks;
	struct ring_buffer *rb;
	/*
	 * The ring's size for a tool without --buffer-size that streams
	 * large records (profile --unwind dwarf); 0: a page. For a tool with
	 * it, the default in place of 2M (0: 2M). Set in prepare.
	 */
	unsigned long ring_size;
	/* Or a perf buffer: packets copied from a socket buffer (capture). */
	struct perf_buffer *pb;
	unsigned long long pb_lost;
	session_event_fn on_event;
	session_tick_fn on_interval;	/* histogram/top tools */
	/* About once a second whatever -i says (e.g. to look for new libraries). */
	session_tick_fn on_second;
	/* NULL: uprobe_attach_section() or bpf_program__attach() */
	session_attach_fn attach_prog;
	/*
	 * Programs loaded without a libbpf object (loupe trace): their fds
	 * for the kernel's count of skipped runs, detach() to stop them
	 * before the final drain, on_end() to run what comes after it (END
	 * probes, whose events are drained too).
	 */
	const int *prog_fds;
	int nprog_fds;
	session_stage_fn detach;
	session_stage_fn on_end;
	bool ended;		/* the tool asked to end (trace's exit()) */
	/* Probes to choose hooks for; NULL: the tool's (prepare() sets it). */
	const struct hook_probe *probes;
	struct hook_result hooks[SESSION_MAX_PROBES];
	int lost_fd;
	unsigned long long lost_reported;
	unsigned long long missed_reported;	/* kernel-skipped runs */
	long long boot_to_real_ns;
	long long drain_until_ns;
	unsigned long long drained;
	bool final_drain;
	bool discarding;		/* counting, not printing, at exit */
	unsigned long long discarded;
	int target_fd;		/* pidfd of the -p process, -1 if none */
	int target_tid;		/* a thread watched without a pidfd */
	bool target_gone;	/* it exited: the run ends */
	/* For the closing message: "process" (-p) or "thread"; NULL: none. */
	const char *target_what;
	int target_id;
	void *tool_state;
};

void session_init(struct session *s, const struct tool *t);
/*
 * The whole run of the tool: open its skeleton, set the common filter,
 * prepare, choose hooks, load, attach, loop, finish, tear down, destroy,
 * clean up (see struct tool); or the tool's own run. An exit status.
 */
int session_run(struct session *s);
/*
 * For a tool with its own run: chooses the hooks of s->probes (else the
 * tool's) in obj, or in none when the probes name sections (programs
 * built at run time), into s->hooks; 0, or EXIT_RUNTIME after saying
 * which probe has no hook that works here.
 */
int session_choose(struct session *s, struct bpf_object *obj);
/* Then: the first program (or section) of the chosen candidate, or NULL. */
const char *session_chosen(const struct session *s, int probe);
/*
 * A tool with its own run (loupe trace, which loads and attaches its
 * programs itself) starts the loop on its ring buffer: the loop reads
 * ring_fd and counts lost_fd (a per-CPU u64 array, may be -1); then
 * session_loop() and session_stop(), as session_run() does. ring_fd -1:
 * no ring, only the interval ticks (on_interval) and the end.
 */
int session_start_ring(struct session *s, int ring_fd, int lost_fd,
		       session_event_fn on_event);
/*
 * The same on a perf event array (map_fd) instead of a ring: for events
 * only bpf_perf_event_output() can make, e.g. packet bytes appended from
 * a socket buffer. Its losses are reported as the ring's are.
 */
int session_start_perf(struct session *s, int map_fd,
		       session_event_fn on_event);
/* The run also ends when this process exits (trace -c's command). */
void session_watch_pid(struct session *s, int pid);
/* The run ends, saying so, when this thread exits (runqslower --tid). */
void session_watch_thread(struct session *s, int tid);
int session_loop(struct session *s);
void session_stop(struct session *s);
/* Adopts a link the tool attached itself; destroyed at teardown. */
int session_add_link(struct session *s, struct bpf_link *link);
/* Destroys n links from several threads (their detaches overlap). */
void session_destroy_links(struct bpf_link **links, int n);
/*
 * Detaches n of the session's links before its end (a container's
 * library gone) and forgets them.
 */
void session_drop_links(struct session *s, struct bpf_link **links, int n);
/* Takes the links in gone out of list (n of them), in any order. */
void session_forget_links(struct bpf_link **list, int *n,
			  struct bpf_link **gone, int ngone);
/*
 * For a tool's prepare(): with --raw-syscalls, choose hooks from raw (on
 * sys_enter/sys_exit) and switch the tool's own table off; without it,
 * switch raw's programs off.
 */
void session_raw_syscalls(struct session *s, struct bpf_object *obj,
			  const struct hook_probe *raw);
/*
 * For a perf_event program (the session leaves those to the tool): runs
 * prog hz times a second on the cpu-clock software event of cpu, or of
 * every online CPU when cpu is -1. 0 or an exit status.
 */
int session_attach_cpu_clock(struct session *s, struct bpf_program *prog,
			     unsigned long hz, int cpu);
/*
 * The same for one CPU outside a session (the agent's profiler): 0 with
 * *link set, -ENODEV for an offline CPU when offline_ok, or an exit
 * status after a message.
 */
int session_cpu_clock_link(struct bpf_program *prog, unsigned long hz,
			   int cpu, bool offline_ok, struct bpf_link **link);

unsigned long long session_real_ns(const struct session *s,
				   unsigned long long boot_ns);
void session_event_begin(struct session *s, const char *type,
			 const struct event_hdr *h);
/* For events that carry an enum event_context (context.bpf.h). */
void session_event_begin_ctx(struct session *s, const char *type,
			     const struct event_hdr *h, unsigned int ctx);
const char *session_context_name(unsigned int ctx);
/*
 * After out_begin() of a top tool's row that is one task's: its
 * container from its cgroup id, as events show it (the CONTAINER column
 * with --containers, the container object in JSON).
 */
void session_row_container(struct session *s, unsigned long long cgroup_id);
/*
 * The kernel's counters of one BPF program: runs it skipped because a
 * program was already running on the CPU, and (kernel.bpf_stats_enabled
 * only, else 0) run time and runs. 0 or -errno (all 0).
 */
struct session_prog_stats {
	unsigned long long missed;
	unsigned long long run_ns;
	unsigned long long runs;
};

int session_prog_stats(int fd, struct session_prog_stats *st);
void session_install_signals(void);
bool session_interrupted(void);

#endif

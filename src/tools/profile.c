/*
 * profile: a CPU profiler. A cpu-clock perf event on every CPU (or one)
 * samples the running task's user and kernel stacks at -F Hz; the kernel
 * counts samples per stack, and at the end they are symbolized and
 * printed like BCC's profile, or as folded lines for flame graphs.
 */
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "profile.h"
#include "profile.skel.h"
#include "session.h"

#define MAX_FREQ	10000

static struct {
	unsigned long freq;
	int cpu;		/* -1: every CPU */
	bool idle;
} conf = { .freq = PROFILE_FREQ, .cpu = -1 };

static struct stacks_tool stk = {
	.storage = STACKS_STORAGE,
	.svg = { .title = "CPU Flame Graph", .palette = "hot",
		 .count_name = "samples" },
	.unit = "samples", .divisor = 1,
};

static int check_conf(struct session *s)
{
	int ncpus = libbpf_num_possible_cpus();

	/* A profile needs this many perf events, one link each. */
	if (conf.cpu < 0 && ncpus > SESSION_MAX_LINKS) {
		log_err("%d CPUs: more than %d to sample; use --cpu", ncpus,
			SESSION_MAX_LINKS);
		return EXIT_USAGE;
	}
	if (conf.cpu >= ncpus) {
		log_err("invalid --cpu %d: this machine has CPUs 0 to %d",
			conf.cpu, ncpus - 1);
		return EXIT_USAGE;
	}
	return stacks_tool_check(s, &stk);
}

static const char *pid_text(const struct session *s, char *buf, size_t len)
{
	if (s->opts.pid)
		snprintf(buf, len, "PID %d", s->opts.pid);
	else
		snprintf(buf, len, "all threads");
	return buf;
}

static int profile_prepare(struct session *s, void *p)
{
	struct profile_bpf *skel = p;
	char who[32], secs[32] = "";
	int err;

	err = check_conf(s);
	if (err)
		return err;
	skel->rodata->stacks_user = !stk.kernel_only;
	skel->rodata->stacks_kernel = !stk.user_only;
	skel->rodata->include_idle = conf.idle;
	skel->rodata->stacks_copy = stk.unwind != STACKS_UNWIND_FP;
	if (s->opts.duration > 0)
		snprintf(secs, sizeof(secs), " for %g secs", s->opts.duration);
	snprintf(stk.banner, sizeof(stk.banner),
		 "Sampling at %lu Hertz of %s by %s stack%s%s.", conf.freq,
		 pid_text(s, who, sizeof(who)),
		 stk.user_only ? "user" : stk.kernel_only ? "kernel" :
		 "user + kernel", conf.cpu >= 0 ? " on one CPU" : "",
		 s->opts.duration > 0 ? secs : "... Hit Ctrl-C to end");
	return stacks_tool_prepare(s, &stk, skel->obj);
}

static int profile_attached(struct session *s, void *p)
{
	struct profile_bpf *skel = p;
	int err;

	err = session_attach_cpu_clock(s, skel->progs.sample, conf.freq,
				       conf.cpu);
	return err ? err : stacks_tool_attached(s, p);
}

enum { OPT_FREQ, OPT_CPU, OPT_IDLE, OPT_STACKS };

static const struct tool_opt profile_opts[] = {
	[OPT_FREQ] = { "frequency", 'F', "HZ",
		       "samples per second on each CPU (default 49)" },
	[OPT_CPU] = { "cpu", 'C', "CPU", "sample only this CPU" },
	[OPT_IDLE] = { "include-idle", 'I', NULL,
		       "also count the idle task's samples" },
	STACKS_TOOL_OPTS,
	{ NULL },
};

static int profile_parse_opt(int index, const char *arg)
{
	unsigned long long v;
	int ncpus;

	switch (index) {
	case OPT_FREQ:
		if (opts_uint("--frequency", arg, 1, MAX_FREQ, "Hz", &v))
			return EXIT_USAGE;
		conf.freq = v;
		break;
	case OPT_CPU:
		ncpus = libbpf_num_possible_cpus();
		if (opts_uint("--cpu", arg, 0, ncpus > 0 ? ncpus - 1 : 65535,
			      "a CPU number", &v))
			return EXIT_USAGE;
		conf.cpu = v;
		break;
	case OPT_IDLE:
		conf.idle = true;
		break;
	default:
		return stacks_tool_opt(&stk, index - OPT_STACKS, arg);
	}
	return 0;
}

static const struct hook_probe profile_probes[] = {
	{ "sampling", {
		{ { "sample" } },
	} },
	{ NULL },
};

TOOL_SKEL(profile);

static const struct tool profile_tool = {
	.name = "profile",
	.summary = "Profile CPU usage by sampling stack traces at a timed interval",
	.examples =
		"  loupe profile                # all CPUs at 49 Hz until Ctrl-C\n"
		"  loupe profile -p 181 -d 10   # one process for 10 seconds\n"
		"  loupe profile -F 99 -f -d 5 > out.folded   # for a flame graph\n"
		"  loupe profile -d 10 --svg cpu.svg          # draw it directly\n"
		"  loupe profile -K --cpu 0     # kernel stacks on CPU 0 only\n"
		"  loupe profile -j -d 5        # one JSON object per stack\n",
	.common = OPT_PID | OPT_NAME | OPT_CGROUP | OPT_DURATION | OPT_JSON,
	.opts = profile_opts,
	.parse_opt = profile_parse_opt,
	.probes = profile_probes,
	.skel = &profile_skel,
	.on_event = stacks_tool_on_event,
	.on_interval = stacks_tool_on_tick,
	.prepare = profile_prepare,
	.attached = profile_attached,
	.finish = stacks_tool_finish,
	.cleanup = stacks_tool_cleanup,
};
TOOL_REGISTER(profile_tool);

/*
 * killsnoop: signals sent with kill(), tkill() and tgkill() and their
 * results, or (--generated) every signal the kernel generates.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "killsnoop.h"
#include "killsnoop.skel.h"
#include "log.h"
#include "session.h"
#include "signame.h"

static bool generated;
static int target_sig;

enum { COL_PID, COL_COMM, COL_SIG, COL_TPID, COL_RESULT };

/* BCC's layout; TIME is always on, as in BCC's killsnoop. */
static const struct out_col columns[] = {
	[COL_PID] = { "PID", -7 },
	[COL_COMM] = { "COMM", -16 },
	[COL_SIG] = { "SIG", -4 },
	[COL_TPID] = { "TPID", -7 },
	[COL_RESULT] = { "RESULT", 0 },
	{ NULL },
};

static const char *const source_names[] = {
	[KILL_SRC_KILL] = "kill",
	[KILL_SRC_TKILL] = "tkill",
	[KILL_SRC_TGKILL] = "tgkill",
	[KILL_SRC_GENERATE] = NULL,
};

/* The kernel's enum trace_signal_result. */
static const char *const generate_results[] = {
	"delivered", "ignored", "already_pending", "overflow_fail",
	"lose_info",
};

static const char *generate_result(long long r)
{
	if (r >= 0 && r < (long long)(sizeof(generate_results) /
				      sizeof(generate_results[0])))
		return generate_results[r];
	return "unknown";
}

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct kill_event *e = data;
	struct out *o = &s->out;
	bool gen;

	if (size < sizeof(*e))
		return 0;
	gen = e->source == KILL_SRC_GENERATE;
	session_event_begin(s, "kill", &e->hdr);
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_strn(o, COL_COMM, NULL, e->hdr.comm, sizeof(e->hdr.comm));
	out_int(o, COL_SIG, "sig", e->sig);
	out_int(o, COL_TPID, "tpid", e->tpid);
	if (gen)
		out_str(o, COL_RESULT, NULL, generate_result(e->ret));
	out_int(o, gen ? OUT_JSON_ONLY : COL_RESULT, "result", e->ret);
	out_str(o, OUT_JSON_ONLY, "sig_name", signame_of(e->sig));
	out_str(o, OUT_JSON_ONLY, "syscall",
		e->source < sizeof(source_names) / sizeof(source_names[0]) ?
		source_names[e->source] : NULL);
	if (e->source == KILL_SRC_TGKILL)
		out_int(o, OUT_JSON_ONLY, "tgid", e->tgid);
	else
		out_null(o, "tgid");
	if (gen) {
		out_str(o, OUT_JSON_ONLY, "result_name",
			generate_result(e->ret));
		out_strn(o, OUT_JSON_ONLY, "tcomm", e->tcomm,
			 sizeof(e->tcomm));
		out_int(o, OUT_JSON_ONLY, "code", e->code);
		out_bool(o, "group", e->group);
	}
	out_end(o);
	return 0;
}

static const struct hook_probe killsnoop_probes[] = {
#define KILL_SYSCALL_PROBE						\
	{ "kill syscalls", {						\
		{ { "kill_enter_tp", "kill_exit_tp", "?tkill_enter_tp", \
		    "?tkill_exit_tp", "?tgkill_enter_tp",		\
		    "?tgkill_exit_tp" } },				\
	} }
	KILL_SYSCALL_PROBE,
	{ "generated", {
		{ { "generate_btf" } },
		{ { "generate_raw" } },
		{ { "generate_tp" } },
	} },
	{ NULL },
};

/* One mode at a time: the syscall probe alone, or the generated one. */
static const struct hook_probe syscall_probes[] = {
	KILL_SYSCALL_PROBE,
	{ NULL },
};

static void disable_mode(struct killsnoop_bpf *skel, bool gen)
{
	struct bpf_program *const syscall_progs[] = {
		skel->progs.kill_enter_tp, skel->progs.kill_exit_tp,
		skel->progs.tkill_enter_tp, skel->progs.tkill_exit_tp,
		skel->progs.tgkill_enter_tp, skel->progs.tgkill_exit_tp,
	};
	struct bpf_program *const gen_progs[] = {
		skel->progs.generate_btf, skel->progs.generate_raw,
		skel->progs.generate_tp,
	};

	if (gen) {
		for (size_t i = 0; i < sizeof(gen_progs) / sizeof(gen_progs[0]);
		     i++)
			bpf_program__set_autoload(gen_progs[i], false);
		return;
	}
	for (size_t i = 0; i < sizeof(syscall_progs) /
			       sizeof(syscall_progs[0]); i++)
		bpf_program__set_autoload(syscall_progs[i], false);
}

static struct tool mode;

static int killsnoop_prepare(struct session *s, void *p)
{
	struct killsnoop_bpf *skel = p;

	skel->rodata->target_sig = target_sig;
	/*
	 * The hook chooser only sees this run's probe; the other mode's
	 * programs are switched off here.
	 */
	mode = *s->tool;
	mode.probes = generated ? &killsnoop_probes[1] : syscall_probes;
	s->tool = &mode;
	disable_mode(skel, !generated);
	s->opts.timestamp = true;
	return 0;
}

/* "9", "KILL" or "SIGKILL"; 0 if not a signal. */
static int parse_signal(const char *arg)
{
	char *end;
	long n;

	if (isdigit((unsigned char)arg[0])) {
		n = strtol(arg, &end, 10);
		return *end || n < 1 || n > 64 ? 0 : (int)n;
	}
	if (!strncasecmp(arg, "SIG", 3))
		arg += 3;
	for (int sig = 1; sig <= 64; sig++) {
		const char *name = signame_of(sig);

		if (name && !strcasecmp(name + 3, arg))
			return sig;
	}
	return 0;
}

static const struct tool_opt killsnoop_opts[] = {
	{ "generated", 's', NULL,
	  "every generated signal (signal_generate), from any source" },
	{ "sig", 0, "SIG", "only this signal (number or name, e.g. 9, KILL)" },
	{ NULL },
};

static int killsnoop_parse_opt(int index, const char *arg)
{
	if (index == 0) {
		generated = true;
		return 0;
	}
	target_sig = parse_signal(arg);
	if (!target_sig) {
		log_err("--sig: '%s' is not a signal (1-64 or a name like KILL)",
			arg);
		return EXIT_USAGE;
	}
	return 0;
}

TOOL_SKEL(killsnoop);

static const struct tool killsnoop_tool = {
	.name = "killsnoop",
	.summary = "Trace signals sent by kill(), tkill() and tgkill()",
	.examples =
		"  loupe killsnoop              # every kill/tkill/tgkill\n"
		"  loupe killsnoop -x           # only failed ones\n"
		"  loupe killsnoop --sig KILL   # only SIGKILL\n"
		"  loupe killsnoop -s -j        # every generated signal, as JSON\n",
	.common = OPT_SNOOP | OPT_FAILED,
	.failed_help = "only failed calls (with -s: signals not delivered)",
	.opts = killsnoop_opts,
	.parse_opt = killsnoop_parse_opt,
	.probes = killsnoop_probes,
	.skel = &killsnoop_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = killsnoop_prepare,
};
TOOL_REGISTER(killsnoop_tool);

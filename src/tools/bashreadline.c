/*
 * bashreadline: commands typed into bash, system-wide, from the lines
 * readline() returns.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "bashreadline.h"
#include "bashreadline.skel.h"
#include "log.h"
#include "session.h"
#include "uprobe.h"

enum { COL_TIME, COL_PID, COL_COMMAND };

static const struct out_col columns[] = {
	[COL_TIME] = { "TIME", -9 },
	[COL_PID] = { "PID", -7 },
	[COL_COMMAND] = { "COMMAND", 0 },
	{ NULL },
};

static const char *shell = "bash";
static const char *readline_lib;

struct bashreadline_state {
	struct uprobe_target target;
};

static int on_event(struct session *s, const void *data, size_t size)
{
	const struct readline_event *e = data;
	unsigned long long ts = session_real_ns(s, e->hdr.ts_ns);
	struct out *o = &s->out;

	if (size < sizeof(*e))
		return 0;
	session_event_begin(s, "readline", &e->hdr);
	out_time(o, COL_TIME, ts);
	out_int(o, COL_PID, NULL, e->hdr.pid);
	out_strn(o, COL_COMMAND, "command", e->line, sizeof(e->line));
	out_end(o);
	return 0;
}

/*
 * readline in the shell binary itself (Debian links it statically), else
 * in the libreadline the shell uses; the second case needs the comm filter.
 */
static int find_readline(int pid, struct uprobe_target *t, bool *only_bash)
{
	int err;

	*only_bash = false;
	if (!readline_lib) {
		err = uprobe_resolve(shell, "readline", pid, t);
		if (err != -ENOENT || !t->path[0])
			return err;
	}
	*only_bash = true;
	return uprobe_resolve(readline_lib ? readline_lib : "libreadline",
			      "readline", pid, t);
}

static struct bpf_link *attach_prog(struct session *s,
				    struct bpf_program *prog)
{
	struct bashreadline_state *st = s->tool_state;

	return uprobe_attach(prog, true, s->opts.pid, &st->target);
}

static struct bashreadline_state state;

static int bashreadline_prepare(struct session *s, void *p)
{
	struct bashreadline_bpf *skel = p;
	bool only_bash;
	int err;

	err = find_readline(s->opts.pid, &state.target, &only_bash);
	if (err && !state.target.path[0]) {
		log_err("cannot find %s: %s", readline_lib ? readline_lib :
			only_bash ? "libreadline" : shell, strerror(-err));
		return EXIT_USAGE;
	}
	if (err) {
		log_err("cannot find readline() in %s or libreadline: %s",
			shell, strerror(-err));
		return EXIT_USAGE;
	}
	skel->rodata->only_bash = only_bash;
	s->tool_state = &state;
	s->attach_prog = attach_prog;
	return 0;
}

static const struct tool_opt bashreadline_opts[] = {
	{ "shell", 0, "PATH", "the bash binary to probe (default: bash in PATH)" },
	{ "shared", 's', "LIB", "probe readline() in this library (e.g. libreadline.so.8)" },
	{ NULL },
};

static int bashreadline_parse_opt(int index, const char *arg)
{
	if (!arg[0]) {
		log_err("--%s needs a path", bashreadline_opts[index].name);
		return EXIT_USAGE;
	}
	if (index == 0)
		shell = arg;
	else
		readline_lib = arg;
	return 0;
}

static const struct hook_probe bashreadline_probes[] = {
	{ "readline", {
		{ { "readline_return" } },
	} },
	{ NULL },
};

TOOL_SKEL(bashreadline);

static const struct tool bashreadline_tool = {
	.name = "bashreadline",
	.summary = "Print commands entered in bash shells, system-wide",
	.examples =
		"  loupe bashreadline            # every command typed into bash\n"
		"  loupe bashreadline -p 4100    # one shell (also inside a container)\n"
		"  loupe bashreadline -s /usr/lib/x86_64-linux-gnu/libreadline.so.8\n",
	.common = (OPT_SNOOP & ~OPT_TIMESTAMP),
	.opts = bashreadline_opts,
	.parse_opt = bashreadline_parse_opt,
	.probes = bashreadline_probes,
	.skel = &bashreadline_skel,
	.columns = columns,
	.on_event = on_event,
	.prepare = bashreadline_prepare,
};
TOOL_REGISTER(bashreadline_tool);

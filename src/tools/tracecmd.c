/*
 * loupe trace: bpftrace-style programs compiled straight to BPF in this
 * process (src/trace/), from -e 'PROGRAM' or a file; -l lists what can
 * be probed; -c runs a command and traces it until it exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "cgroup.h"
#include "log.h"
#include "session.h"
#include "stacks.h"
#include "tool.h"
#include "trace.h"
#include "uprobe.h"

enum {
	KEY_EXPR,
	KEY_LIST,
	KEY_CMD,
	KEY_DUMP,
	KEY_UNSAFE,
	KEY_NO_DEMANGLE,
	KEY_UNWIND,
	KEY_INLINE,
};

static const struct tool_opt trace_opts[] = {
	[KEY_EXPR] = { "expr", 'e', "PROGRAM", "the program text" },
	[KEY_LIST] = { "list", 'l', NULL,
		       "list probes matching [PATTERN] (with -v: arguments)" },
	[KEY_CMD] = { "command", 'c', "CMD",
		      "run CMD, trace until it exits (cpid is its pid)" },
	[KEY_DUMP] = { "dump", 0, "STAGE",
		       "print a compiler stage instead of running: ast, ir, bpf" },
	[KEY_UNSAFE] = { "unsafe", 0, NULL,
			 "allow signal(), system() and override()" },
	[KEY_NO_DEMANGLE] = STACKS_NO_DEMANGLE_OPT,
	[KEY_UNWIND] = STACKS_UNWIND_OPT,
	[KEY_INLINE] = STACKS_INLINE_OPT,
	{ NULL },
};

static const char *expr;
static bool list_mode;
static const char *command;
static enum trace_dump dump = TRACE_DUMP_NONE;
static bool unsafe;
static bool no_demangle;
static enum stacks_unwind unwind = STACKS_UNWIND_FP;
static bool inline_frames;
static char **args;	/* positional: FILE (without -e) then $1.. */
static int nargs;

static int trace_parse_opt(int index, const char *arg)
{
	switch (index) {
	case KEY_EXPR:
		expr = arg;
		return 0;
	case KEY_LIST:
		list_mode = true;
		return 0;
	case KEY_CMD:
		command = arg;
		return 0;
	case KEY_DUMP:
		if (!strcmp(arg, "ast"))
			dump = TRACE_DUMP_AST;
		else if (!strcmp(arg, "ir"))
			dump = TRACE_DUMP_IR;
		else if (!strcmp(arg, "bpf"))
			dump = TRACE_DUMP_BPF;
		else {
			log_err("--dump %s: give ast, ir or bpf", arg);
			return EXIT_USAGE;
		}
		return 0;
	case KEY_UNSAFE:
		unsafe = true;
		return 0;
	case KEY_NO_DEMANGLE:
		no_demangle = true;
		return 0;
	case KEY_UNWIND:
		return stacks_parse_unwind(arg, &unwind);
	case KEY_INLINE:
		inline_frames = true;
		return 0;
	}
	return EXIT_USAGE;
}

static int trace_parse_arg(int index, const char *arg)
{
	char **a = realloc(args, (index + 1) * sizeof(*a));

	(void)index;
	if (!a)
		return EXIT_RUNTIME;
	args = a;
	args[nargs++] = (char *)arg;
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t cap = 4096, n = 0;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		n += got;
		if (n + 1 < cap)
			break;
		cap *= 2;
		buf = realloc(buf, cap);
	}
	if (f != stdin)
		fclose(f);
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

/*
 * The command waits on a pipe until the probes are attached, so its
 * first instructions are traced too.
 */
static int gate_fd = -1;

/*
 * CMD split into words at blanks, with no shell in between: the forked
 * process execs the command itself, so cpid's events start at the
 * command's own exec, not at a shell's start-up (bpftrace does the same).
 * Quotes group words as in sh ('a b', "a b", a\ b); nothing is expanded.
 * Words are written into copy, which is as long as cmd; 0 or EXIT_*.
 */
static int split_command(const char *cmd, char *copy, char ***words)
{
	char **argv = calloc(strlen(cmd) / 2 + 2, sizeof(*argv));
	char quote = 0, *out = copy;
	bool in_word = false;
	int n = 0;

	*words = argv;
	if (!argv) {
		log_err("-c: %s", strerror(ENOMEM));
		return EXIT_RUNTIME;
	}
	for (const char *c = cmd; *c; c++) {
		if (!quote && (*c == ' ' || *c == '\t' || *c == '\n')) {
			if (in_word)
				*out++ = '\0';
			in_word = false;
			continue;
		}
		if (!in_word) {
			argv[n++] = out;
			in_word = true;
		}
		if (*c == quote) {
			quote = 0;
		} else if (!quote && (*c == '\'' || *c == '"')) {
			quote = *c;
		} else if (*c == '\\' && quote != '\'' && c[1]) {
			*out++ = *++c;
		} else {
			*out++ = *c;
		}
	}
	*out = '\0';
	if (quote) {
		log_err("-c: no closing %c in '%s'", quote, cmd);
		return EXIT_USAGE;
	}
	if (!argv[0]) {
		log_err("-c: empty command; give the command to run, e.g. -c 'ls /'");
		return EXIT_USAGE;
	}
	return 0;
}

/* The executable of argv[0]: a path as given, a bare name from PATH. */
static int command_path(const char *name, char *out, size_t len)
{
	if (!strchr(name, '/'))
		return uprobe_find_in_path(name, 0, out, len);
	if ((size_t)snprintf(out, len, "%s", name) >= len)
		return -ENAMETOOLONG;
	return access(out, X_OK) ? -errno : 0;
}

/* 0 with *child forked and waiting at the gate, or EXIT_USAGE/RUNTIME. */
static int start_command(const char *cmd, pid_t *child)
{
	char path[PATH_MAX], *copy = strdup(cmd), **argv = NULL;
	int gate[2], err, ret = EXIT_RUNTIME;
	pid_t pid;

	if (!copy) {
		log_err("-c: %s", strerror(ENOMEM));
		goto out;
	}
	ret = split_command(cmd, copy, &argv);
	if (ret)
		goto out;
	ret = EXIT_RUNTIME;
	err = command_path(argv[0], path, sizeof(path));
	if (err) {
		log_err("-c: cannot run '%s': %s; give a path or a command in PATH",
			argv[0], strerror(-err));
		ret = EXIT_USAGE;
		goto out;
	}
	if (pipe2(gate, O_CLOEXEC)) {
		log_err("-c: cannot make a pipe: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		log_err("-c: cannot fork: %s", strerror(errno));
		close(gate[0]);
		close(gate[1]);
		goto out;
	}
	if (pid == 0) {
		char c;

		close(gate[1]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (read(gate[0], &c, 1) != 1)
			_exit(127);
		execv(path, argv);
		fprintf(stderr, "loupe: trace: -c: cannot run %s: %s\n",
			path, strerror(errno));
		_exit(127);
	}
	close(gate[0]);
	gate_fd = gate[1];
	*child = pid;
	ret = 0;
out:
	free(argv);
	free(copy);
	return ret;
}

static void release_command(void *ctx)
{
	(void)ctx;
	if (gate_fd >= 0) {
		if (write(gate_fd, "g", 1) != 1)
			log_err("cannot start the command: %s",
				strerror(errno));
		close(gate_fd);
		gate_fd = -1;
	}
}

static int trace_run_tool(struct session *s)
{
	struct trace_prog p;
	struct trace_run_opts ro = { 0 };
	char *text = NULL;
	int first_param = 0, ret, status = 0;
	pid_t child = 0;

	trace_prog_init(&p);
	if (list_mode) {
		if (nargs > 1) {
			log_err("-l takes one PATTERN, %d given", nargs);
			return EXIT_USAGE;
		}
		return tprobe_list(stdout, nargs ? args[0] : NULL,
				   s->opts.verbose);
	}
	p.err = stderr;
	if (expr) {
		p.src.name = "-e";
		p.src.text = expr;
		p.src.len = strlen(expr);
	} else if (nargs) {
		text = read_file(args[0], &p.src.len);
		if (!text) {
			log_err("cannot read %s: %s", args[0],
				strerror(errno));
			return EXIT_USAGE;
		}
		p.src.name = args[0];
		p.src.text = text;
		first_param = 1;
	} else {
		log_err("give a program: loupe trace -e 'PROGRAM' or loupe trace FILE (see --help)");
		return EXIT_USAGE;
	}
	p.unsafe = unsafe;
	p.no_demangle = no_demangle;
	/* the same order of modes (stacks.h, ttype.h) */
	p.unwind = (enum trace_unwind)unwind;
	p.inline_frames = inline_frames;
	p.positional = args + first_param;
	p.npositional = nargs - first_param;
	if (s->opts.given & OPT_PID)
		p.target_pid = s->opts.pid;
	if (s->opts.given & OPT_BUFFER)
		p.ringbuf_size = s->opts.buffer_size;
	if (s->opts.cgroup[0])
		p.cgroup_dir = s->opts.cgroup;
	/* a container's binaries are seen through one of its processes */
	if (s->opts.container[0])
		p.root_pid = cgroup_first_pid(s->opts.cgroup);
	if (command && dump == TRACE_DUMP_NONE) {
		ret = start_command(command, &child);
		if (ret)
			goto out;
		p.target_pid = child;
	}
	ret = trace_compile(&p, dump);
	if (ret || dump != TRACE_DUMP_NONE)
		goto out;
	if (trace_load(&p)) {
		ret = EXIT_USAGE;
		goto out;
	}
	ro.child = child;
	ro.on_attached = release_command;
	ret = trace_run(&p, s, &ro);
out:
	if (child > 0) {
		/* never leave the command behind */
		if (gate_fd >= 0) {
			close(gate_fd);
			gate_fd = -1;
		}
		if (waitpid(child, &status, WNOHANG) == 0) {
			kill(child, SIGTERM);
			waitpid(child, &status, 0);
		}
	}
	trace_prog_free(&p);
	free(text);
	free(args);
	return ret;
}

static const struct tool trace_tool = {
	.name = "trace",
	.summary = "Run a bpftrace-style program, compiled straight to BPF",
	.examples =
		"  loupe trace -e 'BEGIN { printf(\"hello\\n\"); exit(); }'\n"
		"  loupe trace -e 'tracepoint:syscalls:sys_enter_openat { printf(\"%s %s\\n\", comm, str(args->filename)); }'\n"
		"  loupe trace -e 't:syscalls:sys_enter_* { @[probe] = count(); }' -d 5\n"
		"  loupe trace -e 't:sched:sched_switch { @[args->prev_comm] = count(); }'\n"
		"  loupe trace -e 'ur:/bin/bash:readline { printf(\"%s\\n\", str(retval)); }'\n"
		"  loupe trace -e 'profile:hz:99 { @[kstack] = count(); }' -d 10\n"
		"  loupe trace -e 'profile:hz:99 /pid == 181/ { @[ustack(dwarf)] = count(); }'\n"
		"  loupe trace -l 'tracepoint:syscalls:*open*'   # list probes\n"
		"  loupe trace script.bt 42                      # $1 is 42\n"
		"  loupe trace -c 'ls /' -e 't:syscalls:sys_enter_openat /pid == cpid/ { @++; }'\n"
		"  loupe trace --container web -e 't:syscalls:sys_enter_openat { @[comm] = count(); }'\n"
		"  loupe trace --dump bpf -e 'BEGIN { @x = 1; }'  # show the BPF\n",
	.common = OPT_PID | OPT_DURATION | OPT_JSON | OPT_BUFFER | OPT_CGROUP,
	.opts = trace_opts,
	.parse_opt = trace_parse_opt,
	.args_usage = "[FILE] [ARG...]",
	.parse_arg = trace_parse_arg,
	.run = trace_run_tool,
};
TOOL_REGISTER(trace_tool);

/*
 * loupe flamegraph: folded-stack files (loupe's, `perf script |
 * stackcollapse-perf.pl`, libbpf-tools `profile -f`) to one interactive
 * SVG, or a differential graph of two of them. No BPF: a tool-table row
 * without probes, so it shares the option parser, --help and error style.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "flame.h"
#include "log.h"
#include "session.h"
#include "tool.h"

#define MAX_FILES	1024

static struct flame_opts fopts = {
	.width = FLAME_DEFAULT_WIDTH,
	.palette = "hot",
	.count_name = "samples",
	.min_width = FLAME_DEFAULT_MIN_WIDTH,
};
static const char *output;
static bool diff;
static const char *files[MAX_FILES];
static int nfiles;

enum {
	KEY_TITLE,
	KEY_SUBTITLE,
	KEY_WIDTH,
	KEY_INVERTED,
	KEY_COLORS,
	KEY_COUNTNAME,
	KEY_MINWIDTH,
	KEY_DIFF,
	KEY_OUTPUT,
};

static const struct tool_opt flamegraph_opts[] = {
	[KEY_TITLE] = { "title", 0, "TEXT",
			"title at the top (default \"Flame Graph\")" },
	[KEY_SUBTITLE] = { "subtitle", 0, "TEXT", "second line under it" },
	[KEY_WIDTH] = { "width", 0, "PIXELS", "image width (default 1200)" },
	[KEY_INVERTED] = { "inverted", 0, NULL,
			   "icicle graph: the root at the top" },
	[KEY_COLORS] = { "colors", 0, "PALETTE",
			 "hot (default), io/blue, mem/green, aqua" },
	[KEY_COUNTNAME] = { "countname", 0, "NAME",
			    "what a count is (default \"samples\")" },
	[KEY_MINWIDTH] = { "minwidth", 0, "PIXELS",
			   "leave out narrower frames (default 0.1; 0 = none)" },
	[KEY_DIFF] = { "diff", 0, NULL,
		       "two files BEFORE AFTER: red grew, blue shrank" },
	[KEY_OUTPUT] = { "output", 'o', "FILE",
			 "write the SVG to FILE, not standard output" },
	{ NULL },
};

static int bad(const char *flag, const char *val, const char *hint)
{
	log_err("invalid %s '%s': %s", flag, val, hint);
	return EXIT_USAGE;
}

static int flamegraph_parse_opt(int index, const char *arg)
{
	unsigned long long w;
	double v;

	switch (index) {
	case KEY_TITLE:
		fopts.title = arg;
		return 0;
	case KEY_SUBTITLE:
		fopts.subtitle = arg[0] ? arg : NULL;
		return 0;
	case KEY_WIDTH:
		if (opts_uint("--width", arg, 100, FLAME_MAX_WIDTH, "pixels",
			      &w))
			return EXIT_USAGE;
		fopts.width = (int)w;
		return 0;
	case KEY_INVERTED:
		fopts.inverted = true;
		return 0;
	case KEY_COLORS:
		if (!flame_palette_ok(arg))
			return bad("--colors", arg,
				   "expected hot, io, blue, mem, green or aqua");
		fopts.palette = arg;
		return 0;
	case KEY_COUNTNAME:
		if (!arg[0])
			return bad("--countname", arg, "expected a name");
		fopts.count_name = arg;
		return 0;
	case KEY_MINWIDTH:
		if (opts_real("--minwidth", arg, 0, 1e6, "pixels", &v))
			return EXIT_USAGE;
		/* In flame_opts 0 means the default; negative keeps all. */
		fopts.min_width = v > 0 ? v : -1;
		return 0;
	case KEY_DIFF:
		diff = true;
		return 0;
	case KEY_OUTPUT:
		if (!arg[0])
			return bad("--output", arg, "expected a file name");
		output = arg;
		return 0;
	}
	return EXIT_USAGE;
}

static int flamegraph_parse_arg(int index, const char *arg)
{
	(void)index;
	if (nfiles == MAX_FILES) {
		log_err("too many input files (at most %d)", MAX_FILES);
		return EXIT_USAGE;
	}
	files[nfiles++] = arg;
	return 0;
}

/* The whole of a file (or standard input for "-"), NUL-terminated. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 1 << 16, n = 0;
	char *buf = NULL, *p;

	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (!buf || n + 1 >= cap) {
			cap = buf ? cap * 2 : cap;
			p = realloc(buf, cap);
			if (!p) {
				errno = ENOMEM;
				goto fail;
			}
			buf = p;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		errno = EIO;
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	free(buf);
	if (f != stdin)
		fclose(f);
	return NULL;
}

static int add_file(struct flame *fl, const char *path, enum flame_side side)
{
	const char *name = strcmp(path, "-") ? path : "<stdin>";
	char err[512];
	size_t len;
	char *text;
	int ret;

	text = slurp(path, &len);
	if (!text) {
		log_err("cannot read %s: %s", name, strerror(errno));
		return EXIT_USAGE;
	}
	ret = flame_parse(fl, text, len, side, name, err, sizeof(err));
	free(text);
	if (ret == -EINVAL) {
		log_err("%s", err);
		return EXIT_USAGE;
	}
	return 0;
}

static int check_files(void)
{
	int stdin_uses = 0;

	if (diff && nfiles != 2) {
		log_err("--diff takes exactly two files, BEFORE and AFTER (got %d)",
			nfiles);
		return EXIT_USAGE;
	}
	if (!nfiles && isatty(STDIN_FILENO)) {
		log_err("no input: give folded-stack FILEs, or - for standard input");
		return EXIT_USAGE;
	}
	for (int i = 0; i < nfiles; i++)
		stdin_uses += !strcmp(files[i], "-");
	if (stdin_uses > 1) {
		log_err("standard input ('-') can be read only once");
		return EXIT_USAGE;
	}
	return 0;
}

static int flamegraph_run(struct session *s)
{
	static char subtitle[1024];
	bool regular = false;
	struct flame fl;
	struct stat st;
	FILE *out = stdout;
	int err, wret;

	(void)s;
	/* Nothing to tear down: let Ctrl-C end a read of a slow pipe. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	err = check_files();
	if (err)
		return err;
	flame_init(&fl);
	if (!nfiles) {
		err = add_file(&fl, "-", FLAME_AFTER);
	} else if (diff) {
		err = add_file(&fl, files[0], FLAME_BEFORE);
		if (!err)
			err = add_file(&fl, files[1], FLAME_AFTER);
	} else {
		for (int i = 0; i < nfiles && !err; i++)
			err = add_file(&fl, files[i], FLAME_AFTER);
	}
	if (err)
		goto out;
	if (diff && !fopts.subtitle) {
		snprintf(subtitle, sizeof(subtitle),
			 "%s -> %s: red grew, blue shrank", files[0], files[1]);
		fopts.subtitle = subtitle;
	}
	if (!flame_count(&fl, "", FLAME_AFTER))
		log_err("no samples in the input; the graph is empty");
	if (output) {
		out = fopen(output, "w");
		if (!out) {
			log_err("cannot write %s: %s", output,
				strerror(errno));
			err = EXIT_RUNTIME;
			goto out;
		}
		regular = !fstat(fileno(out), &st) && S_ISREG(st.st_mode);
	}
	errno = 0;
	wret = flame_render(&fl, &fopts, out);
	if (out != stdout && fclose(out))
		wret = -EIO;
	if (wret && out == stdout && errno == EPIPE)
		goto out;	/* the reader went away, like `| head` */
	if (wret) {
		/* No half-written SVG left behind (never a device or pipe). */
		if (output && regular)
			unlink(output);
		log_err("cannot write the SVG to %s: %s",
			output ? output : "standard output", strerror(-wret));
		err = EXIT_RUNTIME;
	}
out:
	flame_free(&fl);
	return err;
}

static const struct tool flamegraph_tool = {
	.name = "flamegraph",
	.summary = "Draw folded stacks as an interactive flame graph (SVG)",
	.examples =
		"  loupe flamegraph out.folded > cpu.svg        # one file\n"
		"  loupe flamegraph a.folded b.folded -o all.svg  # merged\n"
		"  perf script | stackcollapse-perf.pl | loupe flamegraph - > perf.svg\n"
		"  loupe flamegraph --inverted --colors io off.folded -o off.svg\n"
		"  loupe flamegraph --diff before.folded after.folded -o diff.svg\n",
	.opts = flamegraph_opts,
	.parse_opt = flamegraph_parse_opt,
	.args_usage = "[FILE...]",
	.parse_arg = flamegraph_parse_arg,
	.run = flamegraph_run,
};
TOOL_REGISTER(flamegraph_tool);

/*
 * loupe's entry point: the global flags and dispatch. `loupe list` and
 * `loupe --help` are generated from the tool table (src/lib/tool.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "hook.h"
#include "kbtf.h"
#include "log.h"
#include "opts.h"
#include "out.h"
#include "overview.h"
#include "privs.h"
#include "session.h"
#include "tool.h"

static void usage(FILE *f)
{
	const struct tool *const *tools;

	fprintf(f,
		"usage: loupe [overview] [-d SECONDS] [-j]\n"
		"                             the 60-second checklist as one report\n"
		"       loupe TOOL [flags]    run a tool (loupe TOOL --help)\n"
		"       loupe list [-j]       tools and the hook each uses here\n"
		"       loupe --version\n\n"
		"eBPF observability: BCC's classic tools in one binary.\n\ntools:\n");
	tools = tool_table();
	for (int i = 0; tools[i]; i++)
		fprintf(f, "  %-14s %s\n", tools[i]->name, tools[i]->summary);
	fprintf(f,
		"\ncommon flags: -p/--pid PID, -n/--name COMM, --cgroup PATH,\n"
		"  -d/--duration SECONDS, -i/--interval SECONDS, -j/--json,\n"
		"  -T/--timestamp, -x/--failed, --buffer-size SIZE, -v/--verbose\n");
}

/*
 * The programs of a candidate that will really be loaded and their hook
 * targets, as a JSON array or a space-separated table cell.
 */
/*
 * What the tool attaches to when the section names no target: perf
 * events per CPU, packet hooks on the interface and socket hooks where
 * the tool's flags say.
 */
static void list_target_of(struct hook_point *pt)
{
	const char *what = NULL;

	switch (pt->kind) {
	case HOOK_PERF_EVENT:
		what = "software event on each CPU";
		break;
	case HOOK_XDP:
		what = "interface";
		break;
	case HOOK_TC:
	case HOOK_TCX:
		what = !strcmp(pt->target, "ingress") ? "interface ingress" :
		       !strcmp(pt->target, "egress") ? "interface egress" :
		       "interface";
		break;
	case HOOK_SOCKOPS:
		what = "cgroup";
		break;
	case HOOK_SK_MSG:
		what = "sockmap";
		break;
	default:
		break;
	}
	if (what && (!pt->target[0] || pt->kind == HOOK_TC ||
		     pt->kind == HOOK_TCX))
		snprintf(pt->target, sizeof(pt->target), "%s", what);
}

static void list_targets(struct out *o, struct bpf_object *obj,
			 const struct hook_candidate *c, char *buf, size_t len)
{
	struct bpf_program *prog;
	struct hook_point pt;
	size_t n = 0;

	buf[0] = '\0';
	for (int pass = 0; pass < (o->json ? 2 : 1); pass++) {
		if (o->json)
			out_arr_begin(o, pass ? "targets" : "programs");
		for (int i = 0; i < HOOK_MAX_PROGS && c->progs[i]; i++) {
			const char *name = c->progs[i] + (c->progs[i][0] == '?');

			prog = obj ? bpf_object__find_program_by_name(obj,
								      name) :
				     NULL;
			if ((obj && (!prog || !bpf_program__autoload(prog))) ||
			    hook_prog_point(obj, name, &pt))
				continue;
			list_target_of(&pt);
			if (o->json) {
				out_json_key(o, NULL);
				out_json_string(&o->line, pass ? pt.target :
						name, HOOK_TARGET_LEN);
			} else if (n < len) {
				n += snprintf(buf + n, len - n, "%s%s",
					      n ? " " : "", pt.target);
			}
		}
		if (o->json)
			out_arr_end(o);
	}
}

static void list_tool(const struct tool *t, struct out *o)
{
	struct hook_result res[SESSION_MAX_PROBES];
	struct bpf_object *obj;
	const void *elf;
	char targets[512];
	size_t size;

	/* A tool without BPF (flamegraph) has no probes: hook "-". */
	if (!t->probes) {
		if (o->json) {
			out_record_begin(o);
			out_str(o, OUT_JSON_ONLY, "tool", t->name);
			out_str(o, OUT_JSON_ONLY, "summary", t->summary);
			out_arr_begin(o, "probes");
			out_arr_end(o);
			out_record_end(o);
		} else {
			fprintf(o->file, "%-14s %s\n  %-14s -\n", t->name,
				t->summary, "-");
		}
		return;
	}
	/* Programs built at run time (drop): the probes name sections. */
	obj = NULL;
	if (t->skel) {
		elf = t->skel->elf_bytes(&size);
		obj = bpf_object__open_mem(elf, size, NULL);
	}
	if (t->skel && !obj) {
		log_err("%s: cannot open its BPF object", t->name);
		return;
	}
	hook_choose(obj, t->probes, res);
	if (o->json) {
		out_record_begin(o);
		out_str(o, OUT_JSON_ONLY, "tool", t->name);
		out_str(o, OUT_JSON_ONLY, "summary", t->summary);
		out_arr_begin(o, "probes");
	} else {
		fprintf(o->file, "%-14s %s\n", t->name, t->summary);
	}
	for (int p = 0; t->probes[p].name; p++) {
		const struct hook_probe *probe = &t->probes[p];
		const struct hook_result *r = &res[p];
		const char *hook = r->chosen < 0 ? "none" :
			hook_candidate_label(obj, &probe->candidates[r->chosen]);

		targets[0] = '\0';
		if (o->json) {
			out_obj_begin(o, NULL);
			out_str(o, OUT_JSON_ONLY, "probe", probe->name);
			out_str(o, OUT_JSON_ONLY, "hook", hook);
			/* Every hook declared, cheapest first, whatever works. */
			out_arr_begin(o, "candidates");
			for (int c = 0; c < r->ncandidates; c++) {
				out_json_key(o, NULL);
				out_json_string(&o->line, hook_candidate_label(
					obj, &probe->candidates[c]),
					HOOK_TARGET_LEN);
			}
			out_arr_end(o);
		}
		if (r->chosen >= 0)
			list_targets(o, obj, &probe->candidates[r->chosen],
				     targets, sizeof(targets));
		if (o->json) {
			out_arr_begin(o, "rejected");
		} else {
			fprintf(o->file, "  %-14s %-11s %s\n", probe->name,
				hook, targets);
		}
		for (int c = 0; c < r->ncandidates; c++) {
			const char *label;

			if (c >= r->chosen && r->chosen >= 0)
				break;
			label = hook_candidate_label(obj,
						     &probe->candidates[c]);
			if (o->json) {
				out_obj_begin(o, NULL);
				out_str(o, OUT_JSON_ONLY, "hook", label);
				out_str(o, OUT_JSON_ONLY, "reason",
					r->why[c]);
				out_obj_end(o);
			} else {
				fprintf(o->file, "  %-14s %-11s rejected: %s\n",
					"", label, r->why[c]);
			}
		}
		if (o->json) {
			out_arr_end(o);
			out_obj_end(o);
		}
	}
	if (o->json) {
		out_arr_end(o);
		out_record_end(o);
	}
	bpf_object__close(obj);
}

/* `loupe list` takes its flags through the one parser too. */
static const struct tool list_cmd = {
	.name = "list",
	.common = OPT_JSON,
};

static int cmd_list(int argc, char **argv)
{
	const struct tool *const *tools = tool_table();
	struct opts opts;
	struct out o;
	bool json;
	int err;

	log_set_tool("list");
	err = opts_parse(&opts, &list_cmd, argc, argv);
	if (err == OPTS_HELP) {
		printf("usage: loupe list [-j]\n\n"
		       "Every tool, its probes, the hook each probe uses on this kernel\n"
		       "and why cheaper hooks were rejected.\n");
		return EXIT_OK;
	}
	if (err)
		return err;
	json = opts.json;
	log_libbpf_init(opts.verbose);
	/*
	 * Without the right to load BPF every hook would show as rejected:
	 * a list that says nothing true. A tracefs we may not read only
	 * rejects tracepoints, and the list says so for each.
	 */
	err = privs_check(PRIVS_TRACEFS);
	if (err)
		return err;
	privs_check_tracefs();
	out_init(&o, stdout, json, false, NULL);
	if (!json)
		printf("%-14s %s\n  %-14s %-11s %s\n", "TOOL", "SUMMARY",
		       "PROBE", "HOOK", "TARGETS");
	for (int i = 0; tools[i]; i++) {
		kbtf_begin(tools[i]);
		list_tool(tools[i], &o);
		kbtf_end();
	}
	out_flush(&o);
	out_free(&o);
	return EXIT_OK;
}

static int cmd_tool(const struct tool *t, int argc, char **argv)
{
	static struct session s;
	int err;

	log_set_tool(t->name);
	session_init(&s, t);
	err = opts_parse(&s.opts, t, argc, argv);
	if (err == OPTS_HELP) {
		opts_usage(t, stdout);
		return EXIT_OK;
	}
	if (err)
		return err;
	log_libbpf_init(s.opts.verbose);
	/* Output is flushed per drained batch, not per line. */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	session_install_signals();
	err = session_run(&s);
	cgroup_cache_free();
	return err;
}

/* `loupe --help TOOL` is `loupe TOOL --help`, as git and go do it. */
static int help_of(int argc, char **argv)
{
	char *help_argv[] = { argv[2], "--help", NULL };
	const struct tool *t;

	if (argc > 3) {
		log_err("unexpected argument '%s' after --help %s; see 'loupe --help'",
			argv[3], argv[2]);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[2], "overview"))
		return overview_main(2, help_argv);
	if (!strcmp(argv[2], "list"))
		return cmd_list(2, help_argv);
	t = tool_find(argv[2]);
	if (!t) {
		log_err("unknown tool '%s'; run 'loupe list' to see the tools",
			argv[2]);
		return EXIT_USAGE;
	}
	return cmd_tool(t, 2, help_argv);
}

int main(int argc, char **argv)
{
	const struct tool *t;

	kbtf_init(tool_table());
	if (argc < 2)
		return overview_main(argc, argv);
	if (!strcmp(argv[1], "overview"))
		return overview_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		if (argc == 2) {
			usage(stdout);
			return EXIT_OK;
		}
		return help_of(argc, argv);
	}
	if (!strncmp(argv[1], "--version=", 10)) {
		log_err("flag --version takes no value; see 'loupe --help'");
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		if (argc > 2) {
			log_err("unexpected argument '%s' after %s; see 'loupe --help'",
				argv[2], argv[1]);
			return EXIT_USAGE;
		}
		printf("loupe %s\n", LOUPE_VERSION);
		return EXIT_OK;
	}
	if (argv[1][0] == '-')
		return overview_main(argc, argv);
	if (!strcmp(argv[1], "list"))
		return cmd_list(argc - 1, argv + 1);
	t = tool_find(argv[1]);
	if (!t) {
		log_err("unknown tool '%s'; run 'loupe list' to see the tools",
			argv[1]);
		return EXIT_USAGE;
	}
	return cmd_tool(t, argc - 1, argv + 1);
}

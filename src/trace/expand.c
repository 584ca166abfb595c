/*
 * Attach points to probe instances: each probe's attach points are parsed
 * by provider (bpftrace's names and aliases) and expanded against this
 * machine (tracefs, BTF, ELF symbols, USDT notes) into one instance per
 * concrete hook, each with what its context holds (a tracepoint's format,
 * typed arguments, a USDT note's operands). Kernel hooks this kernel
 * lacks are refused here, with the reason.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include "hook.h"
#include "sema_base.h"
#include "trace.h"
#include "uprobe.h"

static struct trace_inst *new_inst(struct trace_prog *p,
				   struct ast_node *probe,
				   struct ast_node *attach, enum probe_kind kind)
{
	struct trace_inst *insts, *inst;
	int max = p->max_insts ? p->max_insts : TRACE_MAX_INSTS;

	if (p->ninsts >= max) {
		sema_fail(p, attach->loc,
		     "more than %d probes; narrow the wildcards in '%s'", max,
		     attach->str);
		return NULL;
	}
	insts = realloc(p->insts, (p->ninsts + 1) * sizeof(*insts));
	if (!insts)
		return NULL;
	p->insts = insts;
	inst = &insts[p->ninsts++];
	memset(inst, 0, sizeof(*inst));
	inst->probe = probe;
	inst->attach = attach;
	inst->kind = kind;
	inst->prog_fd = -1;
	return inst;
}

/* A path as the user knows it: without the /proc/PID/root/ that found
 * it in the traced process's mount namespace. */
static const char *shown_path(const char *path)
{
	const char *s;

	if (strncmp(path, "/proc/", 6))
		return path;
	s = path + 6;
	while (*s >= '0' && *s <= '9')
		s++;
	return strncmp(s, "/root/", 6) ? path : s + 5;
}

static char *join3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
	char *s = malloc(n);

	if (!s)
		return NULL;
	if (c)
		snprintf(s, n, "%s:%s:%s", a, b, c);
	else if (b[0])
		snprintf(s, n, "%s:%s", a, b);
	else
		snprintf(s, n, "%s", a);
	return s;
}

struct expand_ctx {
	struct trace_prog *p;
	struct ast_node *probe, *attach;
	enum probe_kind kind;
	const char *target;
	int count;
	int err;
};

static int add_tracepoint(void *vctx, const char *cat, const char *name)
{
	struct expand_ctx *x = vctx;
	struct trace_inst *inst;
	char err[256];

	inst = new_inst(x->p, x->probe, x->attach, PK_TRACEPOINT);
	if (!inst)
		return x->err = -ENOMEM;
	inst->target = strdup(cat);
	inst->func = strdup(name);
	inst->name = join3("tracepoint", cat, name);
	if (tp_format_load(cat, name, &inst->tp, err, sizeof(err))) {
		x->err = sema_fail(x->p, x->attach->loc, "%s", err);
		return 1;
	}
	x->count++;
	return 0;
}

/* Parameters of a function prototype, skipping `skip` leading ones. */
static int proto_args(struct trace_prog *p, struct trace_inst *inst,
		      int proto_id, int skip, struct src_loc loc)
{
	const struct btf *btf = p->btf;
	const struct btf_type *t = btf__type_by_id(btf, proto_id);
	const struct btf_param *params;
	int n;

	if (!t || !btf_is_func_proto(t))
		return sema_fail(p, loc, "%s has no function prototype in BTF",
			    inst->name);
	params = btf_params(t);
	n = btf_vlen(t);
	for (int i = skip; i < n; i++) {
		struct trace_arg *a;

		if (inst->nargs == TRACE_MAX_ARGS)
			break;
		a = &inst->args[inst->nargs++];
		snprintf(a->name, sizeof(a->name), "%s",
			 btf__name_by_offset(btf, params[i].name_off));
		if (!a->name[0])
			snprintf(a->name, sizeof(a->name), "arg%d", i - skip);
		a->type = sema_btf_to_ttype(btf, params[i].type);
	}
	if (t->type)
		inst->ret_type = sema_btf_to_ttype(btf, t->type);
	return 0;
}

static int add_rawtp(void *vctx, const char *name, const char *unused)
{
	struct expand_ctx *x = vctx;
	struct trace_prog *p = x->p;
	struct trace_inst *inst;
	char tname[192];
	int id;

	(void)unused;
	inst = new_inst(p, x->probe, x->attach, x->kind);
	if (!inst)
		return x->err = -ENOMEM;
	inst->func = strdup(name);
	inst->name = join3(provider_name(x->kind), name, NULL);
	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	if (!sema_btf(p)) {
		x->err = sema_fail(p, x->attach->loc,
			      "cannot load the kernel's BTF (/sys/kernel/btf/vmlinux) to type %s",
			      inst->name);
		return 1;
	}
	/* tp_btf: the program is loaded against the tracepoint's typedef */
	id = btf__find_by_name_kind(p->btf, tname, BTF_KIND_TYPEDEF);
	if (x->kind == PK_TPBTF && id < 0) {
		x->err = sema_fail(p, x->attach->loc,
			      "tracepoint %s has no BTF type (btf_trace_%s); see loupe trace -l 'rawtracepoint:*'",
			      name, name);
		return 1;
	}
	inst->btf_func_id = id > 0 ? id : 0;
	/* __bpf_trace_NAME has the argument names; the typedef only types */
	snprintf(tname, sizeof(tname), "__bpf_trace_%s", name);
	id = btf__find_by_name_kind(p->btf, tname, BTF_KIND_FUNC);
	if (id > 0) {
		if (proto_args(p, inst, btf__type_by_id(p->btf, id)->type, 1,
			       x->attach->loc)) {
			x->err = -1;
			return 1;
		}
		x->count++;
		return 0;
	}
	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	id = btf__find_by_name_kind(p->btf, tname, BTF_KIND_TYPEDEF);
	if (id < 0) {
		x->err = sema_fail(p, x->attach->loc,
			      "raw tracepoint %s not found; see loupe trace -l 'rawtracepoint:*'",
			      name);
		return 1;
	}
	/* typedef -> pointer -> prototype; its first argument is the
	 * tracepoint's private data, not an argument of the event. */
	id = sema_btf_skip_mods(p->btf, id);
	id = sema_btf_skip_mods(p->btf, btf__type_by_id(p->btf, id)->type);
	if (proto_args(p, inst, id, 1, x->attach->loc)) {
		x->err = -1;
		return 1;
	}
	x->count++;
	return 0;
}

static int kernel_func(struct expand_ctx *x, const char *func)
{
	struct trace_prog *p = x->p;
	struct hook_point pt = { 0 };
	struct trace_inst *inst;
	char why[HOOK_WHY_LEN];
	int id;

	inst = new_inst(p, x->probe, x->attach, x->kind);
	if (!inst)
		return -ENOMEM;
	inst->func = strdup(func);
	inst->name = join3(provider_name(x->kind), func, NULL);
	switch (x->kind) {
	case PK_KPROBE:
		pt.kind = HOOK_KPROBE;
		break;
	case PK_KRETPROBE:
		pt.kind = HOOK_KRETPROBE;
		break;
	case PK_FENTRY:
		pt.kind = HOOK_FENTRY;
		break;
	default:
		pt.kind = HOOK_FEXIT;
		break;
	}
	snprintf(pt.target, sizeof(pt.target), "%s", func);
	/* fentry's test needs the BTF too: the program's, not a second */
	if ((x->kind == PK_FENTRY || x->kind == PK_FEXIT) && !sema_btf(p))
		return sema_fail(p, x->attach->loc,
			    "cannot load the kernel's BTF");
	if (hook_test_point_btf(&pt, p->btf, why, sizeof(why)))
		return sema_fail(p, x->attach->loc,
			    "%s cannot be used on this kernel: %s; use a tracepoint or rawtracepoint probe instead (loupe trace -l)",
			    inst->name, why);
	if (x->kind == PK_FENTRY || x->kind == PK_FEXIT) {
		id = btf__find_by_name_kind(p->btf, func, BTF_KIND_FUNC);
		if (id < 0)
			return sema_fail(p, x->attach->loc,
				    "kernel function %s not found in BTF", func);
		inst->btf_func_id = id;
		id = btf__type_by_id(p->btf, id)->type;
		if (proto_args(p, inst, id, 0, x->attach->loc))
			return -1;
	}
	x->count++;
	return 0;
}

/*
 * The process whose root uprobe paths are resolved in: -p's or -c's, else
 * one in --container's cgroup (its binaries are under /proc/PID/root).
 */
static int path_pid(const struct trace_prog *p)
{
	return p->target_pid > 0 ? p->target_pid : p->root_pid;
}

static int add_uprobe(void *vctx, const char *func, const char *unused)
{
	struct expand_ctx *x = vctx;
	struct trace_prog *p = x->p;
	struct uprobe_target t;
	struct trace_inst *inst;

	(void)unused;
	if (uprobe_resolve(x->target, func, path_pid(p), &t)) {
		if (!t.path[0])
			x->err = sema_fail(p, x->attach->loc,
				      "binary '%s' not found (give a path or a name on PATH)",
				      x->target);
		else
			x->err = sema_fail(p, x->attach->loc,
				      "function '%s' not found in %s; see loupe trace -l 'uprobe:%s:*'",
				      func, t.path, t.path);
		return 1;
	}
	inst = new_inst(p, x->probe, x->attach, x->kind);
	if (!inst)
		return x->err = -ENOMEM;
	inst->target = strdup(t.path);
	inst->func = strdup(func);
	inst->offset = t.offset;
	inst->name = join3(provider_name(x->kind), shown_path(t.path),
			   func);
	x->count++;
	return 0;
}

/* x86-64 register names (any width) and their struct pt_regs offsets. */
static const struct {
	const char *names[4];
	int off;
} x86_regs[] = {
	{ { "rax", "eax", "ax", "al" }, 80 },
	{ { "rbx", "ebx", "bx", "bl" }, 40 },
	{ { "rcx", "ecx", "cx", "cl" }, 88 },
	{ { "rdx", "edx", "dx", "dl" }, 96 },
	{ { "rsi", "esi", "si", "sil" }, 104 },
	{ { "rdi", "edi", "di", "dil" }, 112 },
	{ { "rbp", "ebp", "bp", "bpl" }, 32 },
	{ { "rsp", "esp", "sp", "spl" }, 152 },
	{ { "r8", "r8d", "r8w", "r8b" }, 72 },
	{ { "r9", "r9d", "r9w", "r9b" }, 64 },
	{ { "r10", "r10d", "r10w", "r10b" }, 56 },
	{ { "r11", "r11d", "r11w", "r11b" }, 48 },
	{ { "r12", "r12d", "r12w", "r12b" }, 24 },
	{ { "r13", "r13d", "r13w", "r13b" }, 16 },
	{ { "r14", "r14d", "r14w", "r14b" }, 8 },
	{ { "r15", "r15d", "r15w", "r15b" }, 0 },
};

static int x86_reg_off(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(x86_regs) / sizeof(x86_regs[0]); i++)
		for (int w = 0; w < 4; w++)
			if (strlen(x86_regs[i].names[w]) == len &&
			    !strncmp(x86_regs[i].names[w], name, len))
				return x86_regs[i].off;
	return -1;
}

/*
 * One "N@OPERAND" of a note: N is the size in bytes, negative when
 * signed; OPERAND is AT&T syntax: $imm, %reg or disp(%reg).
 */
static int usdt_parse_arg(const char *s, size_t len, struct usdt_arg *a)
{
	char text[64], *at, *end, *paren;

	if (len >= sizeof(text))
		return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	at = strchr(text, '@');
	if (!at)
		return -1;
	a->size = (int)strtol(text, &end, 10);
	if (end != at || !a->size)
		return -1;
	a->is_signed = a->size < 0;
	if (a->size < 0)
		a->size = -a->size;
	if (a->size != 1 && a->size != 2 && a->size != 4 && a->size != 8)
		return -1;
	at++;
	if (*at == '$') {
		a->kind = UA_CONST;
		a->value = strtoll(at + 1, &end, 0);
		return *end ? -1 : 0;
	}
	if (*at == '%') {
		a->kind = UA_REG;
		a->reg_off = x86_reg_off(at + 1, strlen(at + 1));
		return a->reg_off < 0 ? -1 : 0;
	}
	paren = strchr(at, '(');
	if (!paren || paren[1] != '%' || strchr(paren, ','))
		return -1;
	a->kind = UA_MEM;
	a->value = paren == at ? 0 : strtoll(at, &end, 0);
	if (paren != at && end != paren)
		return -1;
	end = strchr(paren, ')');
	if (!end || end[1])
		return -1;
	a->reg_off = x86_reg_off(paren + 2, end - paren - 2);
	return a->reg_off < 0 ? -1 : 0;
}

static int add_usdt(void *vctx, const struct usdt_note *n)
{
	struct expand_ctx *x = vctx;
	struct trace_prog *p = x->p;
	struct trace_inst *inst;
	const char *s = n->args;
	char spec[160];

	inst = new_inst(p, x->probe, x->attach, PK_USDT);
	if (!inst)
		return x->err = -ENOMEM;
	inst->target = strdup(x->target);
	inst->func = strdup(n->name);
	snprintf(spec, sizeof(spec), "%s:%s", n->provider, n->name);
	inst->name = join3("usdt", shown_path(x->target), spec);
	inst->offset = n->pc;
	inst->semaphore = n->semaphore;
	while (*s) {
		size_t len;

		while (*s == ' ')
			s++;
		len = strcspn(s, " ");
		if (!len)
			break;
		if (inst->nuargs == TRACE_MAX_ARGS ||
		    usdt_parse_arg(s, len, &inst->uargs[inst->nuargs])) {
			x->err = sema_fail(p, x->attach->loc,
				      "%s: argument %d ('%.*s') is in a form loupe cannot read yet",
				      inst->name, inst->nuargs, (int)len, s);
			return 1;
		}
		inst->nuargs++;
		s += len;
	}
	x->count++;
	return 0;
}

static int expand_usdt(struct expand_ctx *x, int nparts, char **parts)
{
	char path[PATH_MAX];
	const char *prov = "*", *name;

	/* usdt:PATH:PROVIDER:NAME or usdt:PATH:NAME */
	if (nparts == 4) {
		prov = parts[2];
		name = parts[3];
	} else if (nparts == 3) {
		name = parts[2];
	} else {
		return sema_fail(x->p, x->attach->loc,
			    "'%s': expected usdt:BINARY:[PROVIDER:]NAME",
			    x->attach->str);
	}
	if (uprobe_find_binary(parts[1], path_pid(x->p), path, sizeof(path)))
		return sema_fail(x->p, x->attach->loc,
			    "binary '%s' not found (give a path or a name on PATH)",
			    parts[1]);
	x->target = path;
	if (tprobe_usdt(path, prov, name, add_usdt, x) < 0 && !x->err)
		return sema_fail(x->p, x->attach->loc,
			    "cannot read the USDT notes of %s", path);
	x->target = NULL;
	return x->err;
}

/* software:EVENT[:COUNT], with bpftrace's default counts. */
static const struct {
	const char *name, *alias;
	int config;
	unsigned long long count;
} sw_events[] = {
	{ "cpu-clock", "cpu", PERF_COUNT_SW_CPU_CLOCK, 1000000 },
	{ "task-clock", NULL, PERF_COUNT_SW_TASK_CLOCK, 1000000 },
	{ "page-faults", "faults", PERF_COUNT_SW_PAGE_FAULTS, 100 },
	{ "context-switches", "cs", PERF_COUNT_SW_CONTEXT_SWITCHES, 1000 },
	{ "cpu-migrations", NULL, PERF_COUNT_SW_CPU_MIGRATIONS, 1 },
	{ "minor-faults", NULL, PERF_COUNT_SW_PAGE_FAULTS_MIN, 100 },
	{ "major-faults", NULL, PERF_COUNT_SW_PAGE_FAULTS_MAJ, 1 },
	{ "alignment-faults", NULL, PERF_COUNT_SW_ALIGNMENT_FAULTS, 1 },
	{ "emulation-faults", NULL, PERF_COUNT_SW_EMULATION_FAULTS, 1 },
	{ "dummy", NULL, PERF_COUNT_SW_DUMMY, 1 },
};

static int expand_software(struct expand_ctx *x, int nparts, char **parts)
{
	unsigned long long count;
	struct trace_inst *inst;
	char *end, spec[64];
	size_t i;

	if (nparts < 2 || nparts > 3)
		return sema_fail(x->p, x->attach->loc,
			    "'%s': expected software:EVENT[:COUNT]",
			    x->attach->str);
	for (i = 0; i < sizeof(sw_events) / sizeof(sw_events[0]); i++)
		if (!strcmp(parts[1], sw_events[i].name) ||
		    (sw_events[i].alias && !strcmp(parts[1], sw_events[i].alias)))
			break;
	if (i == sizeof(sw_events) / sizeof(sw_events[0]))
		return sema_fail(x->p, x->attach->loc,
			    "unknown software event '%s'; see loupe trace -l 'software:*'",
			    parts[1]);
	count = sw_events[i].count;
	if (nparts == 3 && parts[2][0]) {
		errno = 0;
		count = strtoull(parts[2], &end, 10);
		if (*end || errno || !count)
			return sema_fail(x->p, x->attach->loc,
				    "'%s': the count must be a positive integer",
				    x->attach->str);
	}
	inst = new_inst(x->p, x->probe, x->attach, PK_SOFTWARE);
	if (!inst)
		return -ENOMEM;
	snprintf(spec, sizeof(spec), "%llu", count);
	inst->func = strdup(sw_events[i].name);
	inst->name = join3("software", sw_events[i].name, spec);
	inst->period = count;
	inst->sw_config = sw_events[i].config;
	x->count = 1;
	return 0;
}

static int parse_period(struct trace_prog *p, struct ast_node *at,
			enum probe_kind kind, const char *unit,
			const char *count, struct trace_inst *inst)
{
	unsigned long long n, mul;
	char *end;

	errno = 0;
	n = strtoull(count ? count : "", &end, 10);
	if (!count || !count[0] || *end || errno || !n)
		return sema_fail(p, at->loc,
			    "%s: expected a positive count, e.g. %s:s:1",
			    at->str, kind == PK_PROFILE ? "profile:hz:99" :
			    "interval");
	if (!strcmp(unit, "hz")) {
		if (kind == PK_INTERVAL) {
			inst->period = 1000000000ULL / n;
			return 0;
		}
		inst->period = n;
		return 0;
	}
	if (!strcmp(unit, "s"))
		mul = 1000000000ULL;
	else if (!strcmp(unit, "ms"))
		mul = 1000000ULL;
	else if (!strcmp(unit, "us"))
		mul = 1000ULL;
	else if (!strcmp(unit, "ns"))
		mul = 1;
	else
		return sema_fail(p, at->loc,
			    "%s: unit '%s' unknown; use s, ms, us, ns or hz",
			    at->str, unit);
	if (kind == PK_PROFILE) {
		/* profile takes a rate; a period becomes its frequency */
		inst->period = 1000000000ULL / (n * mul);
		if (!inst->period)
			inst->period = 1;
		return 0;
	}
	inst->period = n * mul;
	return 0;
}

static int expand_special(struct expand_ctx *x, int nparts, char **parts)
{
	struct trace_inst *inst;

	if (nparts != 1)
		return sema_fail(x->p, x->attach->loc, "%s takes no arguments",
				 parts[0]);
	inst = new_inst(x->p, x->probe, x->attach, x->kind);
	if (!inst)
		return -ENOMEM;
	inst->name = strdup(parts[0]);
	x->count = 1;
	return 0;
}

static int expand_tracepoint(struct expand_ctx *x, int nparts, char **parts)
{
	int ret;

	if (nparts != 3 || !parts[1][0] || !parts[2][0])
		return sema_fail(x->p, x->attach->loc,
				 "'%s': a tracepoint is tracepoint:CATEGORY:NAME",
				 x->attach->str);
	ret = tprobe_tracepoints(parts[1], parts[2], add_tracepoint, x);
	return x->err ? x->err : ret;
}

static int expand_rawtp(struct expand_ctx *x, int nparts, char **parts)
{
	int ret = 0;

	if (nparts != 2 || !parts[1][0])
		return sema_fail(x->p, x->attach->loc,
				 "'%s': a raw tracepoint is rawtracepoint:NAME",
				 x->attach->str);
	if (strpbrk(parts[1], "*?["))
		ret = tprobe_rawtps(parts[1], add_rawtp, x);
	else
		add_rawtp(x, parts[1], NULL);
	return x->err ? x->err : ret;
}

static int expand_kernel_func(struct expand_ctx *x, int nparts, char **parts)
{
	if (nparts != 2 || !parts[1][0])
		return sema_fail(x->p, x->attach->loc,
				 "'%s': expected %s:FUNCTION", x->attach->str,
				 parts[0]);
	return kernel_func(x, parts[1]);
}

static int expand_uprobe(struct expand_ctx *x, int nparts, char **parts)
{
	/* everything between the first and the last ':' is the path */
	const char *text = x->attach->str, *first = strchr(text, ':'),
		   *last = strrchr(text, ':');
	char *path;
	int ret = 0;

	(void)nparts;
	if (!first || first == last || !last[1])
		return sema_fail(x->p, x->attach->loc,
				 "'%s': expected %s:BINARY:FUNCTION",
				 x->attach->str, parts[0]);
	path = strndup(first + 1, last - first - 1);
	if (!path)
		return -ENOMEM;
	x->target = path;
	if (strpbrk(last + 1, "*?[")) {
		char real[PATH_MAX];

		/* the functions of the binary the probes will go on */
		if (uprobe_find_binary(path, path_pid(x->p), real,
				       sizeof(real)))
			snprintf(real, sizeof(real), "%s", path);
		ret = tprobe_elf_funcs(real, last + 1, add_uprobe, x);
	} else
		add_uprobe(x, last + 1, NULL);
	x->target = NULL;
	free(path);
	return x->err ? x->err : ret;
}

static int expand_timer(struct expand_ctx *x, int nparts, char **parts)
{
	struct trace_inst *inst;

	if (nparts != 3)
		return sema_fail(x->p, x->attach->loc,
				 "'%s': expected %s:UNIT:N, e.g. %s",
				 x->attach->str, parts[0],
				 x->kind == PK_PROFILE ? "profile:hz:99" :
				 "interval:s:1");
	inst = new_inst(x->p, x->probe, x->attach, x->kind);
	if (!inst)
		return -ENOMEM;
	inst->name = join3(provider_name(x->kind), parts[1], parts[2]);
	x->count = 1;
	return parse_period(x->p, x->attach, x->kind, parts[1], parts[2],
			    inst);
}

/* The code of each expand_method of provider.c's table. */
static int (*const expanders[])(struct expand_ctx *x, int nparts,
				char **parts) = {
	[EXPAND_SPECIAL] = expand_special,
	[EXPAND_TRACEPOINT] = expand_tracepoint,
	[EXPAND_RAWTP] = expand_rawtp,
	[EXPAND_KERNEL_FUNC] = expand_kernel_func,
	[EXPAND_UPROBE] = expand_uprobe,
	[EXPAND_USDT] = expand_usdt,
	[EXPAND_TIMER] = expand_timer,
	[EXPAND_SOFTWARE] = expand_software,
};

static int unknown_provider(struct trace_prog *p, const struct ast_node *at,
			    const char *name)
{
	struct sema_near near;
	const char *cand;
	char hint[96];

	sema_near_init(&near, name);
	for (size_t i = 0; (cand = provider_alias(i)); i++)
		if (strlen(cand) > 2)	/* not the short aliases (t, u) */
			sema_near_add(&near, cand);
	if (!near.best)
		snprintf(hint, sizeof(hint), "; see loupe trace --help");
	else
		sema_near_hint(&near, hint, sizeof(hint));
	return sema_fail(p, at->loc, "unknown probe type '%s' in '%s'%s",
			 name, at->str, hint);
}

struct near_tp {
	struct sema_near near;
	char cand[256], best[256];
};

static int near_tracepoint(void *ctx, const char *cat, const char *name)
{
	struct near_tp *n = ctx;

	snprintf(n->cand, sizeof(n->cand), "%s:%s", cat, name);
	sema_near_add(&n->near, n->cand);
	if (n->near.best == n->cand) {
		snprintf(n->best, sizeof(n->best), "%s", n->cand);
		n->near.best = n->best;
	}
	return 0;
}

/* A tracepoint that does not exist: the nearest one's name, if any. */
static int no_tracepoint(struct trace_prog *p, const struct ast_node *at,
			 char **parts)
{
	struct near_tp n;
	char want[256], hint[300] = "";

	snprintf(want, sizeof(want), "%s:%s", parts[1], parts[2]);
	sema_near_init(&n.near, want);
	if (!strpbrk(want, "*?[") &&
	    !tprobe_tracepoints("*", "*", near_tracepoint, &n) && n.near.best)
		snprintf(hint, sizeof(hint), "; did you mean 'tracepoint:%s'?",
			 n.near.best);
	return sema_fail(p, at->loc, "no probe matches '%s'%s", at->str, hint);
}

static int expand_one(struct trace_prog *p, struct ast_node *probe,
		      struct ast_node *at)
{
	char *spec = strdup(at->str), *parts[4] = { 0 }, *s, *colon;
	struct expand_ctx x = { .p = p, .probe = probe, .attach = at };
	const struct probe_provider *pv;
	int nparts = 0, ret;

	if (!spec)
		return -ENOMEM;
	/* provider:a:b:c (a uprobe's path is re-read whole from the text) */
	s = spec;
	while (nparts < 4) {
		parts[nparts++] = s;
		colon = strchr(s, ':');
		if (!colon)
			break;
		*colon = '\0';
		s = colon + 1;
	}
	pv = provider_find(parts[0]);
	if (!pv || pv->expand == EXPAND_NONE) {
		ret = unknown_provider(p, at, parts[0]);
		goto out;
	}
	x.kind = pv->kind;
	ret = expanders[pv->expand](&x, nparts, parts);
	if (!ret && !x.count && pv->kind == PK_TRACEPOINT && nparts == 3)
		ret = no_tracepoint(p, at, parts);
	else if (!ret && !x.count)
		ret = sema_fail(p, at->loc, "no probe matches '%s'", at->str);
out:
	free(spec);
	return ret;
}

int expand_probes(struct trace_prog *p)
{
	struct ast_node *prog = p->ast;

	for (int i = 0; i < prog->nlist; i++) {
		struct ast_node *probe = prog->list[i];

		if (probe->kind != AST_PROBE)
			continue;	/* a struct definition */
		for (int j = 0; j < probe->nlist; j++)
			if (expand_one(p, probe, probe->list[j]))
				return -1;
	}
	return 0;
}

/*
 * The builtins of the trace language (pid, comm, kstack, retval, arg0...)
 * as one table: where each is known, its type, and how lowering computes
 * it. Most are a BPF helper's result, shifted or cut to a width, so
 * adding one of those is one row here; the others name the lowering step
 * that computes them and, where their type depends on the probe, a check.
 */
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include <linux/bpf.h>
#include "builtins.h"
#include "sema_base.h"

#define KIND(k)		(1u << (k))
#define REGS_KINDS	(KIND(PK_KPROBE) | KIND(PK_KRETPROBE) | \
			 KIND(PK_UPROBE) | KIND(PK_URETPROBE))
#define FUNC_KINDS	(REGS_KINDS | KIND(PK_FENTRY) | KIND(PK_FEXIT))
#define RET_KINDS	(KIND(PK_KRETPROBE) | KIND(PK_URETPROBE) | \
			 KIND(PK_FEXIT))
#define ARG_KINDS	(REGS_KINDS | KIND(PK_RAWTP) | KIND(PK_TPBTF) | \
			 KIND(PK_USDT) | \
			 KIND(PK_FENTRY) | KIND(PK_FEXIT))

static bool is_uprobe(enum probe_kind k)
{
	return k == PK_UPROBE || k == PK_URETPROBE;
}

static int check_cpid(struct trace_prog *p, const struct trace_inst *inst,
		      struct ast_node *n)
{
	(void)inst;
	if (p->target_pid <= 0)
		return sema_fail(p, n->loc,
				 "cpid needs a command to trace: loupe trace -c 'CMD' ...");
	n->type = sema_t_int(false);
	return 0;
}

static int check_kstack(struct trace_prog *p, const struct trace_inst *inst,
			struct ast_node *n)
{
	(void)inst;
	p->uses_kstack = true;
	n->type = sema_t_kind(TT_KSTACK, 8);
	return 0;
}

static int check_ustack(struct trace_prog *p, const struct trace_inst *inst,
			struct ast_node *n)
{
	(void)inst;
	n->type = sema_t_kind(TT_USTACK, 16);
	sema_ustack_unwind(p, &n->type, -1);
	return 0;
}

static int check_curtask(struct trace_prog *p, const struct trace_inst *inst,
			 struct ast_node *n)
{
	struct btf *btf = sema_btf(p);
	int id = btf ? btf__find_by_name_kind(btf, "task_struct",
					      BTF_KIND_STRUCT) : -1;

	(void)inst;
	n->type = sema_t_kind(TT_PTR, 8);
	n->type.btf_id = id > 0 ? id : 0;
	return 0;
}

static int check_retval(struct trace_prog *p, const struct trace_inst *inst,
			struct ast_node *n)
{
	(void)p;
	if (inst->kind == PK_FEXIT) {
		n->type = inst->ret_type;
		return 0;
	}
	n->type = sema_t_int(true);
	n->type.user = is_uprobe(inst->kind);
	return 0;
}

static int check_arg(struct trace_prog *p, const struct trace_inst *inst,
		     struct ast_node *n)
{
	int i = n->name[3] - '0';

	switch (inst->kind) {
	case PK_USDT:
		if (i >= inst->nuargs)
			return sema_fail(p, n->loc, "%s has %d arguments",
					 inst->name, inst->nuargs);
		n->type = sema_t_int(inst->uargs[i].is_signed);
		n->type.user = true;
		return 0;
	case PK_RAWTP:
	case PK_TPBTF:
	case PK_FENTRY:
	case PK_FEXIT:
		if (i >= inst->nargs)
			return sema_fail(p, n->loc, "%s has %d arguments",
					 inst->name, inst->nargs);
		n->type = inst->args[i].type;
		return 0;
	default:
		if (i > 5)
			return sema_fail(p, n->loc,
					 "only arg0 to arg5 are passed in registers");
		n->type = sema_t_int(false);
		n->type.user = is_uprobe(inst->kind);
		return 0;
	}
}

static const struct builtin builtins[] = {
	{ "pid", 0, BO_HELPER, BPF_FUNC_get_current_pid_tgid, 32, 8 },
	{ "tid", 0, BO_HELPER, BPF_FUNC_get_current_pid_tgid, 0, 4 },
	{ "uid", 0, BO_HELPER, BPF_FUNC_get_current_uid_gid, 0, 4 },
	{ "gid", 0, BO_HELPER, BPF_FUNC_get_current_uid_gid, 32, 8 },
	{ "nsecs", 0, BO_HELPER, BPF_FUNC_ktime_get_ns, 0, 8 },
	{ "cpu", 0, BO_HELPER, BPF_FUNC_get_smp_processor_id, 0, 8 },
	{ "cgroup", 0, BO_HELPER, BPF_FUNC_get_current_cgroup_id, 0, 8 },
	{ "rand", 0, BO_HELPER, BPF_FUNC_get_prandom_u32, 0, 8 },
	{ "jiffies", 0, BO_HELPER, BPF_FUNC_jiffies64, 0, 8 },
	{ "curtask", 0, BO_HELPER, BPF_FUNC_get_current_task, 0, 8,
	  check_curtask },
	{ "elapsed", 0, BO_ELAPSED },
	{ "cpid", 0, BO_TARGET_PID, .check = check_cpid },
	{ "comm", 0, BO_COMM, .is_string = true },
	{ "func", FUNC_KINDS, BO_FUNC, .is_string = true },
	{ "probe", 0, BO_PROBE, .is_string = true },
	{ "kstack", 0, BO_KSTACK, .check = check_kstack },
	{ "ustack", 0, BO_USTACK, .check = check_ustack },
	{ "retval", RET_KINDS, BO_RETVAL, .check = check_retval },
	/* arg0..arg9: builtin_find() names them all "argN" */
	{ "argN", ARG_KINDS, BO_ARG, .check = check_arg },
};

const struct builtin *builtin_find(const char *name)
{
	size_t n = sizeof(builtins) / sizeof(builtins[0]);

	if (!strcmp(name, "argN"))
		return NULL;
	if (!strncmp(name, "arg", 3) && name[3] >= '0' && name[3] <= '9' &&
	    !name[4])
		name = "argN";
	for (size_t i = 0; i < n; i++)
		if (!strcmp(builtins[i].name, name))
			return &builtins[i];
	return NULL;
}

/* "kprobe, kretprobe and uprobe" for an error message. */
static void kinds_text(unsigned int kinds, char *buf, size_t len)
{
	size_t used = 0;
	int n = 0, total = __builtin_popcount(kinds);

	buf[0] = '\0';
	for (int k = 0; k < 32 && used < len; k++) {
		if (!(kinds & KIND(k)))
			continue;
		n++;
		used += snprintf(buf + used, len - used, "%s%s",
				 n == 1 ? "" : n == total ? " and " : ", ",
				 provider_name(k));
	}
}

static int unknown_builtin(struct trace_prog *p, struct ast_node *n)
{
	struct sema_near near;
	char hint[96];

	sema_near_init(&near, n->name);
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		sema_near_add(&near, strcmp(builtins[i].name, "argN") ?
			      builtins[i].name : "arg0");
	sema_near_add(&near, "args");
	return sema_fail(p, n->loc, "unknown identifier '%s'%s", n->name,
			 sema_near_hint(&near, hint, sizeof(hint)));
}

int builtin_check(struct trace_prog *p, const struct trace_inst *inst,
		  struct ast_node *n)
{
	const struct builtin *b = builtin_find(n->name);
	char kinds[256];

	if (!b) {
		if (!strcmp(n->name, "args"))
			return sema_fail(p, n->loc,
					 "args is a record: use a field, e.g. args->%s",
					 inst->kind == PK_TRACEPOINT &&
					 inst->tp.nfields ?
					 inst->tp.fields[0].name : "NAME");
		return unknown_builtin(p, n);
	}
	if (b->kinds && !(b->kinds & KIND(inst->kind))) {
		kinds_text(b->kinds, kinds, sizeof(kinds));
		return sema_fail(p, n->loc,
				 "%s is only known in %s probes, not in %s",
				 n->name, kinds, inst->name);
	}
	n->sym = b - builtins;
	if (b->check)
		return b->check(p, inst, n);
	n->type = b->is_string ? sema_t_str() : sema_t_int(false);
	return 0;
}

/*
 * Semantic analysis of trace programs: types every expression of a probe
 * instance (expand.c made the instances), checks builtins and functions
 * against the probe kind, and fixes the key and value type of every map
 * across the whole program.
 *
 * A program is checked twice: the first pass learns the maps' types from
 * wherever they are assigned, the second (second_pass) reads them back in
 * probes that use a map before the probe that assigns it.
 *
 * Functions are rows of funcs[]: the row's check types a call, its op
 * tells lower.c how to compute it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "hook.h"
#include "builtins.h"
#include "sema.h"
#include "sema_base.h"
#include "trace.h"
#include "uprobe.h"
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/stat.h>

struct sema_ctx {
	struct trace_prog *p;
	struct trace_inst *inst;
	int loop_depth;
};

/* ---- maps --------------------------------------------------------------- */

static struct trace_map *find_map(struct trace_prog *p, const char *name)
{
	for (int i = 0; i < p->nmaps; i++)
		if (!strcmp(p->maps[i].name, name))
			return &p->maps[i];
	return NULL;
}

static struct trace_map *get_map(struct trace_prog *p, const char *name)
{
	struct trace_map *m = find_map(p, name), *maps;

	if (m)
		return m;
	maps = realloc(p->maps, (p->nmaps + 1) * sizeof(*maps));
	if (!maps)
		return NULL;
	p->maps = maps;
	m = &maps[p->nmaps++];
	memset(m, 0, sizeof(*m));
	m->name = strdup(name);
	m->fd = -1;
	return m;
}

/* Types are copied into the program's arena: tuples own arrays. */
static struct ttype type_copy(const struct ttype *t)
{
	struct ttype r = *t;

	if (t->kind == TT_TUPLE && t->nelems) {
		r.elems = calloc(t->nelems, sizeof(*r.elems));
		r.offsets = calloc(t->nelems, sizeof(*r.offsets));
		for (int i = 0; i < t->nelems; i++) {
			r.elems[i] = type_copy(&t->elems[i]);
			r.offsets[i] = t->offsets[i];
		}
	}
	return r;
}

void sema_type_free(struct ttype *t)
{
	if (t->kind == TT_TUPLE) {
		for (int i = 0; i < t->nelems; i++)
			sema_type_free(&t->elems[i]);
		free(t->elems);
		free(t->offsets);
		t->elems = NULL;
		t->offsets = NULL;
	}
}

/* Values that can be stored in maps and variables. */
static bool storable(const struct ttype *t)
{
	switch (t->kind) {
	case TT_INT:
	case TT_STR:
	case TT_KSTACK:
	case TT_USTACK:
	case TT_KSYM:
	case TT_USYM:
	case TT_INET:
	case TT_TIMESTAMP:
	case TT_CGROUP_PATH:
	case TT_BUF:
	case TT_MACADDR:
	case TT_PTR:
		return true;
	case TT_TUPLE:
		for (int i = 0; i < t->nelems; i++)
			if (!storable(&t->elems[i]))
				return false;
		return true;
	default:
		return false;
	}
}

/* Ints of any sign and pointers mix; the first type seen wins. */
static bool compatible(const struct ttype *a, const struct ttype *b)
{
	if ((a->kind == TT_INT || a->kind == TT_PTR) &&
	    (b->kind == TT_INT || b->kind == TT_PTR))
		return true;
	if (a->kind == TT_TUPLE && b->kind == TT_TUPLE) {
		if (a->nelems != b->nelems)
			return false;
		for (int i = 0; i < a->nelems; i++)
			if (!compatible(&a->elems[i], &b->elems[i]))
				return false;
		return true;
	}
	return a->kind == b->kind && a->size == b->size;
}

static void layout_tuple(struct ttype *t)
{
	unsigned int off = 0;

	for (int i = 0; i < t->nelems; i++) {
		/* everything is 8-aligned: ints are 8 bytes, strings 64 */
		off = (off + 7) & ~7u;
		t->offsets[i] = off;
		off += t->elems[i].size;
	}
	t->size = (off + 7) & ~7u;
}

static int map_key_type(struct sema_ctx *c, struct ast_node *m,
			struct ttype *key)
{
	memset(key, 0, sizeof(*key));
	if (m->nlist == 0)
		return 0;
	for (int i = 0; i < m->nlist; i++)
		if (!storable(&m->list[i]->type))
			return sema_fail(c->p, m->list[i]->loc,
				    "this value cannot be a map key");
	if (m->nlist == 1) {
		*key = m->list[0]->type;
		if (key->kind == TT_PTR)
			*key = sema_t_int(false);
		return 0;
	}
	key->kind = TT_TUPLE;
	key->nelems = m->nlist;
	key->elems = calloc((unsigned int)m->nlist, sizeof(*key->elems));
	key->offsets = calloc((unsigned int)m->nlist, sizeof(*key->offsets));
	if (!key->elems || !key->offsets)
		return -ENOMEM;
	for (int i = 0; i < m->nlist; i++) {
		key->elems[i] = m->list[i]->type;
		if (key->elems[i].kind == TT_PTR)
			key->elems[i] = sema_t_int(false);
	}
	layout_tuple(key);
	return 0;
}

/* Records (or checks) the key type of map node m. */
static int map_use_key(struct sema_ctx *c, struct ast_node *mn,
		       struct trace_map *m)
{
	struct ttype key;
	int ret = 0;

	if (map_key_type(c, mn, &key))
		return -1;
	if (!m->key.kind && !m->key_size) {
		m->key = type_copy(&key);
		m->key_size = key.kind ? key.size : 8;
	} else if ((m->key.kind == TT_NONE) != (key.kind == TT_NONE) ||
		   (key.kind && !compatible(&m->key, &key))) {
		char a[96], b[96];

		ttype_name(&m->key, a, sizeof(a));
		ttype_name(&key, b, sizeof(b));
		ret = sema_fail(c->p, mn->loc,
			   "map %s is keyed by %s elsewhere, here by %s",
			   mn->name, m->key.kind ? a : "nothing",
			   key.kind ? b : "nothing");
	}
	if (key.kind == TT_TUPLE) {
		free(key.elems);
		free(key.offsets);
	}
	return ret;
}

static int map_set_value(struct sema_ctx *c, struct ast_node *mn,
			 const struct ttype *v)
{
	struct trace_map *m = get_map(c->p, mn->name);

	if (!m)
		return -ENOMEM;
	if (map_use_key(c, mn, m))
		return -1;
	mn->sym = m - c->p->maps;
	if (m->value.kind == TT_NONE) {
		m->value = type_copy(v);
		m->percpu = v->kind >= TT_COUNT;
		if (v->kind < TT_COUNT && v->kind == TT_PTR)
			m->value = sema_t_int(false);
	} else if (!(m->value.kind >= TT_COUNT && v->kind == m->value.kind &&
		     ttype_equal(&m->value, v)) &&
		   !(m->value.kind < TT_COUNT && compatible(&m->value, v))) {
		char a[96], b[96];

		ttype_name(&m->value, a, sizeof(a));
		ttype_name(v, b, sizeof(b));
		return sema_fail(c->p, mn->loc,
			    "map %s holds %s elsewhere, here it is given %s",
			    mn->name, a, b);
	}
	mn->type = m->value;
	return 0;
}

/* ---- expressions -------------------------------------------------------- */

static int check_expr(struct sema_ctx *c, struct ast_node *n);
static int check_block(struct sema_ctx *c, struct ast_node *n);

static bool is_int(const struct ttype *t)
{
	return t->kind == TT_INT || t->kind == TT_PTR;
}

static struct trace_var *find_var(struct trace_prog *p, const char *name)
{
	for (int i = 0; i < p->nvars; i++)
		if (!strcmp(p->vars[i].name, name))
			return &p->vars[i];
	return NULL;
}

static int check_ident(struct sema_ctx *c, struct ast_node *n)
{
	return builtin_check(c->p, c->inst, n);
}

static struct ttype tp_field_type(const struct trace_inst *inst,
				  const struct tp_field *f)
{
	struct ttype t;

	if (f->is_string)
		return sema_t_str();
	if (f->is_pointer) {
		t = sema_t_kind(TT_PTR, 8);
		t.user = !strcmp(inst->target, "syscalls");
		return t;
	}
	if (f->array_len && !f->is_string) {
		/* a byte array, e.g. an address: ntop() reads it */
		t = sema_t_kind(TT_RECORD, f->size);
		return t;
	}
	return sema_t_int(f->is_signed);
}

static int check_args_field(struct sema_ctx *c, struct ast_node *n)
{
	struct trace_inst *inst = c->inst;

	if (inst->kind == PK_TRACEPOINT) {
		for (int i = 0; i < inst->tp.nfields; i++)
			if (!strcmp(inst->tp.fields[i].name, n->name)) {
				n->sym = i;
				n->type = tp_field_type(inst,
							&inst->tp.fields[i]);
				return 0;
			}
		return sema_fail(c->p, n->loc,
			    "%s has no field '%s'; see loupe trace -lv '%s'",
			    inst->name, n->name, inst->name);
	}
	if (inst->kind == PK_RAWTP || inst->kind == PK_TPBTF ||
	    inst->kind == PK_FENTRY ||
	    inst->kind == PK_FEXIT) {
		for (int i = 0; i < inst->nargs; i++)
			if (!strcmp(inst->args[i].name, n->name)) {
				n->sym = i;
				n->type = inst->args[i].type;
				return 0;
			}
		return sema_fail(c->p, n->loc,
			    "%s has no argument '%s'; see loupe trace -lv '%s'",
			    inst->name, n->name, inst->name);
	}
	return sema_fail(c->p, n->loc,
		    "args is only known in tracepoint, rawtracepoint and kfunc probes; use arg0..arg5 here");
}

/* A struct/union member of BTF type id, by name (anonymous members are
 * searched through); its byte offset is added to *off. */
static int btf_member(const struct btf *btf, int id, const char *name,
		      unsigned int *off, int *type_id, int *bitfield)
{
	const struct btf_type *t = btf__type_by_id(btf, sema_btf_skip_mods(btf,
								      id));
	const struct btf_member *m;

	if (!t || !btf_is_composite(t))
		return -1;
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *mname = btf__name_by_offset(btf, m->name_off);
		unsigned int moff = btf_member_bit_offset(t, i);

		if (mname && mname[0] && !strcmp(mname, name)) {
			*off += moff / 8;
			*type_id = m->type;
			*bitfield = btf_member_bitfield_size(t, i);
			return 0;
		}
		if (!mname || !mname[0]) {
			unsigned int sub = *off + moff / 8;

			if (!btf_member(btf, m->type, name, &sub, type_id,
					bitfield)) {
				*off = sub;
				return 0;
			}
		}
	}
	return -1;
}

static int check_field(struct sema_ctx *c, struct ast_node *n)
{
	struct ast_node *base = n->a;
	const struct btf *btf;
	unsigned int off = 0;
	int type_id, bits = 0;
	char tname[96];

	if (base->kind == AST_IDENT && !strcmp(base->name, "args")) {
		base->type = sema_t_kind(TT_NONE, 0);
		return check_args_field(c, n);
	}
	if (check_expr(c, base))
		return -1;
	if ((base->type.kind != TT_PTR && base->type.kind != TT_RECORD) ||
	    !base->type.btf_id) {
		ttype_name(&base->type, tname, sizeof(tname));
		return sema_fail(c->p, n->loc,
			    "cannot take field '%s' of a %s: cast it to a struct pointer first, e.g. ((struct sock *)arg0)->%s",
			    n->name, tname, n->name);
	}
	btf = sema_btf(c->p);
	if (!btf || btf_member(btf, base->type.btf_id, n->name, &off,
			       &type_id, &bits)) {
		const struct btf_type *t = btf ?
			btf__type_by_id(btf, base->type.btf_id) : NULL;

		return sema_fail(c->p, n->loc, "struct %s has no field '%s'",
			    t ? btf__name_by_offset(btf, t->name_off) : "?",
			    n->name);
	}
	if (bits)
		return sema_fail(c->p, n->loc,
			    "field '%s' is a bit field, which is not supported yet",
			    n->name);
	n->ival = off;
	n->type = sema_btf_to_ttype(btf, type_id);
	n->type.user = base->type.user;
	/* how many bytes to read: char name[N] -> N, an int its size */
	{
		const struct btf_type *t = btf__type_by_id(
			btf, sema_btf_skip_mods(btf, type_id));

		if (n->type.kind == TT_STR)
			n->sym = t ? (int)btf_array(t)->nelems : TRACE_STRLEN;
		else if (n->type.kind == TT_INT && t && !btf_is_ptr(t))
			n->sym = t->size;
		else
			n->sym = 8;
	}
	return 0;
}

static int int_arg(struct sema_ctx *c, struct ast_node *n, const char *func,
		   int i)
{
	if (check_expr(c, n))
		return -1;
	if (!is_int(&n->type)) {
		char tname[64];

		ttype_name(&n->type, tname, sizeof(tname));
		return sema_fail(c->p, n->loc,
			    "%s: argument %d must be an integer, not %s",
			    func, i + 1, tname);
	}
	return 0;
}

static int const_arg(struct sema_ctx *c, struct ast_node *n, const char *func,
		     const char *what, long long *out)
{
	if (n->kind == AST_UNOP && n->op == '-' && n->a->kind == AST_INT) {
		*out = -n->a->ival;
		n->type = sema_t_int(true);
		return 0;
	}
	if (n->kind != AST_INT)
		return sema_fail(c->p, n->loc, "%s: %s must be a constant integer",
			    func, what);
	*out = n->ival;
	n->type = sema_t_int(true);
	return 0;
}

static int nargs_ok(struct sema_ctx *c, struct ast_node *n, int min, int max)
{
	if (n->nlist < min || n->nlist > max) {
		if (min == max)
			return sema_fail(c->p, n->loc,
				    "%s() takes %d argument%s, %d given",
				    n->name, min, min == 1 ? "" : "s",
				    n->nlist);
		return sema_fail(c->p, n->loc,
			    "%s() takes %d to %d arguments, %d given",
			    n->name, min, max, n->nlist);
	}
	return 0;
}

static int add_printf(struct sema_ctx *c, struct ast_node *n, int first)
{
	struct trace_prog *p = c->p;
	struct ttype args = { .kind = TT_TUPLE };
	struct trace_printf *pf;
	char err[256];
	int bad = -1;

	if (n->list[0]->kind != AST_STR)
		return sema_fail(p, n->loc, "%s: the format must be a string literal",
			    n->name);
	args.nelems = n->nlist - first;
	args.elems = calloc(args.nelems + 1, sizeof(*args.elems));
	args.offsets = calloc(args.nelems + 1, sizeof(*args.offsets));
	for (int i = first; i < n->nlist; i++) {
		struct ast_node *a = n->list[i];

		if (check_expr(c, a))
			goto fail;
		if (!storable(&a->type) && a->type.kind != TT_RECORD) {
			sema_fail(p, a->loc, "%s: this value cannot be printed",
			     n->name);
			goto fail;
		}
		args.elems[i - first] = a->type;
		if (a->type.kind == TT_PTR)
			args.elems[i - first] = sema_t_int(false);
	}
	layout_tuple(&args);
	if (!strcmp(n->name, "printf") && p->second_pass &&
	    tprint_check_format(n->list[0]->str, &args, &bad, err,
				sizeof(err))) {
		sema_fail(p, bad >= 0 ? n->list[bad + first]->loc : n->list[0]->loc,
		     "%s", err);
		goto fail;
	}
	if (p->second_pass) {
		pf = realloc(p->printfs, (p->nprintfs + 1) * sizeof(*pf));
		if (!pf)
			goto fail;
		p->printfs = pf;
		pf = &pf[p->nprintfs];
		pf->fmt = strdup(n->list[0]->str);
		pf->args = args;
		pf->loc = n->loc;
		n->sym = p->nprintfs++;
		n->type = args;
		n->type.elems = pf->args.elems;
		return 0;
	}
	free(args.elems);
	free(args.offsets);
	return 0;
fail:
	free(args.elems);
	free(args.offsets);
	return -1;
}

static int check_map_arg(struct sema_ctx *c, struct ast_node *n, int i,
			 bool keys_allowed)
{
	struct ast_node *m = n->list[i];
	struct trace_map *map;

	if (m->kind != AST_MAP)
		return sema_fail(c->p, m->loc, "%s() expects a map, e.g. %s(@x)",
			    n->name, n->name);
	if (m->nlist && !keys_allowed)
		return sema_fail(c->p, m->loc,
			    "%s() takes a whole map, without a key", n->name);
	for (int k = 0; k < m->nlist; k++)
		if (check_expr(c, m->list[k]))
			return -1;
	map = find_map(c->p, m->name);
	if (!map || !map->value.kind) {
		if (!c->p->second_pass)
			return 0;
		return sema_fail(c->p, m->loc, "map %s is never assigned", m->name);
	}
	if (m->nlist && map_use_key(c, m, map))
		return -1;
	m->sym = map - c->p->maps;
	m->type = map->value;
	return 0;
}

/* ---- functions ---------------------------------------------------------- */

static int check_printf(struct sema_ctx *c, struct ast_node *n)
{
	if (n->nlist < 1)
		return sema_fail(c->p, n->loc, "printf() needs a format");
	if (add_printf(c, n, 1))
		return -1;
	n->type = sema_t_kind(TT_NONE, 0);
	return 0;
}

/* signal(), system(), override(): only with --unsafe, as in bpftrace. */
static int check_unsafe(struct sema_ctx *c, struct ast_node *n)
{
	if (c->p->unsafe)
		return 0;
	return sema_fail(c->p, n->loc,
			 "%s() is unsafe: run loupe trace --unsafe to allow it",
			 n->name);
}

static int check_system(struct sema_ctx *c, struct ast_node *n)
{
	if (check_unsafe(c, n) || add_printf(c, n, 1))
		return -1;
	n->type = sema_t_kind(TT_NONE, 0);
	return 0;
}

/* A signal by number or name ("KILL", "SIGKILL"); 0 if unknown. */
static int signal_number(const char *name)
{
	if (!strncmp(name, "SIG", 3))
		name += 3;
	for (int i = 1; i < NSIG; i++) {
		const char *abbrev = sigabbrev_np(i);

		if (abbrev && !strcmp(abbrev, name))
			return i;
	}
	return 0;
}

/* signal(SIG): to the current task, by bpf_send_signal() */
static int check_signal(struct sema_ctx *c, struct ast_node *n)
{
	struct ast_node *a = n->list[0];
	enum probe_kind k = c->inst->kind;

	if (check_unsafe(c, n))
		return -1;
	if (k == PK_BEGIN || k == PK_END)
		return sema_fail(c->p, n->loc,
				 "signal() cannot be used in BEGIN or END: they run in loupe itself");
	if (a->kind == AST_STR) {
		int sig = signal_number(a->str);

		if (!sig)
			return sema_fail(c->p, a->loc,
					 "signal: unknown signal '%s'; give a name like \"KILL\" or a number",
					 a->str);
		n->ival = sig;
	} else if (int_arg(c, a, n->name, 0)) {
		return -1;
	} else if (a->kind == AST_INT && (a->ival < 1 || a->ival >= NSIG)) {
		return sema_fail(c->p, a->loc,
				 "signal: %lld is not a signal number (1 to %d)",
				 a->ival, NSIG - 1);
	}
	n->type = sema_t_kind(TT_NONE, 0);
	return 0;
}

/*
 * override(rc): a kprobe's function returns rc without running. Only a
 * kprobe program may call bpf_override_return(), and only on functions
 * that allow error injection.
 */
static int check_override(struct sema_ctx *c, struct ast_node *n)
{
	if (check_unsafe(c, n) || int_arg(c, n->list[0], n->name, 0))
		return -1;
	if (c->inst->kind != PK_KPROBE)
		return sema_fail(c->p, n->loc,
				 "override() needs a kprobe (kprobe:FUNC of a function that allows error injection); %s is not one",
				 c->inst->name);
	n->type = sema_t_kind(TT_NONE, 0);
	return 0;
}

static int check_print(struct sema_ctx *c, struct ast_node *n)
{
	struct trace_prog *p = c->p;

	if (n->list[0]->kind == AST_MAP && !n->list[0]->nlist) {
		long long v;

		if (check_map_arg(c, n, 0, false))
			return -1;
		for (int i = 1; i < n->nlist; i++)
			if (const_arg(c, n->list[i], n->name,
				      i == 1 ? "top" : "div", &v))
				return -1;
		return 0;
	}
	if (n->nlist != 1)
		return sema_fail(p, n->loc,
			    "print(value) takes one argument");
	if (check_expr(c, n->list[0]))
		return -1;
	if (!storable(&n->list[0]->type))
		return sema_fail(p, n->list[0]->loc,
			    "this value cannot be printed");
	if (p->second_pass) {
		struct ttype *pv = realloc(p->print_vals,
					   (p->nprint_vals + 1) *
					   sizeof(*pv));

		if (!pv)
			return -ENOMEM;
		p->print_vals = pv;
		pv[p->nprint_vals] = type_copy(&n->list[0]->type);
		if (pv[p->nprint_vals].kind == TT_PTR)
			pv[p->nprint_vals] = sema_t_int(false);
		n->sym = p->nprint_vals++;
	}
	return 0;
}

/* clear(@m), zero(@m) */
static int check_whole_map(struct sema_ctx *c, struct ast_node *n)
{
	return check_map_arg(c, n, 0, false);
}

static int check_delete(struct sema_ctx *c, struct ast_node *n)
{
	if (n->list[0]->kind != AST_MAP)
		return sema_fail(c->p, n->loc,
			    "delete() expects a map element, e.g. delete(@x[pid])");
	return check_map_arg(c, n, 0, true);
}

static int check_exit(struct sema_ctx *c, struct ast_node *n)
{
	(void)c;
	n->type = sema_t_kind(TT_NONE, 0);
	return 0;
}

static int check_time(struct sema_ctx *c, struct ast_node *n)
{
	struct trace_prog *p = c->p;

	if (n->nlist && n->list[0]->kind != AST_STR)
		return sema_fail(p, n->loc,
			    "time() takes a format string literal");
	if (p->second_pass) {
		char **tf = realloc(p->time_fmts, (p->ntime_fmts + 1) *
				    sizeof(*tf));

		if (!tf)
			return -ENOMEM;
		p->time_fmts = tf;
		tf[p->ntime_fmts] = strdup(n->nlist ? n->list[0]->str :
					   "%H:%M:%S\n");
		n->sym = p->ntime_fmts++;
	}
	return 0;
}

static int check_str(struct sema_ctx *c, struct ast_node *n)
{
	if (check_expr(c, n->list[0]))
		return -1;
	if (n->nlist == 2 && int_arg(c, n->list[1], n->name, 1))
		return -1;
	if (n->list[0]->type.kind != TT_STR &&
	    !is_int(&n->list[0]->type))
		return sema_fail(c->p, n->loc,
			    "str() reads a string from a pointer or an address");
	n->type = sema_t_str();
	return 0;
}

/* ksym(addr), usym(addr) */
static int check_sym(struct sema_ctx *c, struct ast_node *n)
{
	if (int_arg(c, n->list[0], n->name, 0))
		return -1;
	n->type = n->name[0] == 'k' ? sema_t_kind(TT_KSYM, 8) :
		  sema_t_kind(TT_USYM, 16);
	return 0;
}

/* A stack map limit frames deep for kstack(N)/ustack(N), once. */
static int use_stack_map(struct sema_ctx *c, struct ast_node *n, bool user,
			 int limit)
{
	struct trace_prog *p = c->p;
	struct trace_stack_map *sm;

	for (int i = 0; i < p->nstack_maps; i++)
		if (p->stack_maps[i].user == user &&
		    p->stack_maps[i].limit == limit)
			return 0;
	if (p->nstack_maps == TRACE_MAX_STACK_MAPS)
		return sema_fail(p, n->loc,
				 "%s: at most %d different frame limits in a program",
				 n->name, TRACE_MAX_STACK_MAPS);
	sm = &p->stack_maps[p->nstack_maps++];
	sm->user = user;
	sm->limit = limit;
	sm->fd = -1;
	return 0;
}

/*
 * A stack mode word: the output (bpftrace, perf) or, for ustack, how it
 * is walked (fp, dwarf, auto); 0, or -1 with the error said.
 */
static int stack_mode(struct sema_ctx *c, struct ast_node *n,
		      struct ast_node *a, struct ttype *t, int *unwind)
{
	static const char *const walks[] = { "fp", "dwarf", "auto" };
	bool user = n->name[0] == 'u';
	const char *mode = a->name;

	if (!strcmp(mode, "perf") || !strcmp(mode, "bpftrace")) {
		t->stack_perf = mode[0] == 'p';
		return 0;
	}
	for (int i = 0; user && i < 3; i++)
		if (!strcmp(mode, walks[i])) {
			*unwind = i;
			return 0;
		}
	return sema_fail(c->p, a->loc, user ?
			 "%s: unknown stack mode '%s': give bpftrace or perf (output), fp, dwarf or auto (walk)" :
			 "%s: unknown stack mode '%s': give bpftrace or perf",
			 n->name, mode);
}

/* The offset of struct sname's member in the kernel's BTF, or -1. */
static long kernel_member(struct trace_prog *p, const char *sname,
			  const char *member)
{
	struct btf *btf = sema_btf(p);
	unsigned int off = 0;
	int id, type_id, bits = 0;

	id = btf ? btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT) : -1;
	if (id <= 0 || btf_member(btf, id, member, &off, &type_id, &bits))
		return -1;
	return off;
}

int sema_ustack_unwind(struct trace_prog *p, struct ttype *t, int unwind)
{
	t->stack_unwind = unwind < 0 ? p->unwind : (unsigned char)unwind;
	if (t->stack_unwind != TRACE_UNWIND_FP && !p->uses_ucopy) {
		long mm = kernel_member(p, "task_struct", "mm");
		long top = kernel_member(p, "mm_struct", "start_stack");

		/* without them a copy stops at the stack pointer's page */
		p->ucopy_mm_off = mm > 0 ? mm : 0;
		p->ucopy_top_off = top > 0 ? top : 0;
		p->uses_ucopy = true;
	}
	/* auto walks processes with frame pointers in the kernel */
	if (t->stack_unwind == TRACE_UNWIND_DWARF)
		return 0;
	if (!t->stack_limit)
		p->uses_ustack = true;
	return 1;
}

/*
 * kstack(N), kstack(perf), kstack(perf, N), kstack(bpftrace, N), ustack,
 * ustack(dwarf), ustack(perf, dwarf, N): mode words, then the limit.
 */
static int check_stack(struct sema_ctx *c, struct ast_node *n)
{
	bool user = n->name[0] == 'u';
	struct ttype t = user ? sema_t_kind(TT_USTACK, 16) :
			 sema_t_kind(TT_KSTACK, 8);
	long long limit = 0;
	int i = 0, unwind = -1;

	for (; i < n->nlist && n->list[i]->kind == AST_IDENT; i++)
		if (stack_mode(c, n, n->list[i], &t, &unwind))
			return -1;
	if (i < n->nlist - 1 || i > (user ? 2 : 1))
		return sema_fail(c->p, n->list[i < n->nlist ? i : 0]->loc,
				 user ? "%s: give the modes (bpftrace or perf, fp, dwarf or auto), then the number of frames" :
				 "%s: the first of two arguments is the stack mode: bpftrace or perf",
				 n->name);
	if (i < n->nlist) {
		if (const_arg(c, n->list[i], n->name, "the number of frames",
			      &limit))
			return -1;
		if (limit < 1 || limit > TRACE_STACK_DEPTH)
			return sema_fail(c->p, n->list[i]->loc,
					 "%s: the number of frames must be 1 to %d",
					 n->name, TRACE_STACK_DEPTH);
	}
	if (limit == TRACE_STACK_DEPTH)
		limit = 0;
	t.stack_limit = (int)limit;
	if (user && !sema_ustack_unwind(c->p, &t, unwind)) {
		n->type = t;
		return 0;
	}
	if (limit && use_stack_map(c, n, user, (int)limit))
		return -1;
	if (!limit && !user)
		c->p->uses_kstack = true;
	n->type = t;
	return 0;
}

static int check_kaddr(struct sema_ctx *c, struct ast_node *n)
{
	if (n->list[0]->kind != AST_STR)
		return sema_fail(c->p, n->loc,
			    "kaddr() takes a symbol name literal");
	n->type = sema_t_int(false);
	return 0;
}

static int check_ntop(struct sema_ctx *c, struct ast_node *n)
{
	struct ast_node *addr;

	if (n->nlist == 2 && int_arg(c, n->list[0], n->name, 0))
		return -1;
	addr = n->list[n->nlist - 1];
	if (check_expr(c, addr))
		return -1;
	if (!is_int(&addr->type) &&
	    !(addr->type.kind == TT_RECORD &&
	      (addr->type.size == 4 || addr->type.size == 16)))
		return sema_fail(c->p, addr->loc,
			    "ntop() takes an IPv4 address as an integer, or a 4- or 16-byte array");
	n->type = sema_t_kind(TT_INET, 24);
	return 0;
}

/* strncmp(s1, s2, n): n a constant; bytes past a string's 64 are 0 */
static int check_strncmp(struct sema_ctx *c, struct ast_node *n)
{
	long long len;

	for (int i = 0; i < 2; i++) {
		if (check_expr(c, n->list[i]))
			return -1;
		if (n->list[i]->type.kind != TT_STR)
			return sema_fail(c->p, n->list[i]->loc,
					 "strncmp: argument %d must be a string",
					 i + 1);
	}
	if (const_arg(c, n->list[2], n->name, "the length", &len))
		return -1;
	if (len < 0)
		return sema_fail(c->p, n->list[2]->loc,
				 "strncmp: the length must not be negative");
	n->ival = len < TRACE_STRLEN ? len : TRACE_STRLEN;
	n->type = sema_t_int(false);
	return 0;
}

/*
 * cgroupid("/sys/fs/cgroup/unified/x"): a constant, as in bpftrace: a
 * cgroup v2 id is its directory's inode number.
 */
static int check_cgroupid(struct sema_ctx *c, struct ast_node *n)
{
	struct ast_node *a = n->list[0];
	struct stat st;

	if (a->kind != AST_STR)
		return sema_fail(c->p, a->loc,
				 "cgroupid() takes a cgroup path literal, e.g. cgroupid(\"/sys/fs/cgroup/unified/user.slice\")");
	if (stat(a->str, &st))
		return sema_fail(c->p, a->loc,
				 "cgroupid: cannot read cgroup '%s': %s",
				 a->str, strerror(errno));
	n->ival = (long long)st.st_ino;
	n->type = sema_t_int(false);
	return 0;
}

/* cgroup_path(id[, "hierarchy glob"]): resolved when printed */
static int check_cgroup_path(struct sema_ctx *c, struct ast_node *n)
{
	if (int_arg(c, n->list[0], n->name, 0))
		return -1;
	if (n->nlist == 2 && n->list[1]->kind != AST_STR)
		return sema_fail(c->p, n->list[1]->loc,
				 "cgroup_path: the filter must be a string literal, e.g. \"unified\"");
	n->type = sema_t_kind(TT_CGROUP_PATH, 8);
	n->type.fmt = n->nlist == 2 ? n->list[1]->str : NULL;
	return 0;
}

/*
 * buf(data, length): up to 64 bytes (bpftrace's string size) of a string,
 * a kernel array or memory at an address; the length may be left out for
 * arrays. n->ival: the capacity.
 */
static int check_buf(struct sema_ctx *c, struct ast_node *n)
{
	struct ast_node *a = n->list[0];
	long long cap = TRACE_STRLEN;

	if (check_expr(c, a))
		return -1;
	if (a->type.kind != TT_STR && a->type.kind != TT_RECORD &&
	    !is_int(&a->type))
		return sema_fail(c->p, a->loc,
				 "buf() reads a string, an array or memory at an address");
	if (n->nlist == 1) {
		if (a->type.kind != TT_RECORD)
			return sema_fail(c->p, n->loc,
					 "buf() needs a length unless its argument is an array");
		cap = a->type.size;
	} else if (int_arg(c, n->list[1], n->name, 1)) {
		return -1;
	} else if (n->list[1]->kind == AST_INT) {
		cap = n->list[1]->ival;
	}
	if (cap < 1)
		return sema_fail(c->p, n->loc,
				 "buf: the length must be at least 1");
	if (cap > TRACE_STRLEN)
		cap = TRACE_STRLEN;
	n->ival = cap;
	n->type = sema_t_kind(TT_BUF, 8 + ((cap + 7) & ~7));
	n->type.user = a->type.user;
	return 0;
}

/* The length of a char array a was read from (0: not one). */
static int char_array_len(struct sema_ctx *c, const struct ast_node *a)
{
	if (a->kind != AST_FIELD || a->type.kind != TT_STR)
		return 0;
	if (a->a->kind == AST_IDENT && !strcmp(a->a->name, "args"))
		return c->inst->kind == PK_TRACEPOINT ?
		       c->inst->tp.fields[a->sym].array_len : 0;
	return a->sym;	/* a BTF field: its nelems (check_field) */
}

/* macaddr(array or address): 6 bytes */
static int check_macaddr(struct sema_ctx *c, struct ast_node *n)
{
	struct ast_node *a = n->list[0];

	if (check_expr(c, a))
		return -1;
	if ((a->type.kind == TT_RECORD && a->type.size != 6) ||
	    (a->type.kind == TT_STR && char_array_len(c, a) != 6))
		return sema_fail(c->p, a->loc,
				 "macaddr() argument must be 6 bytes in size");
	if (a->type.kind != TT_RECORD && a->type.kind != TT_STR &&
	    !is_int(&a->type))
		return sema_fail(c->p, a->loc,
				 "macaddr() takes a 6-byte array or its address");
	n->type = sema_t_kind(TT_MACADDR, 8);
	return 0;
}

/* x86-64 struct pt_regs, by bpftrace's register names */
static const struct {
	const char *name;
	int off;
} regs[] = {
	{ "r15", 0 }, { "r14", 8 }, { "r13", 16 }, { "r12", 24 },
	{ "bp", 32 }, { "bx", 40 }, { "r11", 48 }, { "r10", 56 },
	{ "r9", 64 }, { "r8", 72 }, { "ax", 80 }, { "cx", 88 },
	{ "dx", 96 }, { "si", 104 }, { "di", 112 }, { "orig_ax", 120 },
	{ "ip", 128 }, { "cs", 136 }, { "flags", 144 }, { "sp", 152 },
	{ "ss", 160 },
};

/* reg("ip"): where the context is the task's registers; n->ival: offset */
static int check_reg(struct sema_ctx *c, struct ast_node *n)
{
	struct ast_node *a = n->list[0];
	enum probe_kind k = c->inst->kind;
	struct sema_near near;
	char hint[96];

	if (k != PK_KPROBE && k != PK_KRETPROBE && k != PK_UPROBE &&
	    k != PK_URETPROBE && k != PK_USDT && k != PK_PROFILE &&
	    k != PK_INTERVAL && k != PK_SOFTWARE)
		return sema_fail(c->p, n->loc,
				 "reg() needs the task's registers: kprobe, uprobe, usdt, profile, interval or software probes, not %s",
				 c->inst->name);
	if (a->kind != AST_STR)
		return sema_fail(c->p, a->loc,
				 "reg() takes a register name literal, e.g. reg(\"ip\")");
	sema_near_init(&near, a->str);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		if (!strcmp(regs[i].name, a->str)) {
			n->ival = regs[i].off;
			n->type = sema_t_int(false);
			n->type.user = k == PK_UPROBE || k == PK_URETPROBE ||
				       k == PK_USDT;
			return 0;
		}
		sema_near_add(&near, regs[i].name);
	}
	return sema_fail(c->p, a->loc, "reg: unknown register '%s'%s", a->str,
			 sema_near_hint(&near, hint, sizeof(hint)));
}

/* cat(fmt, args...): printed by loupe, like printf */
static int check_cat(struct sema_ctx *c, struct ast_node *n)
{
	if (add_printf(c, n, 1))
		return -1;
	n->type = sema_t_kind(TT_NONE, 0);
	return 0;
}

static int check_strftime(struct sema_ctx *c, struct ast_node *n)
{
	if (n->list[0]->kind != AST_STR)
		return sema_fail(c->p, n->loc,
			    "strftime() takes a format string literal");
	if (int_arg(c, n->list[1], n->name, 1))
		return -1;
	n->type = sema_t_kind(TT_TIMESTAMP, 8);
	n->type.fmt = n->list[0]->str;
	return 0;
}

/*
 * Every function of the language. Adding one is a row here, its check
 * above and its lowering in lower.c; aggregations are typed by
 * check_aggregation() and lowered with their map.
 */
/* below, next to the casts they share the type names with */
static int check_sizeof(struct sema_ctx *c, struct ast_node *n);
static int check_offsetof(struct sema_ctx *c, struct ast_node *n);

static const struct trace_func funcs[] = {
	{ "printf", 1, -1, check_printf, FO_PRINTF },
	{ "print", 1, 3, check_print, FO_PRINT },
	{ "clear", 1, 1, check_whole_map, FO_CLEAR },
	{ "zero", 1, 1, check_whole_map, FO_ZERO },
	{ "delete", 1, 1, check_delete, FO_DELETE },
	{ "exit", 0, 0, check_exit, FO_EXIT },
	{ "time", 0, 1, check_time, FO_TIME },
	{ "str", 1, 2, check_str, FO_STR, true },
	{ "ksym", 1, 1, check_sym, FO_KSYM, true },
	{ "usym", 1, 1, check_sym, FO_USYM, true },
	{ "kaddr", 1, 1, check_kaddr, FO_KADDR, true },
	{ "ntop", 1, 2, check_ntop, FO_NTOP, true },
	{ "strftime", 2, 2, check_strftime, FO_STRFTIME, true },
	{ "strncmp", 3, 3, check_strncmp, FO_STRNCMP, true },
	{ "sizeof", 0, 1, check_sizeof, FO_CONST, true },
	{ "offsetof", 1, 1, check_offsetof, FO_CONST, true },
	{ "cgroupid", 1, 1, check_cgroupid, FO_CONST, true },
	{ "cgroup_path", 1, 2, check_cgroup_path, FO_CGROUP_PATH, true },
	{ "buf", 1, 2, check_buf, FO_BUF, true },
	{ "macaddr", 1, 1, check_macaddr, FO_MACADDR, true },
	{ "reg", 1, 1, check_reg, FO_REG, true },
	{ "cat", 1, -1, check_cat, FO_CAT },
	{ "system", 1, -1, check_system, FO_SYSTEM },
	{ "signal", 1, 1, check_signal, FO_SIGNAL },
	{ "override", 1, 1, check_override, FO_OVERRIDE },
	{ "kstack", 0, 2, check_stack, FO_STACK, true },
	{ "ustack", 0, 3, check_stack, FO_STACK, true },
	{ "count", 0, 0, .aggregation = TT_COUNT },
	{ "sum", 1, 1, .aggregation = TT_SUM },
	{ "avg", 1, 1, .aggregation = TT_AVG },
	{ "min", 1, 1, .aggregation = TT_MIN },
	{ "max", 1, 1, .aggregation = TT_MAX },
	{ "stats", 1, 1, .aggregation = TT_STATS },
	{ "hist", 1, 1, .aggregation = TT_HIST },
	{ "lhist", 4, 4, .aggregation = TT_LHIST },
};

const struct trace_func *sema_func_find(const char *name)
{
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (!strcmp(funcs[i].name, name))
			return &funcs[i];
	return NULL;
}

static bool is_aggregation(const char *name)
{
	const struct trace_func *fn = sema_func_find(name);

	return fn && fn->aggregation;
}

static int check_call(struct sema_ctx *c, struct ast_node *n)
{
	const struct trace_func *fn = sema_func_find(n->name);

	if (!fn) {
		struct sema_near near;
		char hint[96];

		sema_near_init(&near, n->name);
		for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
			sema_near_add(&near, funcs[i].name);
		return sema_fail(c->p, n->loc, "unknown function '%s'%s",
				 n->name, sema_near_hint(&near, hint,
							 sizeof(hint)));
	}
	if (fn->aggregation)
		return sema_fail(c->p, n->loc,
			    "%s() must be assigned to a map, e.g. @x = %s(...)",
			    n->name, n->name);
	if (fn->max_args >= 0 &&
	    nargs_ok(c, n, fn->min_args, fn->max_args))
		return -1;
	return fn->check(c, n);
}

/*
 * p + n, n + p, p - n, p += n: a pointer moved by n of what it points to,
 * as in C and bpftrace; lowering multiplies n by this step (n->ival).
 */
static long long pointer_step(struct sema_ctx *c, const struct ttype *ptr)
{
	long long size = 0;

	if (ptr->btf_id && sema_btf(c->p))
		size = btf__resolve_size(c->p->btf, ptr->btf_id);
	return size > 1 ? size : 1;
}

static int check_binop(struct sema_ctx *c, struct ast_node *n)
{
	struct ttype *a = &n->a->type, *b = &n->b->type;
	int op = n->op;

	if (check_expr(c, n->a) || check_expr(c, n->b))
		return -1;
	if (a->kind == TT_STR || b->kind == TT_STR) {
		if (a->kind != TT_STR || b->kind != TT_STR ||
		    (op != TOK_EQ && op != TOK_NE))
			return sema_fail(c->p, n->loc,
				    "strings can only be compared with == and != to strings");
		n->type = sema_t_int(false);
		return 0;
	}
	if (!is_int(a) || !is_int(b)) {
		char an[64], bn[64];

		ttype_name(a, an, sizeof(an));
		ttype_name(b, bn, sizeof(bn));
		return sema_fail(c->p, n->loc, "operator %s needs integers, not %s and %s",
			    ast_tok_name(op), an, bn);
	}
	switch (op) {
	case TOK_EQ: case TOK_NE: case '<': case '>': case TOK_LE:
	case TOK_GE: case TOK_LAND: case TOK_LOR:
		n->type = sema_t_int(false);
		break;
	default:
		n->type = sema_t_int(a->is_signed && b->is_signed);
		if ((op == '+' || op == '-') &&
		    (a->kind == TT_PTR) != (b->kind == TT_PTR) &&
		    (op == '+' || a->kind == TT_PTR)) {
			n->type = a->kind == TT_PTR ? *a : *b;
			n->ival = pointer_step(c, &n->type);
		}
	}
	return 0;
}

/* bpftrace's integer types; btf: the kernel's name for the same type */
static const struct {
	const char *name;
	unsigned int size;
	bool is_signed;
	const char *btf;
} int_types[] = {
	{ "int8", 1, true, "s8" }, { "int16", 2, true, "s16" },
	{ "int32", 4, true, "s32" }, { "int64", 8, true, "s64" },
	{ "uint8", 1, false, "u8" }, { "uint16", 2, false, "u16" },
	{ "uint32", 4, false, "u32" }, { "uint64", 8, false, "u64" },
	{ "char", 1, true, "char" }, { "short", 2, true, "short int" },
	{ "int", 4, true, "int" }, { "long", 8, true, "long int" },
	{ "unsigned int", 4, false, "unsigned int" },
	{ "unsigned long", 8, false, "long unsigned int" },
	{ "unsigned char", 1, false, "unsigned char" },
	{ "unsigned short", 2, false, "short unsigned int" },
	{ "long long", 8, true, "long long int" },
	{ "unsigned long long", 8, false, "long long unsigned int" },
};

/* "uint32" -> "u32": integer pointers point to the kernel's own type. */
static const char *kernel_int_name(const char *name)
{
	for (size_t i = 0; i < sizeof(int_types) / sizeof(int_types[0]); i++)
		if (!strcmp(name, int_types[i].name))
			return int_types[i].btf;
	return name;
}

/*
 * A syscall's "const char *" argument (args->filename) reads as the
 * string; cast to a pointer, it is the pointer itself.
 */
static void tp_field_as_pointer(struct sema_ctx *c, struct ast_node *e)
{
	const struct trace_inst *inst = c->inst;

	if (inst->kind != PK_TRACEPOINT || e->kind != AST_FIELD ||
	    e->a->kind != AST_IDENT || strcmp(e->a->name, "args") ||
	    e->type.kind != TT_STR || !inst->tp.fields[e->sym].is_pointer)
		return;
	e->type = sema_t_kind(TT_PTR, 8);
	e->type.user = !strcmp(inst->target, "syscalls");
}

/* "struct x", "union y", "uint32", "u64" in the kernel's BTF; -1 if not. */
static int find_btf_type(struct sema_ctx *c, struct ast_node *n,
			 const char *name)
{
	int id;

	if (!sema_btf(c->p))
		return sema_fail(c->p, n->loc, "cannot load the kernel's BTF");
	if (!strncmp(name, "struct ", 7) &&
	    (id = sema_btf_script_struct(c->p->btf, name + 7)) > 0)
		return id;	/* the script's own wins */
	if (!strncmp(name, "struct ", 7))
		id = btf__find_by_name_kind(c->p->btf, name + 7,
					    BTF_KIND_STRUCT);
	else if (!strncmp(name, "union ", 6))
		id = btf__find_by_name_kind(c->p->btf, name + 6,
					    BTF_KIND_UNION);
	else
		id = btf__find_by_name(c->p->btf, kernel_int_name(name));
	if (id <= 0)
		return sema_fail(c->p, n->loc,
				 "type '%s' not found in the kernel's BTF",
				 name);
	return id;
}

/* sizeof(TYPE) or sizeof(expr): a constant, in n->ival */
static int check_sizeof(struct sema_ctx *c, struct ast_node *n)
{
	long long size;
	int id;

	n->type = sema_t_int(false);
	if (!n->type_name) {
		if (n->nlist != 1)
			return sema_fail(c->p, n->loc,
					 "sizeof takes a type or an expression");
		if (check_expr(c, n->list[0]))
			return -1;
		n->ival = n->list[0]->type.size;
		return 0;
	}
	if (strchr(n->type_name, '*')) {
		n->ival = 8;
		return 0;
	}
	for (size_t i = 0; i < sizeof(int_types) / sizeof(int_types[0]); i++)
		if (!strcmp(n->type_name, int_types[i].name)) {
			n->ival = int_types[i].size;
			return 0;
		}
	id = find_btf_type(c, n, n->type_name);
	if (id <= 0)
		return -1;
	size = btf__resolve_size(c->p->btf, id);
	if (size < 0)
		return sema_fail(c->p, n->loc, "'%s' has no size",
				 n->type_name);
	n->ival = size;
	return 0;
}

/* offsetof(struct X, field): the field's byte offset, in n->ival */
static int check_offsetof(struct sema_ctx *c, struct ast_node *n)
{
	const struct btf_type *t;
	const struct btf_member *m;
	const char *field;
	int id;

	n->type = sema_t_int(false);
	if (!n->type_name || n->nlist != 1 || n->list[0]->kind != AST_IDENT)
		return sema_fail(c->p, n->loc,
				 "offsetof takes a struct and a field: offsetof(struct NAME, FIELD)");
	field = n->list[0]->name;
	id = find_btf_type(c, n, n->type_name);
	if (id <= 0)
		return -1;
	t = btf__type_by_id(c->p->btf, sema_btf_skip_mods(c->p->btf, id));
	if (!btf_is_composite(t))
		return sema_fail(c->p, n->loc, "'%s' is not a struct or union",
				 n->type_name);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *mname = btf__name_by_offset(c->p->btf, m->name_off);

		if (mname && !strcmp(mname, field)) {
			n->ival = btf_member_bit_offset(t, i) / 8;
			return 0;
		}
	}
	return sema_fail(c->p, n->list[0]->loc, "%s has no field '%s'",
			 n->type_name, field);
}

static int check_cast(struct sema_ctx *c, struct ast_node *n)
{
	char name[128], *star;
	int id;

	if (check_expr(c, n->a))
		return -1;
	if (strchr(n->type_name, '*'))
		tp_field_as_pointer(c, n->a);
	snprintf(name, sizeof(name), "%s", n->type_name);
	for (size_t i = 0; i < sizeof(int_types) / sizeof(int_types[0]); i++)
		if (!strcmp(name, int_types[i].name)) {
			if (!is_int(&n->a->type))
				return sema_fail(c->p, n->loc,
					    "only integers can be cast to %s",
					    name);
			n->type = sema_t_int(int_types[i].is_signed);
			n->ival = int_types[i].size;
			return 0;
		}
	star = strchr(name, '*');
	if (!star || (!is_int(&n->a->type) && n->a->type.kind != TT_PTR))
		return sema_fail(c->p, n->loc,
			    "cannot cast to '%s': use an integer type or a struct pointer",
			    n->type_name);
	while (star > name && star[-1] == ' ')
		star--;
	*star = '\0';
	id = find_btf_type(c, n, name);
	if (id <= 0)
		return -1;
	n->type = sema_t_kind(TT_PTR, 8);
	n->type.btf_id = sema_btf_skip_mods(c->p->btf, id);
	n->type.user = n->a->type.user;
	n->ival = 8;
	return 0;
}

static int check_map_read(struct sema_ctx *c, struct ast_node *n)
{
	struct trace_map *m;

	for (int i = 0; i < n->nlist; i++)
		if (check_expr(c, n->list[i]))
			return -1;
	m = find_map(c->p, n->name);
	if (!m || !m->value.kind) {
		if (c->p->second_pass)
			return sema_fail(c->p, n->loc,
				    "map %s is used but never assigned",
				    n->name);
		n->type = sema_t_int(false);
		n->sym = -1;
		return 0;
	}
	if (map_use_key(c, n, m))
		return -1;
	n->sym = m - c->p->maps;
	switch (m->value.kind) {
	case TT_COUNT: case TT_SUM: case TT_MIN: case TT_MAX: case TT_AVG:
		n->type = sema_t_int(m->value.is_signed || m->value.kind != TT_COUNT);
		return 0;
	case TT_STATS: case TT_HIST: case TT_LHIST:
		return sema_fail(c->p, n->loc,
			    "map %s holds a %s, which can only be printed",
			    n->name, m->value.kind == TT_STATS ? "stats()" :
			    "histogram");
	default:
		n->type = m->value;
		return 0;
	}
}

static int check_expr(struct sema_ctx *c, struct ast_node *n)
{
	struct trace_var *v;

	switch (n->kind) {
	case AST_INT:
		n->type = sema_t_int(true);
		return 0;
	case AST_STR:
		if (n->str_len >= TRACE_STRLEN)
			return sema_fail(c->p, n->loc,
				    "string literal longer than %d bytes",
				    TRACE_STRLEN - 1);
		n->type = sema_t_str();
		return 0;
	case AST_IDENT:
		return check_ident(c, n);
	case AST_VAR:
		v = find_var(c->p, n->name);
		if (!v || !v->assigned)
			return sema_fail(c->p, n->loc,
				    "variable %s is used before it is assigned",
				    n->name);
		n->sym = v - c->p->vars;
		n->type = v->type;
		return 0;
	case AST_POSITIONAL:
		if (n->ival < 1 || n->ival > c->p->npositional)
			return sema_fail(c->p, n->loc,
				    "positional parameter $%lld was not given on the command line",
				    n->ival);
		{
			const char *s = c->p->positional[n->ival - 1];
			char *end;

			errno = 0;
			strtoll(s, &end, 0);
			n->type = (*s && !*end && !errno) ? sema_t_int(true) :
				  sema_t_str();
		}
		return 0;
	case AST_MAP:
		return check_map_read(c, n);
	case AST_CALL:
		return check_call(c, n);
	case AST_UNOP:
		if (check_expr(c, n->a))
			return -1;
		if (n->op == '*') {
			if (n->a->type.kind != TT_PTR)
				return sema_fail(c->p, n->loc,
					    "only pointers can be dereferenced");
			if (n->a->type.btf_id && sema_btf(c->p))
				n->type = sema_btf_to_ttype(c->p->btf,
						       n->a->type.btf_id);
			else
				n->type = sema_t_int(false);
			if (n->type.kind != TT_INT)
				return sema_fail(c->p, n->loc,
					    "dereferencing a pointer to a non-integer is not supported; use ->");
			n->type.user = n->a->type.user;
			{
				const struct btf_type *t = n->a->type.btf_id ?
					btf__type_by_id(c->p->btf,
							n->a->type.btf_id) :
					NULL;

				n->ival = t && t->size && t->size <= 8 ?
					  t->size : 8;
			}
			return 0;
		}
		if (n->op == '&')
			return sema_fail(c->p, n->loc,
				    "taking an address is not supported");
		if (!is_int(&n->a->type))
			return sema_fail(c->p, n->loc, "operator %s needs an integer",
				    ast_tok_name(n->op));
		n->type = sema_t_int(n->op == '-' ? true :
				n->op == '!' ? false : n->a->type.is_signed);
		return 0;
	case AST_INCDEC:
		if (n->a->kind == AST_VAR) {
			if (check_expr(c, n->a))
				return -1;
		} else if (n->a->kind == AST_MAP) {
			struct ttype i64 = sema_t_int(true);

			for (int i = 0; i < n->a->nlist; i++)
				if (check_expr(c, n->a->list[i]))
					return -1;
			if (map_set_value(c, n->a, &i64))
				return -1;
		} else {
			return sema_fail(c->p, n->loc,
				    "++ and -- apply to variables and maps");
		}
		if (!is_int(&n->a->type))
			return sema_fail(c->p, n->loc,
				    "++ and -- need an integer");
		n->type = n->a->type;
		return 0;
	case AST_BINOP:
		return check_binop(c, n);
	case AST_TERNARY:
		if (check_expr(c, n->a) || check_expr(c, n->b) ||
		    check_expr(c, n->c))
			return -1;
		if (!is_int(&n->a->type))
			return sema_fail(c->p, n->a->loc,
				    "the condition must be an integer");
		if (!compatible(&n->b->type, &n->c->type))
			return sema_fail(c->p, n->loc,
				    "both branches of ?: must have the same type");
		if (!storable(&n->b->type) || n->b->type.kind == TT_TUPLE)
			return sema_fail(c->p, n->loc,
				    "?: works on integers and strings");
		n->type = n->b->type;
		return 0;
	case AST_FIELD:
		return check_field(c, n);
	case AST_INDEX:
		if (check_expr(c, n->a) || int_arg(c, n->b, "[]", 1))
			return -1;
		if (n->a->type.kind != TT_PTR)
			return sema_fail(c->p, n->loc,
				    "only pointers can be indexed");
		if (n->a->type.btf_id && sema_btf(c->p)) {
			const struct btf_type *t = btf__type_by_id(
				c->p->btf, n->a->type.btf_id);

			n->type = sema_btf_to_ttype(c->p->btf, n->a->type.btf_id);
			n->ival = t && t->size ? t->size : 8;
		} else {
			n->type = sema_t_int(false);
			n->ival = 8;
		}
		if (n->type.kind != TT_INT && n->type.kind != TT_PTR)
			return sema_fail(c->p, n->loc,
				    "indexing is supported on pointers to integers and pointers");
		n->type.user = n->a->type.user;
		return 0;
	case AST_CAST:
		return check_cast(c, n);
	case AST_TUPLE:
		n->type = (struct ttype){ .kind = TT_TUPLE,
					  .nelems = n->nlist };
		n->type.elems = sema_alloc(c->p, n->nlist *
					   sizeof(struct ttype));
		n->type.offsets = sema_alloc(c->p, n->nlist *
					     sizeof(unsigned int));
		if (!n->type.elems || !n->type.offsets)
			return -ENOMEM;
		for (int i = 0; i < n->nlist; i++) {
			if (check_expr(c, n->list[i]))
				return -1;
			if (!storable(&n->list[i]->type) ||
			    n->list[i]->type.kind == TT_TUPLE)
				return sema_fail(c->p, n->list[i]->loc,
					    "this value cannot be in a tuple");
			n->type.elems[i] = n->list[i]->type;
			if (n->type.elems[i].kind == TT_PTR)
				n->type.elems[i] = sema_t_int(false);
		}
		layout_tuple(&n->type);
		return 0;
	default:
		return sema_fail(c->p, n->loc, "a statement is not a value");
	}
}

/* ---- statements --------------------------------------------------------- */

static int check_aggregation(struct sema_ctx *c, struct ast_node *mn,
			     struct ast_node *call)
{
	const struct trace_func *fn = sema_func_find(call->name);
	const char *f = call->name;
	struct ttype v = sema_t_kind(fn->aggregation, 8);
	long long lo, hi, step;

	if (nargs_ok(c, call, fn->min_args, fn->max_args))
		return -1;
	if (v.kind == TT_LHIST) {
		if (int_arg(c, call->list[0], f, 0) ||
		    const_arg(c, call->list[1], f, "min", &lo) ||
		    const_arg(c, call->list[2], f, "max", &hi) ||
		    const_arg(c, call->list[3], f, "step", &step))
			return -1;
		if (step <= 0 || hi <= lo || (hi - lo) / step > 1000)
			return sema_fail(c->p, call->loc,
				    "lhist(value, min, max, step) needs min < max, step > 0 and at most 1000 buckets");
		v.lhist_min = lo;
		v.lhist_max = hi;
		v.lhist_step = step;
		v.is_signed = true;
	} else if (v.kind != TT_COUNT) {
		if (int_arg(c, call->list[0], f, 0))
			return -1;
		v.is_signed = call->list[0]->type.is_signed ||
			      v.kind == TT_AVG || v.kind == TT_STATS ||
			      v.kind == TT_HIST;
	}
	v.size = ttype_value_size(&v);
	call->type = v;
	return map_set_value(c, mn, &v);
}

static int check_assign(struct sema_ctx *c, struct ast_node *n)
{
	struct ast_node *lhs = n->a, *rhs = n->b;
	struct trace_var *v;

	if (lhs->kind == AST_MAP) {
		for (int i = 0; i < lhs->nlist; i++)
			if (check_expr(c, lhs->list[i]))
				return -1;
		if (rhs->kind == AST_CALL && is_aggregation(rhs->name)) {
			if (n->op != '=')
				return sema_fail(c->p, n->loc,
					    "aggregations are assigned with =");
			return check_aggregation(c, lhs, rhs);
		}
		if (check_expr(c, rhs))
			return -1;
		if (!storable(&rhs->type))
			return sema_fail(c->p, rhs->loc,
				    "this value cannot be stored in a map");
		if (n->op != '=' && !is_int(&rhs->type))
			return sema_fail(c->p, n->loc,
				    "%s needs an integer", ast_tok_name(n->op));
		return map_set_value(c, lhs, &rhs->type);
	}
	if (lhs->kind != AST_VAR)
		return sema_fail(c->p, lhs->loc,
			    "only $variables and @maps can be assigned");
	if (check_expr(c, rhs))
		return -1;
	if (!storable(&rhs->type) && rhs->type.kind != TT_RECORD)
		return sema_fail(c->p, rhs->loc,
			    "this value cannot be stored in a variable");
	v = find_var(c->p, lhs->name);
	if (!v) {
		if (n->op != '=')
			return sema_fail(c->p, lhs->loc,
				    "variable %s is used before it is assigned",
				    lhs->name);
		if (c->p->nvars == TRACE_MAX_VARS)
			return sema_fail(c->p, lhs->loc, "too many variables");
		v = &c->p->vars[c->p->nvars++];
		memset(v, 0, sizeof(*v));
		v->name = lhs->name;
		v->type = rhs->type;
		if (v->type.kind == TT_PTR && !v->type.btf_id)
			v->type = sema_t_int(false);
	} else if (!compatible(&v->type, &rhs->type)) {
		char a[64], b[64];

		ttype_name(&v->type, a, sizeof(a));
		ttype_name(&rhs->type, b, sizeof(b));
		return sema_fail(c->p, n->loc,
			    "variable %s holds %s, it cannot be given %s",
			    lhs->name, a, b);
	}
	if (n->op != '=' && !is_int(&v->type))
		return sema_fail(c->p, n->loc, "%s needs an integer variable",
			    ast_tok_name(n->op));
	if ((n->op == TOK_ADD_ASSIGN || n->op == TOK_SUB_ASSIGN) &&
	    v->type.kind == TT_PTR)
		n->ival = pointer_step(c, &v->type);
	v->assigned = true;
	lhs->sym = v - c->p->vars;
	lhs->type = v->type;
	return 0;
}

static int check_stmt(struct sema_ctx *c, struct ast_node *n)
{
	switch (n->kind) {
	case AST_EXPR_STMT:
		if (n->a->kind == AST_CALL && is_aggregation(n->a->name))
			return sema_fail(c->p, n->loc,
				    "%s() must be assigned to a map, e.g. @x = %s(...)",
				    n->a->name, n->a->name);
		return check_expr(c, n->a);
	case AST_ASSIGN:
		return check_assign(c, n);
	case AST_IF:
		if (check_expr(c, n->a))
			return -1;
		if (!is_int(&n->a->type))
			return sema_fail(c->p, n->a->loc,
				    "the condition must be an integer");
		if (check_block(c, n->b))
			return -1;
		return n->c ? check_block(c, n->c) : 0;
	case AST_WHILE: {
		int ret;

		if (check_expr(c, n->a))
			return -1;
		if (!is_int(&n->a->type))
			return sema_fail(c->p, n->a->loc,
				    "the condition must be an integer");
		c->loop_depth++;
		ret = check_block(c, n->b);
		c->loop_depth--;
		return ret;
	}
	case AST_UNROLL:
		if (n->ival < 1 || n->ival > 100)
			return sema_fail(c->p, n->loc,
				    "unroll count must be between 1 and 100");
		return check_block(c, n->b);
	case AST_BREAK:
	case AST_CONTINUE:
		if (!c->loop_depth)
			return sema_fail(c->p, n->loc, "%s outside a while loop",
				    n->kind == AST_BREAK ? "break" :
				    "continue");
		return 0;
	case AST_RETURN:
		return 0;
	case AST_BLOCK:
		return check_block(c, n);
	default:
		/* increments and calls parsed as statements */
		return check_expr(c, n);
	}
}

static int check_block(struct sema_ctx *c, struct ast_node *n)
{
	if (n->kind != AST_BLOCK)
		return check_stmt(c, n);
	for (int i = 0; i < n->nlist; i++)
		if (check_stmt(c, n->list[i]))
			return -1;
	return 0;
}

int sema_check(struct trace_prog *p, struct trace_inst *inst)
{
	struct sema_ctx c = { .p = p, .inst = inst };
	struct ast_node *probe = inst->probe;

	p->nvars = 0;
	if (probe->a) {
		if (check_expr(&c, probe->a))
			return -1;
		if (!is_int(&probe->a->type))
			return sema_fail(p, probe->a->loc,
				    "a predicate must be an integer condition");
	}
	return check_block(&c, probe->b);
}

/* After both passes: every map has a key and value layout. */
int sema_finish(struct trace_prog *p)
{
	for (int i = 0; i < p->nmaps; i++) {
		struct trace_map *m = &p->maps[i];

		if (!m->value.kind)
			return sema_fail(p, (struct src_loc){ 1, 1 },
				    "map %s is used but never assigned",
				    m->name);
		if (!m->key_size)
			m->key_size = 8;
	}
	return 0;
}

/* ---- struct definitions in the script ------------------------------------ */

/* A member's type: an integer, a struct (the script's or the kernel's, or
 * a declaration of one still to come) or any kernel type, with stars. */
static int member_type(struct trace_prog *p, struct ast_node *m)
{
	char name[128], *star;
	int stars = 0, id = -1;

	snprintf(name, sizeof(name), "%s", m->type_name);
	star = strchr(name, '*');
	if (star) {
		stars = (int)strlen(star);
		while (star > name && star[-1] == ' ')
			star--;
		*star = '\0';
	}
	if (!strncmp(name, "struct ", 7)) {
		id = sema_btf_script_struct(p->btf, name + 7);
		if (id <= 0)
			id = btf__find_by_name_kind(p->btf, name + 7,
						    BTF_KIND_STRUCT);
		if (id <= 0 && stars)	/* defined later, or itself */
			id = btf__add_fwd(p->btf, name + 7, BTF_FWD_STRUCT);
	} else if (!strcmp(name, "void") && stars) {
		id = 0;
	} else {
		id = btf__find_by_name(p->btf, kernel_int_name(name));
	}
	if (id < 0)
		return sema_fail(p, m->loc, "type '%s' not found in the kernel's BTF or the script",
				 name);
	while (stars--) {
		id = btf__add_ptr(p->btf, id);
		if (id < 0)
			return sema_fail(p, m->loc, "cannot make a pointer type");
	}
	if (m->ival) {
		int index = btf__find_by_name(p->btf, "int");

		id = btf__add_array(p->btf, index, id, (int)m->ival);
	}
	return id;
}

static int define_struct(struct trace_prog *p, struct ast_node *s)
{
	int ids[256], sid;
	unsigned int offs[256], off = 0, align = 1;

	if (s->nlist > 256 || !s->nlist)
		return sema_fail(p, s->loc, "%s: 1 to 256 members", s->name);
	for (int i = 0; i < s->nlist; i++) {
		long long size;
		int a;

		ids[i] = member_type(p, s->list[i]);
		if (ids[i] < 0)
			return -1;
		size = btf__resolve_size(p->btf, ids[i]);
		a = btf__align_of(p->btf, ids[i]);
		if (size <= 0 || a <= 0)
			return sema_fail(p, s->list[i]->loc,
					 "member '%s' has no size",
					 s->list[i]->name);
		off = (off + a - 1) / a * a;
		offs[i] = off;
		off += size;
		if ((unsigned int)a > align)
			align = a;
	}
	off = (off + align - 1) / align * align;
	sid = btf__add_struct(p->btf, s->name + 7, off);
	for (int i = 0; sid > 0 && i < s->nlist; i++)
		if (btf__add_field(p->btf, s->list[i]->name, ids[i],
				   offs[i] * 8, 0))
			sid = -1;
	if (sid <= 0)
		return sema_fail(p, s->loc, "cannot define %s", s->name);
	return 0;
}

/*
 * The script's struct definitions become types of a BTF split off the
 * kernel's, so casts, ->, sizeof and offsetof find them as they find the
 * kernel's (a definition wins over a kernel struct of the same name).
 */
int sema_define_structs(struct trace_prog *p)
{
	struct btf *split;
	bool any = false;

	for (int i = 0; i < p->ast->nlist; i++)
		any |= p->ast->list[i]->kind == AST_STRUCT;
	if (!any)
		return 0;
	if (!sema_btf(p))
		return sema_fail(p, p->ast->loc, "cannot load the kernel's BTF");
	split = btf__new_empty_split(p->btf);
	if (libbpf_get_error(split))
		return sema_fail(p, p->ast->loc, "cannot extend the kernel's BTF");
	p->btf_base = p->btf;
	p->btf = split;
	for (int i = 0; i < p->ast->nlist; i++)
		if (p->ast->list[i]->kind == AST_STRUCT &&
		    define_struct(p, p->ast->list[i]))
			return -1;
	return 0;
}

/*
 * What every checking stage of a trace program shares, one floor below
 * them: attach point expansion (expand.c), the builtins table
 * (builtins.c) and type checking (sema.c) report errors at the user's
 * source, load the kernel's BTF, keep memory for the program's life and
 * make trace types, BTF ones included, through here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "sema_base.h"

int sema_fail(struct trace_prog *p, struct src_loc loc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error(p->err, &p->src, loc, "%s", msg);
	return -1;
}

struct btf *sema_btf(struct trace_prog *p)
{
	if (!p->btf) {
		p->btf = btf__load_vmlinux_btf();
		if (!p->btf || libbpf_get_error(p->btf))
			p->btf = NULL;
	}
	return p->btf;
}

/* Memory that lives as long as the program (types made while checking). */
void *sema_alloc(struct trace_prog *p, size_t size)
{
	void **arena, *mem;

	arena = realloc(p->arena, (p->narena + 1) * sizeof(*arena));
	if (!arena)
		return NULL;
	p->arena = arena;
	mem = calloc(1, size ? size : 1);
	if (mem)
		p->arena[p->narena++] = mem;
	return mem;
}

/* BTF type id with typedefs and qualifiers peeled off. */
int sema_btf_script_struct(const struct btf *btf, const char *name)
{
	const struct btf *base = btf__base_btf(btf);
	int first = base ? (int)btf__type_cnt(base) : (int)btf__type_cnt(btf);

	for (int id = btf__type_cnt(btf) - 1; id >= first; id--) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if (btf_is_composite(t) &&
		    !strcmp(btf__name_by_offset(btf, t->name_off), name))
			return id;
	}
	return 0;
}

int sema_btf_skip_mods(const struct btf *btf, int id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_typedef(t) || btf_is_const(t) ||
		     btf_is_volatile(t) || btf_is_restrict(t) ||
		     btf_kind(t) == BTF_KIND_TYPE_TAG)) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	/* a script's struct pointing to itself points to a declaration */
	if (t && btf_is_fwd(t)) {
		int def = sema_btf_script_struct(btf, btf__name_by_offset(
			btf, t->name_off));

		if (def)
			id = def;
	}
	return id;
}

/* What a value of BTF type id is to a trace program. */
struct ttype sema_btf_to_ttype(const struct btf *btf, int id)
{
	const struct btf_type *t;

	id = sema_btf_skip_mods(btf, id);
	t = btf__type_by_id(btf, id);
	if (!t || id == 0)
		return sema_t_int(false);
	if (btf_is_int(t))
		return sema_t_int(btf_int_encoding(t) & BTF_INT_SIGNED);
	if (btf_is_enum(t) || btf_kind(t) == BTF_KIND_ENUM64)
		return sema_t_int(true);
	if (btf_is_ptr(t)) {
		struct ttype r = sema_t_kind(TT_PTR, 8);

		r.btf_id = sema_btf_skip_mods(btf, t->type);
		return r;
	}
	if (btf_is_array(t)) {
		const struct btf_array *a = btf_array(t);
		const struct btf_type *e;

		e = btf__type_by_id(btf, sema_btf_skip_mods(btf, a->type));
		if (e && btf_is_int(e) && e->size == 1)
			return sema_t_str();
	}
	if (btf_is_composite(t) || btf_is_array(t)) {
		struct ttype r = sema_t_kind(TT_RECORD, t->size);

		r.btf_id = id;
		return r;
	}
	return sema_t_int(false);
}

/* Edit distance (insert, delete, replace, swap of neighbours). */
static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int d[3][65], *prev2 = d[0], *prev = d[1], *cur = d[2], *t;

	if (la > 64 || lb > 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int v = prev[j - 1] + (a[i - 1] != b[j - 1]);

			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

void sema_near_init(struct sema_near *n, const char *name)
{
	n->name = name;
	n->best = NULL;
	n->dist = 0;
}

void sema_near_add(struct sema_near *n, const char *candidate)
{
	size_t len = strlen(n->name);
	int most = len <= 4 ? 1 : len <= 8 ? 2 : 3;
	int d = edit_distance(n->name, candidate);

	if (d > 0 && d <= most && (size_t)d < len &&
	    (!n->best || d < n->dist)) {
		n->best = candidate;
		n->dist = d;
	}
}

const char *sema_near_hint(const struct sema_near *n, char *buf, size_t len)
{
	if (!n->best)
		return "";
	snprintf(buf, len, "; did you mean '%s'?", n->best);
	return buf;
}

/*
 * Sizes, names and equality of trace value types (ttype.h), shared by
 * semantic analysis, code generation and the printer.
 */
#include <stdio.h>
#include <string.h>
#include "ttype.h"

unsigned int ttype_lhist_slots(const struct ttype *t)
{
	if (t->lhist_step <= 0 || t->lhist_max <= t->lhist_min)
		return 2;
	return (t->lhist_max - t->lhist_min) / t->lhist_step + 2;
}

unsigned int ttype_hist_slots(const struct ttype *t)
{
	if (t->kind == TT_HIST)
		return TRACE_HIST_SLOTS;
	if (t->kind == TT_LHIST)
		return ttype_lhist_slots(t);
	return 0;
}

unsigned int ttype_value_size(const struct ttype *t)
{
	switch (t->kind) {
	case TT_COUNT:
	case TT_SUM:
		return 8;
	case TT_AVG:
	case TT_STATS:
		return sizeof(struct trace_avg_value);
	case TT_MIN:
	case TT_MAX:
		return sizeof(struct trace_minmax_value);
	case TT_HIST:
	case TT_LHIST:
		return (ttype_hist_slots(t) + 1) * 8;
	default:
		return t->size;
	}
}

static const char *const kind_names[] = {
	[TT_NONE] = "none", [TT_INT] = "int", [TT_STR] = "string",
	[TT_KSTACK] = "kstack", [TT_USTACK] = "ustack", [TT_KSYM] = "ksym",
	[TT_USYM] = "usym", [TT_INET] = "inet", [TT_TIMESTAMP] = "timestamp",
	[TT_CGROUP_PATH] = "cgroup_path", [TT_BUF] = "buffer",
	[TT_MACADDR] = "macaddr",
	[TT_TUPLE] = "tuple", [TT_PTR] = "pointer", [TT_RECORD] = "record",
	[TT_COUNT] = "count", [TT_SUM] = "sum", [TT_AVG] = "avg",
	[TT_MIN] = "min", [TT_MAX] = "max", [TT_STATS] = "stats",
	[TT_HIST] = "hist", [TT_LHIST] = "lhist",
};

void ttype_name(const struct ttype *t, char *buf, unsigned int len)
{
	unsigned int used;

	if (!len)
		return;
	switch (t->kind) {
	case TT_INT:
		snprintf(buf, len, "%sint%u", t->is_signed ? "" : "u",
			 t->size * 8);
		return;
	case TT_STR:
		snprintf(buf, len, "string[%u]", t->size);
		return;
	case TT_TUPLE:
		snprintf(buf, len, "(");
		for (int i = 0; i < t->nelems; i++) {
			used = strlen(buf);
			if (i && used + 2 < len)
				strcat(buf, ", ");
			used = strlen(buf);
			ttype_name(&t->elems[i], buf + used, len - used);
		}
		used = strlen(buf);
		if (used + 1 < len)
			strcat(buf, ")");
		return;
	default:
		if ((unsigned int)t->kind < sizeof(kind_names) /
		    sizeof(kind_names[0]) && kind_names[t->kind])
			snprintf(buf, len, "%s", kind_names[t->kind]);
		else
			snprintf(buf, len, "?");
	}
}

int ttype_stack_fd(const struct trace_stack_map *maps, int n,
		   const struct ttype *t)
{
	for (int i = 0; i < n; i++)
		if (maps[i].user == (t->kind == TT_USTACK) &&
		    maps[i].limit == t->stack_limit)
			return maps[i].fd;
	return -1;
}

bool ttype_equal(const struct ttype *a, const struct ttype *b)
{
	if (a->kind != b->kind || a->size != b->size)
		return false;
	switch (a->kind) {
	case TT_INT:
		return a->is_signed == b->is_signed;
	case TT_PTR:
	case TT_RECORD:
		return a->btf_id == b->btf_id;
	case TT_CGROUP_PATH:
		return (!a->fmt && !b->fmt) ||
		       (a->fmt && b->fmt && !strcmp(a->fmt, b->fmt));
	case TT_KSTACK:
	case TT_USTACK:
		return a->stack_limit == b->stack_limit &&
		       a->stack_perf == b->stack_perf;
	case TT_LHIST:
		return a->lhist_min == b->lhist_min &&
		       a->lhist_max == b->lhist_max &&
		       a->lhist_step == b->lhist_step;
	case TT_TUPLE:
		if (a->nelems != b->nelems)
			return false;
		for (int i = 0; i < a->nelems; i++)
			if (!ttype_equal(&a->elems[i], &b->elems[i]))
				return false;
		return true;
	default:
		return true;
	}
}

/*
 * The helpers every checking stage shares (sema_base.c): expansion,
 * builtins and type checking all call down here, never into each other.
 */
#ifndef LOUPE_TRACE_SEMA_BASE_H
#define LOUPE_TRACE_SEMA_BASE_H

#include "trace.h"

struct btf;

/* Reports an error at loc (diag format) and returns -1. */
int sema_fail(struct trace_prog *p, struct src_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The kernel's vmlinux BTF, loaded on first need; NULL if it cannot be. */
struct btf *sema_btf(struct trace_prog *p);
/* Zeroed memory that lives as long as the program. */
void *sema_alloc(struct trace_prog *p, size_t size);

/* BTF type id with typedefs and qualifiers peeled off. */
int sema_btf_skip_mods(const struct btf *btf, int id);
/* The script's struct definition of this name (split BTF); 0 if none. */
int sema_btf_script_struct(const struct btf *btf, const char *name);
/* What a value of BTF type id is to a trace program. */
struct ttype sema_btf_to_ttype(const struct btf *btf, int id);

/*
 * "did you mean": the known name nearest to a misspelt one, offered only
 * when it is a few edits away. Feed every candidate to sema_near_add().
 */
struct sema_near {
	const char *name;	/* as the user wrote it */
	const char *best;	/* NULL: nothing close enough */
	int dist;
};

void sema_near_init(struct sema_near *n, const char *name);
void sema_near_add(struct sema_near *n, const char *candidate);
/* "; did you mean 'NAME'?" or "" */
const char *sema_near_hint(const struct sema_near *n, char *buf, size_t len);

/*
 * ustack's walk (sema.c): unwind is TRACE_UNWIND_* from ustack(dwarf),
 * or -1 for --unwind's default; notes the maps the walk needs. 1 if it
 * also needs a stack map of t's limit (fp, auto), else 0.
 */
int sema_ustack_unwind(struct trace_prog *p, struct ttype *t, int unwind);

/* Integers are 8 bytes in registers, maps and records; strings 64. */
static inline struct ttype sema_t_int(bool is_signed)
{
	return (struct ttype){ .kind = TT_INT, .size = 8,
			       .is_signed = is_signed };
}

static inline struct ttype sema_t_str(void)
{
	return (struct ttype){ .kind = TT_STR, .size = TRACE_STRLEN };
}

static inline struct ttype sema_t_kind(enum ttype_kind kind,
				       unsigned int size)
{
	return (struct ttype){ .kind = kind, .size = size };
}

#endif

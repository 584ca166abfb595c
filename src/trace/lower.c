/*
 * Lowering: the typed AST of one probe instance becomes IR. Integers and
 * pointers live in virtual registers; strings, tuples and other wide
 * values live in stack objects, zero-filled before they are written so
 * that equal values have equal bytes (they are hashed as map keys).
 * Temporary stack objects are released after each statement; the
 * high-water mark tells the back end where its spill slots may go.
 *
 * Aggregations update per-CPU map values with atomic adds, so a nested
 * program on the same CPU (an NMI-driven profile probe) cannot lose an
 * update; plain map increments are atomic adds on the shared value.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include "builtins.h"
#include "ir.h"
#include "sema.h"
#include "tprint.h"
#include "trace.h"

struct val {
	int reg;	/* != IR_NONE: the value is in this register */
	int off;	/* otherwise: at obj_base(off) + off */
};

struct lctx {
	struct trace_prog *p;
	struct trace_inst *inst;
	struct ir_func *f;
	int exit_label;
	int break_label, continue_label;
	int stack_high;
	int scr;		/* the scratch map's value, if used */
	int scratch_used, scratch_high;
	int prologue;		/* where the scratch lookup goes */
	int var_reg[TRACE_MAX_VARS];
	int var_off[TRACE_MAX_VARS];
	int err;
};

/* x86-64 struct pt_regs offsets */
static const int regs_arg_off[] = { 112, 104, 96, 88, 72, 64 };
#define REGS_AX_OFF 80

static int lower_expr(struct lctx *l, struct ast_node *n, struct val *out);
static int lower_block(struct lctx *l, struct ast_node *n);

static bool in_reg(const struct ttype *t)
{
	switch (t->kind) {
	case TT_INT:
	case TT_PTR:
	case TT_KSTACK:
	case TT_KSYM:
	case TT_TIMESTAMP:
	case TT_CGROUP_PATH:
	case TT_RECORD:	/* the address of a kernel record */
		return true;
	default:
		return false;
	}
}

static int lfail(struct lctx *l, struct src_loc loc, const char *msg)
{
	diag_error(l->p->err, &l->p->src, loc, "%s", msg);
	l->err = -1;
	return -1;
}

/*
 * Objects (strings, tuples, keys...) go on the BPF stack while it has
 * room for them and for the back end's spills, then into the program's
 * per-CPU scratch map (as bpftrace keeps its strings), so the 512-byte
 * stack does not limit a program. Stack objects have negative offsets
 * from IR_FP, scratch ones positive offsets from l->scr.
 */
#define STACK_OBJECTS	384	/* the rest of the 512 is for spills */

static int obj_base(struct lctx *l, int off)
{
	return off > 0 ? l->scr : IR_FP;
}

static int stack_alloc(struct lctx *l, struct src_loc loc, int size)
{
	int aligned = (size + 7) & ~7, off = 0;

	if (l->f->stack_used + aligned <= STACK_OBJECTS ||
	    trace_scratch_map(l->p) < 0)
		off = ir_stack(l->f, size);
	if (!off && l->p->scratch_fd >= 0 &&
	    l->scratch_used + aligned <= TRACE_SCRATCH_SIZE) {
		if (!l->scr)
			l->scr = ir_vreg(l->f);	/* scratch_end() sets it */
		off = TRACE_SCRATCH_BASE + l->scratch_used;
		l->scratch_used += aligned;
		if (l->scratch_used > l->scratch_high)
			l->scratch_high = l->scratch_used;
	}
	if (!off) {
		lfail(l, loc, l->p->scratch_fd < 0 ?
		      "this probe needs more than the 512 bytes of BPF stack; use fewer strings or tuples at once" :
		      "this probe needs more than the BPF stack and the scratch map hold; use fewer strings or tuples at once");
		return 0;
	}
	if (l->f->stack_used > l->stack_high)
		l->stack_high = l->f->stack_used;
	return off;
}

static void zero_stack(struct lctx *l, int off, int size)
{
	for (int i = 0; i < size; i += 8)
		ir_storei(l->f, 8, obj_base(l, off + i), off + i, 0);
}

/* Copies size bytes (a multiple of 8) between two base+offset places. */
static void copy_mem(struct lctx *l, int dbase, int doff, int sbase, int soff,
		     int size)
{
	int t = ir_vreg(l->f);

	for (int i = 0; i < size; i += 8) {
		ir_load(l->f, 8, t, sbase, soff + i);
		ir_store(l->f, 8, dbase, doff + i, t);
	}
}

/* Copies size bytes between two objects (stack or scratch). */
static void copy_obj(struct lctx *l, int doff, int soff, int size)
{
	copy_mem(l, obj_base(l, doff), doff, obj_base(l, soff), soff, size);
}

static int call(struct lctx *l, int helper, int nargs, ...)
{
	int args[IR_MAX_ARGS], d = ir_vreg(l->f);
	va_list ap;

	va_start(ap, nargs);
	for (int i = 0; i < nargs; i++)
		args[i] = va_arg(ap, int);
	va_end(ap);
	ir_call(l->f, d, helper, nargs, args);
	return d;
}

static int imm(struct lctx *l, long long v)
{
	int r = ir_vreg(l->f);

	ir_movi(l->f, r, v);
	return r;
}

static int fp_addr(struct lctx *l, int off)
{
	int r = ir_vreg(l->f);

	ir_alui(l->f, BPF_ADD, r, obj_base(l, off), off);
	return r;
}

static int map_ptr(struct lctx *l, int fd)
{
	int r = ir_vreg(l->f);

	ir_map_fd(l->f, r, fd);
	return r;
}

/* Keeps the low `bytes` bytes of r, sign- or zero-extending. */
static int extend(struct lctx *l, int r, int bytes, bool is_signed)
{
	int d = ir_vreg(l->f), shift = 64 - bytes * 8;

	if (bytes >= 8) {
		ir_mov(l->f, d, r);
		return d;
	}
	ir_alui(l->f, BPF_LSH, d, r, shift);
	ir_alui(l->f, is_signed ? BPF_ARSH : BPF_RSH, d, d, shift);
	return d;
}

/* A string literal into a zeroed 64-byte stack object. */
static int str_literal(struct lctx *l, struct src_loc loc, const char *s,
		       size_t len)
{
	int off = stack_alloc(l, loc, TRACE_STRLEN);

	if (!off)
		return 0;
	zero_stack(l, off, TRACE_STRLEN);
	for (size_t i = 0; i < len && i < TRACE_STRLEN - 1; i += 4) {
		long long w = 0;

		for (size_t j = 0; j < 4 && i + j < len; j++)
			w |= (long long)(unsigned char)s[i + j] << (8 * j);
		if (w)
			ir_storei(l->f, 4, obj_base(l, off + i), off + i,
				  (int)w);
	}
	return off;
}

/* Reads a string from addr (a register) into a zeroed stack object. */
static int read_str(struct lctx *l, struct src_loc loc, int addr, int len,
		    bool user)
{
	int off = stack_alloc(l, loc, TRACE_STRLEN);

	if (!off)
		return 0;
	zero_stack(l, off, TRACE_STRLEN);
	if (!len)
		len = imm(l, TRACE_STRLEN);
	if (user) {
		call(l, BPF_FUNC_probe_read_user_str, 3, fp_addr(l, off), len,
		     addr);
	} else {
		/* a pointer not known to be the user's (kprobe and kfunc
		 * arguments without BTF address-space tags) may still be one:
		 * read it as the kernel's, and as the user's if that fails */
		int ok = ir_new_label(l->f);
		int r = call(l, BPF_FUNC_probe_read_kernel_str, 3,
			     fp_addr(l, off), len, addr);

		ir_bri(l->f, BPF_JSGE, r, 0, ok);
		call(l, BPF_FUNC_probe_read_user_str, 3, fp_addr(l, off), len,
		     addr);
		ir_place(l->f, ok);
	}
	return off;
}

/* Reads `bytes` from addr: an integer, extended to 64 bits. */
static int read_int(struct lctx *l, struct src_loc loc, int addr, int bytes,
		    bool is_signed, bool user)
{
	int off = stack_alloc(l, loc, 8), r = ir_vreg(l->f);

	if (!off)
		return IR_NONE;
	ir_storei(l->f, 8, obj_base(l, off), off, 0);
	call(l, user ? BPF_FUNC_probe_read_user : BPF_FUNC_probe_read_kernel,
	     3, fp_addr(l, off), imm(l, bytes), addr);
	ir_load(l->f, 8, r, obj_base(l, off), off);
	return extend(l, r, bytes, is_signed);
}

/* The value as a stack object (ints get an 8-byte one). */
static int to_mem(struct lctx *l, struct src_loc loc, struct val v)
{
	int off;

	if (v.reg == IR_NONE)
		return v.off;
	off = stack_alloc(l, loc, 8);
	if (off)
		ir_store(l->f, 8, obj_base(l, off), off, v.reg);
	return off;
}

/* Stores v of type t at base + off (t->size bytes). */
static void store_val(struct lctx *l, int base, int off, const struct ttype *t,
		      struct val v)
{
	if (v.reg != IR_NONE)
		ir_store(l->f, 8, base, off, v.reg);
	else
		copy_mem(l, base, off, obj_base(l, v.off), v.off,
			 (t->size + 7) & ~7);
}

/* ---- maps --------------------------------------------------------------- */

static int build_key(struct lctx *l, struct ast_node *mn,
		     const struct trace_map *m)
{
	int off = stack_alloc(l, mn->loc, m->key_size);

	if (!off)
		return 0;
	if (m->key.kind == TT_NONE) {
		ir_storei(l->f, 8, obj_base(l, off), off, 0);
		return off;
	}
	zero_stack(l, off, m->key_size);
	for (int i = 0; i < mn->nlist; i++) {
		const struct ttype *kt = m->key.kind == TT_TUPLE ?
			&m->key.elems[i] : &m->key;
		int koff = m->key.kind == TT_TUPLE ? m->key.offsets[i] : 0;
		struct val v;

		if (lower_expr(l, mn->list[i], &v))
			return 0;
		store_val(l, obj_base(l, off + koff), off + koff, kt, v);
	}
	return off;
}

/* A pointer to the map's value for the key at IR_FP + key_off, created
 * zeroed when missing; jumps to `skip` if the map is full. */
static int lookup_or_init(struct lctx *l, struct src_loc loc,
			  const struct trace_map *m, int key_off, int skip)
{
	int found = ir_new_label(l->f), p, zoff, zero;
	unsigned int vsize = ttype_value_size(&m->value);

	p = call(l, BPF_FUNC_map_lookup_elem, 2, map_ptr(l, m->fd),
		 fp_addr(l, key_off));
	ir_bri(l->f, BPF_JNE, p, 0, found);
	/* the zero value to insert: small ones from the stack, histograms
	 * from the program's all-zero array map (they would not fit) */
	if (vsize <= 64) {
		zoff = stack_alloc(l, loc, (vsize + 7) & ~7u);
		if (!zoff)
			return IR_NONE;
		zero_stack(l, zoff, (vsize + 7) & ~7u);
		zero = fp_addr(l, zoff);
	} else {
		zoff = stack_alloc(l, loc, 8);
		if (!zoff)
			return IR_NONE;
		ir_storei(l->f, 8, obj_base(l, zoff), zoff, 0);
		zero = call(l, BPF_FUNC_map_lookup_elem, 2,
			    map_ptr(l, l->p->zero_fd), fp_addr(l, zoff));
		ir_bri(l->f, BPF_JEQ, zero, 0, skip);
	}
	call(l, BPF_FUNC_map_update_elem, 4, map_ptr(l, m->fd),
	     fp_addr(l, key_off), zero, imm(l, BPF_NOEXIST));
	ir_call(l->f, p, BPF_FUNC_map_lookup_elem, 2,
		(int[]){ map_ptr(l, m->fd), fp_addr(l, key_off) });
	ir_bri(l->f, BPF_JEQ, p, 0, skip);
	ir_place(l->f, found);
	return p;
}

static int map_read(struct lctx *l, struct ast_node *n, struct val *out)
{
	const struct trace_map *m = &l->p->maps[n->sym];
	int key = build_key(l, n, m), p, done = ir_new_label(l->f);

	if (!key)
		return -1;
	p = call(l, BPF_FUNC_map_lookup_elem, 2, map_ptr(l, m->fd),
		 fp_addr(l, key));
	if (in_reg(&n->type)) {
		out->reg = imm(l, 0);
		ir_bri(l->f, BPF_JEQ, p, 0, done);
		ir_load(l->f, 8, out->reg, p, 0);
		if (m->value.kind == TT_AVG) {
			int cnt = ir_vreg(l->f);
			int zero = ir_new_label(l->f);

			ir_load(l->f, 8, cnt, p, 8);
			ir_bri(l->f, BPF_JEQ, cnt, 0, zero);
			ir_alu(l->f, BPF_DIV, out->reg, out->reg, cnt);
			ir_place(l->f, zero);
		}
		ir_place(l->f, done);
		return 0;
	}
	out->reg = IR_NONE;
	out->off = stack_alloc(l, n->loc, (m->value.size + 7) & ~7u);
	if (!out->off)
		return -1;
	zero_stack(l, out->off, (m->value.size + 7) & ~7u);
	ir_bri(l->f, BPF_JEQ, p, 0, done);
	copy_mem(l, obj_base(l, out->off), out->off, p, 0,
		 (m->value.size + 7) & ~7u);
	ir_place(l->f, done);
	return 0;
}

/* ---- ring-buffer records ------------------------------------------------ */

/*
 * Reserves a record of `size` payload bytes, writes the header and calls
 * fill() to write the payload at (rec, 8); counts a loss when the ring is
 * full.
 */
struct rec_args {
	struct ast_node *n;
	struct val *vals;
	const struct ttype *types;
	const unsigned int *offsets;
	int nvals;
};

/* A record the ring had no room for: counted, as every tool counts it. */
static int count_lost(struct lctx *l)
{
	int key = stack_alloc(l, (struct src_loc){ 0, 0 }, 8), p;
	int skip = ir_new_label(l->f);

	if (!key)
		return -1;
	ir_storei(l->f, 4, obj_base(l, key), key, 0);
	p = call(l, BPF_FUNC_map_lookup_elem, 2, map_ptr(l, l->p->lost_fd),
		 fp_addr(l, key));
	ir_bri(l->f, BPF_JEQ, p, 0, skip);
	ir_atomic_add(l->f, 8, p, 0, imm(l, 1));
	ir_place(l->f, skip);
	return 0;
}

static int emit_record(struct lctx *l, int action, int id, unsigned int size,
		       const struct rec_args *ra)
{
	int rec, lost = ir_new_label(l->f), done = ir_new_label(l->f);

	size = 8 + ((size + 7) & ~7u);
	rec = call(l, BPF_FUNC_ringbuf_reserve, 3, map_ptr(l, l->p->ringbuf_fd),
		   imm(l, size), imm(l, 0));
	ir_bri(l->f, BPF_JEQ, rec, 0, lost);
	ir_storei(l->f, 4, rec, 0, action);
	ir_storei(l->f, 4, rec, 4, id);
	for (int i = 0; ra && i < ra->nvals; i++)
		store_val(l, rec, 8 + ra->offsets[i], &ra->types[i],
			  ra->vals[i]);
	ir_call(l->f, IR_NONE, BPF_FUNC_ringbuf_submit, 2,
		(int[]){ rec, imm(l, 0) });
	ir_jmp(l->f, done);
	ir_place(l->f, lost);
	if (count_lost(l))
		return -1;
	ir_place(l->f, done);
	return 0;
}

static int lower_printf(struct lctx *l, struct ast_node *n, struct val *out)
{
	const struct trace_printf *pf = &l->p->printfs[n->sym];
	struct val vals[32];
	struct rec_args ra = { .n = n, .vals = vals, .types = pf->args.elems,
			       .offsets = pf->args.offsets,
			       .nvals = pf->args.nelems };

	(void)out;
	if (pf->args.nelems > 32)
		return lfail(l, n->loc, "printf: at most 32 arguments");
	for (int i = 0; i < pf->args.nelems; i++)
		if (lower_expr(l, n->list[i + 1], &vals[i]))
			return -1;
	return emit_record(l, !strcmp(n->name, "system") ? TREC_SYSTEM :
			   !strcmp(n->name, "cat") ? TREC_CAT : TREC_PRINTF,
			   n->sym, pf->args.size, &ra);
}

/*
 * 1 if the first len bytes of two strings are equal. Strings are
 * zero-filled past their end, so bytes compare as C's strncmp() does.
 */
static int str_equal(struct lctx *l, int a_off, int b_off, int len)
{
	int r = imm(l, 0), x = ir_vreg(l->f), y = ir_vreg(l->f);
	int ne = ir_new_label(l->f);

	for (int i = 0; i < len; i += i + 8 <= len ? 8 : 1) {
		int size = i + 8 <= len ? 8 : 1;	/* the tail bytewise */

		ir_load(l->f, size, x, obj_base(l, a_off + i), a_off + i);
		ir_load(l->f, size, y, obj_base(l, b_off + i), b_off + i);
		ir_br(l->f, BPF_JNE, x, y, ne);
	}
	ir_movi(l->f, r, 1);
	ir_place(l->f, ne);
	return r;
}

/* strncmp(a, b, n): 0 if the first n bytes are equal, else 1 (bpftrace) */
static int lower_strncmp(struct lctx *l, struct ast_node *n, struct val *out)
{
	struct val a, b;

	if (lower_expr(l, n->list[0], &a) || lower_expr(l, n->list[1], &b))
		return -1;
	out->reg = str_equal(l, a.off, b.off, (int)n->ival);
	ir_alui(l->f, BPF_XOR, out->reg, out->reg, 1);
	return 0;
}

static int lower_const(struct lctx *l, struct ast_node *n, struct val *out)
{
	out->reg = imm(l, n->ival);
	return 0;
}

/* signal(): a literal or name was resolved by sema into n->ival. */
static int lower_signal(struct lctx *l, struct ast_node *n, struct val *out)
{
	struct val sig;

	(void)out;
	if (n->list[0]->kind == AST_STR)
		sig.reg = imm(l, n->ival);
	else if (lower_expr(l, n->list[0], &sig))
		return -1;
	call(l, BPF_FUNC_send_signal, 1, sig.reg);
	return 0;
}

static int lower_override(struct lctx *l, struct ast_node *n,
			  struct val *out)
{
	struct val rc;

	(void)out;
	if (lower_expr(l, n->list[0], &rc))
		return -1;
	call(l, BPF_FUNC_override_return, 2, IR_CTX, rc.reg);
	return 0;
}

/* ---- calls -------------------------------------------------------------- */

static long long kallsyms_addr(const char *name)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512], sym[256], type;
	unsigned long long addr, found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &addr, &type, sym) == 3 &&
		    !strcmp(sym, name)) {
			found = addr;
			break;
		}
	fclose(f);
	return found;
}

static int lower_ntop(struct lctx *l, struct ast_node *n, struct val *out)
{
	struct ast_node *addr = n->list[n->nlist - 1];
	int off = stack_alloc(l, n->loc, 24), fam;
	struct val v, af = { .reg = IR_NONE };

	if (!off)
		return -1;
	zero_stack(l, off, 24);
	if (n->nlist == 2 && lower_expr(l, n->list[0], &af))
		return -1;
	if (lower_expr(l, addr, &v))
		return -1;
	if (addr->type.kind == TT_RECORD) {
		fam = af.reg != IR_NONE ? af.reg :
		      imm(l, addr->type.size == 4 ? AF_INET : AF_INET6);
		call(l, BPF_FUNC_probe_read_kernel, 3, fp_addr(l, off + 4),
		     imm(l, addr->type.size), v.reg);
	} else {
		fam = af.reg != IR_NONE ? af.reg : imm(l, AF_INET);
		ir_store(l->f, 4, obj_base(l, off + 4), off + 4, v.reg);
	}
	ir_store(l->f, 4, obj_base(l, off), off, fam);
	out->reg = IR_NONE;
	out->off = off;
	return 0;
}

static int lower_str(struct lctx *l, struct ast_node *n, struct val *out)
{
	struct val a;
	int len = 0;

	if (lower_expr(l, n->list[0], &a))
		return -1;
	if (n->list[0]->type.kind == TT_STR && n->nlist == 1) {
		*out = a;
		return 0;
	}
	if (n->list[0]->type.kind == TT_STR)
		a.reg = fp_addr(l, a.off);
	if (n->nlist == 2) {
		struct val lv;
		int ok = ir_new_label(l->f);

		if (lower_expr(l, n->list[1], &lv))
			return -1;
		/* bound the length for the verifier: 1..64, with
		 * room for the NUL bpftrace counts in it */
		len = ir_vreg(l->f);
		ir_alui(l->f, BPF_ADD, len, lv.reg, 1);
		ir_bri(l->f, BPF_JLE, len, TRACE_STRLEN, ok);
		ir_movi(l->f, len, TRACE_STRLEN);
		ir_place(l->f, ok);
	}
	out->off = read_str(l, n->loc, a.reg, len, n->list[0]->type.user);
	return out->off ? 0 : -1;
}

/* ksym(addr): the address; strftime(fmt, ns): the time. The printer
 * does the rest. */
static int lower_last_arg(struct lctx *l, struct ast_node *n,
			  struct val *out)
{
	struct val a;

	if (lower_expr(l, n->list[n->nlist - 1], &a))
		return -1;
	out->reg = a.reg;
	return 0;
}

/* cgroup_path(id, filter): the id; the printer resolves it. */
static int lower_first_arg(struct lctx *l, struct ast_node *n,
			   struct val *out)
{
	struct val a;

	if (lower_expr(l, n->list[0], &a))
		return -1;
	out->reg = a.reg;
	return 0;
}

/* Reads len (a register) bytes at addr: the kernel's, else the user's. */
static void read_mem(struct lctx *l, int dst, int len, int addr, bool user)
{
	int ok = ir_new_label(l->f), r;

	if (user) {
		call(l, BPF_FUNC_probe_read_user, 3, dst, len, addr);
		return;
	}
	r = call(l, BPF_FUNC_probe_read_kernel, 3, dst, len, addr);
	ir_bri(l->f, BPF_JEQ, r, 0, ok);
	call(l, BPF_FUNC_probe_read_user, 3, dst, len, addr);
	ir_place(l->f, ok);
}

/* buf(data, len): u32 length, then the bytes (ttype.h) */
static int lower_buf(struct lctx *l, struct ast_node *n, struct val *out)
{
	const struct ttype *at = &n->list[0]->type;
	int cap = (int)n->ival, len, ok = ir_new_label(l->f);
	struct val a, lv;

	if (lower_expr(l, n->list[0], &a))
		return -1;
	out->off = stack_alloc(l, n->loc, n->type.size);
	if (!out->off)
		return -1;
	zero_stack(l, out->off, n->type.size);
	if (n->nlist == 2) {
		if (lower_expr(l, n->list[1], &lv))
			return -1;
		/* bounded for the verifier: 0..cap */
		len = ir_vreg(l->f);
		ir_mov(l->f, len, lv.reg);
		ir_bri(l->f, BPF_JLE, len, cap, ok);
		ir_movi(l->f, len, cap);
		ir_place(l->f, ok);
	} else {
		len = imm(l, cap);
	}
	ir_store(l->f, 4, obj_base(l, out->off), out->off, len);
	if (at->kind == TT_STR) {
		/* a string is already ours: its first cap bytes */
		copy_mem(l, obj_base(l, out->off), out->off + 8,
			 obj_base(l, a.off), a.off, (cap + 7) & ~7);
		return 0;
	}
	read_mem(l, fp_addr(l, out->off + 8), len, a.reg, at->user);
	return 0;
}

static int lower_macaddr(struct lctx *l, struct ast_node *n,
			 struct val *out)
{
	struct val a;

	if (lower_expr(l, n->list[0], &a))
		return -1;
	out->off = stack_alloc(l, n->loc, 8);
	if (!out->off)
		return -1;
	if (n->list[0]->type.kind == TT_STR) {
		/* a char[6] already read, zero-filled past its 6 bytes */
		copy_mem(l, obj_base(l, out->off), out->off,
			 obj_base(l, a.off), a.off, 8);
		return 0;
	}
	ir_storei(l->f, 8, obj_base(l, out->off), out->off, 0);
	read_mem(l, fp_addr(l, out->off), imm(l, 6), a.reg,
		 n->list[0]->type.user);
	return 0;
}

/* reg("name"): a field of the context's struct pt_regs */
static int lower_reg(struct lctx *l, struct ast_node *n, struct val *out)
{
	out->reg = ir_vreg(l->f);
	ir_load(l->f, 8, out->reg, IR_CTX, (int)n->ival);
	return 0;
}

static int lower_usym(struct lctx *l, struct ast_node *n, struct val *out)
{
	struct val a;
	int pid;

	if (lower_expr(l, n->list[0], &a))
		return -1;
	out->off = stack_alloc(l, n->loc, 16);
	if (!out->off)
		return -1;
	ir_store(l->f, 8, obj_base(l, out->off), out->off, a.reg);
	pid = call(l, BPF_FUNC_get_current_pid_tgid, 0);
	ir_alui(l->f, BPF_RSH, pid, pid, 32);
	ir_store(l->f, 8, obj_base(l, out->off + 8), out->off + 8, pid);
	return 0;
}

static int lower_kaddr(struct lctx *l, struct ast_node *n, struct val *out)
{
	long long addr = kallsyms_addr(n->list[0]->str);

	if (!addr)
		return lfail(l, n->list[0]->loc,
			     "kaddr(): no such kernel symbol (see /proc/kallsyms)");
	out->reg = imm(l, addr);
	return 0;
}

static int lower_exit(struct lctx *l, struct ast_node *n, struct val *out)
{
	(void)n;
	(void)out;
	return emit_record(l, TREC_EXIT, 0, 0, NULL);
}

static int lower_time(struct lctx *l, struct ast_node *n, struct val *out)
{
	(void)out;
	return emit_record(l, TREC_TIME, n->sym, 0, NULL);
}

/* clear(@m), zero(@m) */
static int lower_clear_zero(struct lctx *l, struct ast_node *n,
			    struct val *out)
{
	(void)out;
	return emit_record(l, n->name[0] == 'c' ? TREC_CLEAR : TREC_ZERO,
			   n->list[0]->sym, 0, NULL);
}

static int lower_print(struct lctx *l, struct ast_node *n, struct val *out)
{
	struct ast_node *a = n->list[0];

	(void)out;
	if (a->kind == AST_MAP && !a->nlist) {
		struct val vals[2];
		struct ttype types[2] = {
			{ .kind = TT_INT, .size = 8 },
			{ .kind = TT_INT, .size = 8 },
		};
		unsigned int offs[2] = { 0, 8 };
		struct rec_args ra = { .vals = vals, .types = types,
				       .offsets = offs, .nvals = 2 };
		long long top = 0, div = 0;

		if (n->nlist > 1)
			top = n->list[1]->kind == AST_INT ?
			      n->list[1]->ival : -n->list[1]->a->ival;
		if (n->nlist > 2)
			div = n->list[2]->kind == AST_INT ?
			      n->list[2]->ival : -n->list[2]->a->ival;
		vals[0].reg = imm(l, top);
		vals[1].reg = imm(l, div);
		return emit_record(l, TREC_PRINT_MAP, a->sym, 16, &ra);
	} else {
		const struct ttype *t = &l->p->print_vals[n->sym];
		unsigned int off0 = 0;
		struct val v;
		struct rec_args ra = { .vals = &v, .types = t,
				       .offsets = &off0, .nvals = 1 };

		if (lower_expr(l, a, &v))
			return -1;
		return emit_record(l, TREC_PRINT_VALUE, n->sym, t->size, &ra);
	}
}

static int lower_delete(struct lctx *l, struct ast_node *n, struct val *out)
{
	struct ast_node *mn = n->list[0];
	const struct trace_map *m = &l->p->maps[mn->sym];
	int key = build_key(l, mn, m);

	(void)out;
	if (!key)
		return -1;
	call(l, BPF_FUNC_map_delete_elem, 2, map_ptr(l, m->fd),
	     fp_addr(l, key));
	return 0;
}

/*
 * ustack(dwarf): the task's user registers (struct pt_regs as it entered
 * the kernel, as ucopy.bpf.h reads them) and its stack from sp up to the
 * stack's top go to user space in a TREC_UCOPY record, tagged; the value
 * at off is the tag (ttype.h), which user space swaps for the walked
 * stack. A copy the ring has no room for is counted lost.
 */
#define PT_REGS_SP_OFF	152

static int lower_ucopy(struct lctx *l, struct ast_node *n, int off)
{
	const int hdr = 8, regs = hdr + 24, stack = regs + 8 *
			TRACE_UCOPY_NREGS;
	int lost = ir_new_label(l->f), sent = ir_new_label(l->f);
	int whole = ir_new_label(l->f), page = ir_new_label(l->f);
	int have = ir_new_label(l->f);
	int tag, cpu, id, pid, rec, task, pt, sp, top, size, d, r, tmp;

	tag = call(l, BPF_FUNC_ktime_get_ns, 0);
	cpu = call(l, BPF_FUNC_get_smp_processor_id, 0);
	ir_alui(l->f, BPF_ADD, cpu, cpu, 1);
	id = call(l, BPF_FUNC_get_current_pid_tgid, 0);
	pid = ir_vreg(l->f);
	ir_alui(l->f, BPF_RSH, pid, id, 32);
	ir_store(l->f, 8, obj_base(l, off), off, tag);
	ir_store(l->f, 4, obj_base(l, off + 8), off + 8, pid);
	ir_store(l->f, 4, obj_base(l, off + 12), off + 12, cpu);
	rec = call(l, BPF_FUNC_ringbuf_reserve, 3,
		   map_ptr(l, l->p->ringbuf_fd),
		   imm(l, hdr + sizeof(struct trace_ucopy)), imm(l, 0));
	ir_bri(l->f, BPF_JEQ, rec, 0, lost);
	ir_storei(l->f, 4, rec, 0, TREC_UCOPY);
	ir_storei(l->f, 4, rec, 4, n->type.stack_limit);
	ir_store(l->f, 8, rec, hdr, tag);
	ir_store(l->f, 4, rec, hdr + 8, cpu);
	ir_store(l->f, 4, rec, hdr + 12, pid);
	ir_store(l->f, 4, rec, hdr + 16, id);
	task = call(l, BPF_FUNC_get_current_task_btf, 0);
	pt = call(l, BPF_FUNC_task_pt_regs, 1, task);
	r = ir_vreg(l->f);
	ir_alui(l->f, BPF_ADD, r, rec, regs);
	call(l, BPF_FUNC_probe_read_kernel, 3, r,
	     imm(l, 8 * TRACE_UCOPY_NREGS), pt);
	sp = ir_vreg(l->f);
	ir_load(l->f, 8, sp, rec, regs + PT_REGS_SP_OFF);
	/* the stack's top: task->mm->start_stack (0 if unknown) */
	top = imm(l, 0);
	if (l->p->ucopy_mm_off && l->p->ucopy_top_off) {
		task = call(l, BPF_FUNC_get_current_task, 0);
		ir_alui(l->f, BPF_ADD, task, task, l->p->ucopy_mm_off);
		tmp = fp_addr(l, off);
		call(l, BPF_FUNC_probe_read_kernel, 3, tmp, imm(l, 8), task);
		ir_load(l->f, 8, top, obj_base(l, off), off);
		ir_alui(l->f, BPF_ADD, top, top, l->p->ucopy_top_off);
		call(l, BPF_FUNC_probe_read_kernel, 3, fp_addr(l, off),
		     imm(l, 8), top);
		ir_load(l->f, 8, top, obj_base(l, off), off);
		ir_store(l->f, 8, obj_base(l, off), off, tag);
	}
	/*
	 * At most TRACE_UCOPY_MAX - 1 bytes, bounded by the AND itself: a
	 * bound a branch gives is lost by 6.1's verifier when the register
	 * allocator spilled the value before the test.
	 */
	size = imm(l, TRACE_UCOPY_MAX - 1);
	ir_br(l->f, BPF_JGE, sp, top, whole);
	d = ir_vreg(l->f);
	ir_alu(l->f, BPF_SUB, d, top, sp);
	ir_bri(l->f, BPF_JGE, d, TRACE_UCOPY_MAX - 1, whole);
	ir_mov(l->f, size, d);
	ir_place(l->f, whole);
	ir_alui(l->f, BPF_AND, size, size, TRACE_UCOPY_MAX - 1);
	ir_bri(l->f, BPF_JEQ, size, 0, page);
	r = ir_vreg(l->f);
	ir_alui(l->f, BPF_ADD, r, rec, stack);
	d = call(l, BPF_FUNC_probe_read_user, 3, r, size, sp);
	ir_bri(l->f, BPF_JEQ, d, 0, have);
	/* the top not readable: the rest of sp's page, as ucopy.bpf.h */
	ir_place(l->f, page);
	d = ir_vreg(l->f);
	ir_alui(l->f, BPF_AND, d, sp, 4095);
	ir_movi(l->f, size, 4096);
	ir_alu(l->f, BPF_SUB, size, size, d);
	r = ir_vreg(l->f);
	ir_alui(l->f, BPF_ADD, r, rec, stack);
	d = call(l, BPF_FUNC_probe_read_user, 3, r, size, sp);
	ir_bri(l->f, BPF_JEQ, d, 0, have);
	ir_movi(l->f, size, 0);
	ir_place(l->f, have);
	ir_store(l->f, 4, rec, hdr + 20, size);
	ir_call(l->f, IR_NONE, BPF_FUNC_ringbuf_submit, 2,
		(int[]){ rec, imm(l, 0) });
	ir_jmp(l->f, sent);
	ir_place(l->f, lost);
	if (count_lost(l))
		return -1;
	ir_place(l->f, sent);
	return 0;
}

/*
 * kstack/ustack: the id bpf_get_stackid() gives in the stack map of the
 * type's frame limit; a user stack also keeps the pid to resolve it in.
 * ustack(dwarf) sends a copy instead; ustack(auto) does that for the
 * processes user space has not found frame pointers in (fp_pids).
 */
static int lower_stack(struct lctx *l, struct ast_node *n, bool user,
		       struct val *out)
{
	int fd = user ? l->p->ustack_fd : l->p->kstack_fd;
	int unwind = user ? n->type.stack_unwind : TRACE_UNWIND_FP;
	int id, r, copy = 0, done = 0;

	out->off = 0;
	if (unwind != TRACE_UNWIND_FP) {
		out->off = stack_alloc(l, n->loc, 16);
		if (!out->off)
			return -1;
		copy = ir_new_label(l->f);
		done = ir_new_label(l->f);
	}
	if (unwind == TRACE_UNWIND_DWARF)
		return lower_ucopy(l, n, out->off);
	if (unwind == TRACE_UNWIND_AUTO) {
		r = call(l, BPF_FUNC_get_current_pid_tgid, 0);
		ir_alui(l->f, BPF_RSH, r, r, 32);
		ir_store(l->f, 8, obj_base(l, out->off), out->off, r);
		r = call(l, BPF_FUNC_map_lookup_elem, 2,
			 map_ptr(l, l->p->fp_pids_fd), fp_addr(l, out->off));
		ir_bri(l->f, BPF_JEQ, r, 0, copy);
		ir_load(l->f, 1, r, r, 0);
		ir_bri(l->f, BPF_JEQ, r, 0, copy);
	}
	if (n->type.stack_limit)
		fd = ttype_stack_fd(l->p->stack_maps, l->p->nstack_maps,
				    &n->type);
	id = call(l, BPF_FUNC_get_stackid, 3, IR_CTX, map_ptr(l, fd),
		  imm(l, user ? BPF_F_USER_STACK : 0));
	if (!user) {
		out->reg = id;
		return 0;
	}
	if (!out->off)
		out->off = stack_alloc(l, n->loc, 16);
	if (!out->off)
		return -1;
	ir_store(l->f, 8, obj_base(l, out->off), out->off, id);
	r = call(l, BPF_FUNC_get_current_pid_tgid, 0);
	ir_alui(l->f, BPF_RSH, r, r, 32);
	ir_store(l->f, 8, obj_base(l, out->off + 8), out->off + 8, r);
	if (unwind == TRACE_UNWIND_AUTO) {
		ir_jmp(l->f, done);
		ir_place(l->f, copy);
		if (lower_ucopy(l, n, out->off))
			return -1;
		ir_place(l->f, done);
	}
	return 0;
}

static int lower_stack_call(struct lctx *l, struct ast_node *n,
			    struct val *out)
{
	return lower_stack(l, n, n->name[0] == 'u', out);
}

/* The lowering of each op of sema.c's functions table. */
static int (*const lower_funcs[])(struct lctx *l, struct ast_node *n,
				  struct val *out) = {
	[FO_PRINTF] = lower_printf,
	[FO_PRINT] = lower_print,
	[FO_CLEAR] = lower_clear_zero,
	[FO_ZERO] = lower_clear_zero,
	[FO_DELETE] = lower_delete,
	[FO_EXIT] = lower_exit,
	[FO_TIME] = lower_time,
	[FO_STR] = lower_str,
	[FO_KSYM] = lower_last_arg,
	[FO_USYM] = lower_usym,
	[FO_KADDR] = lower_kaddr,
	[FO_NTOP] = lower_ntop,
	[FO_STRFTIME] = lower_last_arg,
	[FO_STACK] = lower_stack_call,
	[FO_SYSTEM] = lower_printf,
	[FO_SIGNAL] = lower_signal,
	[FO_OVERRIDE] = lower_override,
	[FO_STRNCMP] = lower_strncmp,
	[FO_CONST] = lower_const,
	[FO_CGROUP_PATH] = lower_first_arg,
	[FO_BUF] = lower_buf,
	[FO_MACADDR] = lower_macaddr,
	[FO_REG] = lower_reg,
	[FO_CAT] = lower_printf,
};

/*
 * A call sema_check accepted. As a statement, a call with a value is
 * computed and its value dropped.
 */
static int lower_call(struct lctx *l, struct ast_node *n, struct val *out,
		      bool want_value)
{
	const struct trace_func *fn = sema_func_find(n->name);

	out->reg = IR_NONE;
	if (!fn || !lower_funcs[fn->op] || (want_value && !fn->has_value))
		return lfail(l, n->loc, "this function has no value");
	return lower_funcs[fn->op](l, n, out);
}

/* ---- builtins ----------------------------------------------------------- */

/* argN: a register of a kprobe/uprobe, a slot of a raw tracepoint's or
 * kfunc's argument array, or a USDT note's operand. */
static int lower_arg(struct lctx *l, struct ast_node *n, int i,
		     struct val *out)
{
	const struct trace_inst *inst = l->inst;
	int r;

	if (inst->kind == PK_USDT) {
		const struct usdt_arg *ua = &inst->uargs[i];

		if (ua->kind == UA_CONST) {
			out->reg = imm(l, ua->value);
			return 0;
		}
		r = ir_vreg(l->f);
		ir_load(l->f, 8, r, IR_CTX, ua->reg_off);
		if (ua->kind == UA_REG) {
			out->reg = extend(l, r, ua->size, ua->is_signed);
			return 0;
		}
		ir_alui(l->f, BPF_ADD, r, r, ua->value);
		out->reg = read_int(l, n->loc, r, ua->size, ua->is_signed,
				    true);
		return out->reg == IR_NONE ? -1 : 0;
	}
	out->reg = ir_vreg(l->f);
	if (inst->kind == PK_RAWTP || inst->kind == PK_TPBTF ||
	    inst->kind == PK_FENTRY ||
	    inst->kind == PK_FEXIT)
		ir_load(l->f, 8, out->reg, IR_CTX, 8 * i);
	else
		ir_load(l->f, 8, out->reg, IR_CTX, regs_arg_off[i]);
	return 0;
}

static int lower_ident(struct lctx *l, struct ast_node *n, struct val *out)
{
	const struct builtin *b = builtin_find(n->name);
	const struct trace_inst *inst = l->inst;
	int r;

	out->reg = IR_NONE;
	if (!b)
		return lfail(l, n->loc, "identifier not supported here");
	switch (b->op) {
	case BO_HELPER:
		r = call(l, b->helper, 0);
		if (b->shift)
			ir_alui(l->f, BPF_RSH, r, r, b->shift);
		out->reg = extend(l, r, b->bytes, false);
		return 0;
	case BO_ELAPSED:
		r = call(l, BPF_FUNC_ktime_get_ns, 0);
		out->reg = ir_vreg(l->f);
		ir_alu(l->f, BPF_SUB, out->reg, r, imm(l, l->p->start_ns));
		return 0;
	case BO_TARGET_PID:
		out->reg = imm(l, l->p->target_pid);
		return 0;
	case BO_COMM:
		out->off = stack_alloc(l, n->loc, TRACE_STRLEN);
		if (!out->off)
			return -1;
		zero_stack(l, out->off, TRACE_STRLEN);
		call(l, BPF_FUNC_get_current_comm, 2, fp_addr(l, out->off),
		     imm(l, TRACE_COMM_LEN));
		return 0;
	case BO_FUNC:
	case BO_PROBE: {
		const char *text = b->op == BO_FUNC ? inst->func : inst->name;

		out->off = str_literal(l, n->loc, text, strlen(text));
		return out->off ? 0 : -1;
	}
	case BO_KSTACK:
	case BO_USTACK:
		return lower_stack(l, n, b->op == BO_USTACK, out);
	case BO_RETVAL:
		out->reg = ir_vreg(l->f);
		if (inst->kind == PK_FEXIT)
			ir_load(l->f, 8, out->reg, IR_CTX, 8 * inst->nargs);
		else
			ir_load(l->f, 8, out->reg, IR_CTX, REGS_AX_OFF);
		return 0;
	case BO_ARG:
		return lower_arg(l, n, n->name[3] - '0', out);
	}
	return lfail(l, n->loc, "identifier not supported here");
}

/* args->field of a tracepoint: the record is the context. */
static int lower_tp_field(struct lctx *l, struct ast_node *n, struct val *out)
{
	const struct tp_field *fl = &l->inst->tp.fields[n->sym];
	int r, addr;

	out->reg = IR_NONE;
	if (fl->is_string && fl->data_loc) {
		/* u32: length << 16 | offset of the string in the record */
		r = ir_vreg(l->f);
		ir_load(l->f, 4, r, IR_CTX, fl->offset);
		ir_alui(l->f, BPF_AND, r, r, 0xffff);
		addr = ir_vreg(l->f);
		ir_alu(l->f, BPF_ADD, addr, IR_CTX, r);
		out->off = read_str(l, n->loc, addr, 0, false);
		return out->off ? 0 : -1;
	}
	if (fl->is_string && fl->array_len) {
		int len = fl->array_len < TRACE_STRLEN ? fl->array_len :
			  TRACE_STRLEN - 1;

		out->off = stack_alloc(l, n->loc, TRACE_STRLEN);
		if (!out->off)
			return -1;
		zero_stack(l, out->off, TRACE_STRLEN);
		addr = ir_vreg(l->f);
		ir_alui(l->f, BPF_ADD, addr, IR_CTX, fl->offset);
		call(l, BPF_FUNC_probe_read_kernel, 3, fp_addr(l, out->off),
		     imm(l, len), addr);
		return 0;
	}
	if (fl->is_string && n->type.kind == TT_STR) {
		r = ir_vreg(l->f);
		ir_load(l->f, 8, r, IR_CTX, fl->offset);
		out->off = read_str(l, n->loc, r, 0,
				    !strcmp(l->inst->target, "syscalls"));
		return out->off ? 0 : -1;
	}
	if (n->type.kind == TT_RECORD) {
		out->reg = ir_vreg(l->f);
		ir_alui(l->f, BPF_ADD, out->reg, IR_CTX, fl->offset);
		return 0;
	}
	if (fl->size != 1 && fl->size != 2 && fl->size != 4 && fl->size != 8)
		return lfail(l, n->loc, "this field's size is not supported");
	r = ir_vreg(l->f);
	ir_load(l->f, fl->size, r, IR_CTX, fl->offset);
	out->reg = extend(l, r, fl->size, fl->is_signed);
	return 0;
}

static int lower_field(struct lctx *l, struct ast_node *n, struct val *out)
{
	struct val base;
	int addr;

	out->reg = IR_NONE;
	if (n->a->kind == AST_IDENT && !strcmp(n->a->name, "args")) {
		if (l->inst->kind == PK_TRACEPOINT)
			return lower_tp_field(l, n, out);
		/* typed arguments of raw tracepoints and kfuncs */
		out->reg = ir_vreg(l->f);
		ir_load(l->f, 8, out->reg, IR_CTX, 8 * n->sym);
		return 0;
	}
	if (lower_expr(l, n->a, &base))
		return -1;
	addr = ir_vreg(l->f);
	ir_alui(l->f, BPF_ADD, addr, base.reg, n->ival);
	switch (n->type.kind) {
	case TT_RECORD:
		out->reg = addr;
		return 0;
	case TT_STR: {
		int len = n->sym < TRACE_STRLEN ? n->sym : TRACE_STRLEN - 1;

		out->off = stack_alloc(l, n->loc, TRACE_STRLEN);
		if (!out->off)
			return -1;
		zero_stack(l, out->off, TRACE_STRLEN);
		call(l, n->type.user ? BPF_FUNC_probe_read_user :
		     BPF_FUNC_probe_read_kernel, 3, fp_addr(l, out->off),
		     imm(l, len), addr);
		return 0;
	}
	default:
		out->reg = read_int(l, n->loc, addr, n->sym > 8 ? 8 : n->sym,
				    n->type.is_signed, n->type.user);
		return out->reg == IR_NONE ? -1 : 0;
	}
}

/* ---- operators ---------------------------------------------------------- */

static int cond_code(int op, bool is_signed)
{
	switch (op) {
	case TOK_EQ: return BPF_JEQ;
	case TOK_NE: return BPF_JNE;
	case '<': return is_signed ? BPF_JSLT : BPF_JLT;
	case '>': return is_signed ? BPF_JSGT : BPF_JGT;
	case TOK_LE: return is_signed ? BPF_JSLE : BPF_JLE;
	default: return is_signed ? BPF_JSGE : BPF_JGE;
	}
}

static int alu_code(int op, bool is_signed)
{
	switch (op) {
	case '+': case TOK_ADD_ASSIGN: return BPF_ADD;
	case '-': case TOK_SUB_ASSIGN: return BPF_SUB;
	case '*': case TOK_MUL_ASSIGN: return BPF_MUL;
	case '/': case TOK_DIV_ASSIGN: return BPF_DIV;
	case '%': case TOK_MOD_ASSIGN: return BPF_MOD;
	case '&': case TOK_AND_ASSIGN: return BPF_AND;
	case '|': case TOK_OR_ASSIGN: return BPF_OR;
	case '^': case TOK_XOR_ASSIGN: return BPF_XOR;
	case TOK_SHL: case TOK_SHL_ASSIGN: return BPF_LSH;
	default: return is_signed ? BPF_ARSH : BPF_RSH;
	}
}

/* Compares two 64-byte strings; result register is 1 when equal. */
static int lower_binop(struct lctx *l, struct ast_node *n, struct val *out)
{
	struct val a, b;
	int op = n->op;

	if (op == TOK_LAND || op == TOK_LOR) {
		int done = ir_new_label(l->f);

		out->reg = imm(l, op == TOK_LOR);
		if (lower_expr(l, n->a, &a))
			return -1;
		ir_bri(l->f, op == TOK_LAND ? BPF_JEQ : BPF_JNE, a.reg, 0,
		       done);
		if (lower_expr(l, n->b, &b))
			return -1;
		ir_bri(l->f, op == TOK_LAND ? BPF_JEQ : BPF_JNE, b.reg, 0,
		       done);
		ir_movi(l->f, out->reg, op == TOK_LAND);
		ir_place(l->f, done);
		return 0;
	}
	if (lower_expr(l, n->a, &a) || lower_expr(l, n->b, &b))
		return -1;
	if (n->a->type.kind == TT_STR) {
		out->reg = str_equal(l, a.off, b.off, TRACE_STRLEN);
		if (op == TOK_NE)
			ir_alui(l->f, BPF_XOR, out->reg, out->reg, 1);
		return 0;
	}
	switch (op) {
	case TOK_EQ: case TOK_NE: case '<': case '>': case TOK_LE:
	case TOK_GE: {
		int yes = ir_new_label(l->f);
		bool sgn = n->a->type.is_signed && n->b->type.is_signed;

		out->reg = imm(l, 1);
		ir_br(l->f, cond_code(op, sgn), a.reg, b.reg, yes);
		ir_movi(l->f, out->reg, 0);
		ir_place(l->f, yes);
		return 0;
	}
	default:
		/* pointer arithmetic (sema): the integer counts pointees */
		if (n->ival > 1) {
			struct val *count = n->a->type.kind == TT_PTR ? &b : &a;
			int r = ir_vreg(l->f);

			ir_alu(l->f, BPF_MUL, r, count->reg, imm(l, n->ival));
			count->reg = r;
		}
		out->reg = ir_vreg(l->f);
		ir_alu(l->f, alu_code(op, n->a->type.is_signed), out->reg,
		       a.reg, b.reg);
		return 0;
	}
}

static int lower_ternary(struct lctx *l, struct ast_node *n, struct val *out)
{
	int no = ir_new_label(l->f), done = ir_new_label(l->f);
	bool reg = in_reg(&n->type);
	struct val c, v;

	if (lower_expr(l, n->a, &c))
		return -1;
	out->reg = reg ? ir_vreg(l->f) : IR_NONE;
	if (!reg) {
		out->off = stack_alloc(l, n->loc, n->type.size);
		if (!out->off)
			return -1;
	}
	ir_bri(l->f, BPF_JEQ, c.reg, 0, no);
	if (lower_expr(l, n->b, &v))
		return -1;
	if (reg)
		ir_mov(l->f, out->reg, v.reg);
	else
		copy_obj(l, out->off, v.off, n->type.size);
	ir_jmp(l->f, done);
	ir_place(l->f, no);
	if (lower_expr(l, n->c, &v))
		return -1;
	if (reg)
		ir_mov(l->f, out->reg, v.reg);
	else
		copy_obj(l, out->off, v.off, n->type.size);
	ir_place(l->f, done);
	return 0;
}

/* ---- expressions -------------------------------------------------------- */

static int lower_expr(struct lctx *l, struct ast_node *n, struct val *out)
{
	struct val a;

	out->reg = IR_NONE;
	out->off = 0;
	ir_set_line(l->f, n->loc.line);
	switch (n->kind) {
	case AST_INT:
		out->reg = imm(l, n->ival);
		return 0;
	case AST_STR:
		out->off = str_literal(l, n->loc, n->str, n->str_len);
		return out->off ? 0 : -1;
	case AST_POSITIONAL: {
		const char *s = l->p->positional[n->ival - 1];

		if (n->type.kind == TT_INT) {
			out->reg = imm(l, strtoll(s, NULL, 0));
			return 0;
		}
		out->off = str_literal(l, n->loc, s, strlen(s));
		return out->off ? 0 : -1;
	}
	case AST_IDENT:
		return lower_ident(l, n, out);
	case AST_VAR:
		if (in_reg(&n->type))
			out->reg = l->var_reg[n->sym];
		else
			out->off = l->var_off[n->sym];
		return 0;
	case AST_MAP:
		return map_read(l, n, out);
	case AST_CALL:
		return lower_call(l, n, out, true);
	case AST_UNOP:
		if (lower_expr(l, n->a, &a))
			return -1;
		if (n->op == '*') {
			out->reg = read_int(l, n->loc, a.reg, n->ival,
					    n->type.is_signed, n->type.user);
			return out->reg == IR_NONE ? -1 : 0;
		}
		out->reg = ir_vreg(l->f);
		if (n->op == '-') {
			ir_neg(l->f, out->reg, a.reg);
		} else if (n->op == '~') {
			ir_alui(l->f, BPF_XOR, out->reg, a.reg, -1);
		} else {
			int done = ir_new_label(l->f);

			ir_movi(l->f, out->reg, 1);
			ir_bri(l->f, BPF_JEQ, a.reg, 0, done);
			ir_movi(l->f, out->reg, 0);
			ir_place(l->f, done);
		}
		return 0;
	case AST_INCDEC:
		return lfail(l, n->loc,
			     "++ and -- are statements here, e.g. @x++;");
	case AST_BINOP:
		return lower_binop(l, n, out);
	case AST_TERNARY:
		return lower_ternary(l, n, out);
	case AST_FIELD:
		return lower_field(l, n, out);
	case AST_INDEX: {
		struct val i;
		int addr = ir_vreg(l->f), scaled = ir_vreg(l->f);

		if (lower_expr(l, n->a, &a) || lower_expr(l, n->b, &i))
			return -1;
		ir_alui(l->f, BPF_MUL, scaled, i.reg, n->ival);
		ir_alu(l->f, BPF_ADD, addr, a.reg, scaled);
		out->reg = read_int(l, n->loc, addr, n->ival > 8 ? 8 : n->ival,
				    n->type.is_signed, n->type.user);
		return out->reg == IR_NONE ? -1 : 0;
	}
	case AST_CAST:
		if (lower_expr(l, n->a, &a))
			return -1;
		out->reg = extend(l, a.reg, n->ival, n->type.is_signed);
		return 0;
	case AST_TUPLE:
		out->off = stack_alloc(l, n->loc, n->type.size);
		if (!out->off)
			return -1;
		zero_stack(l, out->off, n->type.size);
		for (int i = 0; i < n->nlist; i++) {
			int eoff = out->off + n->type.offsets[i];

			if (lower_expr(l, n->list[i], &a))
				return -1;
			store_val(l, obj_base(l, eoff), eoff,
				  &n->type.elems[i], a);
		}
		return 0;
	default:
		return lfail(l, n->loc, "not a value");
	}
}

/* The condition code that is true when `cond` is false. */
static int negate_cond(int cond)
{
	switch (cond) {
	case BPF_JEQ: return BPF_JNE;
	case BPF_JNE: return BPF_JEQ;
	case BPF_JGT: return BPF_JLE;
	case BPF_JLE: return BPF_JGT;
	case BPF_JGE: return BPF_JLT;
	case BPF_JLT: return BPF_JGE;
	case BPF_JSGT: return BPF_JSLE;
	case BPF_JSLE: return BPF_JSGT;
	case BPF_JSGE: return BPF_JSLT;
	default: return BPF_JSGE;	/* BPF_JSLT */
	}
}

/*
 * Jumps to `no` when condition n is false, falls through when it is true:
 * comparisons of integers become one branch (no 0/1 value), && and ||
 * short-circuit into the same labels.
 */
static int lower_cond(struct lctx *l, struct ast_node *n, int no)
{
	struct val a, b;

	ir_set_line(l->f, n->loc.line);
	if (n->kind == AST_BINOP && (n->op == TOK_LAND || n->op == TOK_LOR)) {
		int yes = ir_new_label(l->f), next = ir_new_label(l->f);

		if (n->op == TOK_LAND)
			return lower_cond(l, n->a, no) || lower_cond(l, n->b, no);
		/* a || b: a true skips b */
		if (lower_cond(l, n->a, next))
			return -1;
		ir_jmp(l->f, yes);
		ir_place(l->f, next);
		if (lower_cond(l, n->b, no))
			return -1;
		ir_place(l->f, yes);
		return 0;
	}
	if (n->kind == AST_UNOP && n->op == '!') {
		int yes = ir_new_label(l->f);

		/* !x is false where x is true */
		if (lower_cond(l, n->a, yes))
			return -1;
		ir_jmp(l->f, no);
		ir_place(l->f, yes);
		return 0;
	}
	if (n->kind == AST_BINOP && n->a->type.kind != TT_STR &&
	    (n->op == TOK_EQ || n->op == TOK_NE || n->op == '<' ||
	     n->op == '>' || n->op == TOK_LE || n->op == TOK_GE)) {
		bool sgn = n->a->type.is_signed && n->b->type.is_signed;
		int cond = negate_cond(cond_code(n->op, sgn));

		if (lower_expr(l, n->a, &a))
			return -1;
		if (n->b->kind == AST_INT && n->b->ival >= INT32_MIN &&
		    n->b->ival <= INT32_MAX) {
			ir_bri(l->f, cond, a.reg, n->b->ival, no);
			return 0;
		}
		if (lower_expr(l, n->b, &b))
			return -1;
		ir_br(l->f, cond, a.reg, b.reg, no);
		return 0;
	}
	if (lower_expr(l, n, &a))
		return -1;
	ir_bri(l->f, BPF_JEQ, a.reg, 0, no);
	return 0;
}

/* ---- statements --------------------------------------------------------- */

static int hist_slot(struct lctx *l, int v)
{
	int slot = ir_vreg(l->f), x = ir_vreg(l->f), done = ir_new_label(l->f);

	/* slot 0: negative, 1: zero, k + 2: [2^k, 2^(k+1)) */
	ir_movi(l->f, slot, 0);
	ir_bri(l->f, BPF_JSLT, v, 0, done);
	ir_movi(l->f, slot, 1);
	ir_bri(l->f, BPF_JEQ, v, 0, done);
	ir_mov(l->f, x, v);
	ir_movi(l->f, slot, 2);
	/* binary search for the highest set bit */
	for (int shift = 32; shift; shift /= 2) {
		int skip = ir_new_label(l->f), t = ir_vreg(l->f);

		ir_alui(l->f, BPF_RSH, t, x, shift);
		ir_bri(l->f, BPF_JEQ, t, 0, skip);
		ir_mov(l->f, x, t);
		ir_alui(l->f, BPF_ADD, slot, slot, shift);
		ir_place(l->f, skip);
	}
	ir_place(l->f, done);
	return slot;
}

static int lhist_slot(struct lctx *l, int v, const struct ttype *t)
{
	int slot = ir_vreg(l->f), done = ir_new_label(l->f);
	int last = ttype_lhist_slots(t) - 1;

	ir_movi(l->f, slot, 0);
	ir_br(l->f, BPF_JSLT, v, imm(l, t->lhist_min), done);
	ir_movi(l->f, slot, last);
	ir_br(l->f, BPF_JSGE, v, imm(l, t->lhist_max), done);
	ir_alu(l->f, BPF_SUB, slot, v, imm(l, t->lhist_min));
	ir_alu(l->f, BPF_DIV, slot, slot, imm(l, t->lhist_step));
	ir_alui(l->f, BPF_ADD, slot, slot, 1);
	ir_place(l->f, done);
	return slot;
}

/* Adds 1 to slot `slot` of the u64 array at p, bounded for the verifier. */
static void bump_slot(struct lctx *l, int p, int slot, int nslots)
{
	int ok = ir_new_label(l->f), addr = ir_vreg(l->f), s = ir_vreg(l->f);

	ir_mov(l->f, s, slot);
	ir_bri(l->f, BPF_JLT, s, nslots, ok);
	ir_movi(l->f, s, nslots - 1);
	ir_place(l->f, ok);
	ir_alui(l->f, BPF_LSH, s, s, 3);
	ir_alu(l->f, BPF_ADD, addr, p, s);
	ir_atomic_add(l->f, 8, addr, 0, imm(l, 1));
}

static int lower_aggregation(struct lctx *l, struct ast_node *mn,
			     struct ast_node *call_node)
{
	const struct trace_map *m = &l->p->maps[mn->sym];
	int key, p, skip = ir_new_label(l->f);
	struct val v = { .reg = IR_NONE };

	if (call_node->nlist && lower_expr(l, call_node->list[0], &v))
		return -1;
	key = build_key(l, mn, m);
	if (!key)
		return -1;
	p = lookup_or_init(l, mn->loc, m, key, skip);
	if (p == IR_NONE)
		return -1;
	switch (m->value.kind) {
	case TT_COUNT:
		ir_atomic_add(l->f, 8, p, 0, imm(l, 1));
		break;
	case TT_SUM:
		ir_atomic_add(l->f, 8, p, 0, v.reg);
		break;
	case TT_AVG:
	case TT_STATS:
		ir_atomic_add(l->f, 8, p, 0, v.reg);
		ir_atomic_add(l->f, 8, p, 8, imm(l, 1));
		break;
	case TT_MIN:
	case TT_MAX: {
		int set = ir_vreg(l->f), cur = ir_vreg(l->f);
		int store = ir_new_label(l->f);

		ir_load(l->f, 8, set, p, 8);
		ir_bri(l->f, BPF_JEQ, set, 0, store);
		ir_load(l->f, 8, cur, p, 0);
		ir_br(l->f, m->value.kind == TT_MIN ? BPF_JSGE : BPF_JSLE,
		      v.reg, cur, skip);
		ir_place(l->f, store);
		ir_store(l->f, 8, p, 0, v.reg);
		ir_storei(l->f, 8, p, 8, 1);
		break;
	}
	case TT_HIST:
	case TT_LHIST: {
		int n = ttype_hist_slots(&m->value);

		bump_slot(l, p, m->value.kind == TT_HIST ?
			  hist_slot(l, v.reg) :
			  lhist_slot(l, v.reg, &m->value), n);
		/* the sum after the slots (ttype.h) */
		ir_atomic_add(l->f, 8, p, n * 8, v.reg);
		break;
	}
	default:
		return lfail(l, mn->loc, "not an aggregation");
	}
	ir_place(l->f, skip);
	return 0;
}

/* @m op= v and @m++: an atomic add where it is one. */
static int map_update_int(struct lctx *l, struct ast_node *mn, int op,
			  int vreg)
{
	const struct trace_map *m = &l->p->maps[mn->sym];
	int key = build_key(l, mn, m), p, skip = ir_new_label(l->f);

	if (!key)
		return -1;
	p = lookup_or_init(l, mn->loc, m, key, skip);
	if (p == IR_NONE)
		return -1;
	if (op == BPF_ADD || op == BPF_SUB) {
		int d = vreg;

		if (op == BPF_SUB) {
			d = ir_vreg(l->f);
			ir_neg(l->f, d, vreg);
		}
		ir_atomic_add(l->f, 8, p, 0, d);
	} else {
		int cur = ir_vreg(l->f);

		ir_load(l->f, 8, cur, p, 0);
		ir_alu(l->f, op, cur, cur, vreg);
		ir_store(l->f, 8, p, 0, cur);
	}
	ir_place(l->f, skip);
	return 0;
}

static int lower_assign(struct lctx *l, struct ast_node *n)
{
	struct ast_node *lhs = n->a, *rhs = n->b;
	struct val v;

	if (lhs->kind == AST_MAP) {
		const struct trace_map *m = &l->p->maps[lhs->sym];
		int key, voff;

		if (rhs->kind == AST_CALL && m->value.kind >= TT_COUNT)
			return lower_aggregation(l, lhs, rhs);
		if (lower_expr(l, rhs, &v))
			return -1;
		if (n->op != '=')
			return map_update_int(l, lhs,
					      alu_code(n->op,
						       m->value.is_signed),
					      v.reg);
		key = build_key(l, lhs, m);
		if (!key)
			return -1;
		if (v.reg != IR_NONE) {
			voff = to_mem(l, n->loc, v);
		} else if (rhs->type.size < m->value.size) {
			voff = stack_alloc(l, n->loc, m->value.size);
			if (!voff)
				return -1;
			zero_stack(l, voff, m->value.size);
			copy_obj(l, voff, v.off, rhs->type.size);
		} else {
			voff = v.off;
		}
		if (!voff)
			return -1;
		call(l, BPF_FUNC_map_update_elem, 4, map_ptr(l, m->fd),
		     fp_addr(l, key), fp_addr(l, voff), imm(l, BPF_ANY));
		return 0;
	}
	if (lower_expr(l, rhs, &v))
		return -1;
	if (in_reg(&lhs->type)) {
		int r = l->var_reg[lhs->sym];

		if (n->op == '=') {
			ir_mov(l->f, r, v.reg);
			return 0;
		}
		if (n->ival > 1) {	/* p += n: n pointees (sema) */
			int step = ir_vreg(l->f);

			ir_alu(l->f, BPF_MUL, step, v.reg, imm(l, n->ival));
			v.reg = step;
		}
		ir_alu(l->f, alu_code(n->op, lhs->type.is_signed), r, r,
		       v.reg);
		return 0;
	}
	copy_obj(l, l->var_off[lhs->sym], v.off, (lhs->type.size + 7) & ~7u);
	return 0;
}

static int lower_incdec(struct lctx *l, struct ast_node *n)
{
	int delta = n->op == TOK_INC ? 1 : -1;

	if (n->a->kind == AST_MAP)
		return map_update_int(l, n->a, BPF_ADD, imm(l, delta));
	ir_alui(l->f, BPF_ADD, l->var_reg[n->a->sym], l->var_reg[n->a->sym],
		delta);
	return 0;
}

static int lower_stmt(struct lctx *l, struct ast_node *n)
{
	int mark = l->f->stack_used, smark = l->scratch_used, ret = 0;
	struct val v;

	ir_set_line(l->f, n->loc.line);
	switch (n->kind) {
	case AST_EXPR_STMT:
		if (n->a->kind == AST_CALL)
			ret = lower_call(l, n->a, &v, false);
		else if (n->a->kind == AST_INCDEC)
			ret = lower_incdec(l, n->a);
		else
			ret = lower_expr(l, n->a, &v);
		break;
	case AST_INCDEC:
		ret = lower_incdec(l, n);
		break;
	case AST_CALL:
		ret = lower_call(l, n, &v, false);
		break;
	case AST_ASSIGN:
		ret = lower_assign(l, n);
		break;
	case AST_IF: {
		int no = ir_new_label(l->f), done = ir_new_label(l->f);

		if (lower_cond(l, n->a, no))
			return -1;
		l->f->stack_used = mark;
		l->scratch_used = smark;
		if (lower_block(l, n->b))
			return -1;
		ir_jmp(l->f, done);
		ir_place(l->f, no);
		if (n->c && lower_block(l, n->c))
			return -1;
		ir_place(l->f, done);
		break;
	}
	case AST_WHILE: {
		int top = ir_new_label(l->f), done = ir_new_label(l->f);
		int ob = l->break_label, oc = l->continue_label;

		ir_place(l->f, top);
		if (lower_cond(l, n->a, done))
			return -1;
		l->f->stack_used = mark;
		l->scratch_used = smark;
		l->break_label = done;
		l->continue_label = top;
		ret = lower_block(l, n->b);
		l->break_label = ob;
		l->continue_label = oc;
		ir_jmp(l->f, top);
		ir_place(l->f, done);
		break;
	}
	case AST_UNROLL:
		for (int i = 0; i < n->ival && !ret; i++)
			ret = lower_block(l, n->b);
		break;
	case AST_BREAK:
		ir_jmp(l->f, l->break_label);
		break;
	case AST_CONTINUE:
		ir_jmp(l->f, l->continue_label);
		break;
	case AST_RETURN:
		ir_jmp(l->f, l->exit_label);
		break;
	case AST_BLOCK:
		ret = lower_block(l, n);
		break;
	default:
		ret = lower_expr(l, n, &v);
	}
	l->f->stack_used = mark;
	l->scratch_used = smark;
	return ret || l->err ? -1 : 0;
}

static int lower_block(struct lctx *l, struct ast_node *n)
{
	if (n->kind != AST_BLOCK)
		return lower_stmt(l, n);
	for (int i = 0; i < n->nlist; i++)
		if (lower_stmt(l, n->list[i]))
			return -1;
	return 0;
}

/*
 * Where the scratch map's value for this CPU is looked up: first thing,
 * once lowering knows an object went there (scratch_end() inserts it).
 */
static void scratch_begin(struct lctx *l)
{
	l->prologue = l->f->ninsns;
}

/*
 * The lookup, moved to the start: its key, 0, is written where the first
 * stack object goes (nothing is live there yet), and a failed lookup
 * (never, for an array) skips the probe.
 */
static int scratch_end(struct lctx *l)
{
	int key, from = l->f->ninsns;

	if (!l->scratch_high)
		return 0;
	key = ir_vreg(l->f);
	ir_storei(l->f, 4, IR_FP, -8, 0);
	ir_alui(l->f, BPF_ADD, key, IR_FP, -8);
	ir_call(l->f, l->scr, BPF_FUNC_map_lookup_elem, 2,
		(int[]){ map_ptr(l, l->p->scratch_fd), key });
	ir_bri(l->f, BPF_JEQ, l->scr, 0, l->exit_label);
	if (ir_move(l->f, from, l->f->ninsns, l->prologue))
		return -1;
	/* the key's slot is an object's, never a spill's */
	if (l->stack_high < 8)
		l->stack_high = 8;
	return 0;
}

int lower_inst(struct trace_prog *p, struct trace_inst *inst)
{
	struct lctx l = { .p = p, .inst = inst };
	struct ast_node *probe = inst->probe;
	int ret = -1;

	l.f = ir_func_new(inst->name);
	if (!l.f)
		return -ENOMEM;
	l.exit_label = ir_new_label(l.f);
	ir_set_line(l.f, probe->loc.line);
	scratch_begin(&l);
	/* variables: registers for ints, stack objects for the rest */
	for (int i = 0; i < p->nvars; i++) {
		if (in_reg(&p->vars[i].type)) {
			l.var_reg[i] = ir_vreg(l.f);
			ir_movi(l.f, l.var_reg[i], 0);
		} else {
			l.var_off[i] = stack_alloc(&l, probe->loc,
						   (p->vars[i].type.size + 7) &
						   ~7u);
			if (!l.var_off[i])
				goto out;
			zero_stack(&l, l.var_off[i],
				   (p->vars[i].type.size + 7) & ~7u);
		}
	}
	/* --cgroup/--container: only tasks in it (BEGIN and END run in
	 * loupe itself) */
	if (p->cgroup_fd >= 0 && inst->kind != PK_BEGIN &&
	    inst->kind != PK_END) {
		int in = call(&l, BPF_FUNC_current_task_under_cgroup, 2,
			      map_ptr(&l, p->cgroup_fd), imm(&l, 0));

		ir_bri(l.f, BPF_JNE, in, 1, l.exit_label);
	}
	if (probe->a) {
		int mark = l.f->stack_used, smark = l.scratch_used;

		if (lower_cond(&l, probe->a, l.exit_label))
			goto out;
		l.f->stack_used = mark;
		l.scratch_used = smark;
	}
	if (lower_block(&l, probe->b))
		goto out;
	ir_place(l.f, l.exit_label);
	ir_reti(l.f, 0);
	if (scratch_end(&l))
		goto out;
	l.f->stack_used = l.stack_high;
	inst->ir = l.f;
	return 0;
out:
	ir_func_free(l.f);
	return ret;
}

/*
 * Register allocation for the trace compiler's IR: checks the function,
 * splits it into basic blocks, computes liveness by iterative dataflow
 * (so values carried around loops by backward branches stay live over
 * the whole loop), turns it into one live interval per virtual register
 * and assigns BPF registers by linear scan, spilling whole intervals to
 * 8-byte stack slots below the function's own stack objects.
 *
 * Register classes follow the BPF calling convention: a value live across
 * a helper call may only live in r6-r9 (r1-r5 and r0 are clobbered, and
 * the verifier marks r1-r5 unreadable after the call); other values take
 * r1-r4 first to keep the callee-saved registers for those that need
 * them. r0 and r5 are never allocated: emit.c uses them as scratch.
 *
 * Positions: IR instruction i is at p = i + 1 (0 is the entry, where
 * IR_CTX is defined by the kernel passing it in r1). A use at p is at
 * 2p and a definition at 2p + 1, so an operand's last use and the
 * result of the same instruction may share a register, while a value
 * live into a block is never confused with one dying there.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ir_backend.h"

struct ra_block {
	int first, last;	/* IR instruction range, inclusive */
	int succ[2], nsucc;
	bool reachable;
};

struct ra_interval {
	int v;
	int start, end;
	bool crosses_call;
	bool spilled;
	int reg;
};

struct ra_ctx {
	const struct ir_func *f;
	char *err;
	size_t errlen;
	int words;		/* bitset words per virtual register set */
	struct ra_block *blocks;
	int nblocks;
	int *block_of;		/* per instruction */
	int *label_insn;	/* per label: index of its IR_LABEL */
	uint64_t *use, *def, *in, *out;	/* nblocks * words each */
	struct ra_interval *iv;	/* per virtual register */
};

#define RA_SET(s, v)	((s)[(v) / 64] |= 1ULL << ((v) % 64))
#define RA_CLR(s, v)	((s)[(v) / 64] &= ~(1ULL << ((v) % 64)))
#define RA_HAS(s, v)	(((s)[(v) / 64] >> ((v) % 64)) & 1)

static int __attribute__((format(printf, 2, 3)))
ra_fail(struct ra_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* The virtual registers an instruction reads; returns how many. */
static int insn_uses(const struct ir_insn *in, int *u)
{
	switch (in->op) {
	case IR_MOV:
	case IR_ALUI:
	case IR_NEG:
	case IR_LOAD:
	case IR_STOREI:
	case IR_BRI:
	case IR_RET:
		u[0] = in->a;
		return 1;
	case IR_ALU:
	case IR_STORE:
	case IR_ATOMIC_ADD:
	case IR_BR:
		u[0] = in->a;
		u[1] = in->b;
		return 2;
	case IR_CALL:
		memcpy(u, in->args, sizeof(in->args));
		return in->nargs;
	default:
		return 0;
	}
}

static bool defines(enum ir_op op)
{
	switch (op) {
	case IR_MOVI:
	case IR_MOV:
	case IR_ALU:
	case IR_ALUI:
	case IR_NEG:
	case IR_LOAD:
	case IR_MAP_FD:
	case IR_CALL:
		return true;
	default:
		return false;
	}
}

/* The virtual register an instruction writes, or IR_NONE. */
static int insn_def(const struct ir_insn *in)
{
	switch (in->op) {
	case IR_MOVI:
	case IR_MOV:
	case IR_ALU:
	case IR_ALUI:
	case IR_NEG:
	case IR_LOAD:
	case IR_MAP_FD:
	case IR_CALL:
		return in->d;
	default:
		return IR_NONE;
	}
}

static bool valid_alu(int code)
{
	switch (code) {
	case BPF_ADD: case BPF_SUB: case BPF_MUL: case BPF_DIV:
	case BPF_MOD: case BPF_OR: case BPF_AND: case BPF_XOR:
	case BPF_LSH: case BPF_RSH: case BPF_ARSH:
		return true;
	default:
		return false;
	}
}

static bool valid_cond(int code)
{
	switch (code) {
	case BPF_JEQ: case BPF_JNE: case BPF_JGT: case BPF_JGE:
	case BPF_JLT: case BPF_JLE: case BPF_JSGT: case BPF_JSGE:
	case BPF_JSLT: case BPF_JSLE: case BPF_JSET:
		return true;
	default:
		return false;
	}
}

/* Rejects malformed IR with a reason instead of emitting a bad program. */
static int ra_check(struct ra_ctx *c)
{
	const struct ir_func *f = c->f;
	int u[IR_MAX_ARGS];

	if (f->cap < 0)
		return ra_fail(c, "out of memory building the IR");
	for (int l = 0; l < f->nlabels; l++)
		c->label_insn[l] = -1;
	for (int i = 0; i < f->ninsns; i++) {
		const struct ir_insn *in = &f->insns[i];
		int d = insn_def(in), n;

		if ((unsigned int)in->op > IR_RETI)
			return ra_fail(c, "instruction %d: bad opcode %d", i,
				       in->op);
		if (in->op == IR_CALL &&
		    (in->nargs < 0 || in->nargs > IR_MAX_ARGS))
			return ra_fail(c, "instruction %d: %d helper "
				       "arguments (at most 5)", i, in->nargs);
		n = insn_uses(in, u);
		for (int k = 0; k < n; k++)
			if (u[k] < IR_FP || u[k] >= f->nvregs)
				return ra_fail(c, "instruction %d: bad "
					       "register %d", i, u[k]);
		if (d == IR_FP)
			return ra_fail(c, "instruction %d: the frame pointer "
				       "is read-only", i);
		if (defines(in->op) && (d != IR_NONE || in->op != IR_CALL) &&
		    (d < IR_CTX || d >= f->nvregs))
			return ra_fail(c, "instruction %d: bad destination "
				       "register %d", i, d);
		if ((in->op == IR_ALU || in->op == IR_ALUI) &&
		    !valid_alu(in->code))
			return ra_fail(c, "instruction %d: bad ALU op 0x%x", i,
				       in->code);
		if ((in->op == IR_BR || in->op == IR_BRI) &&
		    !valid_cond(in->code))
			return ra_fail(c, "instruction %d: bad condition "
				       "0x%x", i, in->code);
		if ((in->op == IR_LOAD || in->op == IR_STORE ||
		     in->op == IR_STOREI) && in->size != 1 && in->size != 2 &&
		    in->size != 4 && in->size != 8)
			return ra_fail(c, "instruction %d: bad access size "
				       "%d", i, in->size);
		if (in->op == IR_ATOMIC_ADD && in->size != 4 && in->size != 8)
			return ra_fail(c, "instruction %d: atomic add of size "
				       "%d (4 or 8 only)", i, in->size);
		if (in->op == IR_JMP || in->op == IR_BR || in->op == IR_BRI ||
		    in->op == IR_LABEL) {
			if (in->label < 0 || in->label >= f->nlabels)
				return ra_fail(c, "instruction %d: bad label "
					       "%d", i, in->label);
		}
		if (in->op == IR_LABEL) {
			if (c->label_insn[in->label] >= 0)
				return ra_fail(c, "label L%d placed twice",
					       in->label);
			c->label_insn[in->label] = i;
		}
	}
	for (int i = 0; i < f->ninsns; i++) {
		const struct ir_insn *in = &f->insns[i];

		if ((in->op == IR_JMP || in->op == IR_BR ||
		     in->op == IR_BRI) && c->label_insn[in->label] < 0)
			return ra_fail(c, "label L%d is never placed",
				       in->label);
	}
	return 0;
}

static bool ends_block(enum ir_op op)
{
	return op == IR_JMP || op == IR_BR || op == IR_BRI || op == IR_RET ||
	       op == IR_RETI;
}

/* Basic blocks, their successors, and which are reachable from entry. */
static int ra_blocks(struct ra_ctx *c)
{
	const struct ir_func *f = c->f;
	int n = f->ninsns, *stack, sp = 0;

	c->blocks = calloc(n ? n : 1, sizeof(*c->blocks));
	if (!c->blocks)
		return ra_fail(c, "out of memory");
	for (int i = 0; i < n; i++) {
		bool leader = i == 0 || f->insns[i].op == IR_LABEL ||
			      ends_block(f->insns[i - 1].op);

		if (leader) {
			c->blocks[c->nblocks].first = i;
			c->nblocks++;
		}
		c->blocks[c->nblocks - 1].last = i;
		c->block_of[i] = c->nblocks - 1;
	}
	for (int b = 0; b < c->nblocks; b++) {
		struct ra_block *bl = &c->blocks[b];
		const struct ir_insn *in = &f->insns[bl->last];

		if (in->op == IR_JMP || in->op == IR_BR || in->op == IR_BRI)
			bl->succ[bl->nsucc++] =
				c->block_of[c->label_insn[in->label]];
		if (in->op != IR_JMP && in->op != IR_RET &&
		    in->op != IR_RETI) {
			/* -1: falls off the end, which the verifier rejects. */
			if (b + 1 == c->nblocks)
				bl->succ[bl->nsucc++] = -1;
			else
				bl->succ[bl->nsucc++] = b + 1;
		}
	}
	if (!c->nblocks)
		return ra_fail(c, "%s has no instructions", f->name);
	stack = malloc(c->nblocks * sizeof(*stack));
	if (!stack)
		return ra_fail(c, "out of memory");
	stack[sp++] = 0;
	c->blocks[0].reachable = true;
	while (sp) {
		struct ra_block *bl = &c->blocks[stack[--sp]];

		for (int k = 0; k < bl->nsucc; k++) {
			int s = bl->succ[k];

			if (s < 0) {
				free(stack);
				return ra_fail(c, "control reaches the end of "
					       "the program without a "
					       "return");
			}
			if (!c->blocks[s].reachable) {
				c->blocks[s].reachable = true;
				stack[sp++] = s;
			}
		}
	}
	free(stack);
	return 0;
}

static void ra_extend(struct ra_ctx *c, int v, int pos)
{
	struct ra_interval *iv = &c->iv[v];

	if (pos < iv->start)
		iv->start = pos;
	if (pos > iv->end)
		iv->end = pos;
}

/* Backward liveness over reachable blocks until nothing changes. */
static void ra_liveness(struct ra_ctx *c)
{
	const struct ir_func *f = c->f;
	int w = c->words, u[IR_MAX_ARGS];
	bool changed = true;

	for (int b = 0; b < c->nblocks; b++) {
		uint64_t *use = c->use + b * w, *def = c->def + b * w;

		for (int i = c->blocks[b].first; i <= c->blocks[b].last; i++) {
			const struct ir_insn *in = &f->insns[i];
			int n = insn_uses(in, u), d = insn_def(in);

			for (int k = 0; k < n; k++)
				if (u[k] != IR_FP && !RA_HAS(def, u[k]))
					RA_SET(use, u[k]);
			if (d != IR_NONE)
				RA_SET(def, d);
		}
	}
	while (changed) {
		changed = false;
		for (int b = c->nblocks - 1; b >= 0; b--) {
			struct ra_block *bl = &c->blocks[b];
			uint64_t *in = c->in + b * w, *out = c->out + b * w;
			uint64_t *use = c->use + b * w, *def = c->def + b * w;

			if (!bl->reachable)
				continue;
			for (int k = 0; k < bl->nsucc; k++) {
				uint64_t *sin = c->in + bl->succ[k] * w;

				for (int j = 0; j < w; j++)
					out[j] |= sin[j];
			}
			for (int j = 0; j < w; j++) {
				uint64_t nin = use[j] | (out[j] & ~def[j]);

				if (nin != in[j]) {
					in[j] = nin;
					changed = true;
				}
			}
		}
	}
}

/* Live intervals and which values must survive a helper call. */
static int ra_intervals(struct ra_ctx *c, struct ir_alloc *ra)
{
	const struct ir_func *f = c->f;
	int w = c->words, u[IR_MAX_ARGS];
	uint64_t *live = calloc(w, sizeof(*live));

	if (!live)
		return ra_fail(c, "out of memory");
	for (int v = 0; v < f->nvregs; v++) {
		c->iv[v].v = v;
		c->iv[v].start = INT_MAX;
		c->iv[v].end = -1;
		c->iv[v].reg = -1;
	}
	for (int b = 0; b < c->nblocks; b++) {
		struct ra_block *bl = &c->blocks[b];

		if (!bl->reachable)
			continue;
		memcpy(live, c->out + b * w, w * sizeof(*live));
		for (int v = 0; v < f->nvregs; v++)
			if (RA_HAS(live, v))
				ra_extend(c, v, 2 * (bl->last + 1) + 1);
		for (int i = bl->last; i >= bl->first; i--) {
			const struct ir_insn *in = &f->insns[i];
			int p = i + 1, d = insn_def(in);
			int n = insn_uses(in, u);

			if (in->op == IR_CALL) {
				for (int v = 0; v < f->nvregs; v++)
					if (v != d && RA_HAS(live, v))
						c->iv[v].crosses_call = true;
			}
			if (d != IR_NONE) {
				ra_extend(c, d, 2 * p + 1);
				RA_CLR(live, d);
			}
			for (int k = 0; k < n; k++) {
				if (u[k] == IR_FP)
					continue;
				ra_extend(c, u[k], 2 * p);
				RA_SET(live, u[k]);
			}
		}
		for (int v = 0; v < f->nvregs; v++)
			if (RA_HAS(live, v))
				ra_extend(c, v, 2 * (bl->first + 1));
	}
	free(live);
	for (int v = 0; v < f->nvregs; v++) {
		if (!RA_HAS(c->in, v))
			continue;
		if (v != IR_CTX)
			return ra_fail(c, "v%d may be used before it is "
				       "set", v);
		ra->ctx_live = true;
		ra_extend(c, v, 1);
	}
	return 0;
}

static int cmp_start(const void *x, const void *y)
{
	const struct ra_interval *a = *(struct ra_interval *const *)x;
	const struct ra_interval *b = *(struct ra_interval *const *)y;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->v - b->v;
}

/*
 * Linear scan (Poletto and Sarkar): intervals in order of start; when no
 * register of the interval's class is free, spill whichever of it and
 * the active intervals holding such a register ends last.
 */
static int ra_scan(struct ra_ctx *c, struct ir_alloc *ra)
{
	static const int any_regs[] = { 1, 2, 3, 4, 6, 7, 8, 9 };
	static const int saved_regs[] = { 6, 7, 8, 9 };
	const struct ir_func *f = c->f;
	struct ra_interval **order, *owner[11] = { NULL };
	int n = 0, nslots = 0, *slot_end = NULL, base;

	order = calloc(f->nvregs, sizeof(*order));
	if (!order)
		return ra_fail(c, "out of memory");
	for (int v = IR_CTX; v < f->nvregs; v++)
		if (c->iv[v].end >= 0)
			order[n++] = &c->iv[v];
	qsort(order, n, sizeof(*order), cmp_start);
	for (int k = 0; k < n; k++) {
		struct ra_interval *cur = order[k];
		const int *regs = cur->crosses_call ? saved_regs : any_regs;
		int nregs = cur->crosses_call ? 4 : 8, victim = -1;

		for (int r = 0; r < 11; r++)
			if (owner[r] && owner[r]->end < cur->start)
				owner[r] = NULL;
		for (int j = 0; j < nregs && cur->reg < 0; j++) {
			if (!owner[regs[j]]) {
				cur->reg = regs[j];
				owner[regs[j]] = cur;
			}
		}
		if (cur->reg >= 0)
			continue;
		for (int j = 0; j < nregs; j++) {
			int r = regs[j];

			if (victim < 0 || owner[r]->end > owner[victim]->end)
				victim = r;
		}
		if (owner[victim]->end > cur->end) {
			owner[victim]->spilled = true;
			owner[victim]->reg = -1;
			cur->reg = victim;
			owner[victim] = cur;
		} else {
			cur->spilled = true;
		}
	}
	/* Spill slots, shared by spilled intervals that do not overlap. */
	base = (f->stack_used + 7) & ~7;
	for (int k = 0; k < n; k++) {
		struct ra_interval *cur = order[k];
		int s;

		ra->home[cur->v].reg = cur->reg;
		if (!cur->spilled)
			continue;
		for (s = 0; s < nslots; s++)
			if (slot_end[s] < cur->start)
				break;
		if (s == nslots) {
			int *ne = realloc(slot_end, (nslots + 1) *
					  sizeof(*ne));

			if (!ne) {
				free(slot_end);
				free(order);
				return ra_fail(c, "out of memory");
			}
			slot_end = ne;
			nslots++;
		}
		slot_end[s] = cur->end;
		ra->home[cur->v].slot = -(base + 8 * (s + 1));
	}
	free(slot_end);
	free(order);
	ra->nspills = nslots;
	ra->frame = base + 8 * nslots;
	if (ra->frame > IR_STACK_SIZE)
		return ra_fail(c, "stack exhausted: %d bytes needed, %d "
			       "available", ra->frame, IR_STACK_SIZE);
	return 0;
}

int ir_alloc_run(const struct ir_func *f, struct ir_alloc *ra, char *err,
		 size_t errlen)
{
	struct ra_ctx c = { .f = f, .err = err, .errlen = errlen };
	int n = f->ninsns, nb, ret = -1;

	memset(ra, 0, sizeof(*ra));
	if (f->nvregs < IR_FIRST_VREG || f->nlabels < 0 || n < 0) {
		snprintf(err, errlen, "malformed IR function");
		return -1;
	}
	c.words = (f->nvregs + 63) / 64;
	nb = n ? n : 1;
	c.block_of = calloc(nb, sizeof(int));
	c.label_insn = calloc(f->nlabels ? f->nlabels : 1, sizeof(int));
	c.use = calloc((size_t)nb * c.words, sizeof(uint64_t));
	c.def = calloc((size_t)nb * c.words, sizeof(uint64_t));
	c.in = calloc((size_t)nb * c.words, sizeof(uint64_t));
	c.out = calloc((size_t)nb * c.words, sizeof(uint64_t));
	c.iv = calloc(f->nvregs, sizeof(*c.iv));
	ra->home = calloc(f->nvregs, sizeof(*ra->home));
	ra->reachable = calloc(nb, sizeof(bool));
	if (!c.block_of || !c.label_insn || !c.use || !c.def || !c.in ||
	    !c.out || !c.iv || !ra->home || !ra->reachable) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (int v = 0; v < f->nvregs; v++)
		ra->home[v].reg = -1;
	if (ra_check(&c) || ra_blocks(&c))
		goto out;
	ra_liveness(&c);
	if (ra_intervals(&c, ra) || ra_scan(&c, ra))
		goto out;
	for (int b = 0; b < c.nblocks; b++)
		for (int i = c.blocks[b].first; i <= c.blocks[b].last; i++)
			ra->reachable[i] = c.blocks[b].reachable;
	ret = 0;
out:
	free(c.blocks);
	free(c.block_of);
	free(c.label_insn);
	free(c.use);
	free(c.def);
	free(c.in);
	free(c.out);
	free(c.iv);
	if (ret)
		ir_alloc_free(ra);
	return ret;
}

void ir_alloc_free(struct ir_alloc *ra)
{
	free(ra->home);
	free(ra->reachable);
	ra->home = NULL;
	ra->reachable = NULL;
}

/*
 * BPF code generation for the trace compiler (ir_emit) and a
 * disassembler in the verifier's notation (ir_dump_bpf).
 *
 * Every virtual register has a home chosen by regalloc.c: a BPF register
 * or an 8-byte stack slot. Spilled operands are reloaded into the scratch
 * registers r0/r5 right before the instruction that reads them and
 * results are stored straight after, always as aligned 8-byte accesses so
 * the verifier keeps tracking spilled pointers and scalar bounds. All ALU
 * is 64-bit. Immediates that do not fit BPF's signed 32-bit field go
 * through a scratch register loaded with ld_imm64.
 */
#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"
#include "ir_backend.h"

#define S1 IR_SCRATCH1
#define S2 IR_SCRATCH2

struct em_fixup {
	int pc;
	int label;
};

struct em {
	const struct ir_func *f;
	const struct ir_alloc *ra;
	struct bpf_insn *insns;
	int *lines;
	int n, cap;
	int line;		/* line of the IR instruction being emitted */
	bool oom;
	int *label_pc;
	struct em_fixup *fix;
	int nfix, capfix;
};

static bool fits_s32(long long v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

static bool fits_s16(long long v)
{
	return v >= INT16_MIN && v <= INT16_MAX;
}

static void em_insn(struct em *e, uint8_t code, int dst, int src, int off,
		    int imm)
{
	struct bpf_insn *in;

	if (e->oom)
		return;
	if (e->n == e->cap) {
		int cap = e->cap ? e->cap * 2 : 128;
		struct bpf_insn *ni = realloc(e->insns, cap * sizeof(*ni));
		int *nl;

		if (!ni) {
			e->oom = true;
			return;
		}
		e->insns = ni;
		nl = realloc(e->lines, cap * sizeof(*nl));
		if (!nl) {
			e->oom = true;
			return;
		}
		e->lines = nl;
		e->cap = cap;
	}
	in = &e->insns[e->n];
	memset(in, 0, sizeof(*in));
	in->code = code;
	in->dst_reg = dst;
	in->src_reg = src;
	in->off = off;
	in->imm = imm;
	e->lines[e->n++] = e->line;
}

static int bpf_size(int size)
{
	switch (size) {
	case 1: return BPF_B;
	case 2: return BPF_H;
	case 4: return BPF_W;
	default: return BPF_DW;
	}
}

static void em_mov(struct em *e, int dst, int src)
{
	if (dst != src)
		em_insn(e, BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}

static void em_ld_imm64(struct em *e, int dst, int src_reg, long long imm)
{
	em_insn(e, BPF_LD | BPF_DW | BPF_IMM, dst, src_reg, 0, (int32_t)imm);
	em_insn(e, 0, 0, 0, 0, (int32_t)((unsigned long long)imm >> 32));
}

static void em_movi(struct em *e, int dst, long long imm)
{
	if (fits_s32(imm))
		em_insn(e, BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
	else
		em_ld_imm64(e, dst, 0, imm);
}

static void em_spill(struct em *e, int slot, int reg)
{
	em_insn(e, BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, reg, slot, 0);
}

static void em_fill(struct em *e, int reg, int slot)
{
	em_insn(e, BPF_LDX | BPF_MEM | BPF_DW, reg, BPF_REG_10, slot, 0);
}

/* The register holding v, reloading a spilled v into scratch. */
static int em_use(struct em *e, int v, int scratch)
{
	const struct ir_home *h;

	if (v == IR_FP)
		return BPF_REG_10;
	h = &e->ra->home[v];
	if (h->reg >= 0)
		return h->reg;
	em_fill(e, scratch, h->slot);
	return scratch;
}

/* The register to compute d in: its home, or S1 when it is spilled. */
static int em_target(struct em *e, int d)
{
	int r = e->ra->home[d].reg;

	return r >= 0 ? r : S1;
}

/* Moves a result computed in reg to d's home. */
static void em_def(struct em *e, int d, int reg)
{
	const struct ir_home *h = &e->ra->home[d];

	if (h->reg >= 0)
		em_mov(e, h->reg, reg);
	else
		em_spill(e, h->slot, reg);
}

/*
 * A memory operand's base register and displacement; displacements
 * beyond BPF's 16 bits are folded into S1 (the base may already be S1).
 */
static int em_addr(struct em *e, int base, int *off)
{
	if (fits_s16(*off))
		return base;
	em_mov(e, S1, base);
	em_insn(e, BPF_ALU64 | BPF_ADD | BPF_K, S1, 0, 0, *off);
	*off = 0;
	return S1;
}

/* d = a <code> rb, where rb already holds the right operand. */
static void em_alu_reg(struct em *e, int code, int d, int a, int rb)
{
	int ra = em_use(e, a, S1);
	int t = em_target(e, d);

	/* Two-address: d = a; d op= b would clobber b when d shares it. */
	if (t == rb && t != ra)
		t = S1;
	em_mov(e, t, ra);
	em_insn(e, BPF_ALU64 | code | BPF_X, t, rb, 0, 0);
	em_def(e, d, t);
}

static void em_alui(struct em *e, const struct ir_insn *in)
{
	long long imm = in->imm;
	int code = in->code, ra, t;

	/* The verifier rejects K-form division by zero and wide shifts;
	 * give them the X-form's run-time meaning instead. */
	if ((code == BPF_DIV || code == BPF_MOD) && imm == 0) {
		if (code == BPF_DIV) {
			em_insn(e, BPF_ALU64 | BPF_MOV | BPF_K,
				em_target(e, in->d), 0, 0, 0);
			em_def(e, in->d, em_target(e, in->d));
		} else {
			em_def(e, in->d, em_use(e, in->a, S1));
		}
		return;
	}
	if (code == BPF_LSH || code == BPF_RSH || code == BPF_ARSH)
		imm &= 63;
	/* Identities (fp + 0 from lowering, say) are plain moves. */
	if ((imm == 0 && code != BPF_MUL && code != BPF_DIV &&
	     code != BPF_MOD && code != BPF_AND) ||
	    (imm == 1 && (code == BPF_MUL || code == BPF_DIV)) ||
	    (imm == -1 && code == BPF_AND)) {
		em_def(e, in->d, em_use(e, in->a, S1));
		return;
	}
	if (!fits_s32(imm)) {
		em_ld_imm64(e, S2, 0, imm);
		em_alu_reg(e, code, in->d, in->a, S2);
		return;
	}
	ra = em_use(e, in->a, S1);
	t = em_target(e, in->d);
	em_mov(e, t, ra);
	em_insn(e, BPF_ALU64 | code | BPF_K, t, 0, 0, imm);
	em_def(e, in->d, t);
}

/*
 * Helper arguments into r1..r5: register sources as a parallel move
 * (sequenced so no source is overwritten before it is read, cycles
 * broken through r0), then spilled sources loaded straight into place.
 */
static void em_call(struct em *e, const struct ir_insn *in)
{
	int dst[IR_MAX_ARGS], src[IR_MAX_ARGS], n = 0;

	for (int i = 0; i < in->nargs; i++) {
		int v = in->args[i];
		int r = v == IR_FP ? BPF_REG_10 : e->ra->home[v].reg;

		if (r >= 0 && r != i + 1) {
			dst[n] = i + 1;
			src[n] = r;
			n++;
		}
	}
	while (n > 0) {
		int k, m;

		for (k = 0; k < n; k++) {
			for (m = 0; m < n; m++)
				if (m != k && src[m] == dst[k])
					break;
			if (m == n)
				break;
		}
		if (k == n) {
			/* Only cycles left: free dst[0] by copying it out. */
			int blocked = dst[0];

			em_mov(e, S1, blocked);
			for (m = 0; m < n; m++)
				if (src[m] == blocked)
					src[m] = S1;
			k = 0;
		}
		em_mov(e, dst[k], src[k]);
		dst[k] = dst[n - 1];
		src[k] = src[n - 1];
		n--;
	}
	for (int i = 0; i < in->nargs; i++) {
		int v = in->args[i];

		if (v != IR_FP && e->ra->home[v].reg < 0)
			em_fill(e, i + 1, e->ra->home[v].slot);
	}
	em_insn(e, BPF_JMP | BPF_CALL, 0, 0, 0, in->imm);
	if (in->d != IR_NONE)
		em_def(e, in->d, BPF_REG_0);
}

static void em_jump(struct em *e, uint8_t code, int dst, int src, int imm,
		    int label)
{
	if (e->nfix == e->capfix) {
		int cap = e->capfix ? e->capfix * 2 : 32;
		struct em_fixup *nf = realloc(e->fix, cap * sizeof(*nf));

		if (!nf) {
			e->oom = true;
			return;
		}
		e->fix = nf;
		e->capfix = cap;
	}
	e->fix[e->nfix].pc = e->n;
	e->fix[e->nfix].label = label;
	e->nfix++;
	em_insn(e, code, dst, src, 0, imm);
}

/* Whether only labels separate instruction i from label's placement. */
static bool falls_to(struct em *e, int i, int label)
{
	const struct ir_func *f = e->f;

	for (int j = i + 1; j < f->ninsns; j++) {
		const struct ir_insn *in = &f->insns[j];

		if (in->op == IR_LABEL && in->label == label)
			return true;
		if (in->op != IR_LABEL && e->ra->reachable[j])
			return false;
	}
	return false;
}

static void em_one(struct em *e, int i)
{
	const struct ir_insn *in = &e->f->insns[i];
	int ra, rb, t, off = in->off, sz = bpf_size(in->size);

	switch (in->op) {
	case IR_MOVI:
		t = em_target(e, in->d);
		em_movi(e, t, in->imm);
		em_def(e, in->d, t);
		break;
	case IR_MOV:
		em_def(e, in->d, em_use(e, in->a, S1));
		break;
	case IR_ALU:
		rb = em_use(e, in->b, S2);
		em_alu_reg(e, in->code, in->d, in->a, rb);
		break;
	case IR_ALUI:
		em_alui(e, in);
		break;
	case IR_NEG:
		ra = em_use(e, in->a, S1);
		t = em_target(e, in->d);
		em_mov(e, t, ra);
		em_insn(e, BPF_ALU64 | BPF_NEG | BPF_K, t, 0, 0, 0);
		em_def(e, in->d, t);
		break;
	case IR_LOAD:
		ra = em_addr(e, em_use(e, in->a, S1), &off);
		t = em_target(e, in->d);
		em_insn(e, BPF_LDX | BPF_MEM | sz, t, ra, off, 0);
		em_def(e, in->d, t);
		break;
	case IR_STORE:
		rb = em_use(e, in->b, S2);
		ra = em_addr(e, em_use(e, in->a, S1), &off);
		em_insn(e, BPF_STX | BPF_MEM | sz, ra, rb, off, 0);
		break;
	case IR_STOREI:
		ra = em_addr(e, em_use(e, in->a, S1), &off);
		/* A narrow store only keeps the low bytes of the imm. */
		if (in->size < 8 || fits_s32(in->imm)) {
			em_insn(e, BPF_ST | BPF_MEM | sz, ra, 0, off,
				(int32_t)in->imm);
		} else {
			em_ld_imm64(e, S2, 0, in->imm);
			em_insn(e, BPF_STX | BPF_MEM | sz, ra, S2, off, 0);
		}
		break;
	case IR_ATOMIC_ADD:
		rb = em_use(e, in->b, S2);
		ra = em_addr(e, em_use(e, in->a, S1), &off);
		em_insn(e, BPF_STX | BPF_ATOMIC | sz, ra, rb, off, BPF_ADD);
		break;
	case IR_MAP_FD:
		t = em_target(e, in->d);
		em_ld_imm64(e, t, BPF_PSEUDO_MAP_FD, in->imm);
		em_def(e, in->d, t);
		break;
	case IR_CALL:
		em_call(e, in);
		break;
	case IR_JMP:
		if (!falls_to(e, i, in->label))
			em_jump(e, BPF_JMP | BPF_JA, 0, 0, 0, in->label);
		break;
	case IR_BR:
		rb = em_use(e, in->b, S2);
		ra = em_use(e, in->a, S1);
		em_jump(e, BPF_JMP | in->code | BPF_X, ra, rb, 0, in->label);
		break;
	case IR_BRI:
		ra = em_use(e, in->a, S1);
		if (fits_s32(in->imm)) {
			em_jump(e, BPF_JMP | in->code | BPF_K, ra, 0, in->imm,
				in->label);
		} else {
			em_ld_imm64(e, S2, 0, in->imm);
			em_jump(e, BPF_JMP | in->code | BPF_X, ra, S2, 0,
				in->label);
		}
		break;
	case IR_LABEL:
		e->label_pc[in->label] = e->n;
		break;
	case IR_RET:
		/* Spilled: straight from the slot into r0. */
		em_mov(e, BPF_REG_0, em_use(e, in->a, BPF_REG_0));
		em_insn(e, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
		break;
	case IR_RETI:
		em_movi(e, BPF_REG_0, in->imm);
		em_insn(e, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
		break;
	}
}

int ir_emit(const struct ir_func *f, struct bpf_insn **insns, int *ninsns,
	    int **lines, char *err, size_t errlen)
{
	struct ir_alloc ra;
	struct em e = { .f = f, .ra = &ra };
	int ret = -1;

	*insns = NULL;
	*lines = NULL;
	*ninsns = 0;
	if (ir_alloc_run(f, &ra, err, errlen))
		return -1;
	e.label_pc = calloc(f->nlabels ? f->nlabels : 1, sizeof(int));
	if (!e.label_pc) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	e.line = f->insns[0].line;
	if (ra.ctx_live) {
		/* The kernel passes the context in r1. */
		const struct ir_home *h = &ra.home[IR_CTX];

		if (h->reg >= 0)
			em_mov(&e, h->reg, BPF_REG_1);
		else
			em_spill(&e, h->slot, BPF_REG_1);
	}
	for (int i = 0; i < f->ninsns; i++) {
		if (!ra.reachable[i])
			continue;
		e.line = f->insns[i].line;
		em_one(&e, i);
	}
	if (e.oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (int k = 0; k < e.nfix; k++) {
		long long off = (long long)e.label_pc[e.fix[k].label] -
				e.fix[k].pc - 1;

		if (!fits_s16(off)) {
			snprintf(err, errlen, "jump to L%d out of range "
				 "(%lld instructions)", e.fix[k].label, off);
			goto out;
		}
		e.insns[e.fix[k].pc].off = off;
	}
	if (e.n > 1000000) {
		snprintf(err, errlen, "program too large: %d instructions",
			 e.n);
		goto out;
	}
	*insns = e.insns;
	*lines = e.lines;
	*ninsns = e.n;
	e.insns = NULL;
	e.lines = NULL;
	ret = 0;
out:
	free(e.insns);
	free(e.lines);
	free(e.label_pc);
	free(e.fix);
	ir_alloc_free(&ra);
	return ret;
}

static const char *const alu_ops[16] = {
	[BPF_ADD >> 4] = "+=", [BPF_SUB >> 4] = "-=", [BPF_MUL >> 4] = "*=",
	[BPF_DIV >> 4] = "/=", [BPF_OR >> 4] = "|=", [BPF_AND >> 4] = "&=",
	[BPF_LSH >> 4] = "<<=", [BPF_RSH >> 4] = ">>=", [BPF_MOD >> 4] = "%=",
	[BPF_XOR >> 4] = "^=", [BPF_MOV >> 4] = "=", [BPF_ARSH >> 4] = "s>>=",
};

static const char *const jmp_ops[16] = {
	[BPF_JEQ >> 4] = "==", [BPF_JGT >> 4] = ">", [BPF_JGE >> 4] = ">=",
	[BPF_JSET >> 4] = "&", [BPF_JNE >> 4] = "!=", [BPF_JSGT >> 4] = "s>",
	[BPF_JSGE >> 4] = "s>=", [BPF_JLT >> 4] = "<", [BPF_JLE >> 4] = "<=",
	[BPF_JSLT >> 4] = "s<", [BPF_JSLE >> 4] = "s<=",
};

static const char *size_str(int code)
{
	switch (BPF_SIZE(code)) {
	case BPF_B: return "u8";
	case BPF_H: return "u16";
	case BPF_W: return "u32";
	default: return "u64";
	}
}

/* One instruction (two for ld_imm64); returns how many it took. */
static int dis_one(FILE *out, const struct bpf_insn *in, int left)
{
	int cls = BPF_CLASS(in->code), op = BPF_OP(in->code) >> 4;
	char w = cls == BPF_ALU || cls == BPF_JMP32 ? 'w' : 'r';
	const char *name;

	fprintf(out, "(%02x) ", in->code);
	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		if (BPF_OP(in->code) == BPF_NEG)
			fprintf(out, "%c%d = -%c%d", w, in->dst_reg, w,
				in->dst_reg);
		else if (BPF_OP(in->code) == BPF_END)
			fprintf(out, "%c%d = %s%d %c%d", w, in->dst_reg,
				BPF_SRC(in->code) == BPF_TO_BE ? "be" : "le",
				in->imm, w, in->dst_reg);
		else if (!alu_ops[op])
			fprintf(out, "invalid alu op");
		else if (BPF_SRC(in->code) == BPF_X)
			fprintf(out, "%c%d %s %c%d", w, in->dst_reg,
				alu_ops[op], w, in->src_reg);
		else
			fprintf(out, "%c%d %s %d", w, in->dst_reg,
				alu_ops[op], in->imm);
		return 1;
	case BPF_STX:
		if (BPF_MODE(in->code) == BPF_ATOMIC && in->imm == BPF_ADD)
			fprintf(out, "lock *(%s *)(r%d %+d) += r%d",
				size_str(in->code), in->dst_reg, in->off,
				in->src_reg);
		else if (BPF_MODE(in->code) == BPF_MEM)
			fprintf(out, "*(%s *)(r%d %+d) = r%d",
				size_str(in->code), in->dst_reg, in->off,
				in->src_reg);
		else
			fprintf(out, "invalid stx");
		return 1;
	case BPF_ST:
		fprintf(out, "*(%s *)(r%d %+d) = %d", size_str(in->code),
			in->dst_reg, in->off, in->imm);
		return 1;
	case BPF_LDX:
		fprintf(out, "r%d = *(%s *)(r%d %+d)", in->dst_reg,
			size_str(in->code), in->src_reg, in->off);
		return 1;
	case BPF_LD:
		if (in->code != (BPF_LD | BPF_DW | BPF_IMM) || left < 2) {
			fprintf(out, "invalid ld");
			return 1;
		}
		if (in->src_reg == BPF_PSEUDO_MAP_FD)
			fprintf(out, "r%d = map[fd:%d]", in->dst_reg, in->imm);
		else
			fprintf(out, "r%d = 0x%llx", in->dst_reg,
				(unsigned long long)(uint32_t)in->imm |
				(unsigned long long)(uint32_t)in[1].imm << 32);
		return 2;
	case BPF_JMP:
	case BPF_JMP32:
		if (BPF_OP(in->code) == BPF_CALL) {
			name = ir_helper_name(in->imm);
			fprintf(out, "call %s#%d", name ? name : "unknown",
				in->imm);
		} else if (BPF_OP(in->code) == BPF_EXIT) {
			fprintf(out, "exit");
		} else if (BPF_OP(in->code) == BPF_JA) {
			fprintf(out, "goto pc%+d", in->off);
		} else if (!jmp_ops[op]) {
			fprintf(out, "invalid jmp op");
		} else if (BPF_SRC(in->code) == BPF_X) {
			fprintf(out, "if %c%d %s %c%d goto pc%+d", w,
				in->dst_reg, jmp_ops[op], w, in->src_reg,
				in->off);
		} else {
			fprintf(out, "if %c%d %s 0x%x goto pc%+d", w,
				in->dst_reg, jmp_ops[op], in->imm, in->off);
		}
		return 1;
	default:
		fprintf(out, "invalid class");
		return 1;
	}
}

void ir_dump_bpf(FILE *out, const struct bpf_insn *insns, int ninsns,
		 const int *lines, const char *src_text)
{
	int prev = 0;

	for (int i = 0; i < ninsns;) {
		if (lines && src_text && lines[i] != prev) {
			prev = lines[i];
			if (prev > 0)
				ir_print_src_line(out, src_text, prev);
		}
		fprintf(out, "%d: ", i);
		i += dis_one(out, &insns[i], ninsns - i);
		fputc('\n', out);
	}
}

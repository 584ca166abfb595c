/*
 * The classic-to-eBPF translator behind loupe's packet filters: libpcap
 * compiles a tcpdump expression into classic BPF, this turns it into an
 * XDP or TC program body the verifier accepts. cBPF's A and X live in r8
 * and r9, its scratch words M[0..15] on the stack, the packet between r6
 * (data) and r7 (data_end). Every packet load is bounds-checked against
 * data_end first; a load past the end, like a division by zero, ends the
 * filter with 0 (no match), as cBPF does. cBPF jumps only go forward, so
 * the result has no loops.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xlate.h"

#define R_DATA	6
#define R_END	7
#define R_A	8
#define R_X	9
#define R_FP	10

#define CBPF_MEMWORDS	16
#define MEM_OFF(i)	(-64 + 4 * (int)(i))

/*
 * The largest packet offset a load may reach: the verifier tracks packet
 * pointers only up to 0xffff bytes in (MAX_PACKET_OFF), with the access
 * size on top. A longer packet's bytes beyond it read as out of bounds.
 */
#define PKT_LIMIT	0xfff0

/* __sk_buff and xdp_md field offsets (UAPI, stable). */
#define SKB_LEN		0
#define SKB_DATA	76
#define SKB_DATA_END	80
#define XDP_DATA	0
#define XDP_DATA_END	4

/* Where an emitted jump goes, resolved once all code is out. */
enum {
	TGT_NONE = -1,	/* not a jump, or a local one (offset set) */
	TGT_FAIL = -2,	/* r0 = 0, then the epilogue */
	TGT_EPI = -3,	/* the epilogue, r0 already set */
};

struct tx {
	struct xlate_prog *p;
	int *tgt;		/* per instruction: TGT_* or a cBPF pc */
	size_t tcap;
	bool oom;
};

static void emit(struct tx *t, uint8_t code, int dst, int src, int off,
		 int32_t imm, int tgt)
{
	struct xlate_prog *p = t->p;

	if (t->oom)
		return;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		struct bpf_insn *ni = realloc(p->insns, cap * sizeof(*ni));
		int *nt = realloc(t->tgt, cap * sizeof(*nt));

		if (ni)
			p->insns = ni;
		if (nt)
			t->tgt = nt;
		if (!ni || !nt) {
			t->oom = true;
			return;
		}
		p->cap = cap;
	}
	p->insns[p->n] = (struct bpf_insn){
		.code = code, .dst_reg = dst, .src_reg = src,
		.off = (int16_t)off, .imm = imm,
	};
	t->tgt[p->n] = tgt;
	p->n++;
}

static void mov64(struct tx *t, int dst, int src)
{
	emit(t, BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0, TGT_NONE);
}

static void jump_to(struct tx *t, int tgt)
{
	emit(t, BPF_JMP | BPF_JA, 0, 0, 0, 0, tgt);
}

static int load_size(int cbpf_size)
{
	switch (cbpf_size) {
	case BPF_W: return 4;
	case BPF_H: return 2;
	case BPF_B: return 1;
	}
	return 0;
}

/* dst = the sz bytes at data + k (+ X if ind), in host order; or fail. */
static void load_packet(struct tx *t, int dst, int sz, uint32_t k, bool ind)
{
	int code = BPF_LDX | BPF_MEM |
		   (sz == 4 ? BPF_W : sz == 2 ? BPF_H : BPF_B);

	if (!ind) {
		if (k > PKT_LIMIT - (uint32_t)sz) {
			jump_to(t, TGT_FAIL);
			return;
		}
		/* r2 = data + k + sz; if r2 > data_end: fail */
		mov64(t, 2, R_DATA);
		emit(t, BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, k + sz,
		     TGT_NONE);
		emit(t, BPF_JMP | BPF_JGT | BPF_X, 2, R_END, 0, 0, TGT_FAIL);
		emit(t, code, dst, 2, -sz, 0, TGT_NONE);
	} else {
		if (k > PKT_LIMIT) {
			jump_to(t, TGT_FAIL);
			return;
		}
		/*
		 * The offset X + k is bounded first so that the verifier
		 * can track data + offset; then data + offset + sz is
		 * checked against data_end.
		 */
		mov64(t, 2, R_X);
		if (k)
			emit(t, BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, k,
			     TGT_NONE);
		emit(t, BPF_JMP | BPF_JGT | BPF_K, 2, 0, 0, PKT_LIMIT,
		     TGT_FAIL);
		mov64(t, 3, R_DATA);
		emit(t, BPF_ALU64 | BPF_ADD | BPF_X, 3, 2, 0, 0, TGT_NONE);
		mov64(t, 4, 3);
		emit(t, BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, sz, TGT_NONE);
		emit(t, BPF_JMP | BPF_JGT | BPF_X, 4, R_END, 0, 0, TGT_FAIL);
		emit(t, code, dst, 3, 0, 0, TGT_NONE);
	}
	/* Network byte order to host order. */
	if (sz > 1)
		emit(t, BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, sz * 8,
		     TGT_NONE);
}

static void prologue(struct tx *t, enum xlate_hook hook)
{
	if (hook == XLATE_TC) {
		emit(t, BPF_LDX | BPF_MEM | BPF_W, 2, 1, SKB_LEN, 0,
		     TGT_NONE);
		emit(t, BPF_STX | BPF_MEM | BPF_W, R_FP, 2, XLATE_LEN_OFF, 0,
		     TGT_NONE);
		/*
		 * Make the whole packet direct-readable: a GSO packet or one
		 * from a socket keeps most of its bytes outside the head.
		 */
		mov64(t, R_X, 1);
		emit(t, BPF_STX | BPF_MEM | BPF_DW, R_FP, 1, XLATE_CTX_OFF, 0,
		     TGT_NONE);
		emit(t, BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0, TGT_NONE);
		emit(t, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_skb_pull_data,
		     TGT_NONE);
		emit(t, BPF_LDX | BPF_MEM | BPF_W, R_DATA, R_X, SKB_DATA, 0,
		     TGT_NONE);
		emit(t, BPF_LDX | BPF_MEM | BPF_W, R_END, R_X, SKB_DATA_END,
		     0, TGT_NONE);
	} else {
		/* The length with any fragments of a multi-buffer frame. */
		mov64(t, R_X, 1);
		emit(t, BPF_STX | BPF_MEM | BPF_DW, R_FP, 1, XLATE_CTX_OFF, 0,
		     TGT_NONE);
		emit(t, BPF_JMP | BPF_CALL, 0, 0, 0,
		     BPF_FUNC_xdp_get_buff_len, TGT_NONE);
		emit(t, BPF_STX | BPF_MEM | BPF_W, R_FP, 0, XLATE_LEN_OFF, 0,
		     TGT_NONE);
		emit(t, BPF_LDX | BPF_MEM | BPF_W, R_DATA, R_X, XDP_DATA, 0,
		     TGT_NONE);
		emit(t, BPF_LDX | BPF_MEM | BPF_W, R_END, R_X, XDP_DATA_END,
		     0, TGT_NONE);
	}
	/* cBPF starts with A = X = 0 and M[] zeroed (the verifier too). */
	emit(t, BPF_ALU64 | BPF_MOV | BPF_K, R_A, 0, 0, 0, TGT_NONE);
	emit(t, BPF_ALU64 | BPF_MOV | BPF_K, R_X, 0, 0, 0, TGT_NONE);
	for (int i = 0; i < CBPF_MEMWORDS; i += 2)
		emit(t, BPF_ST | BPF_MEM | BPF_DW, R_FP, 0, MEM_OFF(i), 0,
		     TGT_NONE);
}

static const uint8_t negated[16] = {
	[BPF_JEQ >> 4] = BPF_JNE,
	[BPF_JGT >> 4] = BPF_JLE,
	[BPF_JGE >> 4] = BPF_JLT,
};

static void cond_jump(struct tx *t, const struct sock_filter *in, size_t pc)
{
	int op = BPF_OP(in->code), src = BPF_SRC(in->code);
	int jt = (int)pc + 1 + in->jt, jf = (int)pc + 1 + in->jf;
	int reg = src == BPF_X ? R_X : 0;
	int32_t imm = src == BPF_X ? 0 : (int32_t)in->k;

	/* JMP32: cBPF compares 32-bit A with an unsigned 32-bit k. */
	if (in->jt == in->jf) {
		if (in->jt)
			jump_to(t, jt);
	} else if (!in->jt && negated[op >> 4]) {
		emit(t, BPF_JMP32 | negated[op >> 4] | src, R_A, reg, 0, imm,
		     jf);
	} else {
		emit(t, BPF_JMP32 | op | src, R_A, reg, 0, imm, jt);
		if (in->jf)
			jump_to(t, jf);
	}
}

static int alu(struct tx *t, const struct sock_filter *in)
{
	int op = BPF_OP(in->code);

	if (op == BPF_NEG) {
		emit(t, BPF_ALU | BPF_NEG, R_A, 0, 0, 0, TGT_NONE);
		return 0;
	}
	switch (op) {
	case BPF_ADD: case BPF_SUB: case BPF_MUL: case BPF_DIV:
	case BPF_OR: case BPF_AND: case BPF_LSH: case BPF_RSH:
	case BPF_MOD: case BPF_XOR:
		break;
	default:
		return -1;
	}
	if (BPF_SRC(in->code) == BPF_K) {
		if ((op == BPF_DIV || op == BPF_MOD) && !in->k)
			jump_to(t, TGT_FAIL);
		else if ((op == BPF_LSH || op == BPF_RSH) && in->k >= 32)
			emit(t, BPF_ALU | BPF_MOV | BPF_K, R_A, 0, 0, 0,
			     TGT_NONE);
		else
			emit(t, BPF_ALU | op | BPF_K, R_A, 0, 0,
			     (int32_t)in->k, TGT_NONE);
		return 0;
	}
	/* A / 0 and A % 0 end the filter with 0, as in cBPF. */
	if (op == BPF_DIV || op == BPF_MOD)
		emit(t, BPF_JMP32 | BPF_JEQ | BPF_K, R_X, 0, 0, 0, TGT_FAIL);
	if (op == BPF_LSH || op == BPF_RSH) {
		/* Shifting by 32 or more gives 0 (libpcap's bpf_filter). */
		emit(t, BPF_JMP32 | BPF_JLT | BPF_K, R_X, 0, 2, 32, TGT_NONE);
		emit(t, BPF_ALU | BPF_MOV | BPF_K, R_A, 0, 0, 0, TGT_NONE);
		emit(t, BPF_JMP | BPF_JA, 0, 0, 1, 0, TGT_NONE);
	}
	emit(t, BPF_ALU | op | BPF_X, R_A, R_X, 0, 0, TGT_NONE);
	return 0;
}

/* One classic instruction; -1 if it is not one loupe knows. */
static int one(struct tx *t, const struct sock_filter *in, size_t pc)
{
	int cls = BPF_CLASS(in->code), sz = load_size(BPF_SIZE(in->code));
	int mode = BPF_MODE(in->code);

	switch (cls) {
	case BPF_LD:
	case BPF_LDX: {
		int dst = cls == BPF_LD ? R_A : R_X;

		if (cls == BPF_LDX && in->code == (BPF_LDX | BPF_B | BPF_MSH)) {
			/* X = 4 * (P[k] & 0xf): an IPv4 header's length */
			load_packet(t, R_X, 1, in->k, false);
			emit(t, BPF_ALU | BPF_AND | BPF_K, R_X, 0, 0, 0xf,
			     TGT_NONE);
			emit(t, BPF_ALU | BPF_LSH | BPF_K, R_X, 0, 0, 2,
			     TGT_NONE);
			return 0;
		}
		if (mode == BPF_IMM) {
			emit(t, BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0,
			     (int32_t)in->k, TGT_NONE);
		} else if (mode == BPF_LEN) {
			emit(t, BPF_LDX | BPF_MEM | BPF_W, dst, R_FP,
			     XLATE_LEN_OFF, 0, TGT_NONE);
		} else if (mode == BPF_MEM && in->k < CBPF_MEMWORDS) {
			emit(t, BPF_LDX | BPF_MEM | BPF_W, dst, R_FP,
			     MEM_OFF(in->k), 0, TGT_NONE);
		} else if (cls == BPF_LD && (mode == BPF_ABS ||
					     mode == BPF_IND) && sz) {
			load_packet(t, R_A, sz, in->k, mode == BPF_IND);
		} else {
			return -1;
		}
		return 0;
	}
	case BPF_ST:
	case BPF_STX:
		if (in->k >= CBPF_MEMWORDS)
			return -1;
		emit(t, BPF_STX | BPF_MEM | BPF_W, R_FP,
		     cls == BPF_ST ? R_A : R_X, MEM_OFF(in->k), 0, TGT_NONE);
		return 0;
	case BPF_ALU:
		return alu(t, in);
	case BPF_JMP:
		if (BPF_OP(in->code) == BPF_JA) {
			jump_to(t, (int)(pc + 1 + in->k));
			return 0;
		}
		switch (BPF_OP(in->code)) {
		case BPF_JEQ: case BPF_JGT: case BPF_JGE: case BPF_JSET:
			cond_jump(t, in, pc);
			return 0;
		}
		return -1;
	case BPF_RET:
		if (BPF_RVAL(in->code) == BPF_K)
			emit(t, BPF_ALU | BPF_MOV | BPF_K, 0, 0, 0,
			     (int32_t)in->k, TGT_NONE);
		else if (BPF_RVAL(in->code) == BPF_A)
			emit(t, BPF_ALU | BPF_MOV | BPF_X, 0, R_A, 0, 0,
			     TGT_NONE);
		else
			return -1;
		jump_to(t, TGT_EPI);
		return 0;
	case BPF_MISC:
		if (BPF_MISCOP(in->code) == BPF_TAX)
			emit(t, BPF_ALU | BPF_MOV | BPF_X, R_X, R_A, 0, 0,
			     TGT_NONE);
		else if (BPF_MISCOP(in->code) == BPF_TXA)
			emit(t, BPF_ALU | BPF_MOV | BPF_X, R_A, R_X, 0, 0,
			     TGT_NONE);
		else
			return -1;
		return 0;
	}
	return -1;
}

/* The kernel's sk_chk_filter() checks, before anything is emitted. */
static int check(const struct sock_filter *cbpf, size_t n, char *err,
		 size_t errlen)
{
	if (!n || n > BPF_MAXINSNS) {
		snprintf(err, errlen, "a classic program has 1 to %d instructions, not %zu",
			 BPF_MAXINSNS, n);
		return -1;
	}
	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *in = &cbpf[pc];
		size_t left = n - pc - 1;

		if (BPF_CLASS(in->code) != BPF_JMP)
			continue;
		if (BPF_OP(in->code) == BPF_JA ? in->k >= left :
		    in->jt >= left || in->jf >= left) {
			snprintf(err, errlen, "instruction %zu jumps past the end",
				 pc);
			return -1;
		}
	}
	if (BPF_CLASS(cbpf[n - 1].code) != BPF_RET) {
		snprintf(err, errlen, "the last instruction is not a return");
		return -1;
	}
	return 0;
}

/* Which instructions some path from the first one reaches. */
static void reachable(const struct sock_filter *cbpf, size_t n, bool *reach)
{
	reach[0] = true;
	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *in = &cbpf[pc];

		if (!reach[pc])
			continue;
		switch (BPF_CLASS(in->code)) {
		case BPF_RET:
			break;
		case BPF_JMP:
			if (BPF_OP(in->code) == BPF_JA) {
				reach[pc + 1 + in->k] = true;
			} else {
				reach[pc + 1 + in->jt] = true;
				reach[pc + 1 + in->jf] = true;
			}
			break;
		default:
			reach[pc + 1] = true;
		}
	}
}

int xlate_cbpf(const struct sock_filter *cbpf, size_t n, enum xlate_hook hook,
	       const struct bpf_insn *epi, size_t nepi, struct xlate_prog *prog,
	       char *err, size_t errlen)
{
	struct tx t = { .p = prog };
	size_t *start = NULL, fail_at, epi_at;
	bool *reach = NULL;
	int ret = -1;

	memset(prog, 0, sizeof(*prog));
	if (check(cbpf, n, err, errlen))
		return -1;
	start = calloc(n, sizeof(*start));
	if (!start)
		goto oom;
	reach = calloc(n, sizeof(*reach));
	if (!reach)
		goto oom;
	reachable(cbpf, n, reach);
	prologue(&t, hook);
	for (size_t pc = 0; pc < n; pc++) {
		start[pc] = prog->n;
		/* The verifier refuses code no path reaches. */
		if (!reach[pc])
			continue;
		if (one(&t, &cbpf[pc], pc)) {
			snprintf(err, errlen, "classic instruction %zu (code 0x%02x) is not supported",
				 pc, cbpf[pc].code);
			goto out;
		}
	}
	fail_at = prog->n;
	for (size_t i = 0; i < prog->n && !t.oom; i++) {
		if (t.tgt[i] == TGT_FAIL) {
			emit(&t, BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0,
			     TGT_NONE);
			break;
		}
	}
	epi_at = prog->n;
	for (size_t i = 0; i < nepi; i++)
		emit(&t, epi[i].code, epi[i].dst_reg, epi[i].src_reg,
		     epi[i].off, epi[i].imm, TGT_NONE);
	if (t.oom)
		goto oom;
	for (size_t i = 0; i < prog->n; i++) {
		long to, off;

		if (t.tgt[i] == TGT_NONE)
			continue;
		to = t.tgt[i] == TGT_FAIL ? (long)fail_at :
		     t.tgt[i] == TGT_EPI ? (long)epi_at :
		     (long)start[t.tgt[i]];
		off = to - (long)i - 1;
		if (off > INT16_MAX) {
			snprintf(err, errlen, "the filter is too long: a jump spans %ld instructions",
				 off);
			goto out;
		}
		prog->insns[i].off = (int16_t)off;
	}
	ret = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(start);
	free(reach);
	free(t.tgt);
	if (ret)
		xlate_free(prog);
	return ret;
}

size_t xlate_epi_verdict(struct bpf_insn *epi, int match, int nomatch)
{
	size_t n = 0;

	epi[n++] = (struct bpf_insn){ BPF_JMP32 | BPF_JEQ | BPF_K, 0, 0, 2,
				      0 };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0,
				      match };
	epi[n++] = (struct bpf_insn){ BPF_JMP | BPF_EXIT };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0,
				      nomatch };
	epi[n++] = (struct bpf_insn){ BPF_JMP | BPF_EXIT };
	return n;
}

size_t xlate_epi_count(struct bpf_insn *epi, int map_fd, int key,
		       int match, int nomatch)
{
	size_t n = 0;

	/* r6 = the key: key for no match, key + 1 for a match */
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_MOV | BPF_K, R_DATA, 0,
				      0, key };
	epi[n++] = (struct bpf_insn){ BPF_JMP32 | BPF_JEQ | BPF_K, 0, 0, 1,
				      0 };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_MOV | BPF_K, R_DATA, 0,
				      0, key + 1 };
	epi[n++] = (struct bpf_insn){ BPF_STX | BPF_MEM | BPF_W, R_FP, R_DATA,
				      XLATE_FREE_OFF, 0 };
	epi[n++] = (struct bpf_insn){ BPF_LD | BPF_DW | BPF_IMM, 1,
				      BPF_PSEUDO_MAP_FD, 0, map_fd };
	epi[n++] = (struct bpf_insn){ 0 };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_MOV | BPF_X, 2, R_FP, 0,
				      0 };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0,
				      XLATE_FREE_OFF };
	epi[n++] = (struct bpf_insn){ BPF_JMP | BPF_CALL, 0, 0, 0,
				      BPF_FUNC_map_lookup_elem };
	epi[n++] = (struct bpf_insn){ BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 7, 0 };
	/* Per-CPU values: plain adds, no other CPU writes them. */
	epi[n++] = (struct bpf_insn){ BPF_LDX | BPF_MEM | BPF_DW, 1, 0, 0,
				      0 };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0,
				      1 };
	epi[n++] = (struct bpf_insn){ BPF_STX | BPF_MEM | BPF_DW, 0, 1, 0,
				      0 };
	epi[n++] = (struct bpf_insn){ BPF_LDX | BPF_MEM | BPF_W, 1, R_FP,
				      XLATE_LEN_OFF, 0 };
	epi[n++] = (struct bpf_insn){ BPF_LDX | BPF_MEM | BPF_DW, 2, 0, 8,
				      0 };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_ADD | BPF_X, 2, 1, 0,
				      0 };
	epi[n++] = (struct bpf_insn){ BPF_STX | BPF_MEM | BPF_DW, 0, 2, 8,
				      0 };
	epi[n++] = (struct bpf_insn){ BPF_JMP32 | BPF_JEQ | BPF_K, R_DATA, 0,
				      2, key };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0,
				      match };
	epi[n++] = (struct bpf_insn){ BPF_JMP | BPF_EXIT };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0,
				      nomatch };
	epi[n++] = (struct bpf_insn){ BPF_JMP | BPF_EXIT };
	return n;
}

#define TC_ACT_UNSPEC_V	(-1)

size_t xlate_epi_capture(struct bpf_insn *epi, int map_fd,
			 unsigned int snaplen, unsigned int dir)
{
	const int hdr = XLATE_SCRATCH_OFF;
	size_t n = 0;

	/* No match: on to the next filter. */
	epi[n++] = (struct bpf_insn){ BPF_JMP32 | BPF_JEQ | BPF_K, 0, 0, 19,
				      0 };
	epi[n++] = (struct bpf_insn){ BPF_JMP | BPF_CALL, 0, 0, 0,
				      BPF_FUNC_ktime_get_boot_ns };
	epi[n++] = (struct bpf_insn){ BPF_STX | BPF_MEM | BPF_DW, R_FP, 0,
				      hdr, 0 };
	/* r6 = caplen = min(len, snaplen) */
	epi[n++] = (struct bpf_insn){ BPF_LDX | BPF_MEM | BPF_W, R_DATA, R_FP,
				      XLATE_LEN_OFF, 0 };
	epi[n++] = (struct bpf_insn){ BPF_STX | BPF_MEM | BPF_W, R_FP, R_DATA,
				      hdr + 8, 0 };
	epi[n++] = (struct bpf_insn){ BPF_JMP32 | BPF_JLE | BPF_K, R_DATA, 0,
				      1, (int32_t)snaplen };
	epi[n++] = (struct bpf_insn){ BPF_ALU | BPF_MOV | BPF_K, R_DATA, 0, 0,
				      (int32_t)snaplen };
	epi[n++] = (struct bpf_insn){ BPF_STX | BPF_MEM | BPF_W, R_FP, R_DATA,
				      hdr + 12, 0 };
	epi[n++] = (struct bpf_insn){ BPF_ST | BPF_MEM | BPF_DW, R_FP, 0,
				      hdr + 16, (int32_t)dir };
	/* flags = caplen << 32 | BPF_F_CURRENT_CPU: bytes of the skb */
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_LSH | BPF_K, R_DATA, 0,
				      0, 32 };
	epi[n++] = (struct bpf_insn){ BPF_ALU | BPF_MOV | BPF_K, 1, 0, 0,
				      -1 };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_OR | BPF_X, R_DATA, 1,
				      0, 0 };
	epi[n++] = (struct bpf_insn){ BPF_LDX | BPF_MEM | BPF_DW, 1, R_FP,
				      XLATE_CTX_OFF, 0 };
	epi[n++] = (struct bpf_insn){ BPF_LD | BPF_DW | BPF_IMM, 2,
				      BPF_PSEUDO_MAP_FD, 0, map_fd };
	epi[n++] = (struct bpf_insn){ 0 };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_MOV | BPF_X, 3, R_DATA,
				      0, 0 };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_MOV | BPF_X, 4, R_FP, 0,
				      0 };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0,
				      hdr };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_MOV | BPF_K, 5, 0, 0,
				      sizeof(struct xlate_capture) };
	epi[n++] = (struct bpf_insn){ BPF_JMP | BPF_CALL, 0, 0, 0,
				      BPF_FUNC_perf_event_output };
	epi[n++] = (struct bpf_insn){ BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0,
				      TC_ACT_UNSPEC_V };
	epi[n++] = (struct bpf_insn){ BPF_JMP | BPF_EXIT };
	return n;
}

void xlate_free(struct xlate_prog *prog)
{
	free(prog->insns);
	memset(prog, 0, sizeof(*prog));
}

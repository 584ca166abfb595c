/*
 * The trace compiler's intermediate representation: one function per
 * probe program, a linear list of three-address instructions on an
 * unbounded set of 64-bit virtual registers, with labels and conditional
 * branches. Lowering (lower.c) builds it from the typed AST; the back end
 * (regalloc.c, emit.c) maps virtual registers onto BPF's r0-r9 with
 * spilling to the stack and emits struct bpf_insn.
 *
 * Conventions the back end relies on and lowering keeps:
 *  - every virtual register is defined before it is used on every path;
 *  - IR_FP is the frame pointer (r10, read-only); stack objects are
 *    allocated with ir_stack() and addressed as IR_FP + offset;
 *  - IR_CTX holds the program's context pointer (r1 at entry);
 *  - memory access width is 1, 2, 4 or 8 bytes; loads zero-extend;
 *  - ALU is always 64-bit (pointers stay pointers for the verifier);
 *  - a call's result is in its d register; r1-r5 and r0 die across it.
 */
#ifndef LOUPE_TRACE_IR_H
#define LOUPE_TRACE_IR_H

#include <stdbool.h>
#include <stdio.h>

struct bpf_insn;

#define IR_NONE	0	/* "no register" */
#define IR_FP	1	/* frame pointer r10 */
#define IR_CTX	2	/* context pointer, r1 at entry */
#define IR_FIRST_VREG 3

#define IR_MAX_ARGS 5
#define IR_STACK_SIZE 512

enum ir_op {
	IR_MOVI,	/* d = imm */
	IR_MOV,		/* d = a */
	IR_ALU,		/* d = a <alu> b       (alu: BPF_ADD, BPF_SUB, BPF_MUL,
			 *                      BPF_DIV, BPF_MOD, BPF_OR, BPF_AND,
			 *                      BPF_XOR, BPF_LSH, BPF_RSH,
			 *                      BPF_ARSH; unsigned DIV/MOD) */
	IR_ALUI,	/* d = a <alu> imm     (imm fits in s32) */
	IR_NEG,		/* d = -a */
	IR_LOAD,	/* d = *(size *)(a + off) */
	IR_STORE,	/* *(size *)(a + off) = b */
	IR_STOREI,	/* *(size *)(a + off) = imm (imm fits in s32) */
	IR_ATOMIC_ADD,	/* lock *(size *)(a + off) += b   (size 4 or 8) */
	IR_MAP_FD,	/* d = the map with fd imm (ld_imm64 BPF_PSEUDO_MAP_FD) */
	IR_CALL,	/* d = helper imm(args[0..nargs-1]); d may be IR_NONE */
	IR_JMP,		/* goto label */
	IR_BR,		/* if (a <cond> b) goto label  (cond: BPF_JEQ, BPF_JNE,
			 *   BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE, BPF_JSGT,
			 *   BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET) */
	IR_BRI,		/* if (a <cond> imm) goto label (imm fits in s32) */
	IR_LABEL,	/* label: */
	IR_RET,		/* return a */
	IR_RETI,	/* return imm */
};

struct ir_insn {
	enum ir_op op;
	unsigned char size;	/* memory ops: 1, 2, 4, 8 */
	unsigned char code;	/* BPF_ALU op or BPF_J* condition */
	int d, a, b;		/* virtual registers */
	long long imm;
	int off;		/* memory ops: displacement */
	int label;		/* IR_JMP/IR_BR/IR_BRI/IR_LABEL */
	int nargs;		/* IR_CALL */
	int args[IR_MAX_ARGS];
	int line;		/* source line it came from, 0 if none */
};

struct ir_func {
	char *name;		/* e.g. "tracepoint:syscalls:sys_enter_openat" */
	struct ir_insn *insns;
	int ninsns, cap;
	int nvregs;		/* next free virtual register */
	int nlabels;
	int stack_used;		/* bytes of ir_stack() objects */
	int line;		/* current source line for new instructions */
};

struct ir_func *ir_func_new(const char *name);
void ir_func_free(struct ir_func *f);

int ir_vreg(struct ir_func *f);
int ir_new_label(struct ir_func *f);
/*
 * Reserves size bytes of stack, 8-byte aligned; returns the offset from
 * IR_FP (negative), or 0 when the 512-byte stack is exhausted.
 */
int ir_stack(struct ir_func *f, int size);
void ir_set_line(struct ir_func *f, int line);
/* Moves instructions [from, to) to before instruction at; 0 or -ENOMEM. */
int ir_move(struct ir_func *f, int from, int to, int at);

void ir_movi(struct ir_func *f, int d, long long imm);
void ir_mov(struct ir_func *f, int d, int a);
void ir_alu(struct ir_func *f, int code, int d, int a, int b);
void ir_alui(struct ir_func *f, int code, int d, int a, long long imm);
void ir_neg(struct ir_func *f, int d, int a);
void ir_load(struct ir_func *f, int size, int d, int base, int off);
void ir_store(struct ir_func *f, int size, int base, int off, int src);
void ir_storei(struct ir_func *f, int size, int base, int off,
	       long long imm);
void ir_atomic_add(struct ir_func *f, int size, int base, int off, int src);
void ir_map_fd(struct ir_func *f, int d, int fd);
void ir_call(struct ir_func *f, int d, int helper, int nargs,
	     const int *args);
void ir_jmp(struct ir_func *f, int label);
void ir_br(struct ir_func *f, int cond, int a, int b, int label);
void ir_bri(struct ir_func *f, int cond, int a, long long imm, int label);
void ir_place(struct ir_func *f, int label);
void ir_ret(struct ir_func *f, int a);
void ir_reti(struct ir_func *f, long long imm);

/* One instruction per line: "  v5 = v3 + 8", "  if v4 s> 0 goto L2" ... */
void ir_dump(FILE *out, const struct ir_func *f);
/* The same, with "; <script line>" before each run from a new line. */
void ir_dump_src(FILE *out, const struct ir_func *f, const char *src_text);

/*
 * The back end: allocates registers (spilling to the stack below the
 * function's own objects) and emits BPF. On success *insns is a malloc'd
 * array of *ninsns instructions and *lines (malloc'd, same length) gives
 * each instruction's source line. Returns 0, or -1 with a one-line reason
 * in err (e.g. "stack exhausted: 540 bytes needed, 512 available").
 */
int ir_emit(const struct ir_func *f, struct bpf_insn **insns, int *ninsns,
	    int **lines, char *err, size_t errlen);

/*
 * Disassembles BPF in the verifier's notation ("r1 = *(u64 *)(r10 -8)"),
 * one instruction per line with its index, and, when src text is given,
 * the script line each run of instructions came from as a comment.
 */
void ir_dump_bpf(FILE *out, const struct bpf_insn *insns, int ninsns,
		 const int *lines, const char *src_text);

#endif

/*
 * The trace compiler's IR (ir.h): building a function's linear
 * instruction list on virtual registers, and printing it for -d dumps
 * and tests. The builder functions return nothing, so an allocation
 * failure is remembered in the function (cap < 0) and reported by
 * ir_emit() instead of crashing.
 */
#include <errno.h>
#include <limits.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"
#include "ir_backend.h"

#define IR_HELPER_NAME(x) [BPF_FUNC_##x] = "bpf_" #x
static const char *const helper_names[] = {
	__BPF_FUNC_MAPPER(IR_HELPER_NAME)
};

const char *ir_helper_name(int id)
{
	if (id <= 0 || id >= (int)(sizeof(helper_names) /
				   sizeof(helper_names[0])))
		return NULL;
	return helper_names[id];
}

struct ir_func *ir_func_new(const char *name)
{
	struct ir_func *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->name = strdup(name ? name : "");
	if (!f->name) {
		free(f);
		return NULL;
	}
	f->nvregs = IR_FIRST_VREG;
	return f;
}

void ir_func_free(struct ir_func *f)
{
	if (!f)
		return;
	free(f->name);
	free(f->insns);
	free(f);
}

int ir_vreg(struct ir_func *f)
{
	return f->nvregs++;
}

int ir_new_label(struct ir_func *f)
{
	return f->nlabels++;
}

int ir_stack(struct ir_func *f, int size)
{
	int aligned;

	if (size <= 0)
		size = 1;
	if (size > IR_STACK_SIZE)
		return 0;
	aligned = (size + 7) & ~7;
	if (f->stack_used + aligned > IR_STACK_SIZE)
		return 0;
	f->stack_used += aligned;
	return -f->stack_used;
}

void ir_set_line(struct ir_func *f, int line)
{
	f->line = line;
}

int ir_move(struct ir_func *f, int from, int to, int at)
{
	size_t n = to - from, sz = sizeof(f->insns[0]);
	struct ir_insn *moved;

	if (from < 0 || to > f->ninsns || from >= to || at < 0 || at > from)
		return 0;
	moved = malloc(n * sz);
	if (!moved)
		return -ENOMEM;
	memcpy(moved, &f->insns[from], n * sz);
	memmove(&f->insns[at + n], &f->insns[at], (from - at) * sz);
	memcpy(&f->insns[at], moved, n * sz);
	free(moved);
	return 0;
}

/* A zeroed instruction appended to f, or NULL after an allocation failure. */
static struct ir_insn *ir_append(struct ir_func *f, enum ir_op op)
{
	struct ir_insn *in;

	if (f->cap < 0)
		return NULL;
	if (f->ninsns == f->cap) {
		int cap = f->cap ? f->cap * 2 : 64;
		struct ir_insn *n = realloc(f->insns, cap * sizeof(*n));

		if (!n) {
			f->cap = -1;
			return NULL;
		}
		f->insns = n;
		f->cap = cap;
	}
	in = &f->insns[f->ninsns++];
	memset(in, 0, sizeof(*in));
	in->op = op;
	in->line = f->line;
	return in;
}

void ir_movi(struct ir_func *f, int d, long long imm)
{
	struct ir_insn *in = ir_append(f, IR_MOVI);

	if (in) {
		in->d = d;
		in->imm = imm;
	}
}

void ir_mov(struct ir_func *f, int d, int a)
{
	struct ir_insn *in = ir_append(f, IR_MOV);

	if (in) {
		in->d = d;
		in->a = a;
	}
}

void ir_alu(struct ir_func *f, int code, int d, int a, int b)
{
	struct ir_insn *in = ir_append(f, IR_ALU);

	if (in) {
		in->code = code;
		in->d = d;
		in->a = a;
		in->b = b;
	}
}

void ir_alui(struct ir_func *f, int code, int d, int a, long long imm)
{
	struct ir_insn *in = ir_append(f, IR_ALUI);

	if (in) {
		in->code = code;
		in->d = d;
		in->a = a;
		in->imm = imm;
	}
}

void ir_neg(struct ir_func *f, int d, int a)
{
	struct ir_insn *in = ir_append(f, IR_NEG);

	if (in) {
		in->d = d;
		in->a = a;
	}
}

void ir_load(struct ir_func *f, int size, int d, int base, int off)
{
	struct ir_insn *in = ir_append(f, IR_LOAD);

	if (in) {
		in->size = size;
		in->d = d;
		in->a = base;
		in->off = off;
	}
}

void ir_store(struct ir_func *f, int size, int base, int off, int src)
{
	struct ir_insn *in = ir_append(f, IR_STORE);

	if (in) {
		in->size = size;
		in->a = base;
		in->off = off;
		in->b = src;
	}
}

void ir_storei(struct ir_func *f, int size, int base, int off,
	       long long imm)
{
	struct ir_insn *in = ir_append(f, IR_STOREI);

	if (in) {
		in->size = size;
		in->a = base;
		in->off = off;
		in->imm = imm;
	}
}

void ir_atomic_add(struct ir_func *f, int size, int base, int off, int src)
{
	struct ir_insn *in = ir_append(f, IR_ATOMIC_ADD);

	if (in) {
		in->size = size;
		in->a = base;
		in->off = off;
		in->b = src;
	}
}

void ir_map_fd(struct ir_func *f, int d, int fd)
{
	struct ir_insn *in = ir_append(f, IR_MAP_FD);

	if (in) {
		in->d = d;
		in->imm = fd;
	}
}

void ir_call(struct ir_func *f, int d, int helper, int nargs,
	     const int *args)
{
	struct ir_insn *in = ir_append(f, IR_CALL);

	if (!in)
		return;
	in->d = d;
	in->imm = helper;
	/* More than five is kept as a count so ir_emit can reject it. */
	in->nargs = nargs;
	for (int i = 0; i < nargs && i < IR_MAX_ARGS; i++)
		in->args[i] = args[i];
}

void ir_jmp(struct ir_func *f, int label)
{
	struct ir_insn *in = ir_append(f, IR_JMP);

	if (in)
		in->label = label;
}

void ir_br(struct ir_func *f, int cond, int a, int b, int label)
{
	struct ir_insn *in = ir_append(f, IR_BR);

	if (in) {
		in->code = cond;
		in->a = a;
		in->b = b;
		in->label = label;
	}
}

void ir_bri(struct ir_func *f, int cond, int a, long long imm, int label)
{
	struct ir_insn *in = ir_append(f, IR_BRI);

	if (in) {
		in->code = cond;
		in->a = a;
		in->imm = imm;
		in->label = label;
	}
}

void ir_place(struct ir_func *f, int label)
{
	struct ir_insn *in = ir_append(f, IR_LABEL);

	if (in)
		in->label = label;
}

void ir_ret(struct ir_func *f, int a)
{
	struct ir_insn *in = ir_append(f, IR_RET);

	if (in)
		in->a = a;
}

void ir_reti(struct ir_func *f, long long imm)
{
	struct ir_insn *in = ir_append(f, IR_RETI);

	if (in)
		in->imm = imm;
}

static const char *reg_name(int r, char *buf, size_t len)
{
	if (r == IR_FP)
		return "fp";
	if (r == IR_CTX)
		return "ctx";
	if (r == IR_NONE)
		return "_";
	snprintf(buf, len, "v%d", r);
	return buf;
}

static const char *alu_name(int code)
{
	switch (code) {
	case BPF_ADD: return "+";
	case BPF_SUB: return "-";
	case BPF_MUL: return "*";
	case BPF_DIV: return "/";
	case BPF_MOD: return "%";
	case BPF_OR: return "|";
	case BPF_AND: return "&";
	case BPF_XOR: return "^";
	case BPF_LSH: return "<<";
	case BPF_RSH: return ">>";
	case BPF_ARSH: return "s>>";
	default: return "?";
	}
}

static const char *cond_name(int code)
{
	switch (code) {
	case BPF_JEQ: return "==";
	case BPF_JNE: return "!=";
	case BPF_JGT: return ">";
	case BPF_JGE: return ">=";
	case BPF_JLT: return "<";
	case BPF_JLE: return "<=";
	case BPF_JSGT: return "s>";
	case BPF_JSGE: return "s>=";
	case BPF_JSLT: return "s<";
	case BPF_JSLE: return "s<=";
	case BPF_JSET: return "&";
	default: return "?";
	}
}

static const char *size_name(int size)
{
	switch (size) {
	case 1: return "u8";
	case 2: return "u16";
	case 4: return "u32";
	case 8: return "u64";
	default: return "u?";
	}
}

/* "(fp - 8)", "(v3 + 0)" */
static void print_addr(FILE *out, int base, int off)
{
	char b[16];

	fprintf(out, "(%s %c %lld)", reg_name(base, b, sizeof(b)),
		off < 0 ? '-' : '+', off < 0 ? -(long long)off : off);
}

static void dump_insn(FILE *out, const struct ir_insn *in)
{
	char db[16], ab[16], bb[16], xb[16];
	const char *d = reg_name(in->d, db, sizeof(db));
	const char *a = reg_name(in->a, ab, sizeof(ab));
	const char *b = reg_name(in->b, bb, sizeof(bb));
	const char *name;

	if (in->op != IR_LABEL)
		fputs("  ", out);
	switch (in->op) {
	case IR_MOVI:
		fprintf(out, "%s = %lld", d, in->imm);
		break;
	case IR_MOV:
		fprintf(out, "%s = %s", d, a);
		break;
	case IR_ALU:
		fprintf(out, "%s = %s %s %s", d, a, alu_name(in->code), b);
		break;
	case IR_ALUI:
		/* "fp - 8" reads better than "fp + -8". */
		if (in->code == BPF_ADD && in->imm < 0 && in->imm != LLONG_MIN)
			fprintf(out, "%s = %s - %lld", d, a, -in->imm);
		else
			fprintf(out, "%s = %s %s %lld", d, a,
				alu_name(in->code), in->imm);
		break;
	case IR_NEG:
		fprintf(out, "%s = -%s", d, a);
		break;
	case IR_LOAD:
		fprintf(out, "%s = *(%s *)", d, size_name(in->size));
		print_addr(out, in->a, in->off);
		break;
	case IR_STORE:
	case IR_STOREI:
		fprintf(out, "*(%s *)", size_name(in->size));
		print_addr(out, in->a, in->off);
		if (in->op == IR_STORE)
			fprintf(out, " = %s", b);
		else
			fprintf(out, " = %lld", in->imm);
		break;
	case IR_ATOMIC_ADD:
		fprintf(out, "lock *(%s *)", size_name(in->size));
		print_addr(out, in->a, in->off);
		fprintf(out, " += %s", b);
		break;
	case IR_MAP_FD:
		fprintf(out, "%s = map[fd:%lld]", d, in->imm);
		break;
	case IR_CALL:
		if (in->d != IR_NONE)
			fprintf(out, "%s = ", d);
		name = ir_helper_name(in->imm);
		if (name)
			fprintf(out, "call %s(", name);
		else
			fprintf(out, "call #%lld(", in->imm);
		for (int i = 0; i < in->nargs && i < IR_MAX_ARGS; i++)
			fprintf(out, "%s%s", i ? ", " : "",
				reg_name(in->args[i], xb, sizeof(xb)));
		fputc(')', out);
		break;
	case IR_JMP:
		fprintf(out, "goto L%d", in->label);
		break;
	case IR_BR:
		fprintf(out, "if %s %s %s goto L%d", a, cond_name(in->code),
			b, in->label);
		break;
	case IR_BRI:
		fprintf(out, "if %s %s %lld goto L%d", a, cond_name(in->code),
			in->imm, in->label);
		break;
	case IR_LABEL:
		fprintf(out, "L%d:", in->label);
		break;
	case IR_RET:
		fprintf(out, "return %s", a);
		break;
	case IR_RETI:
		fprintf(out, "return %lld", in->imm);
		break;
	default:
		fprintf(out, "<bad op %d>", in->op);
		break;
	}
	fputc('\n', out);
}

/* Prints line number line (1-based) of src without its indentation. */
void ir_print_src_line(FILE *out, const char *src, int line)
{
	const char *p = src, *end;

	for (int l = 1; l < line && p; l++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p || !*p)
		return;
	while (*p == ' ' || *p == '\t')
		p++;
	end = strchr(p, '\n');
	fprintf(out, "; %.*s\n", end ? (int)(end - p) : (int)strlen(p), p);
}

void ir_dump(FILE *out, const struct ir_func *f)
{
	ir_dump_src(out, f, NULL);
}

void ir_dump_src(FILE *out, const struct ir_func *f, const char *src_text)
{
	int prev = 0;

	fprintf(out, "%s: %d vregs, %d bytes of stack\n", f->name,
		f->nvregs - IR_FIRST_VREG, f->stack_used);
	for (int i = 0; i < f->ninsns; i++) {
		if (src_text && f->insns[i].line != prev &&
		    f->insns[i].line > 0) {
			prev = f->insns[i].line;
			ir_print_src_line(out, src_text, prev);
		}
		dump_insn(out, &f->insns[i]);
	}
}

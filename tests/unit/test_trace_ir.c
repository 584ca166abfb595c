/*
 * Unit tests of the trace compiler's back end (ir.c, regalloc.c, emit.c):
 * IR functions built by hand are emitted, loaded into the real kernel as
 * raw_tp programs (the verifier is the judge of register and stack use)
 * and run with BPF_PROG_TEST_RUN; results come back through the return
 * value or an array map. Also the exact text of ir_dump/ir_dump_bpf.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "ir.h"
#include "ir_backend.h"
#include "unit.h"

#define NOUT 64

/* A function under test and the array map its results go to. */
struct tb {
	struct ir_func *f;
	int out_fd;
	int key, val;		/* stack objects for map updates */
};

static void tb_init(struct tb *t, const char *name)
{
	t->f = ir_func_new(name);
	t->out_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ir_out", 4, 8, NOUT,
				   NULL);
	CHECK(t->out_fd >= 0);
	t->key = ir_stack(t->f, 4);
	t->val = ir_stack(t->f, 8);
}

static void tb_free(struct tb *t)
{
	ir_func_free(t->f);
	if (t->out_fd >= 0)
		close(t->out_fd);
}

static int vr(struct tb *t)
{
	return ir_vreg(t->f);
}

/* IR for out[idx] = v, through bpf_map_update_elem with stack key/value. */
static void out(struct tb *t, int idx, int v)
{
	struct ir_func *f = t->f;
	int m = vr(t), k = vr(t), p = vr(t), fl = vr(t);
	int args[4] = { m, k, p, fl };

	ir_storei(f, 4, IR_FP, t->key, idx);
	ir_store(f, 8, IR_FP, t->val, v);
	ir_map_fd(f, m, t->out_fd);
	ir_alui(f, BPF_ADD, k, IR_FP, t->key);
	ir_alui(f, BPF_ADD, p, IR_FP, t->val);
	ir_movi(f, fl, BPF_ANY);
	ir_call(f, IR_NONE, BPF_FUNC_map_update_elem, 4, args);
}

static uint64_t out_get(struct tb *t, uint32_t idx)
{
	uint64_t v = 0xdeadbeefdeadbeefULL;

	CHECK(!bpf_map_lookup_elem(t->out_fd, &idx, &v));
	return v;
}

/* Emits and loads f; prints the verifier's log and the code on failure. */
static int load(const struct ir_func *f)
{
	struct bpf_insn *insns;
	int n, *lines, fd;
	char err[256];

	if (ir_emit(f, &insns, &n, &lines, err, sizeof(err))) {
		printf("  ir_emit(%s): %s\n", f->name, err);
		return -1;
	}
	fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "ir_test", "GPL",
			   insns, n, NULL);
	if (fd < 0) {
		size_t size = 1 << 20;
		char *log = calloc(1, size);
		LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log,
			    .log_size = size, .log_level = 1);
		size_t len;

		printf("  %s: load failed (%s)\n", f->name, strerror(errno));
		ir_dump(stdout, f);
		ir_dump_bpf(stdout, insns, n, NULL, NULL);
		if (log) {
			bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "ir_test",
				      "GPL", insns, n, &opts);
			len = strlen(log);
			printf("%s\n", len > 4000 ? log + len - 4000 : log);
			free(log);
		}
	}
	free(insns);
	free(lines);
	return fd;
}

/* Runs a loaded program once on a raw_tp argument array. */
static long long run(int fd, const uint64_t *args, int nargs)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args,
		    .ctx_size_in = nargs * sizeof(*args));

	if (fd < 0)
		return -1;
	if (bpf_prog_test_run_opts(fd, &opts)) {
		printf("  test_run: %s\n", strerror(errno));
		return -1;
	}
	return opts.retval;
}

/* v = ctx[i] */
static int arg(struct tb *t, int i)
{
	int v = vr(t);

	ir_load(t->f, 8, v, IR_CTX, i * 8);
	return v;
}

static const int alu_ops[] = {
	BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD, BPF_OR, BPF_AND,
	BPF_XOR, BPF_LSH, BPF_RSH, BPF_ARSH,
};
#define NALU (int)(sizeof(alu_ops) / sizeof(alu_ops[0]))

static uint64_t alu_eval(int op, uint64_t a, uint64_t b)
{
	switch (op) {
	case BPF_ADD: return a + b;
	case BPF_SUB: return a - b;
	case BPF_MUL: return a * b;
	case BPF_DIV: return b ? a / b : 0;
	case BPF_MOD: return b ? a % b : a;
	case BPF_OR: return a | b;
	case BPF_AND: return a & b;
	case BPF_XOR: return a ^ b;
	case BPF_LSH: return a << (b & 63);
	case BPF_RSH: return a >> (b & 63);
	default: return (uint64_t)((int64_t)a >> (b & 63));
	}
}

#define BIG 0x123456789abLL

static void test_alu(void)
{
	static const uint64_t in[][2] = {
		{ 1000, 7 }, { (uint64_t)-12345, 3 }, { 0x8000000000000000ULL,
		63 }, { 77, 0 }, { 0xfedcba9876543210ULL, 36 },
	};
	static const long long imms[] = { 7, -3, 0, BIG, 70 };
	struct tb t;
	int a, b, d, fd, idx = 0;

	tb_init(&t, "alu");
	a = arg(&t, 0);
	b = arg(&t, 1);
	for (int k = 0; k < NALU; k++) {
		d = vr(&t);
		ir_alu(t.f, alu_ops[k], d, a, b);
		out(&t, idx++, d);
	}
	/* Immediates: small, negative, zero, beyond s32, wide shift. */
	for (int k = 0; k < NALU; k++) {
		for (int j = 0; j < 5; j++) {
			if (idx >= NOUT - 6)
				break;
			if (j == 2 && alu_ops[k] != BPF_DIV &&
			    alu_ops[k] != BPF_MOD)
				continue;
			if (j == 4 && alu_ops[k] < BPF_LSH)
				continue;
			if (j == 1 && alu_ops[k] >= BPF_LSH)
				continue;
			d = vr(&t);
			ir_alui(t.f, alu_ops[k], d, a, imms[j]);
			out(&t, idx++, d);
		}
	}
	int first_misc = idx;

	/* d == b and d == a in one instruction, negation, wide movi. */
	d = vr(&t);
	ir_mov(t.f, d, b);
	ir_alu(t.f, BPF_SUB, d, a, d);
	out(&t, idx++, d);
	d = vr(&t);
	ir_mov(t.f, d, a);
	ir_alu(t.f, BPF_SUB, d, d, b);
	out(&t, idx++, d);
	d = vr(&t);
	ir_neg(t.f, d, a);
	out(&t, idx++, d);
	d = vr(&t);
	ir_movi(t.f, d, 0x1122334455667788LL);
	out(&t, idx++, d);
	d = vr(&t);
	ir_movi(t.f, d, -5);
	out(&t, idx++, d);
	d = vr(&t);
	ir_alu(t.f, BPF_MUL, d, a, a);
	out(&t, idx++, d);
	ir_reti(t.f, 0);
	fd = load(t.f);
	CHECK(fd >= 0);
	for (size_t r = 0; fd >= 0 && r < sizeof(in) / sizeof(in[0]); r++) {
		uint64_t x = in[r][0], y = in[r][1];
		int i = 0;

		CHECK(run(fd, in[r], 2) == 0);
		for (int k = 0; k < NALU; k++, i++)
			if (out_get(&t, i) != alu_eval(alu_ops[k], x, y)) {
				printf("  op 0x%x x=%#llx y=%#llx got %#llx\n",
				       alu_ops[k], (unsigned long long)x,
				       (unsigned long long)y,
				       (unsigned long long)out_get(&t, i));
				CHECK(0);
			}
		for (int k = 0; k < NALU; k++) {
			for (int j = 0; j < 5 && i < first_misc; j++) {
				if (j == 2 && alu_ops[k] != BPF_DIV &&
				    alu_ops[k] != BPF_MOD)
					continue;
				if (j == 4 && alu_ops[k] < BPF_LSH)
					continue;
				if (j == 1 && alu_ops[k] >= BPF_LSH)
					continue;
				if (out_get(&t, i) !=
				    alu_eval(alu_ops[k], x, imms[j])) {
					printf("  op 0x%x imm %lld x=%#llx "
					       "got %#llx\n", alu_ops[k],
					       imms[j], (unsigned long long)x,
					       (unsigned long long)
					       out_get(&t, i));
					CHECK(0);
				}
				i++;
			}
		}
		CHECK(out_get(&t, first_misc) == x - y);
		CHECK(out_get(&t, first_misc + 1) == x - y);
		CHECK(out_get(&t, first_misc + 2) == -x);
		CHECK(out_get(&t, first_misc + 3) == 0x1122334455667788ULL);
		CHECK(out_get(&t, first_misc + 4) == (uint64_t)-5);
		CHECK(out_get(&t, first_misc + 5) == x * x);
	}
	if (fd >= 0)
		close(fd);
	tb_free(&t);
}

static const int conds[] = {
	BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE, BPF_JSGT,
	BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET,
};
#define NCOND (int)(sizeof(conds) / sizeof(conds[0]))

static bool cond_eval(int c, uint64_t a, uint64_t b)
{
	int64_t sa = a, sb = b;

	switch (c) {
	case BPF_JEQ: return a == b;
	case BPF_JNE: return a != b;
	case BPF_JGT: return a > b;
	case BPF_JGE: return a >= b;
	case BPF_JLT: return a < b;
	case BPF_JLE: return a <= b;
	case BPF_JSGT: return sa > sb;
	case BPF_JSGE: return sa >= sb;
	case BPF_JSLT: return sa < sb;
	case BPF_JSLE: return sa <= sb;
	default: return a & b;
	}
}

/* r = 1; if (a cond b) goto L; r = 0; L: out[idx] = r */
static void branch_case(struct tb *t, int idx, int c, int a, int b,
			long long imm)
{
	int r = vr(t), l = ir_new_label(t->f);

	ir_movi(t->f, r, 1);
	if (b)
		ir_br(t->f, c, a, b, l);
	else
		ir_bri(t->f, c, a, imm, l);
	ir_movi(t->f, r, 0);
	ir_place(t->f, l);
	out(t, idx, r);
}

static void test_branches(void)
{
	static const uint64_t in[][2] = {
		{ 1, 2 }, { 2, 1 }, { 5, 5 }, { (uint64_t)-1, 1 },
		{ 1, (uint64_t)-1 }, { 0x100000000ULL, 0x100000000ULL },
		{ 0x100000001ULL, 4 },
	};
	static const long long imms[] = { 5, -1, 0x100000000LL };
	struct tb t;
	int a, b, fd, idx = 0;

	tb_init(&t, "branches");
	a = arg(&t, 0);
	b = arg(&t, 1);
	for (int k = 0; k < NCOND; k++) {
		branch_case(&t, idx++, conds[k], a, b, 0);
		for (int j = 0; j < 3 && k < NCOND - 1; j++)
			branch_case(&t, idx++, conds[k], a, 0, imms[j]);
	}
	ir_reti(t.f, 0);
	fd = load(t.f);
	CHECK(fd >= 0);
	for (size_t r = 0; fd >= 0 && r < sizeof(in) / sizeof(in[0]); r++) {
		uint64_t x = in[r][0], y = in[r][1];
		int i = 0;

		CHECK(run(fd, in[r], 2) == 0);
		for (int k = 0; k < NCOND; k++) {
			if (out_get(&t, i++) != cond_eval(conds[k], x, y)) {
				printf("  cond 0x%x x=%#llx y=%#llx\n",
				       conds[k], (unsigned long long)x,
				       (unsigned long long)y);
				CHECK(0);
			}
			for (int j = 0; j < 3 && k < NCOND - 1; j++)
				if (out_get(&t, i++) !=
				    cond_eval(conds[k], x, imms[j])) {
					printf("  cond 0x%x x=%#llx imm %lld\n",
					       conds[k], (unsigned long long)x,
					       imms[j]);
					CHECK(0);
				}
		}
	}
	if (fd >= 0)
		close(fd);
	tb_free(&t);
}

/*
 * s = 0; i = 1; do { s += i; i++ } while (i <= n), n = min(ctx[0], 50),
 * with `extra` more values live across the whole loop.
 */
static struct ir_func *loop_func(int extra)
{
	struct ir_func *f = ir_func_new("loop");
	int n = ir_vreg(f), s = ir_vreg(f), i = ir_vreg(f);
	int top = ir_new_label(f), ok = ir_new_label(f), x[16];

	ir_load(f, 8, n, IR_CTX, 0);
	ir_bri(f, BPF_JLE, n, 50, ok);
	ir_movi(f, n, 50);
	ir_place(f, ok);
	for (int k = 0; k < extra; k++) {
		x[k] = ir_vreg(f);
		ir_alui(f, BPF_ADD, x[k], n, 1000 * (k + 1));
	}
	ir_movi(f, s, 0);
	ir_movi(f, i, 1);
	ir_place(f, top);
	ir_alu(f, BPF_ADD, s, s, i);
	for (int k = 0; k < extra; k++)
		ir_alui(f, BPF_ADD, x[k], x[k], 1);
	ir_alui(f, BPF_ADD, i, i, 1);
	ir_br(f, BPF_JLE, i, n, top);
	for (int k = 0; k < extra; k++)
		ir_alu(f, BPF_ADD, s, s, x[k]);
	ir_ret(f, s);
	return f;
}

static void test_loop(void)
{
	for (int extra = 0; extra <= 12; extra += 12) {
		struct ir_func *f = loop_func(extra);
		int fd = load(f);
		uint64_t n;

		CHECK(fd >= 0);
		for (n = 1; fd >= 0 && n <= 80; n += 9) {
			uint64_t m = n > 50 ? 50 : n, want = m * (m + 1) / 2;

			for (int k = 0; k < extra; k++)
				want += m + 1000 * (k + 1) + m;
			CHECK(run(fd, &n, 1) == (long long)want);
		}
		if (fd >= 0)
			close(fd);
		ir_func_free(f);
	}
}

/*
 * A helper call inside a loop: the loop-carried values and six more live
 * across the whole loop must all survive every call (r6-r9 or the stack).
 */
static void test_loop_calls(void)
{
	struct ir_func *f = ir_func_new("loop_calls");
	int n = ir_vreg(f), s = ir_vreg(f), i = ir_vreg(f), r = ir_vreg(f);
	int top = ir_new_label(f), x[6], fd;
	uint64_t in = 7, want = 0;

	ir_load(f, 8, n, IR_CTX, 0);
	ir_alui(f, BPF_AND, n, n, 15);
	for (int k = 0; k < 6; k++) {
		x[k] = ir_vreg(f);
		ir_alui(f, BPF_MUL, x[k], n, k + 2);
	}
	ir_movi(f, s, 0);
	ir_movi(f, i, 0);
	ir_place(f, top);
	ir_call(f, r, BPF_FUNC_get_prandom_u32, 0, NULL);
	ir_alui(f, BPF_AND, r, r, 0);
	ir_alu(f, BPF_ADD, s, s, r);
	ir_alu(f, BPF_ADD, s, s, i);
	ir_alui(f, BPF_ADD, i, i, 1);
	ir_br(f, BPF_JLT, i, n, top);
	for (int k = 0; k < 6; k++)
		ir_alu(f, BPF_ADD, s, s, x[k]);
	ir_ret(f, s);
	fd = load(f);
	CHECK(fd >= 0);
	for (int k = 0; k < 6; k++)
		want += in * (k + 2);
	want += in * (in - 1) / 2;
	CHECK(run(fd, &in, 1) == (long long)want);
	if (fd >= 0)
		close(fd);
	ir_func_free(f);
}

/* Code no path reaches is left out (the verifier rejects it). */
static void test_unreachable(void)
{
	struct ir_func *f = ir_func_new("dead");
	int v = ir_vreg(f), w = ir_vreg(f), l = ir_new_label(f), fd;
	uint64_t in = 9;

	ir_load(f, 8, v, IR_CTX, 0);
	ir_jmp(f, l);
	ir_alui(f, BPF_ADD, w, v, 100);	/* dead, and w is never set */
	ir_ret(f, w);
	ir_place(f, l);
	ir_alui(f, BPF_ADD, v, v, 0);
	ir_alui(f, BPF_MUL, v, v, 1);
	ir_ret(f, v);
	fd = load(f);
	CHECK(fd >= 0);
	CHECK(run(fd, &in, 1) == 9);
	if (fd >= 0)
		close(fd);
	ir_func_free(f);
}

/* A reference interpreter for the IR the random test generates. */
static uint64_t interp(const struct ir_func *f, const uint64_t *ctx)
{
	uint64_t *r = calloc(f->nvregs, sizeof(*r));
	uint8_t stack[IR_STACK_SIZE] = { 0 };
	int *label_at = calloc(f->nlabels + 1, sizeof(int));
	uint64_t ret = 0;

	for (int i = 0; i < f->ninsns; i++)
		if (f->insns[i].op == IR_LABEL)
			label_at[f->insns[i].label] = i;
	for (int i = 0; i < f->ninsns; i++) {
		const struct ir_insn *in = &f->insns[i];
		uint64_t a = r[in->a], b = r[in->b];

		switch (in->op) {
		case IR_MOVI: r[in->d] = in->imm; break;
		case IR_MOV: r[in->d] = a; break;
		case IR_ALU: r[in->d] = alu_eval(in->code, a, b); break;
		case IR_ALUI:
			r[in->d] = alu_eval(in->code, a, in->imm);
			break;
		case IR_NEG: r[in->d] = -a; break;
		case IR_LOAD:
			if (in->a == IR_CTX) {
				r[in->d] = ctx[in->off / 8];
			} else {
				uint64_t v = 0;

				memcpy(&v, stack + IR_STACK_SIZE + in->off,
				       in->size);
				r[in->d] = v;
			}
			break;
		case IR_STORE:
			memcpy(stack + IR_STACK_SIZE + in->off, &b, in->size);
			break;
		case IR_CALL: r[in->d] = 12345; break;
		case IR_BR:
			if (cond_eval(in->code, a, b))
				i = label_at[in->label];
			break;
		case IR_RET: ret = a; goto out;
		default: break;
		}
	}
out:
	free(r);
	free(label_at);
	return ret;
}

/*
 * Random programs with many values, helper calls, forward branches over
 * redefinitions and stack round trips: the kernel must accept each and
 * compute what the interpreter computes.
 */
static void test_random(void)
{
	static const int ops[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_XOR,
				   BPF_OR, BPF_AND, BPF_DIV, BPF_MOD,
				   BPF_LSH, BPF_RSH, BPF_ARSH };
	unsigned int seed = 12345;

	for (int prog = 0; prog < 40; prog++) {
		struct ir_func *f = ir_func_new("random");
		int def[64], nd = 0, open_label = -1, skip = 0, fd;
		int nins = 20 + rand_r(&seed) % 80;
		int slot = ir_stack(f, 8), s;
		uint64_t ctx[3];

		for (int k = 0; k < 3; k++) {
			def[nd] = ir_vreg(f);
			ir_load(f, 8, def[nd++], IR_CTX, 8 * k);
		}
		for (int k = 0; k < nins; k++) {
			int a = def[rand_r(&seed) % nd];
			int b = def[rand_r(&seed) % nd];
			int kind = rand_r(&seed) % 10, d;

			/* In a skipped region only redefine: every value
			 * stays set on both paths. */
			if (open_label >= 0 || nd >= 64 || kind == 7 ||
			    rand_r(&seed) % 3)
				d = def[rand_r(&seed) % nd];
			else
				d = def[nd++] = ir_vreg(f);
			switch (kind) {
			case 0: case 1: case 2:
				ir_alu(f, ops[rand_r(&seed) % 11], d, a, b);
				break;
			case 3:
				ir_alui(f, ops[rand_r(&seed) % 6], d, a,
					rand_r(&seed) % 2 ? rand_r(&seed) :
					(long long)rand_r(&seed) << 20);
				break;
			case 4:
				ir_neg(f, d, a);
				break;
			case 5:
				ir_call(f, d, rand_r(&seed) % 2 ?
					BPF_FUNC_ktime_get_ns :
					BPF_FUNC_get_prandom_u32, 0, NULL);
				ir_alui(f, BPF_AND, d, d, 0);
				ir_alu(f, BPF_ADD, d, d, a);
				break;
			case 6:
				ir_store(f, 8, IR_FP, slot, a);
				ir_load(f, 1 << (rand_r(&seed) % 4), d, IR_FP,
					slot);
				break;
			case 7:
				if (open_label < 0) {
					open_label = ir_new_label(f);
					skip = 1 + rand_r(&seed) % 5;
					ir_br(f, conds[rand_r(&seed) % NCOND],
					      a, b, open_label);
				}
				break;
			default:
				ir_movi(f, d, (long long)rand_r(&seed) *
					(rand_r(&seed) % 3 ? 1 : 977777));
				break;
			}
			if (open_label >= 0 && kind != 7 && --skip <= 0) {
				ir_place(f, open_label);
				open_label = -1;
			}
		}
		if (open_label >= 0)
			ir_place(f, open_label);
		s = ir_vreg(f);
		ir_movi(f, s, 0);
		for (int k = 0; k < nd; k++) {
			ir_alui(f, BPF_MUL, s, s, 31);
			ir_alu(f, BPF_XOR, s, s, def[k]);
		}
		{
			int h = ir_vreg(f);

			ir_alui(f, BPF_RSH, h, s, 32);
			ir_alu(f, BPF_XOR, s, s, h);
			ir_alui(f, BPF_AND, s, s, 0x7fffffff);
		}
		ir_ret(f, s);
		fd = load(f);
		CHECK(fd >= 0);
		for (int run_i = 0; fd >= 0 && run_i < 3; run_i++) {
			long long got;

			for (int k = 0; k < 3; k++)
				ctx[k] = (uint64_t)rand_r(&seed) <<
					 (rand_r(&seed) % 40);
			got = run(fd, ctx, 3);
			if (got != (long long)interp(f, ctx)) {
				printf("  random program %d: got %lld, want "
				       "%lld\n", prog, got,
				       (long long)interp(f, ctx));
				ir_dump(stdout, f);
				CHECK(0);
				break;
			}
		}
		if (fd >= 0)
			close(fd);
		ir_func_free(f);
	}
}

/* 20 values live at once, then summed: more than BPF has registers. */
static void test_pressure(void)
{
	struct ir_func *f = ir_func_new("pressure");
	struct ir_alloc ra;
	int a = ir_vreg(f), v[20], s = ir_vreg(f), fd;
	uint64_t x = 3, want = 0;
	char err[128];

	ir_load(f, 8, a, IR_CTX, 0);
	for (int k = 0; k < 20; k++) {
		v[k] = ir_vreg(f);
		ir_alui(f, BPF_MUL, v[k], a, k + 1);
		ir_alui(f, BPF_ADD, v[k], v[k], k);
		want += x * (k + 1) + k;
	}
	ir_movi(f, s, 0);
	for (int k = 19; k >= 0; k--)
		ir_alu(f, BPF_ADD, s, s, v[k]);
	ir_ret(f, s);
	CHECK(!ir_alloc_run(f, &ra, err, sizeof(err)));
	CHECK(ra.nspills > 0);
	CHECK(ra.frame == ra.nspills * 8);
	ir_alloc_free(&ra);
	fd = load(f);
	CHECK(fd >= 0);
	CHECK(run(fd, &x, 1) == (long long)want);
	if (fd >= 0)
		close(fd);
	ir_func_free(f);
}

/*
 * Values live across helper calls, a stack object as a hash map key, a
 * lookup result that must be spilled across a call after its null check,
 * and argument registers that have to be swapped (a move cycle).
 */
static void test_calls(void)
{
	struct ir_func *f = ir_func_new("calls");
	int hash = bpf_map_create(BPF_MAP_TYPE_HASH, "ir_hash", 8, 8, 16,
				  NULL);
	int ctx0, v[10], key, val, m, p, t0, t1, r, s, fd, k;
	int lmiss = ir_new_label(f), lnz = ir_new_label(f);
	int args[4];
	struct ir_alloc ra;
	uint64_t in = 40, hk = 40, hv = 0;
	int key_off = ir_stack(f, 8), val_off = ir_stack(f, 8);
	char err[128];

	CHECK(hash >= 0);
	/* Key pointer before the map pointer: they arrive in r1/r2 swapped. */
	ctx0 = ir_vreg(f);
	ir_load(f, 8, ctx0, IR_CTX, 0);
	ir_store(f, 8, IR_FP, key_off, ctx0);
	ir_storei(f, 8, IR_FP, val_off, 5);
	key = ir_vreg(f);
	ir_alui(f, BPF_ADD, key, IR_FP, key_off);
	m = ir_vreg(f);
	ir_map_fd(f, m, hash);
	val = ir_vreg(f);
	ir_alui(f, BPF_ADD, val, IR_FP, val_off);
	r = ir_vreg(f);
	ir_movi(f, r, BPF_ANY);
	args[0] = m;
	args[1] = key;
	args[2] = val;
	args[3] = r;
	ir_call(f, IR_NONE, BPF_FUNC_map_update_elem, 4, args);
	for (k = 0; k < 10; k++) {
		v[k] = ir_vreg(f);
		ir_alui(f, BPF_ADD, v[k], ctx0, k);
	}
	t0 = ir_vreg(f);
	ir_call(f, t0, BPF_FUNC_ktime_get_ns, 0, NULL);
	key = ir_vreg(f);
	ir_alui(f, BPF_ADD, key, IR_FP, key_off);
	m = ir_vreg(f);
	ir_map_fd(f, m, hash);
	args[0] = key;		/* wrong order on purpose: swapped below */
	args[1] = m;
	p = ir_vreg(f);
	{
		int a2[2] = { m, key };

		ir_call(f, p, BPF_FUNC_map_lookup_elem, 2, a2);
	}
	ir_bri(f, BPF_JNE, p, 0, lnz);
	ir_reti(f, 1);
	ir_place(f, lnz);
	t1 = ir_vreg(f);
	ir_call(f, t1, BPF_FUNC_get_prandom_u32, 0, NULL);
	s = ir_vreg(f);
	ir_movi(f, s, 0);
	for (k = 0; k < 10; k++)
		ir_alu(f, BPF_ADD, s, s, v[k]);
	/* ktime went forward: t1 - t0 only checks both survived. */
	t1 = ir_vreg(f);
	ir_call(f, t1, BPF_FUNC_ktime_get_ns, 0, NULL);
	ir_br(f, BPF_JLT, t1, t0, lmiss);
	r = ir_vreg(f);
	ir_load(f, 8, r, p, 0);
	ir_alu(f, BPF_ADD, s, s, r);
	ir_atomic_add(f, 8, p, 0, s);
	ir_ret(f, s);
	ir_place(f, lmiss);
	ir_reti(f, 2);

	CHECK(!ir_alloc_run(f, &ra, err, sizeof(err)));
	CHECK(ra.home[p].reg < 0);	/* the null-checked pointer spilled */
	for (k = 0; k < 10; k++)
		CHECK(ra.home[v[k]].reg < 0 || ra.home[v[k]].reg >= 6);
	ir_alloc_free(&ra);
	fd = load(f);
	CHECK(fd >= 0);
	/* s = sum(40 + k) + 5 = 450; the map value becomes 5 + 450. */
	CHECK(run(fd, &in, 1) == 450);
	CHECK(!bpf_map_lookup_elem(hash, &hk, &hv));
	CHECK(hv == 455);
	if (fd >= 0)
		close(fd);
	if (hash >= 0)
		close(hash);
	ir_func_free(f);
}

/* Stores and loads of every width on a stack object; zero-extension. */
static void test_memory(void)
{
	struct tb t;
	int o, d, idx = 0, fd;
	uint64_t x = 0;

	tb_init(&t, "memory");
	o = ir_stack(t.f, 16);
	ir_storei(t.f, 8, IR_FP, o, 0x1122334455667788LL);
	ir_storei(t.f, 8, IR_FP, o + 8, -2);
	for (int size = 1; size <= 8; size *= 2) {
		for (int off = 0; off < 8; off += size) {
			d = vr(&t);
			ir_load(t.f, size, d, IR_FP, o + off);
			out(&t, idx++, d);
		}
	}
	/* idx 15.. */
	d = vr(&t);
	ir_load(t.f, 1, d, IR_FP, o + 8);		/* 0xfe */
	out(&t, idx++, d);
	ir_storei(t.f, 1, IR_FP, o, 0xab);
	ir_storei(t.f, 2, IR_FP, o + 2, 0xcdef);
	ir_storei(t.f, 4, IR_FP, o + 4, 0xdeadbeefLL);
	d = vr(&t);
	ir_load(t.f, 8, d, IR_FP, o);
	out(&t, idx++, d);
	d = vr(&t);
	ir_movi(t.f, d, 0x0102030405060708LL);
	ir_store(t.f, 4, IR_FP, o + 8, d);
	ir_store(t.f, 2, IR_FP, o + 12, d);
	ir_store(t.f, 1, IR_FP, o + 14, d);
	ir_store(t.f, 1, IR_FP, o + 15, d);
	d = vr(&t);
	ir_load(t.f, 8, d, IR_FP, o + 8);
	out(&t, idx++, d);
	/* Atomic adds of both widths through a pointer register. */
	{
		int p = vr(&t), one = vr(&t);

		ir_alui(t.f, BPF_ADD, p, IR_FP, o);
		ir_movi(t.f, one, 0x100000001LL);
		ir_storei(t.f, 8, IR_FP, o, 0);
		ir_atomic_add(t.f, 8, p, 0, one);
		ir_atomic_add(t.f, 4, p, 4, one);
		d = vr(&t);
		ir_load(t.f, 8, d, p, 0);
		out(&t, idx++, d);
	}
	ir_reti(t.f, 0);
	fd = load(t.f);
	CHECK(fd >= 0);
	if (fd >= 0) {
		uint64_t want[] = {
			0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
			0x7788, 0x5566, 0x3344, 0x1122,
			0x55667788, 0x11223344, 0x1122334455667788ULL,
			0xfe, 0xdeadbeefcdef77abULL, 0x0808070805060708ULL,
			0x0000000200000001ULL,
		};

		CHECK(run(fd, &x, 1) == 0);
		for (int i = 0; i < (int)(sizeof(want) / sizeof(want[0]));
		     i++) {
			if (out_get(&t, i) != want[i]) {
				printf("  memory[%d] = %#llx, want %#llx\n",
				       i, (unsigned long long)out_get(&t, i),
				       (unsigned long long)want[i]);
				CHECK(0);
			}
		}
		close(fd);
	}
	tb_free(&t);
}

/* ctx[0..3] combined; ctx live across a call so it needs a saved home. */
static void test_ctx(void)
{
	struct ir_func *f = ir_func_new("ctx");
	uint64_t in[4] = { 1, 20, 300, 4000 };
	int t = ir_vreg(f), s = ir_vreg(f), fd;

	ir_call(f, t, BPF_FUNC_get_prandom_u32, 0, NULL);
	ir_movi(f, s, 0);
	for (int k = 0; k < 4; k++) {
		int v = ir_vreg(f);

		ir_load(f, 8, v, IR_CTX, k * 8);
		ir_alui(f, BPF_MUL, v, v, k + 1);
		ir_alu(f, BPF_ADD, s, s, v);
	}
	ir_ret(f, s);
	fd = load(f);
	CHECK(fd >= 0);
	CHECK(run(fd, in, 4) == 1 + 40 + 900 + 16000);
	if (fd >= 0)
		close(fd);
	ir_func_free(f);
}

static void test_stack_exhausted(void)
{
	struct ir_func *f = ir_func_new("big");
	struct bpf_insn *insns = NULL;
	int n, *lines = NULL, a = ir_vreg(f), v[20], s = ir_vreg(f);
	char err[128] = "";

	CHECK(ir_stack(f, 496) == -496);
	CHECK(ir_stack(f, 24) == 0);
	ir_load(f, 8, a, IR_CTX, 0);
	for (int k = 0; k < 20; k++) {
		v[k] = ir_vreg(f);
		ir_alui(f, BPF_ADD, v[k], a, k);
	}
	ir_movi(f, s, 0);
	for (int k = 0; k < 20; k++)
		ir_alu(f, BPF_ADD, s, s, v[k]);
	ir_ret(f, s);
	CHECK(ir_emit(f, &insns, &n, &lines, err, sizeof(err)) == -1);
	CHECK(!strncmp(err, "stack exhausted: ", 17));
	CHECK(strstr(err, "bytes needed, 512 available") != NULL);
	CHECK(!insns && !lines);
	ir_func_free(f);
}

static const char *emit_err(struct ir_func *f)
{
	static char err[128];
	struct bpf_insn *insns;
	int n, *lines;

	err[0] = 0;
	if (!ir_emit(f, &insns, &n, &lines, err, sizeof(err))) {
		free(insns);
		free(lines);
	}
	ir_func_free(f);
	return err;
}

static void test_errors(void)
{
	struct ir_func *f = ir_func_new("e");
	int v = ir_vreg(f), l;

	ir_ret(f, v);
	CHECK_STR(emit_err(f), "v3 may be used before it is set");

	f = ir_func_new("e");
	l = ir_new_label(f);
	ir_jmp(f, l);
	CHECK_STR(emit_err(f), "label L0 is never placed");

	f = ir_func_new("e");
	v = ir_vreg(f);
	ir_movi(f, v, 1);
	CHECK_STR(emit_err(f), "control reaches the end of the program "
		  "without a return");

	f = ir_func_new("e");
	ir_movi(f, IR_FP, 1);
	ir_reti(f, 0);
	CHECK_STR(emit_err(f), "instruction 0: the frame pointer is "
		  "read-only");

	f = ir_func_new("e");
	CHECK_STR(emit_err(f), "e has no instructions");
}

static char *text_of(void (*fn)(FILE *, const void *, const void *),
		     const void *x, const void *y)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	fn(out, x, y);
	fclose(out);
	return text;
}

static void dump_ir(FILE *out, const void *f, const void *unused)
{
	(void)unused;
	ir_dump(out, f);
}

struct bpf_text {
	const struct bpf_insn *insns;
	int n;
	const int *lines;
};

static void dump_bpf(FILE *out, const void *x, const void *src)
{
	const struct bpf_text *b = x;

	ir_dump_bpf(out, b->insns, b->n, b->lines, src);
}

static void test_dumps(void)
{
	struct ir_func *f = ir_func_new("kprobe:x");
	int v = ir_vreg(f), m = ir_vreg(f), k = ir_vreg(f), p = ir_vreg(f);
	int l = ir_new_label(f), args[2] = { m, k };
	int key = ir_stack(f, 4);
	struct bpf_text b;
	char err[128], *text;
	int *lines;
	struct bpf_insn *insns;
	const char *src = "BEGIN {\n"
			  "  $x = arg0;\n"
			  "  if ($x > 0) { @[1] = 2 }\n"
			  "}\n";

	ir_set_line(f, 2);
	ir_load(f, 8, v, IR_CTX, 0);
	ir_set_line(f, 3);
	ir_bri(f, BPF_JSGT, v, 0, l);
	ir_reti(f, 0);
	ir_place(f, l);
	ir_storei(f, 4, IR_FP, key, 1);
	ir_map_fd(f, m, 5);
	ir_alui(f, BPF_ADD, k, IR_FP, key);
	ir_call(f, p, BPF_FUNC_map_lookup_elem, 2, args);
	ir_alu(f, BPF_ADD, v, v, p);
	ir_ret(f, v);
	text = text_of(dump_ir, f, NULL);
	CHECK_STR(text,
		  "kprobe:x: 4 vregs, 8 bytes of stack\n"
		  "  v3 = *(u64 *)(ctx + 0)\n"
		  "  if v3 s> 0 goto L0\n"
		  "  return 0\n"
		  "L0:\n"
		  "  *(u32 *)(fp - 8) = 1\n"
		  "  v4 = map[fd:5]\n"
		  "  v5 = fp - 8\n"
		  "  v6 = call bpf_map_lookup_elem(v4, v5)\n"
		  "  v3 = v3 + v6\n"
		  "  return v3\n");
	free(text);
	CHECK(!ir_emit(f, &insns, &b.n, &lines, err, sizeof(err)));
	b.insns = insns;
	b.lines = lines;
	text = text_of(dump_bpf, &b, src);
	CHECK_STR(text,
		  "; $x = arg0;\n"
		  "0: (79) r6 = *(u64 *)(r1 +0)\n"
		  "; if ($x > 0) { @[1] = 2 }\n"
		  "1: (65) if r6 s> 0x0 goto pc+2\n"
		  "2: (b7) r0 = 0\n"
		  "3: (95) exit\n"
		  "4: (62) *(u32 *)(r10 -8) = 1\n"
		  "5: (18) r1 = map[fd:5]\n"
		  "7: (bf) r2 = r10\n"
		  "8: (07) r2 += -8\n"
		  "9: (85) call bpf_map_lookup_elem#1\n"
		  "10: (bf) r1 = r0\n"
		  "11: (0f) r6 += r1\n"
		  "12: (bf) r0 = r6\n"
		  "13: (95) exit\n");
	free(text);
	CHECK(b.n == 14 && lines[5] == 3 && lines[6] == 3 && lines[0] == 2);
	text = text_of(dump_bpf, &b, NULL);
	CHECK(text && !strncmp(text, "0: (79) r6 = *(u64 *)(r1 +0)\n1: ", 32));
	free(text);
	free(insns);
	free(lines);
	ir_func_free(f);
}

const struct unit_test trace_ir_tests[] = {
	{ "trace_ir/alu", test_alu },
	{ "trace_ir/branches", test_branches },
	{ "trace_ir/loop", test_loop },
	{ "trace_ir/loop_calls", test_loop_calls },
	{ "trace_ir/unreachable", test_unreachable },
	{ "trace_ir/pressure", test_pressure },
	{ "trace_ir/random", test_random },
	{ "trace_ir/calls", test_calls },
	{ "trace_ir/memory", test_memory },
	{ "trace_ir/ctx", test_ctx },
	{ "trace_ir/stack_exhausted", test_stack_exhausted },
	{ "trace_ir/errors", test_errors },
	{ "trace_ir/dumps", test_dumps },
	{ NULL },
};
UNIT_GROUP(trace_ir_tests)

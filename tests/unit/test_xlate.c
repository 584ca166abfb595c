/*
 * Unit tests of the classic-to-eBPF translator and of libpcap's side
 * (src/net/): the shape of the code (bounds checks before every packet
 * load, division by zero, forward jumps inside the program), refusals,
 * and tcpdump's dump formats. The kernel runs the translations in
 * tests/runtime/test_netfilter.py.
 */
#include <stdbool.h>
#include <stdlib.h>
#include "pexpr.h"
#include "unit.h"
#include "xlate.h"

static bool translate(const struct sock_filter *f, size_t n,
		      enum xlate_hook hook, struct xlate_prog *p, char *err)
{
	struct bpf_insn epi[XLATE_EPI_MAX];
	size_t nepi = xlate_epi_verdict(epi, 1, 2);

	return !xlate_cbpf(f, n, hook, epi, nepi, p, err, 256);
}

/* Jumps go forward and stay inside; the program ends in exit. */
static void check_jumps(const struct xlate_prog *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct bpf_insn *in = &p->insns[i];
		int cls = BPF_CLASS(in->code), op = BPF_OP(in->code);

		if ((cls != BPF_JMP && cls != BPF_JMP32) || op == BPF_CALL ||
		    op == BPF_EXIT)
			continue;
		CHECK(in->off >= 0);
		CHECK(i + 1 + in->off < p->n);
	}
	CHECK(p->n && p->insns[p->n - 1].code == (BPF_JMP | BPF_EXIT));
}

/* Every load through r2/r3 comes right after a check against data_end. */
static int checked_loads(const struct xlate_prog *p)
{
	int loads = 0;

	for (size_t i = 1; i < p->n; i++) {
		const struct bpf_insn *in = &p->insns[i], *prev = in - 1;

		if (BPF_CLASS(in->code) != BPF_LDX ||
		    (in->src_reg != 2 && in->src_reg != 3))
			continue;
		loads++;
		CHECK(prev->code == (BPF_JMP | BPF_JGT | BPF_X) &&
		      prev->src_reg == 7);
	}
	return loads;
}

static void test_expressions(void)
{
	static const char *const exprs[] = {
		"ip", "tcp port 80", "vlan 100 and ip6",
		"tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
		"ip[2:2] / (ip[8] - 64) > 1", "len > 100", "",
	};
	char err[256];

	for (size_t e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
		struct sock_filter *f;
		struct xlate_prog p;
		size_t n;

		CHECK(!pexpr_compile(exprs[e], &f, &n, err, sizeof(err)));
		for (int hook = XLATE_XDP; hook <= XLATE_TC; hook++) {
			CHECK(translate(f, n, hook, &p, err));
			check_jumps(&p);
			/* "len > 100" and "" read no packet bytes. */
			CHECK((checked_loads(&p) > 0) == (e < 5));
			xlate_free(&p);
		}
		free(f);
	}
}

static void test_division_by_zero(void)
{
	/* A = P[14]; X = A; A = 100; A /= X; ret A */
	struct sock_filter f[] = {
		{ BPF_LD | BPF_B | BPF_ABS, 0, 0, 14 },
		{ BPF_MISC | BPF_TAX, 0, 0, 0 },
		{ BPF_LD | BPF_IMM, 0, 0, 100 },
		{ BPF_ALU | BPF_DIV | BPF_X, 0, 0, 0 },
		{ BPF_RET | BPF_A, 0, 0, 0 },
	};
	struct sock_filter k0[] = {
		{ BPF_ALU | BPF_MOD | BPF_K, 0, 0, 0 },
		{ BPF_RET | BPF_A, 0, 0, 0 },
	};
	struct xlate_prog p;
	bool guarded = false;
	char err[256];

	CHECK(translate(f, 5, XLATE_XDP, &p, err));
	for (size_t i = 0; i + 1 < p.n; i++)
		if (p.insns[i].code == (BPF_JMP32 | BPF_JEQ | BPF_K) &&
		    p.insns[i].dst_reg == 9 && p.insns[i].imm == 0 &&
		    p.insns[i + 1].code == (BPF_ALU | BPF_DIV | BPF_X))
			guarded = true;
	CHECK(guarded);
	check_jumps(&p);
	xlate_free(&p);
	/* A % 0 by a constant: straight to "no match". */
	CHECK(translate(k0, 2, XLATE_TC, &p, err));
	check_jumps(&p);
	xlate_free(&p);
}

static void test_refusals(void)
{
	struct sock_filter past[] = {
		{ BPF_JMP | BPF_JEQ | BPF_K, 5, 0, 1 },
		{ BPF_RET | BPF_K, 0, 0, 0 },
	};
	struct sock_filter noret[] = { { BPF_LD | BPF_IMM, 0, 0, 1 } };
	struct sock_filter mem[] = {
		{ BPF_ST, 0, 0, 16 },
		{ BPF_RET | BPF_K, 0, 0, 0 },
	};
	struct sock_filter ext[] = {
		{ BPF_LD | BPF_W | BPF_ABS, 0, 0, 0xfffff000 },
		{ BPF_RET | BPF_A, 0, 0, 0 },
	};
	struct xlate_prog p;
	char err[256];

	CHECK(!translate(past, 2, XLATE_XDP, &p, err));
	CHECK_STR(err, "instruction 0 jumps past the end");
	CHECK(!translate(noret, 1, XLATE_XDP, &p, err));
	CHECK_STR(err, "the last instruction is not a return");
	CHECK(!translate(mem, 2, XLATE_XDP, &p, err));
	CHECK_STR(err, "classic instruction 0 (code 0x02) is not supported");
	CHECK(!translate(NULL, 0, XLATE_XDP, &p, err));
	/* Linux's ancillary loads are beyond any packet: no match. */
	CHECK(translate(ext, 2, XLATE_XDP, &p, err));
	check_jumps(&p);
	xlate_free(&p);
}

static void test_unreachable(void)
{
	/* Instruction 2 is never reached; the verifier would refuse it. */
	struct sock_filter f[] = {
		{ BPF_LD | BPF_IMM, 0, 0, 1 },
		{ BPF_JMP | BPF_JA, 0, 0, 1 },
		{ BPF_LD | BPF_B | BPF_ABS, 0, 0, 20 },
		{ BPF_RET | BPF_A, 0, 0, 0 },
	};
	struct xlate_prog p;
	char err[256];

	CHECK(translate(f, 4, XLATE_XDP, &p, err));
	CHECK(checked_loads(&p) == 0);
	check_jumps(&p);
	xlate_free(&p);
}

static void test_compile_errors(void)
{
	struct sock_filter *f;
	char err[256];
	size_t n;

	CHECK(pexpr_compile("tcp port", &f, &n, err, sizeof(err)) == -1);
	CHECK(strstr(err, "syntax error") != NULL);
	CHECK(!pexpr_compile("ip", &f, &n, err, sizeof(err)));
	CHECK(n == 4);
	CHECK(pexpr_filter(f, n, (const unsigned char *)
			   "\0\0\0\0\0\0\0\0\0\0\0\0\x08\x00", 14, 14) ==
	      PEXPR_SNAPLEN);
	free(f);
}

static void test_dump_formats(void)
{
	struct sock_filter *f;
	char err[256], *buf = NULL;
	size_t n, len = 0;
	FILE *m;

	CHECK(!pexpr_compile("ip", &f, &n, err, sizeof(err)));
	m = open_memstream(&buf, &len);
	pexpr_dump(m, f, n, 1);
	pexpr_dump(m, f, n, 2);
	pexpr_dump(m, f, n, 3);
	fclose(m);
	CHECK_STR(buf,
		  "(000) ldh      [12]\n"
		  "(001) jeq      #0x800           jt 2\tjf 3\n"
		  "(002) ret      #262144\n"
		  "(003) ret      #0\n"
		  "{ 0x28, 0, 0, 0x0000000c },\n"
		  "{ 0x15, 0, 1, 0x00000800 },\n"
		  "{ 0x6, 0, 0, 0x00040000 },\n"
		  "{ 0x6, 0, 0, 0x00000000 },\n"
		  "4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n");
	free(buf);
	free(f);
}

const struct unit_test xlate_tests[] = {
	{ "xlate/expressions", test_expressions },
	{ "xlate/division_by_zero", test_division_by_zero },
	{ "xlate/refusals", test_refusals },
	{ "xlate/unreachable", test_unreachable },
	{ "pexpr/compile_errors", test_compile_errors },
	{ "pexpr/dump_formats", test_dump_formats },
	{ NULL },
};
UNIT_GROUP(xlate_tests)

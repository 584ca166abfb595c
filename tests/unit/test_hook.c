/* Unit tests of the hook chooser's decisions, given probe results. */
#include <errno.h>
#include <stdio.h>
#include "hook.h"
#include "unit.h"

static void test_parse_section(void)
{
	struct hook_point pt;

	CHECK(hook_parse_section("tracepoint/syscalls/sys_enter_openat",
				 &pt) == 0);
	CHECK(pt.kind == HOOK_TRACEPOINT);
	CHECK_STR(pt.target, "syscalls/sys_enter_openat");
	CHECK(hook_parse_section("tp_btf/sched_switch", &pt) == 0);
	CHECK(pt.kind == HOOK_TP_BTF);
	CHECK_STR(pt.target, "sched_switch");
	CHECK(hook_parse_section("kretprobe/do_sys_openat2", &pt) == 0);
	CHECK(pt.kind == HOOK_KRETPROBE);
	CHECK(hook_parse_section("kprobe/do_sys_openat2", &pt) == 0);
	CHECK(pt.kind == HOOK_KPROBE);
	CHECK(hook_parse_section("fexit/do_sys_openat2", &pt) == 0);
	CHECK(pt.kind == HOOK_FEXIT);
	CHECK(hook_parse_section("raw_tracepoint/sched_switch", &pt) == 0);
	CHECK(pt.kind == HOOK_RAW_TP);
	CHECK_STR(pt.target, "sched_switch");
	/* Packet and socket hooks: the target says where, if anywhere. */
	CHECK(hook_parse_section("xdp", &pt) == 0);
	CHECK(pt.kind == HOOK_XDP);
	CHECK_STR(pt.target, "");
	CHECK(hook_parse_section("tc/egress", &pt) == 0);
	CHECK(pt.kind == HOOK_TC);
	CHECK_STR(pt.target, "egress");
	CHECK(hook_parse_section("classifier", &pt) == 0);
	CHECK(pt.kind == HOOK_TC);
	CHECK(hook_parse_section("sockops", &pt) == 0);
	CHECK(pt.kind == HOOK_SOCKOPS);
	CHECK(hook_parse_section("sk_msg", &pt) == 0);
	CHECK(pt.kind == HOOK_SK_MSG);
	CHECK_STR(hook_kind_name(HOOK_SK_MSG), "sk_msg");
	CHECK(hook_parse_section("lsm/file_open", &pt) != 0);
	CHECK_STR(hook_kind_name(HOOK_TP_BTF), "tp_btf");
}

/* The fake kernel: programs whose name starts with "bad" fail. */
static int calls;

static int fake_test(const char *prog, char *why, size_t len, void *ctx)
{
	(void)ctx;
	calls++;
	if (!strncmp(prog, "bad", 3)) {
		snprintf(why, len, "%s: Operation not permitted", prog);
		return -EPERM;
	}
	return 0;
}

static void test_first_working_wins(void)
{
	const struct hook_probe p = { "open", {
		{ { "bad_fexit" } },
		{ { "bad_kprobe", "good_kretprobe" } },
		{ { "good_enter", "good_exit" } },
		{ { "good_later" } },
	} };
	struct hook_result r;

	calls = 0;
	CHECK(hook_decide(&p, fake_test, NULL, NULL, &r) == 0);
	CHECK(r.chosen == 2);
	CHECK(r.ncandidates == 4);
	CHECK_STR(r.why[0], "bad_fexit: Operation not permitted");
	/* A candidate stops at its first broken program. */
	CHECK_STR(r.why[1], "bad_kprobe: Operation not permitted");
	CHECK_STR(r.why[2], "");
	CHECK_STR(r.why[3], "not needed");
	/* Candidates after the chosen one are not probed. */
	CHECK(calls == 4);
}

static void test_optional_programs(void)
{
	const struct hook_probe p = { "open", {
		{ { "?bad_open", "good_openat", "?good_openat2" } },
	} };
	const struct hook_probe only_optional = { "x", {
		{ { "?bad_a", "?bad_b" } },
		{ { "good_c" } },
	} };
	struct hook_result r;
	bool optional = false;

	CHECK(hook_decide(&p, fake_test, NULL, NULL, &r) == 0);
	CHECK(r.chosen == 0);
	CHECK(hook_decide(&only_optional, fake_test, NULL, NULL, &r) == 0);
	CHECK(r.chosen == 1);
	CHECK_STR(r.why[0], "none of its hooks exist");
	CHECK(hook_prog_in_candidate(&p.candidates[0], "bad_open", &optional));
	CHECK(optional);
	CHECK(hook_prog_in_candidate(&p.candidates[0], "good_openat",
				     &optional));
	CHECK(!optional);
	CHECK(!hook_prog_in_candidate(&p.candidates[0], "other", NULL));
}

static int fake_helper(const struct hook_candidate *c, char *why, size_t len,
		       void *ctx)
{
	(void)ctx;
	if (c->helper == 175) {
		snprintf(why, len, "no helper 175");
		return -EOPNOTSUPP;
	}
	return 0;
}

static void test_helper_requirement(void)
{
	const struct hook_probe p = { "open", {
		{ { "good_exit_regs" }, 175 },
		{ { "good_enter", "good_exit" } },
	} };
	struct hook_result r;

	calls = 0;
	CHECK(hook_decide(&p, fake_test, fake_helper, NULL, &r) == 0);
	CHECK(r.chosen == 1);
	CHECK_STR(r.why[0], "no helper 175");
	/* Its programs are not even tried. */
	CHECK(calls == 2);
	CHECK(hook_decide(&p, fake_test, NULL, NULL, &r) == 0 && r.chosen == 0);
}

static void test_nothing_works(void)
{
	const struct hook_probe p = { "exit", {
		{ { "bad_btf" } }, { { "bad_raw" } },
	} };
	struct hook_result r;

	CHECK(hook_decide(&p, fake_test, NULL, NULL, &r) == -ENOENT);
	CHECK(r.chosen == -1);
	CHECK_STR(r.why[1], "bad_raw: Operation not permitted");
}

const struct unit_test hook_tests[] = {
	{ "hook/parse_section", test_parse_section },
	{ "hook/first_working_wins", test_first_working_wins },
	{ "hook/optional_programs", test_optional_programs },
	{ "hook/helper_requirement", test_helper_requirement },
	{ "hook/nothing_works", test_nothing_works },
	{ NULL },
};
UNIT_GROUP(hook_tests)

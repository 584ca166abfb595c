/* Unit tests of the built-in metrics' table (src/agent/builtin.c). */
#include <stdlib.h>
#include "builtin.h"
#include "unit.h"

static void test_list(void)
{
	char bad[64];

	CHECK(!builtin_check_list("all", bad, sizeof(bad)));
	CHECK(!builtin_check_list("none", bad, sizeof(bad)));
	CHECK(!builtin_check_list("syscalls", bad, sizeof(bad)));
	CHECK(!builtin_check_list("execs,runqueue", bad, sizeof(bad)));
	CHECK(builtin_check_list("execs,nosuch,tcp", bad, sizeof(bad)) < 0);
	CHECK_STR(bad, "nosuch");
	/* an empty name is not a metric either */
	CHECK(builtin_check_list("execs,", bad, sizeof(bad)) < 0);
	CHECK_STR(bad, "");
	CHECK(builtin_check_list("", bad, sizeof(bad)) < 0);
	/* all and none are whole lists, not names among others */
	CHECK(builtin_check_list("execs,all", bad, sizeof(bad)) < 0);
	CHECK_STR(bad, "all");
}

static void test_select(void)
{
	struct metric_program *p;
	int n;

	/* table order, whatever the list's */
	p = builtin_select("tasks,syscalls", 0, &n);
	CHECK(p && n == 2);
	if (p && n == 2) {
		CHECK_STR(p[0].id, "syscalls");
		CHECK_STR(p[1].id, "tasks");
		CHECK(p[0].file == NULL);
	}
	builtin_free(p, n);
	p = builtin_select("none", 0, &n);
	CHECK(!p && n == 0);
	p = builtin_select(NULL, 0, &n);
	CHECK(p && n == builtin_count());
	builtin_free(p, n);
}

/* The same metric with and without --by-cgroup. */
static void test_by_cgroup(void)
{
	struct metric_program *plain, *cg;
	int n1, n2;

	plain = builtin_select("syscalls,runqueue,softirqs", 0, &n1);
	cg = builtin_select("syscalls,runqueue,softirqs", BUILTIN_BY_CGROUP,
			    &n2);
	CHECK(plain && cg && n1 == 3 && n2 == 3);
	if (!plain || !cg || n1 != 3 || n2 != 3)
		goto out;
	/* runqueue: the task switched in, a map without a key gets one */
	CHECK(strstr(cg[0].program,
		     "@runqueue[args.next->cgroups->dfl_cgrp->kn->id] = hist("));
	CHECK(strstr(plain[0].program, "@runqueue = hist("));
	CHECK(cg[0].exports[0].nlabels == 1);
	CHECK_STR(cg[0].exports[0].labels[0].name, "cgroup");
	CHECK(cg[0].exports[0].labels[0].kind == LABEL_CGROUP);
	/* syscalls: the cgroup is the first key element and label */
	CHECK(strstr(cg[1].program, "@syscall_errors[cgroup, $nr, -args.ret]"));
	CHECK(strstr(plain[1].program, "@syscall_errors[$nr, -args.ret]"));
	CHECK(cg[1].exports[1].nlabels == 3);
	CHECK_STR(cg[1].exports[1].labels[0].name, "cgroup");
	CHECK_STR(cg[1].exports[1].labels[1].name, "syscall");
	CHECK(cg[1].exports[1].labels[2].kind == LABEL_ERRNO);
	CHECK(plain[1].exports[1].nlabels == 2);
	/* softirqs are not a task's: the same either way */
	CHECK_STR(cg[2].program, plain[2].program);
	CHECK(cg[2].exports[0].nlabels == 1);
out:
	builtin_free(plain, n1);
	builtin_free(cg, n2);
}

/*
 * --by-container: the cgroup id key element gives container, pod and
 * namespace; with --by-cgroup too, the cgroup label reads it first.
 */
static void test_by_container(void)
{
	struct metric_program *ct, *both;
	const struct metric_export *x;
	int n1, n2;

	ct = builtin_select("syscalls", BUILTIN_BY_CONTAINER, &n1);
	both = builtin_select("syscalls",
			      BUILTIN_BY_CGROUP | BUILTIN_BY_CONTAINER, &n2);
	CHECK(ct && both && n1 == 1 && n2 == 1);
	if (!ct || !both || n1 != 1 || n2 != 1)
		goto out;
	/* the same program: one key element for all of them */
	CHECK(strstr(ct[0].program, "@syscall_errors[cgroup, $nr, -args.ret]"));
	CHECK_STR(ct[0].program, both[0].program);
	x = &ct[0].exports[1];
	CHECK(x->nlabels == 5);
	CHECK_STR(x->labels[0].name, "container");
	CHECK(x->labels[0].kind == LABEL_CONTAINER && !x->labels[0].same_key);
	CHECK_STR(x->labels[1].name, "pod");
	CHECK(x->labels[1].kind == LABEL_POD && x->labels[1].same_key);
	CHECK_STR(x->labels[2].name, "namespace");
	CHECK(x->labels[2].kind == LABEL_NAMESPACE && x->labels[2].same_key);
	CHECK_STR(x->labels[3].name, "syscall");
	CHECK(!x->labels[3].same_key && !x->labels[4].same_key);
	x = &both[0].exports[1];
	CHECK(x->nlabels == 6);
	CHECK_STR(x->labels[0].name, "cgroup");
	CHECK(!x->labels[0].same_key);
	CHECK_STR(x->labels[1].name, "container");
	CHECK(x->labels[1].same_key && x->labels[3].same_key);
	CHECK_STR(x->labels[4].name, "syscall");
out:
	builtin_free(ct, n1);
	builtin_free(both, n2);
}

/* Every family's map is assigned in its program, with a known type. */
static void test_families(void)
{
	for (unsigned int by = 0; by < 4; by++) {
		struct metric_program *p;
		int n;

		p = builtin_select(NULL, by, &n);
		for (int i = 0; p && i < n; i++) {
			CHECK(!strchr(p[i].program, '{') ||
			      !strstr(p[i].program, "{CG"));
			for (int e = 0; e < p[i].nexports; e++) {
				const struct metric_export *x =
					&p[i].exports[e];
				const char *t = builtin_family_type(&p[i], x);
				size_t len = strlen(x->name);
				bool counter = len > 6 &&
					!strcmp(x->name + len - 6, "_total");

				CHECK(strstr(p[i].program, x->map));
				CHECK(!strncmp(x->name, "loupe_", 6));
				/* Prometheus: _total on counters only */
				if (counter != !strcmp(t, "counter"))
					printf("  %s is a %s\n", x->name, t);
				CHECK(counter == !strcmp(t, "counter"));
				CHECK(!strcmp(t, "counter") ||
				      !strcmp(t, "histogram"));
			}
		}
		builtin_free(p, n);
	}
}

static void test_family_type(void)
{
	struct metric_program p = {
		.program = "t:a:b { @x_start[cpu] = nsecs; @x[1, 2] = hist(3);"
			   " @y = count(); if (@z == 1) { @z = 2; } }",
	};
	struct metric_export x = { .map = "@x" }, y = { .map = "@y" },
			     z = { .map = "@z" };

	CHECK_STR(builtin_family_type(&p, &x), "histogram");
	CHECK_STR(builtin_family_type(&p, &y), "counter");
	CHECK_STR(builtin_family_type(&p, &z), "gauge");
}

const struct unit_test builtin_tests[] = {
	{ "builtin/list", test_list },
	{ "builtin/select", test_select },
	{ "builtin/by_cgroup", test_by_cgroup },
	{ "builtin/by_container", test_by_container },
	{ "builtin/families", test_families },
	{ "builtin/family_type", test_family_type },
	{ NULL },
};
UNIT_GROUP(builtin_tests)

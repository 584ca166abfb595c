/*
 * Unit tests of the CFI unwinder (unwind.h) on this very process: a
 * function copies its own registers and the stack above them as the
 * kernel would, and the walk must name it and its caller; with a byte
 * budget, sessions of other processes (children that wait) are closed
 * least recently used first, and the walk of this one stays whole.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "syms.h"
#include "unit.h"
#include "unwind.h"

#define UNWIND_UNIT_COPY	16384
#define UNWIND_UNIT_CHILDREN	4

static uint8_t unwind_unit_stack[UNWIND_UNIT_COPY];

/* Bytes of the mapping holding addr from addr up (at most max). */
static size_t unwind_unit_room(uintptr_t addr, size_t max)
{
	unsigned long lo, hi;
	char line[512];
	size_t room = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && addr >= lo &&
		    addr < hi) {
			room = hi - addr;
			break;
		}
	if (f)
		fclose(f);
	return room < max ? room : max;
}

/*
 * Walks its own stack from here: the number of frames found. The copy
 * reads other frames' bytes, as the kernel's does: not instrumented (a
 * byte loop, memcpy is the sanitizer's).
 */
__attribute__((noinline, no_sanitize_address)) static int
unwind_unit_leaf(struct unwinder *u, uint64_t *ips, int max)
{
	volatile const uint8_t *sp;
	uint64_t regs[17] = { 0 };
	size_t len;

	/* ip, sp and the callee-saved registers at one instruction */
	__asm__ volatile("lea 0(%%rip), %0\n\t"
			 "mov %%rsp, %1\n\t"
			 "mov %%rbp, %2\n\t"
			 "mov %%rbx, %3\n\t"
			 "mov %%r12, %4\n\t"
			 "mov %%r13, %5\n\t"
			 "mov %%r14, %6\n\t"
			 "mov %%r15, %7"
			 : "=r"(regs[16]), "=r"(regs[7]), "=r"(regs[6]),
			   "=r"(regs[3]), "=r"(regs[12]), "=r"(regs[13]),
			   "=r"(regs[14]), "=r"(regs[15]));
	len = unwind_unit_room(regs[7], UNWIND_UNIT_COPY);
	sp = (volatile const uint8_t *)(uintptr_t)regs[7];
	for (size_t i = 0; i < len; i++)
		unwind_unit_stack[i] = sp[i];
	return unwind_stack(u, getpid(), gettid(), regs, 17,
			    unwind_unit_stack, len, ips, max);
}

__attribute__((noinline)) int unwind_unit_outer(struct unwinder *u,
						uint64_t *ips, int max)
{
	int n = unwind_unit_leaf(u, ips, max);

	/* not a tail call: this frame stays on the stack */
	__asm__ volatile("" ::: "memory");
	return n;
}

/* Whether the walk has the leaf, then its caller, first. */
static int unwind_unit_whole(struct unwinder *u)
{
	struct syms_cache *c = syms_cache_new();
	struct syms_frame f;
	uint64_t ips[32] = { 0 };
	int n = unwind_unit_outer(u, ips, 32), ok;

	ok = n >= 2 && !syms_user(c, getpid(), ips[0], &f) && f.name &&
	     !strcmp(f.name, "unwind_unit_leaf") &&
	     !syms_user(c, getpid(), ips[1] - 1, &f) && f.name &&
	     !strcmp(f.name, "unwind_unit_outer");
	if (!ok)
		printf("  walk: %d frames\n", n);
	syms_cache_free(c);
	return ok;
}

static void test_unwind_own_stack(void)
{
	struct unwinder *u = unwind_new(4);
	size_t sessions, bytes;

	CHECK(u);
	if (!u)
		return;
	CHECK(unwind_unit_whole(u));
	unwind_stats(u, &sessions, &bytes);
	CHECK(sessions == 1);
	unwind_free(u);
}

static void test_unwind_budget(void)
{
	struct unwinder *u = unwind_new(64);
	pid_t kids[UNWIND_UNIT_CHILDREN];
	size_t sessions, bytes, one;
	/* under a sanitizer's allocator mallinfo2 says nothing: no budget */
	bool measured = mallinfo2().uordblks > 0;
	int n = 0;

	CHECK(u);
	if (!u)
		return;
	for (; n < UNWIND_UNIT_CHILDREN; n++) {
		kids[n] = fork();
		if (!kids[n]) {
			pause();
			_exit(0);
		}
		if (kids[n] < 0)
			break;
	}
	/* without a budget: every session stays */
	for (int i = 0; i < n; i++)
		CHECK(!unwind_prepare(u, kids[i]));
	unwind_stats(u, &sessions, &one);
	CHECK(sessions == (size_t)n);
	CHECK(!measured || one > 0);
	if (!measured)
		goto out;
	/* a budget of about two sessions closes the others */
	unwind_set_budget(u, 2 * one / n + one / (4 * n));
	unwind_stats(u, &sessions, &bytes);
	CHECK(sessions >= 1 && sessions <= 2);
	CHECK(bytes <= 2 * one / n + one / (4 * n));
	/* a budget of one byte keeps only the session in use: this one's */
	unwind_set_budget(u, 1);
	CHECK(unwind_unit_whole(u));
	unwind_stats(u, &sessions, &bytes);
	CHECK(sessions == 1);
	for (int i = 0; i < n; i++)
		CHECK(!unwind_prepare(u, kids[i]));
	unwind_stats(u, &sessions, &bytes);
	CHECK(sessions == 1);
out:
	/* the walk of this process (re)opens its session, whole */
	CHECK(unwind_unit_whole(u));
	for (int i = 0; i < n; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	unwind_free(u);
}

static const struct unit_test unwind_tests[] = {
	{ "unwind_own_stack", test_unwind_own_stack },
	{ "unwind_budget", test_unwind_budget },
	{ NULL, NULL },
};
UNIT_GROUP(unwind_tests);

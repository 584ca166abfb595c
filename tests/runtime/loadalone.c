/*
 * Test helper (compiled by test_hooks.py): loads every program of each BPF
 * object given on its own, as the hook chooser would keep it, and prints
 * "OBJECT PROGRAM SECTION ERR" per program (ERR 0 or -errno). The chooser
 * judges a hook with a trivial program, so only this shows that a tool's
 * own fallback program really loads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <bpf/libbpf.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int count_programs(const char *path)
{
	struct bpf_object *obj = bpf_object__open(path);
	struct bpf_program *prog;
	int n = 0;

	if (!obj)
		return -1;
	bpf_object__for_each_program(prog, obj)
		n++;
	bpf_object__close(obj);
	return n;
}

static void load_alone(const char *path, int k)
{
	struct bpf_object *obj = bpf_object__open(path);
	struct bpf_program *prog, *mine = NULL;
	int i = 0, err;

	if (!obj) {
		printf("%s - - %d\n", path, -errno);
		return;
	}
	bpf_object__for_each_program(prog, obj) {
		bpf_program__set_autoload(prog, i == k);
		if (i++ == k)
			mine = prog;
	}
	err = bpf_object__load(obj);
	printf("%s %s %s %d\n", path, bpf_program__name(mine),
	       bpf_program__section_name(mine), err);
	bpf_object__close(obj);
}

int main(int argc, char **argv)
{
	if (!getenv("LOADALONE_VERBOSE"))
		libbpf_set_print(quiet);
	for (int i = 1; i < argc; i++) {
		int n = count_programs(argv[i]);

		if (n < 0)
			printf("%s - - %d\n", argv[i], -errno);
		for (int k = 0; k < n; k++)
			load_alone(argv[i], k);
	}
	return 0;
}

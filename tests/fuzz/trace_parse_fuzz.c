/*
 * libFuzzer target for the trace compiler up to the BPF instructions: any
 * bytes are a program. The parser must either build a tree (which is then
 * dumped and freed) or report one error; a program that parses then goes
 * through probe expansion, type checking, lowering and emission (no maps
 * are created and nothing is loaded). ASan and LeakSanitizer catch
 * crashes and leaks on every path. Built by `make fuzz-trace`, run
 * briefly by `make fuzz-trace-run`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include "ast.h"
#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The kernel's BTF is parsed once, not once per input. */
static struct btf *vmlinux_btf;

/* Everything after parsing; errors are expected, crashes are not. */
static void check_and_lower(const struct src_file *src)
{
	struct trace_prog p;
	char *out = NULL;
	size_t out_len = 0;

	trace_prog_init(&p);
	p.src = *src;
	p.max_insts = 16;
	p.err = open_memstream(&out, &out_len);
	if (!vmlinux_btf)
		vmlinux_btf = btf__load_vmlinux_btf();
	p.btf = vmlinux_btf;
	if (!trace_check(&p))
		trace_lower(&p, p.err, p.err);
	fclose(p.err);
	p.btf = NULL;
	trace_prog_free(&p);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The contract: text is NUL-terminated, len may cover NULs too. */
	char *text = malloc(size + 1), *errs = NULL, *out = NULL;
	size_t errs_len = 0, out_len = 0;
	struct src_file src = { "fuzz", text, size };
	struct ast_node *prog;
	FILE *err, *f;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err = open_memstream(&errs, &errs_len);
	prog = ast_parse(&src, err);
	fclose(err);
	/* an error must be reported exactly when there is no tree */
	if (!prog != (errs_len > 0))
		abort();
	if (prog) {
		f = open_memstream(&out, &out_len);
		ast_dump(f, prog);
		fclose(f);
		ast_free(prog);
		check_and_lower(&src);
	}
	free(out);
	free(errs);
	free(text);
	return 0;
}

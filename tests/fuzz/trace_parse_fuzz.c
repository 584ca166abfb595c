/*
 * libFuzzer target for the trace front end: any bytes are a program. The
 * parser must either build a tree (which is then dumped and freed) or
 * report one error; ASan and LeakSanitizer catch crashes and leaks on
 * either path. Built by `make fuzz-trace`, run briefly by
 * `make fuzz-trace-run`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	}
	free(out);
	free(errs);
	free(text);
	return 0;
}

/*
 * Diagnostics in one format for every stage of the trace compiler:
 * "FILE:LINE:COL: error: message", the source line, and a caret under the
 * column. Tabs before the column are copied into the caret line so the
 * caret lines up however the terminal expands them.
 */
#include <stdarg.h>
#include <string.h>
#include "ast.h"

/* Prints line `line` of the source and a caret under byte column `col`. */
static void diag_quote(FILE *f, const struct src_file *src,
		       struct src_loc loc)
{
	const char *s, *end, *stop;
	int line = 1;

	if (!src || !src->text || loc.line < 1 || loc.col < 1)
		return;
	s = src->text;
	stop = src->text + src->len;
	while (line < loc.line && s < stop) {
		const char *nl = memchr(s, '\n', stop - s);

		if (!nl)
			return;
		s = nl + 1;
		line++;
	}
	if (line != loc.line)
		return;
	end = memchr(s, '\n', stop - s);
	if (!end)
		end = stop;
	fwrite(s, 1, end - s, f);
	fputc('\n', f);
	for (int i = 0; i < loc.col - 1; i++)
		fputc(s + i < end && s[i] == '\t' ? '\t' : ' ', f);
	fputs("^\n", f);
}

static void diag_vreport(FILE *f, const struct src_file *src,
			 struct src_loc loc, const char *what,
			 const char *fmt, va_list ap)
{
	if (!f)
		return;
	fprintf(f, "%s:%d:%d: %s: ", src && src->name ? src->name : "-",
		loc.line, loc.col, what);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	diag_quote(f, src, loc);
}

void diag_error(FILE *f, const struct src_file *src, struct src_loc loc,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vreport(f, src, loc, "error", fmt, ap);
	va_end(ap);
}

void diag_warn(FILE *f, const struct src_file *src, struct src_loc loc,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vreport(f, src, loc, "warning", fmt, ap);
	va_end(ap);
}

/*
 * Error printing and libbpf log capture. libbpf is quiet unless --verbose;
 * its recent lines are kept so a verifier rejection can still be shown.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "log.h"

#define TAIL_LINES 40
#define TAIL_WIDTH 200

static const char *log_tool;
static bool log_verbose;
/*
 * Per thread: sessions load at once in the overview, and a rejection
 * shows the lines of its own load.
 */
static __thread char tail[TAIL_LINES][TAIL_WIDTH];
static __thread int tail_next, tail_count;

void log_set_tool(const char *tool)
{
	log_tool = tool;
}

static void log_line(const char *fmt, va_list ap)
{
	fflush(stdout);
	if (log_tool)
		fprintf(stderr, "loupe: %s: ", log_tool);
	else
		fprintf(stderr, "loupe: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_line(fmt, ap);
	va_end(ap);
}

static void tail_add(const char *line, size_t n)
{
	if (n >= TAIL_WIDTH)
		n = TAIL_WIDTH - 1;
	memcpy(tail[tail_next], line, n);
	tail[tail_next][n] = '\0';
	tail_next = (tail_next + 1) % TAIL_LINES;
	if (tail_count < TAIL_LINES)
		tail_count++;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	char buf[4096];
	const char *line = buf, *nl;
	int n;

	if (log_verbose)
		return vfprintf(stderr, fmt, ap);
	if (level == LIBBPF_DEBUG)
		return 0;
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n <= 0)
		return n;
	/* Verifier logs arrive as one big message: keep it line by line. */
	while ((nl = strchr(line, '\n'))) {
		if (nl > line)
			tail_add(line, nl - line);
		line = nl + 1;
	}
	if (*line)
		tail_add(line, strlen(line));
	return n;
}

void log_libbpf_init(bool verbose)
{
	log_verbose = verbose;
	libbpf_set_print(libbpf_print);
}

/* Print the last lines libbpf reported, e.g. the verifier's verdict. */
void log_libbpf_tail(int lines)
{
	int start;

	if (lines > tail_count)
		lines = tail_count;
	start = (tail_next - lines + TAIL_LINES) % TAIL_LINES;
	for (int i = 0; i < lines; i++)
		fprintf(stderr, "  %s\n", tail[(start + i) % TAIL_LINES]);
}

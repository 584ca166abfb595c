/*
 * The printer of `loupe trace`: printf(), print() of values, time() and
 * the probe count line, in bpftrace 0.17's text and JSON formats, byte for
 * byte. Map printing lives in tprint_map.c; the helpers both files share
 * (string buffer, value formatting) are declared in tprint_priv.h.
 *
 * bpftrace's quirks are reproduced on purpose, because scripts and eyes
 * compare against its output: printf splits the format at the specifiers
 * its regular expression finds (so text after the last one is printed
 * untouched, "%%" included), JSON escapes bytes >= 0x80 as \uffffffXX and
 * leaves strftime() values unquoted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "cgroup.h"
#include "inlines.h"
#include "out.h"
#include "syms.h"
#include "tprint.h"
#include "tprint_priv.h"
#include "tustack.h"

/* ---- growable string ---- */

void sb_add(struct sbuf *b, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->oom || !n)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 128;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sb_puts(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	char *big;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sb_add(b, small, n);
		return;
	}
	big = malloc((size_t)n + 1);
	if (!big) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb_add(b, big, n);
	free(big);
}

void sb_free(struct sbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

const char *sb_str(const struct sbuf *b)
{
	return b->s ? b->s : "";
}

void sb_flush(struct tprint *p, struct sbuf *b)
{
	if (b->len)
		fwrite(b->s, 1, b->len, p->out);
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

/*
 * bpftrace's json_escape: quotes, backslash, \n \r \t by name, other
 * control bytes as \u00XX. Its test is on a signed char, so bytes >= 0x80
 * also take that branch and come out as \uffffffXX; kept for identical
 * output.
 */
void sb_json_str(struct sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		signed char c = (signed char)s[i];

		switch (c) {
		case '"':
			sb_puts(b, "\\\"");
			break;
		case '\\':
			sb_puts(b, "\\\\");
			break;
		case '\n':
			sb_puts(b, "\\n");
			break;
		case '\r':
			sb_puts(b, "\\r");
			break;
		case '\t':
			sb_puts(b, "\\t");
			break;
		default:
			if (c <= 0x1f)
				sb_printf(b, "\\u%04x", (unsigned int)(int)c);
			else
				sb_add(b, &s[i], 1);
		}
	}
}

/* ---- setup ---- */

void tprint_init(struct tprint *p, FILE *out, bool json)
{
	int n;

	memset(p, 0, sizeof(*p));
	p->out = out;
	p->json = json;
	p->kstack_fd = -1;
	p->ustack_fd = -1;
	n = libbpf_num_possible_cpus();
	p->ncpus = n > 0 ? n : 1;
}

void tprint_fini(struct tprint *p)
{
	tustacks_free(p->ustacks);
	p->ustacks = NULL;
	inlines_free(p->inlines);
	p->inlines = NULL;
	if (p->syms)
		syms_cache_free(p->syms);
	p->syms = NULL;
}

/*
 * The addresses of every kernel stack collected so far, so that only the
 * symbols they need are loaded (not all of /proc/kallsyms).
 */
static int add_stacks(struct addr_list *addrs, int fd)
{
	uint32_t key, next;
	int err;

	for (err = bpf_map_get_next_key(fd, NULL, &next); !err;
	     err = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		if (addr_list_add_stack(addrs, fd, key, TRACE_STACK_DEPTH))
			return -1;
	}
	return 0;
}

static void prepare_kernel_symbols(struct tprint *p)
{
	struct addr_list addrs = { 0 };
	bool any = p->kstack_fd >= 0;

	if (p->kstack_fd >= 0 && add_stacks(&addrs, p->kstack_fd))
		goto out;
	for (int i = 0; i < p->nstack_maps; i++) {
		if (p->stack_maps[i].user || p->stack_maps[i].fd < 0)
			continue;
		any = true;
		if (add_stacks(&addrs, p->stack_maps[i].fd))
			goto out;
	}
	if (any)
		syms_kernel_prepare(p->syms, addrs.v, addrs.n);
out:
	addr_list_free(&addrs);
}

static struct syms_cache *get_syms(struct tprint *p)
{
	if (!p->syms) {
		p->syms = syms_cache_new();
		if (p->syms) {
			syms_set_demangle(p->syms, !p->no_demangle);
			prepare_kernel_symbols(p);
		}
	}
	return p->syms;
}

/* ---- values ---- */

int64_t tp_read_int(const struct ttype *t, const void *data)
{
	const uint8_t *d = data;

	switch (t->size) {
	case 1:
		return t->is_signed ? (int64_t)*(const int8_t *)d :
				      (int64_t)*d;
	case 2: {
		uint16_t v;

		memcpy(&v, d, 2);
		return t->is_signed ? (int64_t)(int16_t)v : (int64_t)v;
	}
	case 4: {
		uint32_t v;

		memcpy(&v, d, 4);
		return t->is_signed ? (int64_t)(int32_t)v : (int64_t)v;
	}
	default: {
		int64_t v;

		memcpy(&v, d, 8);
		return v;
	}
	}
}

/* An address nothing resolves: bpftrace streams it as a void *. */
static void sb_addr(struct sbuf *b, uint64_t addr)
{
	if (addr)
		sb_printf(b, "0x%llx", (unsigned long long)addr);
	else
		sb_puts(b, "0");
}

static void sb_ksym(struct tprint *p, struct sbuf *b, uint64_t addr,
		    bool offset)
{
	struct syms_cache *c = get_syms(p);
	struct syms_frame f;

	if (c && !syms_kernel_frame(c, addr, &f) && f.name) {
		sb_puts(b, f.name);
		if (offset)
			sb_printf(b, "+%llu", (unsigned long long)f.offset);
		return;
	}
	sb_addr(b, addr);
}

static void sb_usym(struct tprint *p, struct sbuf *b, int pid, uint64_t addr,
		    bool offset)
{
	struct syms_cache *c = get_syms(p);
	struct syms_frame f;

	if (c && !syms_user(c, pid, addr, &f) && f.name) {
		sb_puts(b, f.name);
		if (offset)
			sb_printf(b, "+%llu", (unsigned long long)f.offset);
		return;
	}
	sb_addr(b, addr);
}

/*
 * perf's line for a frame: "\tADDR SYM+OFF" and, for user frames, the
 * object in parentheses ("([unknown])" when nothing maps it).
 */
static void sb_perf_frame(struct tprint *p, struct sbuf *b, bool user,
			  int pid, uint64_t addr)
{
	struct syms_cache *c = get_syms(p);
	struct syms_frame f = { 0 };

	sb_printf(b, "\t%llx ", (unsigned long long)addr);
	if (!user) {
		sb_ksym(p, b, addr, true);
		return;
	}
	if (!c || syms_user(c, pid, addr, &f))
		f.name = f.module = NULL;
	if (f.name)
		sb_printf(b, "%s+%llu", f.name, (unsigned long long)f.offset);
	else
		sb_addr(b, addr);
	sb_printf(b, " (%s)", f.module ? f.module : "[unknown]");
}

/*
 * --inline: the functions inlined at user frame addr (a return address
 * unless leaf), innermost first, each a line of its own before the
 * frame's, marked as perf report --inline marks them.
 */
static void sb_inlined(struct tprint *p, struct sbuf *b, bool perf,
		       int pid, uint64_t addr, bool leaf, int indent)
{
	const char *names[INLINES_MAX_DEPTH];
	struct syms_cache *c = get_syms(p);
	int n;

	if (!p->inlines || !c)
		return;
	n = inlines_user(p->inlines, c, pid, leaf ? addr : addr - 1, names,
			 INLINES_MAX_DEPTH);
	for (int i = 0; i < n; i++) {
		if (perf)
			sb_printf(b, "\t%llx %s (inlined)\n",
				  (unsigned long long)addr, names[i]);
		else
			sb_printf(b, "%*s%s (inlined)\n", indent, "",
				  names[i]);
	}
}

/*
 * A stack as bpftrace shows it: a newline, then one indented frame per
 * line (perf mode: a tab, the address, the symbol). A stack id the helper
 * failed with, or one no longer in the map, prints as nothing, as in
 * bpftrace; so does a ustack(dwarf) whose copy was lost.
 */
static void sb_stack(struct tprint *p, struct sbuf *b, const struct ttype *t,
		     const uint8_t *d, int indent)
{
	uint64_t buf[TRACE_STACK_DEPTH];
	const uint64_t *ips = buf;
	int64_t id = (int64_t)tp_rd64(d);
	bool user = t->kind == TT_USTACK;
	int fd = user ? p->ustack_fd : p->kstack_fd;
	int pid = user ? (int)tp_rd32(d + 8) : 0;
	int n;

	if (t->stack_limit)
		fd = ttype_stack_fd(p->stack_maps, p->nstack_maps, t);
	if (user && tp_rd32(d + 12))
		n = tustacks_frames(p->ustacks, d, &ips);
	else if (id < 0 || fd < 0)
		return;
	else
		n = addr_stack(fd, (uint32_t)id, buf, TRACE_STACK_DEPTH);
	if (n <= 0)
		return;
	sb_puts(b, "\n");
	for (int i = 0; i < n; i++) {
		if (user)
			sb_inlined(p, b, t->stack_perf, pid, ips[i], !i,
				   indent);
		if (t->stack_perf) {
			sb_perf_frame(p, b, user, pid, ips[i]);
		} else {
			sb_printf(b, "%*s", indent, "");
			if (user)
				sb_usym(p, b, pid, ips[i], true);
			else
				sb_ksym(p, b, ips[i], true);
		}
		sb_puts(b, "\n");
	}
}

void tprint_ucopy(struct tprint *p, const void *payload, size_t len,
		  int limit)
{
	if (p->ustacks)
		tustacks_copy(p->ustacks, get_syms(p), payload, len, limit);
}

static void sb_inet(struct sbuf *b, const uint8_t *d)
{
	char buf[INET6_ADDRSTRLEN];
	uint32_t family = tp_rd32(d);

	if (family == AF_INET && inet_ntop(AF_INET, d + 4, buf, sizeof(buf)))
		sb_puts(b, buf);
	else if (family == AF_INET6 &&
		 inet_ntop(AF_INET6, d + 4, buf, sizeof(buf)))
		sb_puts(b, buf);
	else
		sb_puts(b, "");
}

/*
 * strftime() of a boot-relative timestamp in local wall time, with
 * bpftrace 0.17's %f extension (microseconds, 6 digits). An empty result
 * is "(?)" as in bpftrace.
 */
static void sb_timestamp(struct sbuf *b, const char *fmt, uint64_t ns)
{
	int64_t wall = (int64_t)ns + out_boot_to_real_ns();
	char out[512] = "";
	struct sbuf f = { 0 };
	size_t n;

	for (const char *s = fmt ? fmt : ""; *s; s++) {
		if (s[0] == '%' && s[1] == '%') {
			sb_add(&f, s, 2);
			s++;
		} else if (s[0] == '%' && s[1] == 'f') {
			sb_printf(&f, "%06lld",
				  (long long)(wall % 1000000000LL) / 1000);
			s++;
		} else {
			sb_add(&f, s, 1);
		}
	}
	if (f.len)
		out_strftime(out, sizeof(out), f.s, wall);
	n = strlen(out);
	sb_free(&f);
	if (!n) {
		sb_puts(b, "(?)");
		return;
	}
	sb_add(b, out, n);
}

static bool quoted(enum ttype_kind k)
{
	return k == TT_STR || k == TT_KSTACK || k == TT_USTACK ||
	       k == TT_KSYM || k == TT_USYM || k == TT_INET ||
	       k == TT_CGROUP_PATH || k == TT_BUF || k == TT_MACADDR;
}

void tp_format_value(struct tprint *p, struct sbuf *b, const struct ttype *t,
		     const void *data, bool json, int indent)
{
	const uint8_t *d = data;
	struct sbuf tmp = { 0 };
	struct sbuf *o = b;

	/* JSON strings are built whole, then escaped. */
	if (json && quoted(t->kind))
		o = &tmp;
	switch (t->kind) {
	case TT_INT: {
		int64_t v = tp_read_int(t, d);

		if (t->is_signed)
			sb_printf(o, "%lld", (long long)v);
		else
			sb_printf(o, "%llu", (unsigned long long)v);
		break;
	}
	case TT_STR:
		sb_add(o, (const char *)d, strnlen((const char *)d, t->size));
		break;
	case TT_KSTACK:
	case TT_USTACK:
		sb_stack(p, o, t, d, indent);
		break;
	case TT_KSYM:
		sb_ksym(p, o, tp_rd64(d), false);
		break;
	case TT_USYM:
		sb_usym(p, o, (int)tp_rd32(d + 8), tp_rd64(d), false);
		break;
	case TT_INET:
		sb_inet(o, d);
		break;
	case TT_TIMESTAMP:
		sb_timestamp(o, t->fmt, tp_rd64(d));
		break;
	case TT_BUF: {
		/* bpftrace's %r: printable bytes as they are, others \xNN */
		uint32_t n = tp_rd32(d);

		if (n > t->size - 8)
			n = t->size - 8;
		for (uint32_t i = 0; i < n; i++) {
			uint8_t c = d[8 + i];

			if (c >= 0x20 && c < 0x7f)
				sb_add(o, (const char *)&d[8 + i], 1);
			else
				sb_printf(o, "\\x%02x", c);
		}
		break;
	}
	case TT_MACADDR:
		sb_printf(o, "%02X:%02X:%02X:%02X:%02X:%02X", d[0], d[1], d[2],
			  d[3], d[4], d[5]);
		break;
	case TT_CGROUP_PATH: {
		char paths[4096];

		sb_puts(o, cgroup_hierarchy_paths(tp_rd64(d), t->fmt, paths,
						  sizeof(paths)));
		break;
	}
	case TT_TUPLE:
		sb_puts(o, json ? "[" : "(");
		for (int i = 0; i < t->nelems; i++) {
			if (i)
				sb_puts(o, json ? "," : ", ");
			tp_format_value(p, o, &t->elems[i], d + t->offsets[i],
					json, indent);
		}
		sb_puts(o, json ? "]" : ")");
		break;
	case TT_PTR:
		/* bpftrace prints a pointer map value as a signed number */
		sb_printf(o, "%lld", (long long)tp_rd64(d));
		break;
	default:
		/* records and aggregations have no value form of their own */
		break;
	}
	if (o == &tmp) {
		sb_puts(b, "\"");
		sb_json_str(b, sb_str(&tmp), tmp.len);
		sb_puts(b, "\"");
		sb_free(&tmp);
	}
}

void tprint_value(struct tprint *p, const struct ttype *t, const void *data)
{
	struct sbuf b = { 0 };

	if (p->json) {
		sb_puts(&b, "{\"type\": \"value\", \"data\": ");
		tp_format_value(p, &b, t, data, true, 8);
		sb_puts(&b, "}\n");
	} else {
		tp_format_value(p, &b, t, data, false, 8);
		sb_puts(&b, "\n");
	}
	sb_flush(p, &b);
	sb_free(&b);
}

/* ---- printf ---- */

/*
 * One specifier bpftrace's printf regular expression accepts:
 * %-?[0-9]*(\.[0-9]+)?(s|r|c|<len>(d|u|x|X|p|o)), len one of
 * "", hh, h, l, ll, j, z, t. Returns its length at fmt[i], or 0.
 */
struct fspec {
	size_t start, len;
	size_t tok;		/* end of the '-', width and precision */
	char conv;
	char lenmod[3];
};

static size_t match_spec(const char *fmt, size_t i, struct fspec *sp)
{
	size_t j = i + 1, k;
	static const char *const lens[] = { "hh", "h", "ll", "l", "j", "z",
					     "t", "" };

	if (fmt[i] != '%')
		return 0;
	if (fmt[j] == '-')
		j++;
	while (fmt[j] >= '0' && fmt[j] <= '9')
		j++;
	if (fmt[j] == '.') {
		if (!(fmt[j + 1] >= '0' && fmt[j + 1] <= '9'))
			return 0;
		j++;
		while (fmt[j] >= '0' && fmt[j] <= '9')
			j++;
	}
	sp->start = i;
	sp->tok = j;
	if (fmt[j] && strchr("src", fmt[j])) {
		sp->conv = fmt[j];
		sp->lenmod[0] = '\0';
		sp->len = j + 1 - i;
		return sp->len;
	}
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		size_t n = strlen(lens[l]);

		if (strncmp(fmt + j, lens[l], n))
			continue;
		k = j + n;
		if (fmt[k] && strchr("duxXpo", fmt[k])) {
			sp->conv = fmt[k];
			memcpy(sp->lenmod, lens[l], n + 1);
			sp->len = k + 1 - i;
			return sp->len;
		}
	}
	return 0;
}

/* All specifiers of fmt, in order; returns their count (-1: no memory). */
static int parse_format(const char *fmt, struct fspec **out)
{
	struct fspec *v = NULL, s, *nv;
	int n = 0, cap = 0;
	size_t i = 0;

	*out = NULL;
	if (!fmt)
		return 0;
	while (fmt[i]) {
		if (!match_spec(fmt, i, &s)) {
			i++;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -1;
			}
			v = nv;
		}
		v[n++] = s;
		i += s.len;
	}
	*out = v;
	return n;
}

/* The name bpftrace gives an argument's type in printf diagnostics. */
static const char *arg_type_name(const struct ttype *t)
{
	switch (t->kind) {
	case TT_INT:
	case TT_PTR:
		return "integer";
	case TT_STR:
	case TT_KSTACK:
	case TT_USTACK:
	case TT_KSYM:
	case TT_USYM:
	case TT_INET:
	case TT_TIMESTAMP:
	case TT_CGROUP_PATH:
	case TT_MACADDR:
		return "string";
	case TT_BUF:
		return "buffer";
	case TT_TUPLE:
		return "tuple";
	case TT_RECORD:
		return "record";
	case TT_COUNT:
		return "count";
	case TT_SUM:
		return "sum";
	case TT_AVG:
		return "avg";
	case TT_MIN:
		return "min";
	case TT_MAX:
		return "max";
	case TT_STATS:
		return "stats";
	case TT_HIST:
		return "hist";
	case TT_LHIST:
		return "lhist";
	default:
		return "none";
	}
}

static const char *spec_type_name(char conv)
{
	if (conv == 's')
		return "string";
	if (conv == 'r')
		return "buffer";
	return "integer";
}

int tprint_check_format(const char *fmt, const struct ttype *args,
			int *bad_arg, char *err, size_t errlen)
{
	int nargs = args ? args->nelems : 0;
	struct fspec *specs;
	int n, ret = 0;

	*bad_arg = -1;
	n = parse_format(fmt, &specs);
	if (n < 0) {
		snprintf(err, errlen, "printf: out of memory");
		return -1;
	}
	if (nargs < n) {
		snprintf(err, errlen,
			 "printf: Not enough arguments for format string (%d supplied, %d expected)",
			 nargs, n);
		ret = -1;
		goto out;
	}
	if (nargs > n) {
		snprintf(err, errlen,
			 "printf: Too many arguments for format string (%d supplied, %d expected)",
			 nargs, n);
		ret = -1;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const char *want = spec_type_name(specs[i].conv);
		const char *got = arg_type_name(&args->elems[i]);

		if (!strcmp(want, got))
			continue;
		snprintf(err, errlen,
			 "printf: %%%.*s specifier expects a value of type %s (%s supplied)",
			 (int)(specs[i].start + specs[i].len - specs[i].tok),
			 fmt + specs[i].tok, want, got);
		*bad_arg = i;
		ret = -1;
		goto out;
	}
out:
	free(specs);
	return ret;
}

/* One C conversion with one integer argument, typed by its length. */
static void format_int(struct sbuf *b, const char *cfmt, const char *lenmod,
		       char conv, int64_t v)
{
	bool sign = conv == 'd';

	if (conv == 'p') {
		sb_printf(b, cfmt, (void *)(uintptr_t)v);
	} else if (conv == 'c') {
		sb_printf(b, cfmt, (int)v);
	} else if (!strcmp(lenmod, "l")) {
		if (sign)
			sb_printf(b, cfmt, (long)v);
		else
			sb_printf(b, cfmt, (unsigned long)v);
	} else if (!strcmp(lenmod, "ll") || !strcmp(lenmod, "j") ||
		   !strcmp(lenmod, "z") || !strcmp(lenmod, "t")) {
		if (sign)
			sb_printf(b, cfmt, (long long)v);
		else
			sb_printf(b, cfmt, (unsigned long long)v);
	} else {
		/* none, h, hh: an int; printf narrows h and hh itself */
		if (sign)
			sb_printf(b, cfmt, (int)v);
		else
			sb_printf(b, cfmt, (unsigned int)v);
	}
}

/* A width or precision over a million: refused rather than allocated. */
static bool huge_width(const char *s, size_t n)
{
	unsigned long v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			v = 0;
			continue;
		}
		v = v * 10 + (s[i] - '0');
		if (v > 1000000)
			return true;
	}
	return false;
}

/*
 * One piece of the format: literal text, then the specifier at its end,
 * given to C's printf with the argument as bpftrace does. The literal text
 * goes through printf too, so "%%" there is one '%'; an odd '%' right
 * before the specifier makes "%%" of it, and the specifier is then text.
 */
static void format_piece(struct tprint *p, struct sbuf *b, const char *fmt,
			 size_t from, const struct fspec *sp,
			 const struct ttype *t, const uint8_t *d)
{
	char cfmt[64];
	size_t i = from, speclen;
	struct sbuf s = { 0 };
	int64_t v;

	while (i < sp->start) {
		if (fmt[i] == '%' && i + 1 < sp->start && fmt[i + 1] == '%') {
			sb_add(b, "%", 1);
			i += 2;
		} else if (fmt[i] == '%' && i + 1 == sp->start) {
			/* "%" + "%d...": C sees "%%" then plain text */
			sb_add(b, "%", 1);
			sb_add(b, fmt + sp->start + 1, sp->len - 1);
			return;
		} else {
			sb_add(b, fmt + i, 1);
			i++;
		}
	}
	/* flags/width/precision, then the conversion without a length for
	 * %c %s %p (which ignore it) */
	speclen = sp->tok - sp->start;
	if (speclen + 4 > sizeof(cfmt) ||
	    huge_width(fmt + sp->start, speclen)) {
		/* absurd widths: print the specifier as text */
		sb_add(b, fmt + sp->start, sp->len);
		return;
	}
	memcpy(cfmt, fmt + sp->start, speclen);
	cfmt[speclen] = '\0';
	if (sp->conv != 'p' && sp->conv != 's' && sp->conv != 'c')
		strcat(cfmt, sp->lenmod);
	strncat(cfmt, &sp->conv, 1);
	if (sp->conv == 'r' && sp->len != 2) {
		/* bpftrace prints %-8r and the like as they are */
		sb_add(b, fmt + sp->start, sp->len);
		return;
	}
	if (sp->conv == 's' || sp->conv == 'r') {
		cfmt[strlen(cfmt) - 1] = 's';	/* %r: the buffer's text */
		tp_format_value(p, &s, t, d, false, 8);
		sb_printf(b, cfmt, sb_str(&s));
		sb_free(&s);
		return;
	}
	if (t->kind == TT_INT)
		v = tp_read_int(t, d);
	else
		v = (int64_t)tp_rd64(d);
	format_int(b, cfmt, sp->lenmod, sp->conv, v);
}

/* printf's text, with bpftrace's quirks; false if fmt cannot be used. */
static bool format_text(struct tprint *p, struct sbuf *b, const char *fmt,
			const struct ttype *args, const uint8_t *d)
{
	struct fspec *specs;
	size_t last = 0;
	int n;

	n = parse_format(fmt, &specs);
	if (n < 0 || !fmt)
		return false;
	for (int i = 0; i < n; i++) {
		if (args && i < args->nelems)
			format_piece(p, b, fmt, last, &specs[i],
				     &args->elems[i], d + args->offsets[i]);
		else	/* unchecked: show the specifier itself */
			sb_add(b, fmt + last,
			       specs[i].start + specs[i].len - last);
		last = specs[i].start + specs[i].len;
	}
	/* bpftrace prints the rest after the last specifier untouched */
	sb_puts(b, fmt + last);
	free(specs);
	return true;
}

void tprint_printf(struct tprint *p, const char *fmt, const struct ttype *args,
		   const void *data)
{
	struct sbuf b = { 0 }, j = { 0 };

	if (!format_text(p, &b, fmt, args, data))
		return;
	if (p->json) {
		sb_puts(&j, "{\"type\": \"printf\", \"data\": \"");
		sb_json_str(&j, sb_str(&b), b.len);
		sb_puts(&j, "\"}\n");
		sb_flush(p, &j);
	} else {
		sb_flush(p, &b);
	}
	sb_free(&b);
	sb_free(&j);
	fflush(p->out);
}

/*
 * system() (--unsafe): the formatted command runs through /bin/sh, as in
 * bpftrace, its output going where loupe's goes, after what is printed.
 */
void tprint_system(struct tprint *p, const char *fmt, const struct ttype *args,
		   const void *data)
{
	struct sbuf b = { 0 };

	if (!format_text(p, &b, fmt, args, data) || b.oom)
		goto out;
	fflush(p->out);
	if (system(sb_str(&b)) == -1)
		fprintf(stderr, "loupe: trace: system(\"%s\"): %s\n",
			sb_str(&b), strerror(errno));
out:
	sb_free(&b);
}

/*
 * cat() (bpftrace's): the text of the file at the formatted path, in
 * order with what printf printed; an unreadable file is said on stderr.
 */
void tprint_cat(struct tprint *p, const char *fmt, const struct ttype *args,
		const void *data)
{
	struct sbuf path = { 0 }, b = { 0 };
	char chunk[4096];
	size_t n, total = 0;
	FILE *f;

	if (!format_text(p, &path, fmt, args, data) || path.oom)
		goto out;
	f = fopen(sb_str(&path), "re");
	if (!f) {
		fprintf(stderr, "loupe: trace: cat(\"%s\"): %s\n",
			sb_str(&path), strerror(errno));
		goto out;
	}
	/* a bound, for files like /dev/zero */
	while (total < (1u << 20) && (n = fread(chunk, 1, sizeof(chunk), f))) {
		sb_add(&b, chunk, n);
		total += n;
	}
	fclose(f);
	if (p->json) {
		struct sbuf j = { 0 };

		sb_puts(&j, "{\"type\": \"cat\", \"data\": \"");
		sb_json_str(&j, sb_str(&b), b.len);
		sb_puts(&j, "\"}\n");
		sb_flush(p, &j);
		sb_free(&j);
	} else {
		sb_flush(p, &b);
	}
	fflush(p->out);
out:
	sb_free(&path);
	sb_free(&b);
}

/* ---- time() and the probe count ---- */

void tprint_time(struct tprint *p, const char *fmt)
{
	char out[512];
	struct sbuf b = { 0 };
	size_t n;

	if (!fmt)
		fmt = OUT_HMS "\n";
	n = strlen(out_strftime(out, sizeof(out), fmt, out_now_ns()));
	if (p->json) {
		sb_puts(&b, "{\"type\": \"time\", \"data\": \"");
		sb_json_str(&b, out, n);
		sb_puts(&b, "\"}\n");
	} else {
		sb_add(&b, out, n);
	}
	sb_flush(p, &b);
	sb_free(&b);
	fflush(p->out);
}

void tprint_attached(struct tprint *p, int nprobes)
{
	if (p->json)
		fprintf(p->out,
			"{\"type\": \"attached_probes\", \"data\": {\"probes\": %d}}\n",
			nprobes);
	else
		fprintf(p->out, "Attaching %d probe%s...\n", nprobes,
			nprobes == 1 ? "" : "s");
	fflush(p->out);
}

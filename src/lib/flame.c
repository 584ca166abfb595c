/*
 * Flame graphs from folded stacks. Every input line ("comm;outer;inner 12")
 * is added to one call tree whose nodes are found through a hash table on
 * (parent, frame name), so identical stacks from any number of files merge
 * in one pass. The renderer lays the tree out with widths exactly
 * proportional to the counts and writes a standalone SVG whose inline
 * script provides hover details, click-to-zoom and regex search.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "flame.h"

/* Geometry, in pixels. */
#define XPAD		10
#define FRAME_H		16
#define FONT_SIZE	12
#define CHAR_W		(FONT_SIZE * 0.59)	/* average Verdana glyph */
#define YPAD_TOP	36
#define YPAD_TOP_SUB	54
#define YPAD_BOTTOM	34

#define NO_NODE		0	/* the root is never a child or a sibling */

struct flame_node {
	uint32_t parent, child, sibling;
	uint32_t name_off, name_len;
	uint32_t hash;
	uint32_t depth;
	bool shown;
	unsigned long long count[2];	/* per enum flame_side */
	unsigned long long start;	/* samples left of this frame */
};

void flame_init(struct flame *f)
{
	memset(f, 0, sizeof(*f));
}

void flame_free(struct flame *f)
{
	free(f->nodes);
	free(f->pool);
	free(f->table);
	memset(f, 0, sizeof(*f));
}

static uint32_t name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t slot_hash(uint32_t parent, uint32_t hash)
{
	return hash ^ (parent * 0x9e3779b1u);
}

static const char *node_name(const struct flame *f, const struct flame_node *n)
{
	return f->pool + n->name_off;
}

static int ensure_root(struct flame *f)
{
	if (f->nodes)
		return 0;
	f->cap = 1024;
	f->nodes = calloc(f->cap, sizeof(*f->nodes));
	if (!f->nodes)
		return -ENOMEM;
	f->nnodes = 1;
	return 0;
}

/* Doubles the (parent, name) table; called at 50% load. */
static int table_grow(struct flame *f)
{
	size_t cap = f->table_cap ? f->table_cap * 2 : 4096;
	uint32_t *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 1; i < f->nnodes; i++) {
		const struct flame_node *n = &f->nodes[i];
		size_t s = slot_hash(n->parent, n->hash) & (cap - 1);

		while (t[s])
			s = (s + 1) & (cap - 1);
		t[s] = (uint32_t)i;
	}
	free(f->table);
	f->table = t;
	f->table_cap = cap;
	return 0;
}

static uint32_t child_find(const struct flame *f, uint32_t parent,
			   const char *name, size_t len, uint32_t hash,
			   size_t *slot)
{
	size_t s;

	if (!f->table_cap)
		return NO_NODE;
	s = slot_hash(parent, hash) & (f->table_cap - 1);
	while (f->table[s]) {
		const struct flame_node *n = &f->nodes[f->table[s]];

		if (n->parent == parent && n->hash == hash &&
		    n->name_len == len && !memcmp(node_name(f, n), name, len))
			return f->table[s];
		s = (s + 1) & (f->table_cap - 1);
	}
	if (slot)
		*slot = s;
	return NO_NODE;
}

/* The child of parent called name, created if new; NO_NODE on ENOMEM. */
static uint32_t child_get(struct flame *f, uint32_t parent, const char *name,
			  size_t len)
{
	uint32_t hash = name_hash(name, len), i;
	struct flame_node *n;
	size_t slot;

	i = child_find(f, parent, name, len, hash, &slot);
	if (i != NO_NODE)
		return i;
	if ((f->nnodes + 1) * 2 > f->table_cap) {
		if (table_grow(f))
			return NO_NODE;
		child_find(f, parent, name, len, hash, &slot);
	}
	if (f->nnodes >= UINT32_MAX - 1 || len > UINT32_MAX ||
	    f->pool_len + len > UINT32_MAX)
		return NO_NODE;
	if (f->nnodes == f->cap) {
		struct flame_node *p = realloc(f->nodes,
					       2 * f->cap * sizeof(*p));

		if (!p)
			return NO_NODE;
		f->nodes = p;
		f->cap *= 2;
	}
	if (f->pool_len + len > f->pool_cap) {
		size_t cap = f->pool_cap ? f->pool_cap : 65536;
		char *p;

		while (cap < f->pool_len + len)
			cap *= 2;
		p = realloc(f->pool, cap);
		if (!p)
			return NO_NODE;
		f->pool = p;
		f->pool_cap = cap;
	}
	memcpy(f->pool + f->pool_len, name, len);
	i = (uint32_t)f->nnodes++;
	n = &f->nodes[i];
	memset(n, 0, sizeof(*n));
	n->parent = parent;
	n->name_off = (uint32_t)f->pool_len;
	n->name_len = (uint32_t)len;
	n->hash = hash;
	n->depth = f->nodes[parent].depth + 1;
	/* Children are put in order by flame_render. */
	n->sibling = f->nodes[parent].child;
	f->nodes[parent].child = i;
	f->pool_len += len;
	f->table[slot] = i;
	return i;
}

static int parse_error(char *err, size_t errlen, const char *source,
		       unsigned long line, const char *why)
{
	if (err && errlen) {
		if (source)
			snprintf(err, errlen, "%s:%lu: %s", source, line, why);
		else
			snprintf(err, errlen, "line %lu: %s", line, why);
	}
	return -EINVAL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Checks one line (without its newline) and splits it into the stack and
 * the count; NULL, or why the line is bad.
 */
static const char *split_line(const char *p, const char *e,
			      const char **stack_end,
			      unsigned long long *count)
{
	const char *q;
	unsigned long long v = 0;

	if (memchr(p, '\0', e - p))
		return "NUL byte in line (not a folded-stack file?)";
	q = e;
	while (q > p && isdigit((unsigned char)q[-1]))
		q--;
	if (q == e) {
		if (q > p && q[-1] == '.')
			return "sample count is not an integer";
		return "missing sample count at end of line";
	}
	if (q > p && q[-1] == '-')
		return "negative sample count";
	if (q > p && q[-1] == '.')
		return "sample count is not an integer";
	if (q == p)
		return "missing stack before sample count";
	if (!is_blank(q[-1]))
		return "missing sample count at end of line";
	for (const char *d = q; d < e; d++) {
		unsigned int digit = (unsigned int)(*d - '0');

		if (v > (~0ULL - digit) / 10)
			return "sample count too large";
		v = v * 10 + digit;
	}
	while (q > p && is_blank(q[-1]))
		q--;
	if (q == p)
		return "missing stack before sample count";
	*stack_end = q;
	*count = v;
	return NULL;
}

int flame_parse(struct flame *f, const char *text, size_t len,
		enum flame_side side, const char *source,
		char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	unsigned long line = 0;

	if (ensure_root(f))
		return parse_error(err, errlen, source, 0, "out of memory");
	if (side == FLAME_BEFORE)
		f->diff = true;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *e = nl ? nl : end, *stack_end, *why, *s;
		unsigned long long count;
		uint32_t node = 0;

		line++;
		while (e > p && is_blank(e[-1]))
			e--;
		if (e == p)
			goto next;
		why = split_line(p, e, &stack_end, &count);
		if (why)
			return parse_error(err, errlen, source, line, why);
		if (!count)
			goto next;
		if (f->nodes[0].count[side] > ~0ULL - count)
			return parse_error(err, errlen, source, line,
					   "sample counts add up past 2^64");
		f->nodes[0].count[side] += count;
		for (s = p; s <= stack_end; ) {
			const char *semi = memchr(s, ';', stack_end - s);
			const char *fe = semi ? semi : stack_end;

			node = child_get(f, node, s, fe - s);
			if (node == NO_NODE)
				return parse_error(err, errlen, source, line,
						   "out of memory");
			f->nodes[node].count[side] += count;
			s = fe + 1;
		}
next:
		p = nl ? nl + 1 : end;
	}
	return 0;
}

unsigned long long flame_count(const struct flame *f, const char *stack,
			       enum flame_side side)
{
	const char *s = stack, *end = stack + strlen(stack);
	uint32_t node = 0;

	if (!f->nodes)
		return 0;
	while (*stack && s <= end) {
		const char *semi = memchr(s, ';', end - s);
		const char *fe = semi ? semi : end;

		node = child_find(f, node, s, fe - s, name_hash(s, fe - s),
				  NULL);
		if (node == NO_NODE)
			return 0;
		s = fe + 1;
	}
	return f->nodes[node].count[side];
}

size_t flame_frames(const struct flame *f)
{
	return f->nnodes ? f->nnodes - 1 : 0;
}

/* ---------------------------------------------------------------- colours */

enum frame_kind { KIND_USER, KIND_KERNEL, KIND_JIT, KIND_INLINED,
		  KIND_UNKNOWN, KIND_ROOT, NKINDS };

/* A colour family: base + span * (a, b, c) with a, b, c in [0, 1]. */
struct hue {
	unsigned char r, g, b, dr, dg, db;
};

static const struct palette {
	const char *name;
	struct hue hue[KIND_UNKNOWN];	/* user, kernel, jit, inlined */
} palettes[] = {
	{ "hot", { { 205, 0, 0, 50, 95, 50 },		/* red */
		   { 215, 145, 0, 40, 60, 45 },		/* amber */
		   { 50, 170, 50, 60, 70, 40 },		/* green */
		   { 40, 180, 180, 40, 60, 60 } } },	/* aqua */
	{ "io", { { 60, 100, 200, 50, 60, 55 },		/* blue */
		  { 165, 120, 205, 45, 40, 45 },	/* lavender */
		  { 50, 170, 50, 60, 70, 40 },
		  { 40, 180, 180, 40, 60, 60 } } },
	{ "blue", { { 60, 100, 200, 50, 60, 55 },
		    { 165, 120, 205, 45, 40, 45 },
		    { 50, 170, 50, 60, 70, 40 },
		    { 40, 180, 180, 40, 60, 60 } } },
	{ "mem", { { 0, 190, 0, 60, 65, 55 },		/* green */
		   { 160, 200, 60, 50, 55, 40 },	/* yellow-green */
		   { 200, 110, 170, 55, 50, 40 },	/* pink */
		   { 40, 180, 180, 40, 60, 60 } } },
	{ "green", { { 0, 190, 0, 60, 65, 55 },
		     { 160, 200, 60, 50, 55, 40 },
		     { 200, 110, 170, 55, 50, 40 },
		     { 40, 180, 180, 40, 60, 60 } } },
	{ "aqua", { { 50, 165, 165, 60, 55, 55 },	/* aqua */
		    { 100, 140, 215, 50, 50, 40 },	/* blue */
		    { 60, 190, 60, 60, 60, 40 },	/* green */
		    { 180, 215, 215, 40, 35, 35 } } },	/* pale aqua */
};

#define NPALETTES (sizeof(palettes) / sizeof(palettes[0]))

bool flame_palette_ok(const char *name)
{
	for (size_t i = 0; i < NPALETTES; i++)
		if (!strcmp(palettes[i].name, name))
			return true;
	return false;
}

static const struct palette *palette_find(const char *name)
{
	for (size_t i = 0; name && i < NPALETTES; i++)
		if (!strcmp(palettes[i].name, name))
			return &palettes[i];
	return &palettes[0];
}

/* The folded annotations: "_[k]" kernel, "_[j]" JIT, "_[i]" inlined... */
static enum frame_kind frame_kind(const char *name, size_t *len)
{
	size_t n = *len;

	if (n > 4 && name[n - 4] == '_' && name[n - 3] == '[' &&
	    name[n - 1] == ']') {
		switch (name[n - 2]) {
		case 'k':
			*len = n - 4;
			return KIND_KERNEL;
		case 'j':
			*len = n - 4;
			return KIND_JIT;
		case 'i':
			*len = n - 4;
			return KIND_INLINED;
		case 'w':	/* waker stacks (offwaketime) */
			*len = n - 4;
			return KIND_USER;
		}
	}
	if (n == 9 && !memcmp(name, "[unknown]", 9))
		return KIND_UNKNOWN;
	return KIND_USER;
}

struct rgb {
	int r, g, b;
};

/* Deterministic per name: the same function gets the same colour. */
static struct rgb frame_colour(const struct palette *pal, enum frame_kind k,
			       const char *name, size_t len)
{
	uint32_t h = name_hash(name, len);
	double a = (h & 0x3ff) / 1023.0, b = ((h >> 10) & 0x3ff) / 1023.0;
	double c = ((h >> 20) & 0x3ff) / 1023.0;
	const struct hue *u;

	if (k == KIND_ROOT)
		return (struct rgb){ 210, 210, 200 };
	if (k == KIND_UNKNOWN)
		return (struct rgb){ 175 + (int)(20 * a), 175 + (int)(20 * a),
				     175 + (int)(20 * a) };
	u = &pal->hue[k];
	return (struct rgb){ u->r + (int)(u->dr * a), u->g + (int)(u->dg * b),
			     u->b + (int)(u->db * c) };
}

/*
 * Red where the frame grew, blue where it shrank, the intensity in
 * proportion to the largest change in the graph; near-white if unchanged.
 */
static struct rgb diff_colour(const struct flame_node *n, double max_delta)
{
	double d = (double)n->count[FLAME_AFTER] -
		   (double)n->count[FLAME_BEFORE];
	double r = max_delta > 0 ? (d < 0 ? -d : d) / max_delta : 0;
	int fade = 250 - (int)(190 * r + 0.5);

	if (d > 0)
		return (struct rgb){ 255, fade, fade };
	if (d < 0)
		return (struct rgb){ fade, fade, 255 };
	return (struct rgb){ 250, 250, 250 };
}

/* ---------------------------------------------------------------- output */

/* Length of the valid UTF-8 sequence at p allowed in XML, 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned int c = p[0], cp;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp == 0xfffe || cp == 0xffff)
		return 0;
	return n;
}

/*
 * Writes text as XML character data or attribute value: the five special
 * characters as entities, control characters as '?', invalid UTF-8 as
 * U+FFFD, so any frame name gives a well-formed document.
 */
static void put_xml(FILE *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		size_t n = utf8_seq(p, end);

		if (!n) {
			fputs("\xef\xbf\xbd", out);
			p++;
			continue;
		}
		if (n > 1) {
			fwrite(p, 1, n, out);
			p += n;
			continue;
		}
		switch (*p) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		default:
			fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
		}
		p++;
	}
}

static void put_xml_str(FILE *out, const char *s)
{
	put_xml(out, s, strlen(s));
}

/*
 * The label that fits in w pixels: the whole name, or its start and "..",
 * or nothing below three characters. Counted in characters, not bytes.
 */
static void put_label(FILE *out, const char *name, size_t len, double w)
{
	const unsigned char *p = (const unsigned char *)name, *end = p + len;
	long fit = (long)((w - 6) / CHAR_W);
	size_t chars = 0, cut = 0;

	if (fit < 3)
		return;
	while (p < end) {
		size_t n = utf8_seq(p, end);

		p += n ? n : 1;
		if (++chars == (size_t)fit - 2)
			cut = p - (const unsigned char *)name;
	}
	if (chars <= (size_t)fit) {
		put_xml(out, name, len);
		return;
	}
	put_xml(out, name, cut);
	fputs("..", out);
}

static const char flame_css[] =
	"text { font-family: Verdana, 'DejaVu Sans', sans-serif; "
	"font-size: 12px; fill: #000; }\n"
	"#title { font-size: 17px; text-anchor: middle; }\n"
	"#subtitle { text-anchor: middle; fill: #555; }\n"
	"#search, #matched { text-anchor: end; }\n"
	"#unzoom, #search { cursor: pointer; }\n"
	"#unzoom:hover, #search:hover { fill: #c00; }\n"
	"#matched { fill: #555; }\n"
	"g.frame { cursor: pointer; }\n"
	"g.frame text { pointer-events: none; }\n"
	"g.frame:hover rect { stroke: #000; stroke-width: 0.5; }\n"
	".faded { opacity: 0.5; }\n"
	".hide { display: none; }\n";

/*
 * The viewer. Every frame carries its sample offset (data-s), count
 * (data-n) and depth (data-d), so zoom is exact arithmetic on counts
 * rather than on rounded pixel positions.
 */
static const char flame_js[] =
	"\"use strict\";\n"
	"(function () {\n"
	"var svg = document.documentElement;\n"
	"var total = +svg.getAttribute('data-total');\n"
	"var width = +svg.getAttribute('width');\n"
	"var xpad = 10, full = width - 2 * xpad, charw = 12 * 0.59;\n"
	"var HIGHLIGHT = 'rgb(230,0,230)';\n"
	"var byId = function (id) { return document.getElementById(id); };\n"
	"var details = byId('details'), matched = byId('matched');\n"
	"var unzoomBtn = byId('unzoom'), searchBtn = byId('search');\n"
	"var frames = [], zoomed = null, searchRe = null;\n"
	"var nodes = document.querySelectorAll('g.frame');\n"
	"for (var i = 0; i < nodes.length; i++) {\n"
	"	var g = nodes[i];\n"
	"	var title = g.querySelector('title').textContent;\n"
	"	var f = { g: g, rect: g.querySelector('rect'),\n"
	"		text: g.querySelector('text'), title: title,\n"
	"		name: title.slice(0, title.lastIndexOf(' (')),\n"
	"		s: +g.getAttribute('data-s'),\n"
	"		n: +g.getAttribute('data-n'),\n"
	"		d: +g.getAttribute('data-d') };\n"
	"	f.fill = f.rect.getAttribute('fill');\n"
	"	g.flameFrame = f;\n"
	"	frames.push(f);\n"
	"}\n"
	"function fit(name, w) {\n"
	"	var c = Math.floor((w - 6) / charw);\n"
	"	if (c < 3) return '';\n"
	"	if (name.length <= c) return name;\n"
	"	return name.slice(0, c - 2) + '..';\n"
	"}\n"
	"function place(f, x, w) {\n"
	"	f.rect.setAttribute('x', x.toFixed(4));\n"
	"	f.rect.setAttribute('width', w.toFixed(4));\n"
	"	f.text.setAttribute('x', (x + 3).toFixed(2));\n"
	"	f.text.textContent = fit(f.name, w);\n"
	"}\n"
	"function layout(z) {\n"
	"	var s0 = z ? z.s : 0, n0 = z ? z.n : total, d0 = z ? z.d : 0;\n"
	"	var k = full / n0;\n"
	"	frames.forEach(function (f) {\n"
	"		var inside = f.s >= s0 && f.s + f.n <= s0 + n0;\n"
	"		var above = f.s <= s0 && f.s + f.n >= s0 + n0;\n"
	"		if (f.d >= d0 && inside) {\n"
	"			f.g.classList.remove('hide', 'faded');\n"
	"			place(f, xpad + (f.s - s0) * k, f.n * k);\n"
	"		} else if (f.d < d0 && above) {\n"
	"			f.g.classList.remove('hide');\n"
	"			f.g.classList.add('faded');\n"
	"			place(f, xpad, full);\n"
	"		} else {\n"
	"			f.g.classList.add('hide');\n"
	"		}\n"
	"	});\n"
	"}\n"
	"function zoom(f) {\n"
	"	zoomed = f.d > 0 ? f : null;\n"
	"	layout(zoomed);\n"
	"	unzoomBtn.classList.toggle('hide', !zoomed);\n"
	"}\n"
	"function unzoom() { zoom(frames[0] || { d: 0 }); }\n"
	"function resetSearch() {\n"
	"	searchRe = null;\n"
	"	frames.forEach(function (f) {\n"
	"		f.rect.setAttribute('fill', f.fill);\n"
	"	});\n"
	"	matched.textContent = ' ';\n"
	"	searchBtn.textContent = 'Search';\n"
	"}\n"
	"function search(term) {\n"
	"	var re, spans = [], covered = 0, end = -1;\n"
	"	try { re = new RegExp(term); } catch (e) {\n"
	"		matched.textContent = 'Invalid regex: ' + term;\n"
	"		return;\n"
	"	}\n"
	"	searchRe = re;\n"
	"	frames.forEach(function (f) {\n"
	"		if (re.test(f.name)) {\n"
	"			f.rect.setAttribute('fill', HIGHLIGHT);\n"
	"			spans.push(f);\n"
	"		} else {\n"
	"			f.rect.setAttribute('fill', f.fill);\n"
	"		}\n"
	"	});\n"
	/* Nested matches cover the same samples: count the union once. */
	"	spans.sort(function (a, b) {\n"
	"		return a.s - b.s || b.n - a.n;\n"
	"	});\n"
	"	spans.forEach(function (f) {\n"
	"		if (f.s + f.n <= end) return;\n"
	"		covered += f.s + f.n - Math.max(f.s, end);\n"
	"		end = f.s + f.n;\n"
	"	});\n"
	"	matched.textContent = 'Matched: ' +\n"
	"		(total ? 100 * covered / total : 0).toFixed(1) + '%';\n"
	"	searchBtn.textContent = 'Reset Search';\n"
	"}\n"
	"function askSearch() {\n"
	"	var term = window.prompt('Search for (regular expression):',\n"
	"		'');\n"
	"	if (term) search(term);\n"
	"}\n"
	"function frameOf(e) {\n"
	"	var g = e.target.closest && e.target.closest('g.frame');\n"
	"	return g ? g.flameFrame : null;\n"
	"}\n"
	"var box = byId('frames');\n"
	"box.addEventListener('mouseover', function (e) {\n"
	"	var f = frameOf(e);\n"
	"	if (f) details.textContent = f.title;\n"
	"});\n"
	"box.addEventListener('mouseout', function () {\n"
	"	details.textContent = ' ';\n"
	"});\n"
	"box.addEventListener('click', function (e) {\n"
	"	var f = frameOf(e);\n"
	"	if (f) zoom(f);\n"
	"});\n"
	"unzoomBtn.addEventListener('click', unzoom);\n"
	"searchBtn.addEventListener('click', function () {\n"
	"	if (searchRe) resetSearch(); else askSearch();\n"
	"});\n"
	"window.addEventListener('keydown', function (e) {\n"
	"	var f = e.key === 'f' || e.key === 'F';\n"
	"	if ((e.ctrlKey || e.metaKey) && f) {\n"
	"		e.preventDefault();\n"
	"		askSearch();\n"
	"	} else if (e.key === 'Escape') {\n"
	"		resetSearch();\n"
	"		unzoom();\n"
	"	}\n"
	"});\n"
	/*
 * A page that draws the graph again (the agent's live one) carries the
 * zoom and the search over: the zoomed frame by its names from the root.
 */
	"function pathOf(f) {\n"
	"	return frames.filter(function (g) {\n"
	"		return g.d <= f.d && g.s <= f.s && g.s + g.n >= f.s + f.n;\n"
	"	}).sort(function (a, b) { return a.d - b.d; })\n"
	"		.map(function (g) { return g.name; }).join(';');\n"
	"}\n"
	"function state() {\n"
	"	return { zoom: zoomed ? pathOf(zoomed) : null,\n"
	"		search: searchRe ? searchRe.source : null };\n"
	"}\n"
	"function restore(st) {\n"
	"	if (st.search) search(st.search);\n"
	"	if (!st.zoom) return;\n"
	"	var names = st.zoom.split(';');\n"
	"	frames.some(function (f) {\n"
	"		if (f.d !== names.length - 1 ||\n"
	"		    f.name !== names[names.length - 1] ||\n"
	"		    pathOf(f) !== st.zoom) return false;\n"
	"		zoom(f);\n"
	"		return true;\n"
	"	});\n"
	"}\n"
	"window.flame = { zoom: function (i) { zoom(frames[i]); },\n"
	"	unzoom: unzoom, search: search, resetSearch: resetSearch,\n"
	"	state: state, restore: restore };\n"
	"})();\n";

/* Orders siblings by name (byte order, like sort in the C locale). */
static const struct flame *sort_tree;

static int cmp_nodes(const void *a, const void *b)
{
	const struct flame_node *x = &sort_tree->nodes[*(const uint32_t *)a];
	const struct flame_node *y = &sort_tree->nodes[*(const uint32_t *)b];
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(node_name(sort_tree, x), node_name(sort_tree, y), n);

	if (c)
		return c;
	return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static int sort_children(struct flame *f)
{
	uint32_t *tmp = NULL;
	size_t cap = 0;

	sort_tree = f;
	for (size_t i = 0; i < f->nnodes; i++) {
		size_t n = 0;
		uint32_t c;

		for (c = f->nodes[i].child; c != NO_NODE;
		     c = f->nodes[c].sibling) {
			if (n == cap) {
				uint32_t *t;

				cap = cap ? cap * 2 : 64;
				t = realloc(tmp, cap * sizeof(*t));
				if (!t) {
					free(tmp);
					return -ENOMEM;
				}
				tmp = t;
			}
			tmp[n++] = c;
		}
		if (n < 2)
			continue;
		qsort(tmp, n, sizeof(*tmp), cmp_nodes);
		f->nodes[i].child = tmp[0];
		for (size_t k = 0; k + 1 < n; k++)
			f->nodes[tmp[k]].sibling = tmp[k + 1];
		f->nodes[tmp[n - 1]].sibling = NO_NODE;
	}
	free(tmp);
	return 0;
}

/*
 * The next node in pre-order; a node's subtree is skipped unless descend.
 * Iterative, so a stack thousands of frames deep cannot overflow ours.
 */
static uint32_t next_node(const struct flame *f, uint32_t i, bool descend)
{
	if (descend && f->nodes[i].child != NO_NODE)
		return f->nodes[i].child;
	while (i != 0) {
		if (f->nodes[i].sibling != NO_NODE)
			return f->nodes[i].sibling;
		i = f->nodes[i].parent;
	}
	return 0;
}

/*
 * Places every frame: children from their parent's left edge in name
 * order, so a frame's offset in samples is its parent's plus the counts of
 * its elder siblings. Marks the frames wide enough to draw. A parent is
 * always created before its children, so index order visits it first.
 */
static uint32_t layout(struct flame *f, double scale, double min_width)
{
	uint32_t max_depth = 0;
	struct flame_node *root = &f->nodes[0];

	root->start = 0;
	root->shown = root->count[FLAME_AFTER] > 0;
	for (size_t i = 0; i < f->nnodes; i++) {
		const struct flame_node *p = &f->nodes[i];
		unsigned long long at = p->start;

		for (uint32_t c = p->child; c != NO_NODE;
		     c = f->nodes[c].sibling) {
			struct flame_node *n = &f->nodes[c];
			unsigned long long cnt = n->count[FLAME_AFTER];

			n->start = at;
			at += cnt;
			n->shown = p->shown && cnt > 0 &&
				   (double)cnt * scale >= min_width;
			if (n->shown && n->depth > max_depth)
				max_depth = n->depth;
		}
	}
	return max_depth;
}

static void put_frame(FILE *out, const struct flame *f,
		      const struct flame_node *n, const struct palette *pal,
		      const struct flame_opts *o, double scale, int frames_y0,
		      uint32_t max_depth, double max_delta)
{
	size_t len = n->name_len;
	const char *name = n == f->nodes ? "all" : node_name(f, n);
	enum frame_kind kind;
	unsigned long long c = n->count[FLAME_AFTER];
	unsigned long long total = f->nodes[0].count[FLAME_AFTER];
	double x = XPAD + (double)n->start * scale, w = (double)c * scale;
	int y;
	struct rgb rgb;

	if (n == f->nodes) {
		len = 3;
		kind = KIND_ROOT;
	} else {
		kind = frame_kind(name, &len);
	}
	if (o->inverted)
		y = frames_y0 + (int)n->depth * FRAME_H;
	else
		y = frames_y0 + (int)(max_depth - n->depth) * FRAME_H;
	rgb = f->diff ? diff_colour(n, max_delta) :
		frame_colour(pal, kind, name, len);

	fprintf(out, "<g class=\"frame\" data-s=\"%llu\" data-n=\"%llu\" "
		"data-d=\"%u\"", n->start, c, n->depth);
	if (f->diff)
		fprintf(out, " data-b=\"%llu\"", n->count[FLAME_BEFORE]);
	fputs("><title>", out);
	put_xml(out, name, len);
	fprintf(out, " (%llu ", c);
	put_xml_str(out, o->count_name);
	fprintf(out, ", %.2f%%", 100.0 * (double)c / (double)total);
	if (f->diff) {
		long double d = (long double)c - n->count[FLAME_BEFORE];

		fprintf(out, "; before %llu, %s%.0Lf",
			n->count[FLAME_BEFORE], d >= 0 ? "+" : "", d);
		if (n->count[FLAME_BEFORE])
			fprintf(out, " = %s%.1Lf%%", d >= 0 ? "+" : "",
				100 * d / n->count[FLAME_BEFORE]);
	}
	fprintf(out, ")</title><rect x=\"%.8g\" y=\"%d\" width=\"%.8g\" "
		"height=\"%d\" rx=\"2\" fill=\"rgb(%d,%d,%d)\"/>"
		"<text x=\"%.2f\" y=\"%d\">", x, y, w, FRAME_H - 1,
		rgb.r, rgb.g, rgb.b, x + 3, y + FRAME_H - 5);
	put_label(out, name, len, w);
	fputs("</text></g>\n", out);
}

int flame_render(struct flame *f, const struct flame_opts *opts, FILE *out)
{
	struct flame_opts o = *opts;
	const struct palette *pal = palette_find(opts->palette);
	unsigned long long total;
	double scale, max_delta = 0;
	uint32_t max_depth;
	int height, frames_y0, ytop;

	if (ensure_root(f) || sort_children(f))
		return -ENOMEM;
	if (!o.title)
		o.title = f->diff ? "Differential Flame Graph" : "Flame Graph";
	if (!o.count_name)
		o.count_name = "samples";
	if (o.width <= 0)
		o.width = FLAME_DEFAULT_WIDTH;
	if (o.width < 100)
		o.width = 100;
	if (o.width > FLAME_MAX_WIDTH)
		o.width = FLAME_MAX_WIDTH;
	if (o.min_width == 0)
		o.min_width = FLAME_DEFAULT_MIN_WIDTH;
	total = f->nodes[0].count[FLAME_AFTER];
	scale = total ? (double)(o.width - 2 * XPAD) / (double)total : 0;
	max_depth = layout(f, scale, o.min_width);
	for (size_t i = 0; f->diff && i < f->nnodes; i++) {
		const struct flame_node *n = &f->nodes[i];
		double d = (double)n->count[FLAME_AFTER] -
			   (double)n->count[FLAME_BEFORE];

		if (n->shown && (d < 0 ? -d : d) > max_delta)
			max_delta = d < 0 ? -d : d;
	}

	ytop = o.subtitle ? YPAD_TOP_SUB : YPAD_TOP;
	frames_y0 = ytop;
	height = ytop + (int)(max_depth + 1) * FRAME_H + YPAD_BOTTOM;
	if (!total)
		height += FRAME_H;

	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" "
		"standalone=\"no\"?>\n"
		"<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" "
		"width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"data-total=\"%llu\" data-diff=\"%d\" data-inverted=\"%d\">\n",
		o.width, height, o.width, height, total, f->diff,
		o.inverted);
	fprintf(out, "<style type=\"text/css\"><![CDATA[\n%s]]></style>\n",
		flame_css);
	fprintf(out, "<defs><linearGradient id=\"background\" x1=\"0\" "
		"y1=\"0\" x2=\"0\" y2=\"1\"><stop offset=\"5%%\" "
		"stop-color=\"#eeeeee\"/><stop offset=\"95%%\" "
		"stop-color=\"#e4e4cc\"/></linearGradient></defs>\n"
		"<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" "
		"fill=\"url(#background)\"/>\n", o.width, height);
	fprintf(out, "<text id=\"title\" x=\"%d\" y=\"24\">", o.width / 2);
	put_xml_str(out, o.title);
	fputs("</text>\n", out);
	if (o.subtitle) {
		fprintf(out, "<text id=\"subtitle\" x=\"%d\" y=\"42\">",
			o.width / 2);
		put_xml_str(out, o.subtitle);
		fputs("</text>\n", out);
	}
	fprintf(out, "<text id=\"unzoom\" class=\"hide\" x=\"%d\" y=\"24\">"
		"Reset Zoom</text>\n"
		"<text id=\"search\" x=\"%d\" y=\"24\">Search</text>\n"
		"<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n"
		"<text id=\"matched\" x=\"%d\" y=\"%d\"> </text>\n",
		XPAD, o.width - XPAD, XPAD, height - 12, o.width - XPAD,
		height - 12);
	if (!total)
		fprintf(out, "<text id=\"empty\" x=\"%d\" y=\"%d\" "
			"text-anchor=\"middle\">No samples</text>\n",
			o.width / 2, ytop + FRAME_H);
	fputs("<g id=\"frames\">\n", out);
	for (uint32_t i = 0; total; ) {
		const struct flame_node *n = &f->nodes[i];

		if (n->shown)
			put_frame(out, f, n, pal, &o, scale, frames_y0,
				  max_depth, max_delta);
		i = next_node(f, i, n->shown);
		if (i == 0)
			break;
	}
	fputs("</g>\n", out);
	fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]>"
		"</script>\n</svg>\n", flame_js);
	if (fflush(out) || ferror(out))
		return -EIO;
	return 0;
}

int flame_render_folded(const char *text, size_t len,
			const struct flame_opts *opts, FILE *out,
			char *err, size_t errlen)
{
	struct flame f;
	int ret;

	flame_init(&f);
	ret = flame_parse(&f, text, len, FLAME_AFTER, NULL, err, errlen);
	if (!ret) {
		ret = flame_render(&f, opts, out);
		if (ret && err && errlen)
			snprintf(err, errlen, "%s", ret == -EIO ?
				 "cannot write the SVG" : "out of memory");
	}
	flame_free(&f);
	return ret;
}

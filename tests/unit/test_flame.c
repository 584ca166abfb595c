/*
 * Unit tests of the flame graph library: folded parsing and its errors,
 * merging, and the SVG itself, read back frame by frame to check counts,
 * exact widths, nesting, minimum width, escaping and diff colours.
 */
#include <errno.h>
#include <stdlib.h>
#include "flame.h"
#include "unit.h"

#define MAX_FRAMES	64
#define FULL_WIDTH	1180.0	/* default width minus the two 10 px pads */

struct svg_frame {
	char title[256];
	unsigned long long s, n, b;
	int d;
	double x, y, w;
	int r, g, bl;
};

static char *render(struct flame *f, const struct flame_opts *o)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	CHECK(flame_render(f, o, out) == 0);
	fclose(out);
	return text;
}

static char *render_text(const char *folded, const struct flame_opts *o)
{
	struct flame f;
	char err[128], *svg;

	flame_init(&f);
	CHECK(flame_parse(&f, folded, strlen(folded), FLAME_AFTER, NULL, err,
			  sizeof(err)) == 0);
	svg = render(&f, o);
	flame_free(&f);
	return svg;
}

static const char *attr(const char *tag, const char *end, const char *name)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), " %s=\"", name);
	p = strstr(tag, key);
	return p && p < end ? p + strlen(key) : NULL;
}

/* Reads the <g class="frame"> elements back; returns how many. */
static int parse_frames(const char *svg, struct svg_frame *fr, int max)
{
	const char *p = svg;
	int n = 0;

	while ((p = strstr(p, "<g class=\"frame\"")) && n < max) {
		const char *end = strstr(p, "</g>"), *rect, *t, *te, *v;
		struct svg_frame *f = &fr[n];

		memset(f, 0, sizeof(*f));
		if (!end)
			break;
		if ((v = attr(p, end, "data-s")))
			f->s = strtoull(v, NULL, 10);
		if ((v = attr(p, end, "data-n")))
			f->n = strtoull(v, NULL, 10);
		if ((v = attr(p, end, "data-b")))
			f->b = strtoull(v, NULL, 10);
		if ((v = attr(p, end, "data-d")))
			f->d = atoi(v);
		t = strstr(p, "<title>");
		te = strstr(p, "</title>");
		if (t && te && te < end) {
			t += 7;
			snprintf(f->title, sizeof(f->title), "%.*s",
				 (int)(te - t), t);
		}
		rect = strstr(p, "<rect");
		if (rect && rect < end) {
			if ((v = attr(rect, end, "x")))
				f->x = strtod(v, NULL);
			if ((v = attr(rect, end, "y")))
				f->y = strtod(v, NULL);
			if ((v = attr(rect, end, "width")))
				f->w = strtod(v, NULL);
			if ((v = attr(rect, end, "fill")))
				sscanf(v, "rgb(%d,%d,%d)", &f->r, &f->g,
				       &f->bl);
		}
		n++;
		p = end;
	}
	return n;
}

/* The frame whose title starts with "name (". */
static const struct svg_frame *frame_named(const struct svg_frame *fr, int n,
					   const char *name)
{
	size_t len = strlen(name);

	for (int i = 0; i < n; i++)
		if (!strncmp(fr[i].title, name, len) &&
		    !strncmp(fr[i].title + len, " (", 2))
			return &fr[i];
	return NULL;
}

static bool near(double a, double b)
{
	return a - b < 1e-4 && b - a < 1e-4;
}

static void test_flame_parse(void)
{
	const char *text =
		"prog;main;outer;inner;spin 70\n"
		"prog;main;outer;other\t20\r\n"
		"\n"
		"   \r\n"
		"prog;main;read;vfs_read_[k] 10  \r\n"
		"op new(unsigned long);operator new (x) 4\n"
		"prog;main;zero 0\n"
		"prog;main;outer;inner;spin 5";
	struct flame f;
	char err[128];

	flame_init(&f);
	CHECK(flame_parse(&f, text, strlen(text), FLAME_AFTER, NULL, err,
			  sizeof(err)) == 0);
	CHECK(flame_count(&f, "", FLAME_AFTER) == 109);
	CHECK(flame_count(&f, "prog", FLAME_AFTER) == 105);
	CHECK(flame_count(&f, "prog;main;outer", FLAME_AFTER) == 95);
	CHECK(flame_count(&f, "prog;main;outer;inner;spin", FLAME_AFTER) ==
	      75);
	CHECK(flame_count(&f, "prog;main;outer;other", FLAME_AFTER) == 20);
	CHECK(flame_count(&f, "prog;main;read;vfs_read_[k]", FLAME_AFTER) ==
	      10);
	/* Spaces inside frame names belong to the name. */
	CHECK(flame_count(&f, "op new(unsigned long);operator new (x)",
			  FLAME_AFTER) == 4);
	CHECK(flame_count(&f, "prog;main;zero", FLAME_AFTER) == 0);
	CHECK(flame_count(&f, "prog;nosuch", FLAME_AFTER) == 0);
	CHECK(flame_count(&f, "prog", FLAME_BEFORE) == 0);
	/* prog main outer inner spin other read vfs_read op-new operator-new */
	CHECK(flame_frames(&f) == 10);
	CHECK(!f.diff);
	flame_free(&f);
}

static void test_flame_parse_errors(void)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "a;b 1\na;b;c\n",
		  "in.folded:2: missing sample count at end of line" },
		{ "a;b 1\n\na;bc12\n",
		  "in.folded:3: missing sample count at end of line" },
		{ "a;b x\n", "in.folded:1: missing sample count at end of line" },
		{ "17\n", "in.folded:1: missing stack before sample count" },
		{ "  17\n", "in.folded:1: missing stack before sample count" },
		{ "a -3\n", "in.folded:1: negative sample count" },
		{ "a 1.5\n", "in.folded:1: sample count is not an integer" },
		{ "a 3.\n", "in.folded:1: sample count is not an integer" },
		{ "a 99999999999999999999\n",
		  "in.folded:1: sample count too large" },
		{ "a 18446744073709551615\nb 1\n",
		  "in.folded:2: sample counts add up past 2^64" },
	};
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct flame f;

		flame_init(&f);
		err[0] = '\0';
		CHECK(flame_parse(&f, bad[i].text, strlen(bad[i].text),
				  FLAME_AFTER, "in.folded", err,
				  sizeof(err)) == -EINVAL);
		CHECK_STR(err, bad[i].err);
		flame_free(&f);
	}
	/* A NUL byte: not a text file. */
	{
		const char text[] = "a 1\nb\0c 2\n";
		struct flame f;

		flame_init(&f);
		CHECK(flame_parse(&f, text, sizeof(text) - 1, FLAME_AFTER,
				  "x", err, sizeof(err)) == -EINVAL);
		CHECK(!strncmp(err, "x:2: NUL byte", 13));
		flame_free(&f);
	}
	/* The interface profile uses: "line N: why". */
	{
		char *text = NULL;
		size_t size = 0;
		FILE *out = open_memstream(&text, &size);
		struct flame_opts o = { 0 };

		CHECK(flame_render_folded("a;b 2\na;c\n", 10, &o, out, err,
					  sizeof(err)) == -EINVAL);
		CHECK_STR(err, "line 2: missing sample count at end of line");
		fclose(out);
		CHECK(size == 0);
		free(text);
	}
}

static void test_flame_merge(void)
{
	const char *a = "p;main;f 3\np;main;g 1\n";
	const char *b = "p;main;f 4\nq;main;f 2\np;main;g;h 5\n";
	struct flame f;
	char err[128];

	flame_init(&f);
	CHECK(!flame_parse(&f, a, strlen(a), FLAME_AFTER, "a", err,
			   sizeof(err)));
	CHECK(!flame_parse(&f, b, strlen(b), FLAME_AFTER, "b", err,
			   sizeof(err)));
	CHECK(flame_count(&f, "", FLAME_AFTER) == 15);
	CHECK(flame_count(&f, "p;main;f", FLAME_AFTER) == 7);
	CHECK(flame_count(&f, "p;main;g", FLAME_AFTER) == 6);
	CHECK(flame_count(&f, "p;main;g;h", FLAME_AFTER) == 5);
	CHECK(flame_count(&f, "q;main;f", FLAME_AFTER) == 2);
	/* p main f g h q main f: identical frames are one node */
	CHECK(flame_frames(&f) == 8);
	flame_free(&f);
}

static const char *known =
	"prog;main;outer;inner;spin 70\n"
	"prog;main;outer;other 20\n"
	"prog;main;read;vfs_read_[k];schedule_[k] 10\n"
	"prog;main 5\n"
	"swapper;cpu_idle_[k] 15\n";

static void check_nesting(const struct svg_frame *fr, int n, bool inverted)
{
	double y_root = fr[0].y;

	for (int i = 0; i < n; i++) {
		const struct svg_frame *f = &fr[i];
		int depth = f->d;

		/* x = offset * width / total, width = count * width / total */
		CHECK(near(f->x, 10 + f->s * FULL_WIDTH / 120));
		CHECK(near(f->w, f->n * FULL_WIDTH / 120));
		CHECK(near(f->y, y_root + (inverted ? 16 : -16) * depth));
		/* Pre-order: the nearest shallower frame above: parent */
		for (int j = i - 1; j >= 0 && depth > 0; j--) {
			if (fr[j].d == depth - 1) {
				CHECK(fr[j].s <= f->s);
				CHECK(f->s + f->n <= fr[j].s + fr[j].n);
				break;
			}
		}
	}
}

static void test_flame_svg(void)
{
	struct svg_frame fr[MAX_FRAMES];
	struct flame_opts o = { .title = "Known", .subtitle = "sub" };
	const struct svg_frame *spin, *outer, *other, *all, *sched;
	char *svg = render_text(known, &o);
	int n = parse_frames(svg, fr, MAX_FRAMES);

	/* all prog main outer inner spin other read vfs_read schedule
	 * swapper cpu_idle */
	CHECK(n == 12);
	CHECK(strstr(svg, "<text id=\"title\" x=\"600\" y=\"24\">Known</text>"));
	CHECK(strstr(svg, ">sub</text>"));
	CHECK(strstr(svg, "width=\"1200\""));
	CHECK(strstr(svg, "data-total=\"120\""));
	CHECK(strstr(svg, "<script") && strstr(svg, "Reset Zoom") &&
	      strstr(svg, "Matched: "));
	/* self-contained: no external references */
	CHECK(!strstr(svg, "href"));
	all = frame_named(fr, n, "all");
	spin = frame_named(fr, n, "spin");
	outer = frame_named(fr, n, "outer");
	other = frame_named(fr, n, "other");
	sched = frame_named(fr, n, "schedule");
	CHECK(all && spin && outer && other && sched);
	if (!all || !spin || !outer || !other || !sched)
		goto out;
	CHECK_STR(all->title, "all (120 samples, 100.00%)");
	CHECK_STR(spin->title, "spin (70 samples, 58.33%)");
	CHECK(all == &fr[0] && all->d == 0 && near(all->w, FULL_WIDTH));
	CHECK(spin->d == 5 && outer->d == 3);
	/* siblings in name order from the parent's left edge */
	CHECK(near(outer->x, 10) && near(spin->x, 10));
	CHECK(near(other->x, 10 + 70 * FULL_WIDTH / 120));
	CHECK(near(spin->w / outer->w, 70.0 / 90.0));
	/* root at the bottom; deeper frames higher */
	CHECK(spin->y < outer->y && outer->y < all->y);
	check_nesting(fr, n, false);
	/* kernel frames in another colour family than user frames */
	CHECK(spin->r >= 205 && spin->g < 100);
	CHECK(sched->g >= 145);
out:
	free(svg);
}

static void test_flame_inverted(void)
{
	struct svg_frame fr[MAX_FRAMES];
	struct flame_opts o = { .inverted = true };
	char *svg = render_text(known, &o);
	int n = parse_frames(svg, fr, MAX_FRAMES);

	CHECK(n == 12);
	CHECK(fr[0].y == 36);	/* the root right under the title */
	check_nesting(fr, n, true);
	free(svg);
}

static void test_flame_minwidth(void)
{
	struct svg_frame fr[MAX_FRAMES];
	/* b is 2 samples of 100002: 0.024 px wide, below 0.1 px */
	const char *text = "a;x 100000\nb 1\nb;c 1\n";
	struct flame_opts o = { 0 };
	char *svg = render_text(text, &o);
	int n = parse_frames(svg, fr, MAX_FRAMES);

	CHECK(n == 3);		/* all, a, x */
	CHECK(!frame_named(fr, n, "b") && !frame_named(fr, n, "c"));
	/* their samples still count in the root */
	CHECK(fr[0].n == 100002 && near(fr[0].w, FULL_WIDTH));
	free(svg);

	o.min_width = -1;	/* keep everything */
	svg = render_text(text, &o);
	n = parse_frames(svg, fr, MAX_FRAMES);
	CHECK(n == 5);
	CHECK(frame_named(fr, n, "c") != NULL);
	free(svg);

	o.min_width = 600;	/* a and x are 708 px wide, b 472 px */
	svg = render_text("a;x 3\nb 2\n", &o);
	n = parse_frames(svg, fr, MAX_FRAMES);
	CHECK(n == 3 && frame_named(fr, n, "x") && !frame_named(fr, n, "b"));
	free(svg);
}

static void test_flame_escape(void)
{
	struct svg_frame fr[MAX_FRAMES];
	const char *text = "p;<a&b>\"q'_[k] 1\np;tab\x01x\xff\xc3\xa9 1\n";
	struct flame_opts o = { .title = "T<&>", .count_name = "u\"s" };
	char *svg = render_text(text, &o);
	int n = parse_frames(svg, fr, MAX_FRAMES);

	CHECK(n == 4);
	CHECK(frame_named(fr, n, "&lt;a&amp;b&gt;&quot;q&apos;") != NULL);
	/* control byte -> '?', invalid byte -> U+FFFD, valid UTF-8 kept */
	CHECK(frame_named(fr, n, "tab?x\xef\xbf\xbd\xc3\xa9") != NULL);
	CHECK(strstr(svg, ">T&lt;&amp;&gt;</text>"));
	CHECK(strstr(svg, "(1 u&quot;s, 50.00%)"));
	free(svg);
}

static void test_flame_label(void)
{
	struct svg_frame fr[MAX_FRAMES];
	struct flame_opts o = { .width = 200 };
	/* 180 px for 10 samples: "long" frames get 54 px = 6 chars */
	char *svg = render_text("abcdefghijklmnop 3\nxy 7\n", &o);

	CHECK(parse_frames(svg, fr, MAX_FRAMES) == 3);
	CHECK(strstr(svg, ">abcd..</text>"));
	CHECK(strstr(svg, ">xy</text>"));
	free(svg);
}

static void test_flame_diff(void)
{
	struct svg_frame fr[MAX_FRAMES];
	const char *before = "a;grow 10\na;shrink 50\na;same 20\na;gone 5\n";
	const char *after = "a;grow 40\na;shrink 10\na;same 20\na;new 3\n";
	const struct svg_frame *grow, *shrink, *same, *nw;
	struct flame_opts o = { 0 };
	struct flame f;
	char err[128], *svg;
	int n;

	flame_init(&f);
	CHECK(!flame_parse(&f, before, strlen(before), FLAME_BEFORE, "b",
			   err, sizeof(err)));
	CHECK(!flame_parse(&f, after, strlen(after), FLAME_AFTER, "a", err,
			   sizeof(err)));
	CHECK(f.diff);
	svg = render(&f, &o);
	n = parse_frames(svg, fr, MAX_FRAMES);
	/* widths from AFTER: "gone" has none and is not drawn */
	CHECK(n == 6);
	CHECK(!frame_named(fr, n, "gone"));
	CHECK(strstr(svg, ">Differential Flame Graph</text>"));
	grow = frame_named(fr, n, "grow");
	shrink = frame_named(fr, n, "shrink");
	same = frame_named(fr, n, "same");
	nw = frame_named(fr, n, "new");
	CHECK(grow && shrink && same && nw);
	if (grow && shrink && same && nw) {
		CHECK(fr[0].n == 73 && near(grow->w, 40 * FULL_WIDTH / 73));
		CHECK(grow->b == 10 && shrink->b == 50);
		/* grew by 30: red */
		CHECK(grow->r == 255 && grow->g < 150 && grow->g == grow->bl);
		/* shrank by 40, the largest change: deepest blue */
		CHECK(shrink->bl == 255 && shrink->r == shrink->g &&
		      shrink->r < grow->g);
		/* unchanged: neutral */
		CHECK(same->r == same->g && same->g == same->bl &&
		      same->r >= 240);
		/* new (+3): red, paler than grow */
		CHECK(nw->r == 255 && nw->g > grow->g);
		CHECK_STR(grow->title,
			  "grow (40 samples, 54.79%; before 10, +30 = +300.0%)");
		CHECK_STR(shrink->title,
			  "shrink (10 samples, 13.70%; before 50, -40 = -80.0%)");
	}
	free(svg);
	flame_free(&f);
}

static void test_flame_empty(void)
{
	struct flame_opts o = { 0 };
	char *svg = render_text("\n\n", &o);

	CHECK(strstr(svg, "No samples"));
	CHECK(!strstr(svg, "<g class=\"frame\""));
	CHECK(strstr(svg, "</svg>"));
	free(svg);
}

static void test_flame_deep(void)
{
	/* A 30000-frame stack must not recurse its way off the C stack. */
	size_t depth = 30000, len = depth * 2 + 8;
	char *text = malloc(len);
	struct flame_opts o = { 0 };
	char *svg, *p = text;

	for (size_t i = 0; i < depth; i++) {
		*p++ = 'f';
		*p++ = ';';
	}
	strcpy(p - 1, " 1\n");
	svg = render_text(text, &o);
	CHECK(svg && strstr(svg, "</svg>"));
	free(svg);
	free(text);
}

const struct unit_test flame_tests[] = {
	{ "flame_parse", test_flame_parse },
	{ "flame_parse_errors", test_flame_parse_errors },
	{ "flame_merge", test_flame_merge },
	{ "flame_svg", test_flame_svg },
	{ "flame_inverted", test_flame_inverted },
	{ "flame_minwidth", test_flame_minwidth },
	{ "flame_escape", test_flame_escape },
	{ "flame_label", test_flame_label },
	{ "flame_diff", test_flame_diff },
	{ "flame_empty", test_flame_empty },
	{ "flame_deep", test_flame_deep },
	{ NULL },
};
UNIT_GROUP(flame_tests)

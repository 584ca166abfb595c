/*
 * Folded stacks ("comm;outer;inner 12" lines) to flame graphs: parsing,
 * merging several inputs into one call tree, and the self-contained SVG
 * renderer (inline CSS and JavaScript for hover, zoom and search).
 */
#ifndef LOUPE_FLAME_H
#define LOUPE_FLAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * palette: "hot" (CPU), "io"/"blue" (off-CPU), "mem", "green", "aqua".
 * NULL, 0: the defaults; min_width < 0 keeps every frame.
 */
struct flame_opts {
	const char *title;	/* default "Flame Graph" */
	const char *subtitle;	/* NULL: none */
	int width;		/* pixels, default 1200 */
	bool inverted;		/* icicle graph */
	const char *palette;	/* default "hot" */
	const char *count_name;	/* "samples", "us" ... */
	double min_width;	/* px; narrower frames are merged away;
				 * default 0.1 */
};

/*
 * Render folded text ("a;b;c 12\n" lines) as a self-contained SVG.
 * 0, or -EINVAL with "line N: why" in err.
 */
int flame_render_folded(const char *text, size_t len,
			const struct flame_opts *opts, FILE *out,
			char *err, size_t errlen);

/*
 * The call tree behind a graph, for callers that merge several inputs or
 * draw a differential graph. Counts are kept per side: FLAME_AFTER is the
 * only side of an ordinary graph (and gives the frame widths of a
 * differential one), FLAME_BEFORE the baseline it is compared against.
 */
enum flame_side {
	FLAME_AFTER = 0,
	FLAME_BEFORE = 1,
};

struct flame_node;

struct flame {
	struct flame_node *nodes;	/* [0] is the root, "all" */
	size_t nnodes, cap;
	char *pool;			/* frame names, not terminated */
	size_t pool_len, pool_cap;
	uint32_t *table;		/* (parent, name) -> node index */
	size_t table_cap;
	bool diff;			/* something was parsed as BEFORE */
};

#define FLAME_DEFAULT_WIDTH	1200
#define FLAME_DEFAULT_MIN_WIDTH	0.1
#define FLAME_MAX_WIDTH		100000

void flame_init(struct flame *f);
void flame_free(struct flame *f);
/*
 * Adds every line of text to side. Identical stacks (from this text or
 * earlier ones) add up. On a bad line: -EINVAL with "SOURCE:N: why" in err
 * ("line N: why" if source is NULL); lines before it stay added.
 */
int flame_parse(struct flame *f, const char *text, size_t len,
		enum flame_side side, const char *source,
		char *err, size_t errlen);
/*
 * Samples of side in the frame reached by "a;b;c" and below, 0 if there
 * is no such frame; "" is the root (every sample).
 */
unsigned long long flame_count(const struct flame *f, const char *stack,
			       enum flame_side side);
/* Number of distinct frames, the root excluded. */
size_t flame_frames(const struct flame *f);
/* Checks a palette name: true if flame_render knows it. */
bool flame_palette_ok(const char *name);
/*
 * Draws the tree; differential colours if anything was parsed as BEFORE.
 * 0, or -EIO if writing failed, -ENOMEM.
 */
int flame_render(struct flame *f, const struct flame_opts *opts, FILE *out);

#endif

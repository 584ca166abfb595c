/*
 * Histogram rendering. The table layout follows BCC so that eyes and
 * scripts trained on it keep working: power-of-two ranges, a count column
 * and a bar of up to 40 stars scaled to the fullest slot.
 */
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "hist.h"

void hist_stars(struct out_buf *b, uint64_t val, uint64_t max, int width)
{
	int stars = max ? (int)(val * width / max) : 0;

	for (int i = 0; i < width; i++)
		out_buf_add(b, i < stars ? "*" : " ", 1);
}

/* The line built in b, as free text of the table. */
static void emit_line(struct out *o, struct out_buf *b)
{
	out_line(o, "%s", b->data ? b->data : "");
	b->len = 0;
}

/* What a histogram is of: a string label, or a task (id and comm). */
struct caption {
	const struct hist_label *label;
	const char *id_key;	/* "pid", "tid", "pidns"; NULL if none */
	uint64_t id;
	const char *comm;	/* may be NULL */
};

static void json_hist(struct out *o, const char *kind, const char *unit,
		      const uint64_t *slots, int last,
		      const uint64_t *lows, const uint64_t *highs,
		      const struct caption *cap, uint64_t ts_ns)
{
	const struct hist_label *label = cap->label;

	out_record_begin(o);
	out_str(o, OUT_JSON_ONLY, "type", "hist");
	out_uint(o, OUT_JSON_ONLY, "ts_ns", ts_ns);
	out_str(o, OUT_JSON_ONLY, "scale", kind);
	out_str(o, OUT_JSON_ONLY, "unit", unit);
	if (label && label->key)
		out_str(o, OUT_JSON_ONLY, label->key, label->value);
	if (cap->id_key) {
		out_uint(o, OUT_JSON_ONLY, cap->id_key, cap->id);
		if (cap->comm)
			out_str(o, OUT_JSON_ONLY, "comm", cap->comm);
	}
	out_arr_begin(o, "buckets");
	for (int i = 0; i <= last; i++) {
		out_obj_begin(o, NULL);
		out_uint(o, OUT_JSON_ONLY, "low", lows[i]);
		out_uint(o, OUT_JSON_ONLY, "high", highs[i]);
		out_uint(o, OUT_JSON_ONLY, "count", slots[i]);
		out_obj_end(o);
	}
	out_arr_end(o);
	out_record_end(o);
}

static void print_hist(struct out *o, const char *kind, const char *unit,
		       const uint64_t *slots, int nslots,
		       const uint64_t *lows, const uint64_t *highs,
		       const struct caption *cap, uint64_t ts_ns)
{
	const struct hist_label *label = cap->label;
	struct out_buf b = { 0 };
	uint64_t max = 0;
	int last = -1, wide, stars;

	if (nslots > HIST_SLOTS)
		nslots = HIST_SLOTS;
	for (int i = 0; i < nslots; i++) {
		if (slots[i])
			last = i;
		if (slots[i] > max)
			max = slots[i];
	}
	if (o->json) {
		json_hist(o, kind, unit, slots, last, lows, highs, cap,
			  ts_ns);
		return;
	}
	if (label && label->key)
		out_caption(o, label->key, label->value);
	if (cap->id_key) {
		out_buf_printf(&b, "%llu%s%s", (unsigned long long)cap->id,
			       cap->comm ? " " : "",
			       cap->comm ? cap->comm : "");
		out_caption(o, cap->id_key, b.data);
		b.len = 0;
	}
	if (last < 0) {
		free(b.data);
		return;
	}
	/* Ranges past 2^32 need wider columns and get a shorter bar. */
	wide = highs[last] > 0xffffffffULL;
	stars = wide ? 20 : 40;
	out_buf_printf(&b, "%*s%-*s : count    distribution", wide ? 15 : 5,
		       "", wide ? 29 : 19, unit);
	emit_line(o, &b);
	for (int i = 0; i <= last; i++) {
		out_buf_printf(&b, "%*llu -> %-*llu : %-8llu |", wide ? 20 : 10,
			       (unsigned long long)lows[i], wide ? 20 : 10,
			       (unsigned long long)highs[i],
			       (unsigned long long)slots[i]);
		hist_stars(&b, slots[i], max, stars);
		out_buf_add(&b, "|", 1);
		emit_line(o, &b);
	}
	free(b.data);
}

void hist_print_log2(struct out *o, const char *unit, const uint64_t *slots,
		     int nslots, const struct hist_label *label,
		     uint64_t ts_ns)
{
	uint64_t lows[HIST_SLOTS], highs[HIST_SLOTS];

	/* Slot i holds [2^i, 2^(i+1)); slot 0 also holds 0 ("0 -> 1"). */
	for (int i = 0; i < HIST_SLOTS; i++) {
		lows[i] = i ? 1ULL << i : 0;
		highs[i] = i == HIST_SLOTS - 1 ? ~0ULL : (2ULL << i) - 1;
	}
	print_hist(o, "log2", unit, slots, nslots, lows, highs,
		   &(struct caption){ .label = label }, ts_ns);
}

void hist_print_log2_task(struct out *o, const char *unit,
			  const uint64_t *slots, int nslots,
			  const char *id_key, uint64_t id, const char *comm,
			  uint64_t ts_ns)
{
	uint64_t lows[HIST_SLOTS], highs[HIST_SLOTS];

	for (int i = 0; i < HIST_SLOTS; i++) {
		lows[i] = i ? 1ULL << i : 0;
		highs[i] = i == HIST_SLOTS - 1 ? ~0ULL : (2ULL << i) - 1;
	}
	print_hist(o, "log2", unit, slots, nslots, lows, highs,
		   &(struct caption){ .id_key = id_key, .id = id,
				      .comm = comm }, ts_ns);
}

void hist_print_linear(struct out *o, const char *unit,
		       const uint64_t *slots, int nslots, uint64_t base,
		       uint64_t step, const struct hist_label *label,
		       uint64_t ts_ns)
{
	uint64_t lows[HIST_SLOTS], highs[HIST_SLOTS];

	for (int i = 0; i < HIST_SLOTS; i++) {
		lows[i] = base + i * step;
		highs[i] = lows[i] + step - 1;
	}
	print_hist(o, "linear", unit, slots, nslots, lows, highs,
		   &(struct caption){ .label = label }, ts_ns);
}

static int cmp_key(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

int hist_print_task_map(struct out *o, int map_fd, const char *unit,
			const char *key_name, bool with_comm)
{
	static __u32 keys[10240];
	uint64_t slots[HIST_TASK_SLOTS];
	__u32 key, *prev = NULL;
	struct hist_task h;
	uint64_t ts = out_now_ns();
	size_t n = 0;

	while (n < sizeof(keys) / sizeof(keys[0]) &&
	       !bpf_map_get_next_key(map_fd, prev, &key)) {
		keys[n++] = key;
		prev = &keys[n - 1];
	}
	qsort(keys, n, sizeof(keys[0]), cmp_key);
	out_interval(o, ts);
	for (size_t i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(map_fd, &keys[i], &h))
			continue;
		bpf_map_delete_elem(map_fd, &keys[i]);
		for (int j = 0; j < HIST_TASK_SLOTS; j++)
			slots[j] = h.slots[j];
		h.comm[TASK_COMM_LEN - 1] = '\0';
		if (key_name)
			hist_print_log2_task(o, unit, slots, HIST_TASK_SLOTS,
					     key_name, keys[i],
					     with_comm ? h.comm : NULL, ts);
		else
			hist_print_log2(o, unit, slots, HIST_TASK_SLOTS, NULL,
					ts);
	}
	return out_flush(o);
}

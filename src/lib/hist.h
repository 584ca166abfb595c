/*
 * Histograms as BCC prints them ("usecs : count distribution" with
 * stars), or as one JSON record each. Slots are filled in the kernel with
 * hist_slot() from loupe.bpf.h.
 */
#ifndef LOUPE_HIST_H
#define LOUPE_HIST_H

#include <stdbool.h>
#include <stdint.h>
#include "event.h"
#include "out.h"

#define HIST_SLOTS 64

/* Optional label printed above a histogram, e.g. disk = "sda". */
struct hist_label {
	const char *key;	/* JSON key and table caption */
	const char *value;
};

void hist_print_log2(struct out *o, const char *unit, const uint64_t *slots,
		     int nslots, const struct hist_label *label,
		     uint64_t ts_ns);
/*
 * A histogram of one task or namespace (runqlat -P): captioned
 * "pid = 181 comm" in the table, "pid":181,"comm":"..." in JSON.
 */
void hist_print_log2_task(struct out *o, const char *unit,
			  const uint64_t *slots, int nslots,
			  const char *id_key, uint64_t id, const char *comm,
			  uint64_t ts_ns);
void hist_print_linear(struct out *o, const char *unit,
		       const uint64_t *slots, int nslots, uint64_t base,
		       uint64_t step, const struct hist_label *label,
		       uint64_t ts_ns);
/*
 * Prints every struct hist_task of a hash map keyed by __u32, in key order,
 * and empties the map: one histogram per key labelled key_name (with the
 * task name if with_comm), or, with key_name NULL, the single histogram,
 * after BCC's interval separator (out_interval()).
 */
int hist_print_task_map(struct out *o, int map_fd, const char *unit,
			const char *key_name, bool with_comm);
void hist_stars(struct out_buf *b, uint64_t val, uint64_t max, int width);

#endif

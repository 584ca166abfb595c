/*
 * softirqs, kernel side: time spent in (or, with -C, the number of)
 * softirq handlers per vector, from softirq_entry/exit. Softirqs do not
 * nest on a CPU, so the entry time is kept per CPU. Hooks, cheapest
 * first: BTF tracepoints, raw tracepoints, the classic irq tracepoints.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "irqs.h"

const volatile bool count_only = false;
const volatile bool distributions = false;
const volatile bool in_ns = false;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} started SEC(".maps");

/* Indexed by vector: no insertion races, a fixed small size. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SOFTIRQS_VECTORS);
	__type(key, __u32);
	__type(value, struct irqs_value);
} vectors SEC(".maps");

static __always_inline void softirq_entry(__u32 vec)
{
	struct irqs_value *v;
	__u32 zero = 0;
	__u64 *ts;

	if (count_only) {
		v = bpf_map_lookup_elem(&vectors, &vec);
		if (v)
			__sync_fetch_and_add(&v->count, 1);
		return;
	}
	ts = bpf_map_lookup_elem(&started, &zero);
	if (ts)
		*ts = bpf_ktime_get_ns();
}

static __always_inline void softirq_exit(__u32 vec)
{
	struct irqs_value *v;
	__u32 zero = 0, slot;
	__u64 *ts, delta;

	if (count_only)
		return;
	ts = bpf_map_lookup_elem(&started, &zero);
	if (!ts || !*ts)
		return;
	delta = bpf_ktime_get_ns() - *ts;
	*ts = 0;
	v = bpf_map_lookup_elem(&vectors, &vec);
	if (!v)
		return;
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->total_ns, delta);
	if (!distributions)
		return;
	slot = hist_slot(in_ns ? delta : delta / 1000);
	if (slot >= IRQS_SLOTS)
		slot = IRQS_SLOTS - 1;
	__sync_fetch_and_add(&v->slots[slot], 1);
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(entry_btf, unsigned int vec)
{
	softirq_entry(vec);
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(exit_btf, unsigned int vec)
{
	softirq_exit(vec);
	return 0;
}

SEC("raw_tp/softirq_entry")
int BPF_PROG(entry_raw, unsigned int vec)
{
	softirq_entry(vec);
	return 0;
}

SEC("raw_tp/softirq_exit")
int BPF_PROG(exit_raw, unsigned int vec)
{
	softirq_exit(vec);
	return 0;
}

SEC("tracepoint/irq/softirq_entry")
int entry_tp(struct trace_event_raw_softirq *ctx)
{
	softirq_entry(ctx->vec);
	return 0;
}

SEC("tracepoint/irq/softirq_exit")
int exit_tp(struct trace_event_raw_softirq *ctx)
{
	softirq_exit(ctx->vec);
	return 0;
}

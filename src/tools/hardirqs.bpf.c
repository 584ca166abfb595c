/*
 * hardirqs, kernel side: time spent in (or, with -C, the number of) hard
 * interrupt handlers per handler name, from irq_handler_entry/exit. The
 * entry stores its time and name per CPU (hard interrupt handlers do not
 * nest), the exit accounts them. Hooks, cheapest first: BTF tracepoints,
 * raw tracepoints, the classic irq tracepoints.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "irqs.h"

const volatile bool count_only = false;
const volatile bool distributions = false;
const volatile bool in_ns = false;

struct irq_start {
	__u64 ts;
	struct hardirqs_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct irq_start);
} started SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct hardirqs_key);
	__type(value, struct irqs_value);
} irqs SEC(".maps");

static const struct irqs_value empty_value;

static __always_inline struct irqs_value *
value_of(const struct hardirqs_key *key)
{
	struct irqs_value *v = bpf_map_lookup_elem(&irqs, key);

	if (v)
		return v;
	bpf_map_update_elem(&irqs, key, &empty_value, BPF_NOEXIST);
	return bpf_map_lookup_elem(&irqs, key);
}

/* name is a kernel address of the handler's name. */
static __always_inline void irq_entry(const void *name)
{
	struct irqs_value *v;
	struct irq_start *s;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&started, &zero);
	if (!s)
		return;
	/* The whole key is hashed: no bytes of a longer old name may stay. */
	__builtin_memset(&s->key, 0, sizeof(s->key));
	bpf_probe_read_kernel_str(s->key.name, sizeof(s->key.name), name);
	if (count_only) {
		v = value_of(&s->key);
		if (v)
			__sync_fetch_and_add(&v->count, 1);
		return;
	}
	s->ts = bpf_ktime_get_ns();
}

static __always_inline void irq_exit(void)
{
	struct irqs_value *v;
	struct irq_start *s;
	__u32 zero = 0, slot;
	__u64 delta;

	if (count_only)
		return;
	s = bpf_map_lookup_elem(&started, &zero);
	if (!s || !s->ts)
		return;
	delta = bpf_ktime_get_ns() - s->ts;
	s->ts = 0;
	v = value_of(&s->key);
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

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(entry_btf, int irq, struct irqaction *action)
{
	irq_entry(BPF_CORE_READ(action, name));
	return 0;
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(exit_btf, int irq, struct irqaction *action, int ret)
{
	irq_exit();
	return 0;
}

SEC("raw_tp/irq_handler_entry")
int BPF_PROG(entry_raw, int irq, struct irqaction *action)
{
	irq_entry(BPF_CORE_READ(action, name));
	return 0;
}

SEC("raw_tp/irq_handler_exit")
int BPF_PROG(exit_raw, int irq, struct irqaction *action, int ret)
{
	irq_exit();
	return 0;
}

SEC("tracepoint/irq/irq_handler_entry")
int entry_tp(struct trace_event_raw_irq_handler_entry *ctx)
{
	/* The name is stored in the record; __data_loc gives its offset. */
	irq_entry((void *)ctx + (ctx->__data_loc_name & 0xffff));
	return 0;
}

SEC("tracepoint/irq/irq_handler_exit")
int exit_tp(void *ctx)
{
	irq_exit();
	return 0;
}

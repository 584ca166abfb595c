/*
 * syscount, kernel side: syscalls counted per syscall number (or per
 * process) at syscall exit, where the result is known for -x and -e; with
 * -L the entry is timestamped too. Hooks, cheapest first: the BTF and raw
 * sys_enter/sys_exit tracepoints, then the classic raw_syscalls ones.
 */
#include "vmlinux.h"
#include "loupe.bpf.h"
#include "syscount.h"

const volatile bool latency = false;
const volatile bool by_process = false;
const volatile __s32 only_errno = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} entered_at SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct syscount_value);
} counts SEC(".maps");

static const struct syscount_value empty_value;

static __always_inline void sys_enter(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 ts;

	if (!filter_current_ok())
		return;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&entered_at, &tid, &ts, BPF_ANY);
}

static __always_inline void sys_exit(long nr, long ret)
{
	__u64 id = bpf_get_current_pid_tgid(), delta = 0, *tsp;
	struct syscount_value *v;
	__u32 tid = (__u32)id, key;

	if (nr < 0)
		return;
	if (latency) {
		/* Entry already passed the filters. */
		tsp = bpf_map_lookup_elem(&entered_at, &tid);
		if (!tsp)
			return;
		delta = bpf_ktime_get_ns() - *tsp;
		bpf_map_delete_elem(&entered_at, &tid);
	} else if (!filter_current_ok()) {
		return;
	}
	if (filter.failed_only && ret >= 0)
		return;
	if (only_errno && ret != -only_errno)
		return;
	key = by_process ? id >> 32 : (__u32)nr;
	v = bpf_map_lookup_elem(&counts, &key);
	if (!v) {
		bpf_map_update_elem(&counts, &key, &empty_value, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&counts, &key);
		if (!v)
			return;
		if (by_process) {
			bpf_get_current_comm(v->comm, sizeof(v->comm));
			v->cgroup_id = bpf_get_current_cgroup_id();
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	if (latency)
		__sync_fetch_and_add(&v->total_ns, delta);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(enter_btf, struct pt_regs *regs, long id)
{
	sys_enter();
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(exit_btf, struct pt_regs *regs, long ret)
{
	sys_exit(regs_syscall_nr_btf(regs), ret);
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(enter_raw, struct pt_regs *regs, long id)
{
	sys_enter();
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(exit_raw, struct pt_regs *regs, long ret)
{
	sys_exit(regs_syscall_nr(regs), ret);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	sys_enter();
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	sys_exit(ctx->id, ctx->ret);
	return 0;
}

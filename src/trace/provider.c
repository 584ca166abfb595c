/*
 * Every probe kind as one row: its names, how its attach points expand,
 * the BPF program type it loads as, how it attaches and how `-l` lists
 * it. Adding a kind is adding a row here, plus whatever new method a
 * stage needs for it.
 */
#include <string.h>
#include <linux/bpf.h>
#include "provider.h"

/*
 * Sorted by canonical name: `-l` without a provider lists the
 * providers it covers in this order, as bpftrace does.
 */
static const struct probe_provider providers[] = {
	{ { "BEGIN" }, PK_BEGIN, EXPAND_SPECIAL,
	  BPF_PROG_TYPE_RAW_TRACEPOINT, 0, ATTACH_TEST_RUN, LIST_NONE },
	{ { "END" }, PK_END, EXPAND_SPECIAL,
	  BPF_PROG_TYPE_RAW_TRACEPOINT, 0, ATTACH_TEST_RUN, LIST_NONE },
	{ { "hardware", "h" }, PK_HARDWARE, EXPAND_NONE,
	  BPF_PROG_TYPE_PERF_EVENT, 0, ATTACH_PERF_EACH_CPU, LIST_HARDWARE,
	  true },
	{ { "interval", "i" }, PK_INTERVAL, EXPAND_TIMER,
	  BPF_PROG_TYPE_PERF_EVENT, 0, ATTACH_PERF_ONE_CPU, LIST_NONE },
	{ { "kfunc", "f", "fentry" }, PK_FENTRY, EXPAND_KERNEL_FUNC,
	  BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, ATTACH_TRACING,
	  LIST_KFUNCS, true },
	{ { "kprobe", "k" }, PK_KPROBE, EXPAND_KERNEL_FUNC,
	  BPF_PROG_TYPE_KPROBE, 0, ATTACH_KPROBE, LIST_KPROBES, true },
	{ { "kretfunc", "fr", "fexit" }, PK_FEXIT, EXPAND_KERNEL_FUNC,
	  BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, ATTACH_TRACING,
	  LIST_KFUNCS },
	{ { "kretprobe", "kr" }, PK_KRETPROBE, EXPAND_KERNEL_FUNC,
	  BPF_PROG_TYPE_KPROBE, 0, ATTACH_KPROBE, LIST_KPROBES },
	{ { "profile", "p" }, PK_PROFILE, EXPAND_TIMER,
	  BPF_PROG_TYPE_PERF_EVENT, 0, ATTACH_PERF_EACH_CPU, LIST_NONE },
	{ { "rawtracepoint", "rt" }, PK_RAWTP, EXPAND_RAWTP,
	  BPF_PROG_TYPE_RAW_TRACEPOINT, 0, ATTACH_RAW_TP, LIST_RAWTPS },
	{ { "software", "s" }, PK_SOFTWARE, EXPAND_SOFTWARE,
	  BPF_PROG_TYPE_PERF_EVENT, 0, ATTACH_PERF_EACH_CPU, LIST_SOFTWARE,
	  true },
	{ { "tp_btf" }, PK_TPBTF, EXPAND_RAWTP, BPF_PROG_TYPE_TRACING,
	  BPF_TRACE_RAW_TP, ATTACH_TRACING, LIST_RAWTPS },
	{ { "tracepoint", "t" }, PK_TRACEPOINT, EXPAND_TRACEPOINT,
	  BPF_PROG_TYPE_TRACEPOINT, 0, ATTACH_TRACEPOINT, LIST_TRACEPOINTS,
	  true },
	{ { "uprobe", "u" }, PK_UPROBE, EXPAND_UPROBE,
	  BPF_PROG_TYPE_KPROBE, 0, ATTACH_UPROBE, LIST_UPROBES },
	{ { "uretprobe", "ur" }, PK_URETPROBE, EXPAND_UPROBE,
	  BPF_PROG_TYPE_KPROBE, 0, ATTACH_UPROBE, LIST_UPROBES },
	{ { "usdt", "U" }, PK_USDT, EXPAND_USDT,
	  BPF_PROG_TYPE_KPROBE, 0, ATTACH_UPROBE, LIST_USDT },
};

#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

const struct probe_provider *provider_find(const char *name)
{
	for (size_t i = 0; i < NPROVIDERS; i++)
		for (int j = 0; j < 4 && providers[i].names[j]; j++)
			if (!strcmp(name, providers[i].names[j]))
				return &providers[i];
	return NULL;
}

const char *provider_alias(size_t n)
{
	for (size_t i = 0; i < NPROVIDERS; i++)
		for (int j = 0; j < 4 && providers[i].names[j]; j++)
			if (!n--)
				return providers[i].names[j];
	return NULL;
}

const struct probe_provider *provider_of(enum probe_kind kind)
{
	for (size_t i = 0; i < NPROVIDERS; i++)
		if (providers[i].kind == kind)
			return &providers[i];
	return NULL;
}

const char *provider_name(enum probe_kind kind)
{
	const struct probe_provider *pv = provider_of(kind);

	return pv ? pv->names[0] : "?";
}

const struct probe_provider *provider_at(size_t i)
{
	return i < NPROVIDERS ? &providers[i] : NULL;
}

/*
 * Probe kinds (provider.c): one table, one row per kind, that expansion
 * (expand.c), listing (tprobe.c, `loupe trace -l`) and loading and
 * attaching (runtime.c) all read. Each row says which of each stage's
 * methods serves the kind; the stages hold the code of their methods.
 */
#ifndef LOUPE_TRACE_PROVIDER_H
#define LOUPE_TRACE_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

enum probe_kind {
	PK_BEGIN,
	PK_END,
	PK_TRACEPOINT,
	PK_RAWTP,
	PK_KPROBE,
	PK_KRETPROBE,
	PK_FENTRY,
	PK_FEXIT,
	PK_UPROBE,
	PK_URETPROBE,
	PK_USDT,
	PK_INTERVAL,
	PK_PROFILE,
	PK_SOFTWARE,
	PK_HARDWARE,	/* listed only: no program attaches to one yet */
	PK_TPBTF,	/* a raw tracepoint as a BTF-typed tracing program */
};

/* How a kind's attach points become instances (expand.c). */
enum expand_method {
	EXPAND_NONE,		/* not a probe type a program may use */
	EXPAND_SPECIAL,		/* BEGIN, END */
	EXPAND_TRACEPOINT,
	EXPAND_RAWTP,
	EXPAND_KERNEL_FUNC,	/* kprobe, kretprobe, kfunc, kretfunc */
	EXPAND_UPROBE,
	EXPAND_USDT,
	EXPAND_TIMER,		/* interval, profile */
	EXPAND_SOFTWARE,
};

/* How a kind's programs are attached (runtime.c). */
enum attach_method {
	ATTACH_TEST_RUN,	/* BEGIN, END: run once (BPF_PROG_TEST_RUN) */
	ATTACH_TRACEPOINT,	/* perf event of the tracepoint */
	ATTACH_RAW_TP,		/* bpf_raw_tracepoint_open */
	ATTACH_KPROBE,		/* perf event of the kprobe PMU */
	ATTACH_UPROBE,		/* perf event of the uprobe PMU */
	ATTACH_TRACING,		/* fentry/fexit link */
	ATTACH_PERF_ONE_CPU,	/* a software timer on CPU 0 */
	ATTACH_PERF_EACH_CPU,	/* a software event on every CPU */
};

/* How `loupe trace -l` lists a kind's probes (tprobe.c). */
enum list_method {
	LIST_NONE,		/* accepted, nothing to list (BEGIN ...) */
	LIST_TRACEPOINTS,
	LIST_RAWTPS,
	LIST_KFUNCS,
	LIST_KPROBES,
	LIST_UPROBES,
	LIST_USDT,
	LIST_SOFTWARE,
	LIST_HARDWARE,
};

struct probe_provider {
	const char *names[4];	/* bpftrace's canonical name, aliases */
	enum probe_kind kind;
	enum expand_method expand;
	int prog_type;		/* enum bpf_prog_type */
	int attach_type;	/* enum bpf_attach_type at load, 0 if none */
	enum attach_method attach;
	enum list_method list;
	bool listed_by_default;	/* listed by `-l` without a provider */
};

/* The row of a provider's name or alias; NULL if there is none. */
const struct probe_provider *provider_find(const char *name);
/* The n-th name or alias of any provider; NULL past the last. */
const char *provider_alias(size_t n);
/* The row of a probe kind; its canonical name. */
const struct probe_provider *provider_of(enum probe_kind kind);
const char *provider_name(enum probe_kind kind);
/* Row i, in the order `-l` lists providers; NULL past the last. */
const struct probe_provider *provider_at(size_t i);

#endif

/*
 * The agent's built-in metrics as rows of trace programs: the same
 * compiler, loader and map reader serve them and the custom metrics of
 * the config. Each program is written once, as a template: with
 * --by-cgroup or --by-container, the maps of a per-task metric take the
 * task's cgroup id as their first key element, where the text says {CG}
 * (inside a key) or {CGK} (a map without a key), and its families a
 * "cgroup" label first, or "container", "pod" and "namespace" read from
 * the same id (both flags: all four). Many cgroups of one container, and
 * every host cgroup, share a label set: the engine adds up their series.
 *
 * Programs use raw tracepoints, the cheapest hook the trace language has
 * here (no kprobes, no fentry), unless a field only another hook gives
 * is needed; a row may list fallbacks for kernels that refuse its
 * program. They read only arguments and fields Linux 6.1 has too, or
 * fall back where it lacks one. An argument is named (args.prev) where the
 * tracepoint's own prototype names it on both kernels, and is arg0..
 * where either kernel defines the tracepoint from an event class, whose
 * argument names BTF does not keep. Maps that pair a start with an end (by tid,
 * request, socket or CPU) are deleted from at the end; the engine makes
 * every map LRU, so one never fills.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "builtin.h"

struct builtin {
	const char *summary;
	/* the cgroup id of the task a per-task metric counts, or NULL */
	const char *cgroup;
	struct metric_program prog;	/* program: the template */
	/* for kernels that refuse prog.program: templates filling the same
	 * maps, tried in order */
	const char *fallbacks[BUILTIN_MAX_FALLBACKS];
};

#define NS	UNIT_NANOSECONDS

/* The current task's cgroup v2 id. */
#define CG_CURRENT	"cgroup"
/*
 * A socket's cgroup (an accepted socket inherits its listener's): TCP's
 * events mostly run in softirq, in whatever task was current. 6.1 makes
 * tcp_retransmit_skb from an event class: its socket is arg0 there.
 */
#define CG_SOCK		"args.sk->sk_cgrp_data.cgroup->kn->id"
#define CG_SOCK_ARG0	"arg0->sk_cgrp_data.cgroup->kn->id"

static const struct builtin builtins[] = {
	{
		"run-queue latency (runqlat): wakeup or preemption to running",
		"args.next->cgroups->dfl_cgrp->kn->id",
		{ "runqueue",
		  "rawtracepoint:sched_wakeup,rawtracepoint:sched_wakeup_new\n"
		  "{ @queued[arg0->pid] = nsecs; }\n"
		  "rawtracepoint:sched_switch\n"
		  "{\n"
		  "\tif (args.prev->pid &&\n"
		  "\t    (args.preempt || args.prev_state == 0)) {\n"
		  "\t\t@queued[args.prev->pid] = nsecs;\n"
		  "\t}\n"
		  "\t$t = @queued[args.next->pid];\n"
		  "\tif ($t) {\n"
		  "\t\t@runqueue{CGK} = hist(nsecs - $t);\n"
		  "\t\tdelete(@queued[args.next->pid]);\n"
		  "\t}\n"
		  "}\n",
		  { { "@runqueue", "loupe_runqueue_latency_seconds",
		      "Time tasks waited on a run queue before running",
		      {}, 0, NS } }, 1 },
	},
	{
		"block I/O latency (biolatency -D) and bytes, by disk and operation",
		NULL,
		{ "block_io",
		  "rawtracepoint:block_rq_issue\n"
		  "{ @issued[arg0] = nsecs; }\n"
		  "rawtracepoint:block_rq_complete\n"
		  "{\n"
		  "\t$t = @issued[arg0];\n"
		  "\tif ($t) {\n"
		  "\t\t$disk = arg0->q->disk;\n"
		  "\t\t$dev = ($disk->major << 20) | $disk->first_minor;\n"
		  "\t\t/* REQ_OP_* to blk_fill_rwbs()'s letter */\n"
		  "\t\t$op = arg0->cmd_flags & 0xff;\n"
		  "\t\t$c = $op == 0 ? 82 : $op == 1 ? 87 : $op == 2 ? 70 :\n"
		  "\t\t     ($op == 3 || $op == 5) ? 68 : 78;\n"
		  "\t\t@block_io[$dev, $c] = hist(nsecs - $t);\n"
		  "\t\t@block_bytes[$dev, $c] = sum(arg2);\n"
		  "\t\tdelete(@issued[arg0]);\n"
		  "\t}\n"
		  "}\n",
		  { { "@block_io", "loupe_block_io_latency_seconds",
		      "Time from a block request's issue to the driver to its completion",
		      { { "device", LABEL_DISK }, { "op", LABEL_BLOCK_OP } },
		      2, NS },
		    { "@block_bytes", "loupe_block_io_bytes_total",
		      "Bytes of completed block requests",
		      { { "device", LABEL_DISK }, { "op", LABEL_BLOCK_OP } },
		      2, UNIT_BYTES } }, 2 },
	},
	{
		"system calls and failed system calls (syscount), by call and errno",
		CG_CURRENT,
		{ "syscalls",
		  "rawtracepoint:sys_exit\n"
		  "{\n"
		  "\t$nr = (int64)args.regs->orig_ax;\n"
		  "\t@syscalls[{CG}$nr] = count();\n"
		  "\tif (args.ret < 0 && args.ret >= -4095) {\n"
		  "\t\t@syscall_errors[{CG}$nr, -args.ret] = count();\n"
		  "\t}\n"
		  "}\n",
		  { { "@syscalls", "loupe_syscalls_total",
		      "System calls that returned",
		      { { "syscall", LABEL_SYSCALL } }, 1, UNIT_NONE },
		    { "@syscall_errors", "loupe_syscall_errors_total",
		      "System calls that returned an error",
		      { { "syscall", LABEL_SYSCALL },
			{ "errno", LABEL_ERRNO } }, 2, UNIT_NONE } }, 2 },
	},
	{
		"TCP active and passive opens, connect latency (tcpconnlat)",
		CG_SOCK,
		{ "tcp",
		  "rawtracepoint:inet_sock_set_state\n"
		  "/args.sk->sk_protocol == 6/\n"
		  "{\n"
		  "\t/* 1 ESTABLISHED, 2 SYN_SENT, 3 SYN_RECV */\n"
		  "\tif (args.newstate == 2) {\n"
		  "\t\t@tcp_active{CGK} = count();\n"
		  "\t\t@connecting[args.sk] = nsecs;\n"
		  "\t} else if (args.oldstate == 3 && args.newstate == 1) {\n"
		  "\t\t@tcp_passive{CGK} = count();\n"
		  "\t} else if (args.oldstate == 2) {\n"
		  "\t\t$t = @connecting[args.sk];\n"
		  "\t\tif ($t && args.newstate == 1) {\n"
		  "\t\t\t@tcp_connect{CGK} = hist(nsecs - $t);\n"
		  "\t\t}\n"
		  "\t\tdelete(@connecting[args.sk]);\n"
		  "\t}\n"
		  "}\n",
		  { { "@tcp_active", "loupe_tcp_active_opens_total",
		      "TCP connections this host opened (connect: SYN sent)",
		      {}, 0, UNIT_NONE },
		    { "@tcp_passive", "loupe_tcp_passive_opens_total",
		      "TCP connections this host accepted (handshake completed)",
		      {}, 0, UNIT_NONE },
		    { "@tcp_connect", "loupe_tcp_connect_latency_seconds",
		      "Time from a connect's SYN to the connection established",
		      {}, 0, NS } }, 3 },
	},
	{
		"TCP retransmitted segments (tcpretrans)",
		CG_SOCK_ARG0,
		{ "tcp_retransmits",
		  "rawtracepoint:tcp_retransmit_skb\n"
		  "{ @tcp_retransmits{CGK} = count(); }\n",
		  { { "@tcp_retransmits", "loupe_tcp_retransmits_total",
		      "TCP segments retransmitted",
		      {}, 0, UNIT_NONE } }, 1 },
	},
	{
		"page-cache misses: pages added to the page cache (cachestat)",
		CG_CURRENT,
		{ "page_cache",
		  "tracepoint:filemap:mm_filemap_add_to_page_cache\n"
		  "{ @page_cache_adds{CGK} = sum(1 << args.order); }\n",
		  { { "@page_cache_adds", "loupe_page_cache_adds_total",
		      "Pages added to the page cache: read misses and new pages written",
		      {}, 0, UNIT_NONE } }, 1 },
		/* before the tracepoint had the folio's order (6.1): one per
		 * folio, which is one page unless the file system makes
		 * large folios */
		{ "rawtracepoint:mm_filemap_add_to_page_cache\n"
		  "{ @page_cache_adds{CGK} = count(); }\n" },
	},
	{
		"page-cache accesses, where kfuncs or kprobes exist (cachestat)",
		CG_CURRENT,
		{ "page_cache_accesses",
		  "kfunc:folio_mark_accessed\n"
		  "{ @page_cache_accesses{CGK} = count(); }\n",
		  { { "@page_cache_accesses", "loupe_page_cache_accesses_total",
		      "Page-cache folios marked accessed by reads and writes",
		      {}, 0, UNIT_NONE } }, 1 },
		{ "kprobe:folio_mark_accessed\n"
		  "{ @page_cache_accesses{CGK} = count(); }\n",
		  /* before folios (5.15) */
		  "kprobe:mark_page_accessed\n"
		  "{ @page_cache_accesses{CGK} = count(); }\n" },
	},
	{
		"programs executed (execsnoop)",
		CG_CURRENT,
		{ "execs",
		  "rawtracepoint:sched_process_exec\n"
		  "{ @execs{CGK} = count(); }\n",
		  { { "@execs", "loupe_execs_total",
		      "Successful execs",
		      {}, 0, UNIT_NONE } }, 1 },
	},
	{
		"processes killed by the OOM killer (oomkill)",
		NULL,
		{ "oom_kills",
		  "rawtracepoint:mark_victim\n"
		  "{ @oom_kills = count(); }\n",
		  { { "@oom_kills", "loupe_oom_kills_total",
		      "Processes the OOM killer chose and killed",
		      {}, 0, UNIT_NONE } }, 1 },
	},
	{
		"hard IRQ handler time (hardirqs), by handler name",
		NULL,
		{ "hardirqs",
		  "rawtracepoint:irq_handler_entry\n"
		  "{ @hardirq_start[cpu] = nsecs; }\n"
		  "rawtracepoint:irq_handler_exit\n"
		  "{\n"
		  "\t$t = @hardirq_start[cpu];\n"
		  "\tif ($t) {\n"
		  "\t\t@hardirq[str(args.action->name)] = sum(nsecs - $t);\n"
		  "\t\t@hardirq_start[cpu] = 0;\n"
		  "\t}\n"
		  "}\n",
		  { { "@hardirq", "loupe_hardirq_seconds_total",
		      "Time spent in hard IRQ handlers",
		      { { "irq", LABEL_AUTO } }, 1, NS } }, 1 },
	},
	{
		"soft IRQ time (softirqs), by vector",
		NULL,
		{ "softirqs",
		  "rawtracepoint:softirq_entry\n"
		  "{ @softirq_start[cpu] = nsecs; }\n"
		  "rawtracepoint:softirq_exit\n"
		  "{\n"
		  "\t$t = @softirq_start[cpu];\n"
		  "\tif ($t) {\n"
		  "\t\t@softirq[arg0] = sum(nsecs - $t);\n"
		  "\t\t@softirq_start[cpu] = 0;\n"
		  "\t}\n"
		  "}\n",
		  { { "@softirq", "loupe_softirq_seconds_total",
		      "Time spent in soft IRQ handlers",
		      { { "vector", LABEL_SOFTIRQ } }, 1, NS } }, 1 },
	},
	{
		"processes and threads created (fork, clone)",
		CG_CURRENT,
		{ "tasks",
		  "rawtracepoint:task_newtask\n"
		  "{\n"
		  "\tif (args.clone_flags & 0x10000) {\t/* CLONE_THREAD */\n"
		  "\t\t@threads{CGK} = count();\n"
		  "\t} else {\n"
		  "\t\t@processes{CGK} = count();\n"
		  "\t}\n"
		  "}\n",
		  { { "@processes", "loupe_processes_created_total",
		      "Processes created (fork, clone without CLONE_THREAD)",
		      {}, 0, UNIT_NONE },
		    { "@threads", "loupe_threads_created_total",
		      "Threads created (clone with CLONE_THREAD)",
		      {}, 0, UNIT_NONE } }, 2 },
	},
};

#define NBUILTINS ((int)(sizeof(builtins) / sizeof(builtins[0])))

int builtin_count(void)
{
	return NBUILTINS;
}

const char *builtin_name(int i)
{
	return i >= 0 && i < NBUILTINS ? builtins[i].prog.id : NULL;
}

const char *builtin_summary(int i)
{
	return i >= 0 && i < NBUILTINS ? builtins[i].summary : NULL;
}

bool builtin_per_task(int i)
{
	return i >= 0 && i < NBUILTINS && builtins[i].cgroup;
}

static int find(const char *name, size_t len)
{
	for (int i = 0; i < NBUILTINS; i++)
		if (strlen(builtins[i].prog.id) == len &&
		    !strncmp(builtins[i].prog.id, name, len))
			return i;
	return -1;
}

/*
 * Marks the built-ins of a --metrics list in sel (NULL or "all": every
 * one); -1 with the first unknown name in bad.
 */
static int parse_list(const char *list, bool *sel, char *bad, size_t len)
{
	bool all = !list || !strcmp(list, "all");

	for (int i = 0; i < NBUILTINS; i++)
		sel[i] = all;
	if (all || !strcmp(list, "none"))
		return 0;
	for (const char *p = list;; p++) {
		size_t n = strcspn(p, ",");
		int i = n ? find(p, n) : -1;

		if (i < 0) {
			snprintf(bad, len, "%.*s", (int)n, p);
			return -1;
		}
		sel[i] = true;
		p += n;
		if (!*p)
			return 0;
	}
}

int builtin_check_list(const char *list, char *bad, size_t len)
{
	bool sel[NBUILTINS];

	return parse_list(list, sel, bad, len);
}

void builtin_names(char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < NBUILTINS && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
			      builtins[i].prog.id);
}

/* The template with its placeholders replaced; NULL if out of memory. */
static char *expand(const char *tmpl, const char *cgroup)
{
	static const struct {
		const char *mark, *pre, *post;
	} marks[] = {
		{ "{CGK}", "[", "]" },	/* before {CG}: it starts alike */
		{ "{CG}", "", ", " },
	};
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);

	if (!f)
		return NULL;
	while (*tmpl) {
		size_t i, n;

		for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
			n = strlen(marks[i].mark);
			if (!strncmp(tmpl, marks[i].mark, n))
				break;
		}
		if (i == sizeof(marks) / sizeof(marks[0])) {
			fputc(*tmpl++, f);
			continue;
		}
		if (cgroup)
			fprintf(f, "%s%s%s", marks[i].pre, cgroup,
				marks[i].post);
		tmpl += n;
	}
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}

/*
 * The labels a cgroup id key element gives with these BUILTIN_BY_* flags:
 * one element, read by each label in turn.
 */
static int by_labels(unsigned int by, struct metric_label *l)
{
	int n = 0;

	if (by & BUILTIN_BY_CGROUP)
		l[n++] = (struct metric_label){ "cgroup", LABEL_CGROUP };
	if (by & BUILTIN_BY_CONTAINER) {
		l[n] = (struct metric_label){ "container", LABEL_CONTAINER,
					      n > 0 };
		n++;
		l[n++] = (struct metric_label){ "pod", LABEL_POD, true };
		l[n++] = (struct metric_label){ "namespace", LABEL_NAMESPACE,
						true };
	}
	return n;
}

/* Row b with program text tmpl as a metric program, broken down by. */
static int instantiate(const struct builtin *b, const char *tmpl,
		       unsigned int by, struct metric_program *p)
{
	const char *cg = by ? b->cgroup : NULL;
	struct metric_label first[4];
	int nfirst = by_labels(by, first);

	*p = b->prog;
	p->program = expand(tmpl, cg);
	if (!p->program)
		return -1;
	if (!cg)
		return 0;
	for (int e = 0; e < p->nexports; e++) {
		struct metric_export *x = &p->exports[e];

		memmove(&x->labels[nfirst], &x->labels[0],
			sizeof(x->labels[0]) * x->nlabels);
		memcpy(x->labels, first, sizeof(first[0]) * nfirst);
		x->nlabels += nfirst;
	}
	return 0;
}

struct metric_program *builtin_select(const char *list, unsigned int by,
				      int *n)
{
	struct metric_program *progs;
	bool sel[NBUILTINS];
	char bad[64];

	*n = 0;
	if (parse_list(list, sel, bad, sizeof(bad)))
		return NULL;
	progs = calloc(NBUILTINS, sizeof(*progs));
	if (!progs)
		return NULL;
	for (int i = 0; i < NBUILTINS; i++) {
		if (!sel[i])
			continue;
		if (instantiate(&builtins[i], builtins[i].prog.program, by,
				&progs[*n])) {
			builtin_free(progs, *n);
			*n = 0;
			return NULL;
		}
		(*n)++;
	}
	if (!*n) {
		free(progs);
		return NULL;
	}
	return progs;
}

int builtin_fallback(const struct metric_program *p, int k, unsigned int by,
		     struct metric_program *out)
{
	int i = find(p->id, strlen(p->id));

	if (i < 0 || k < 0 || k >= BUILTIN_MAX_FALLBACKS ||
	    !builtins[i].fallbacks[k])
		return 0;
	return instantiate(&builtins[i], builtins[i].fallbacks[k], by, out) ?
	       -1 : 1;
}

void builtin_free(struct metric_program *progs, int n)
{
	for (int i = 0; i < n; i++)
		free((char *)progs[i].program);
	free(progs);
}

/*
 * What the program assigns to the export's map: "@m[...] = f(" or
 * "@m = f(", the aggregation f making the type.
 */
const char *builtin_family_type(const struct metric_program *p,
				const struct metric_export *e)
{
	size_t len = strlen(e->map);

	for (const char *s = strstr(p->program, e->map); s;
	     s = strstr(s + 1, e->map)) {
		const char *q = s + len;
		int depth = 0;

		if (*q == '_' || (*q >= 'a' && *q <= 'z') ||
		    (*q >= '0' && *q <= '9'))
			continue;	/* a longer name */
		do {
			depth += *q == '[';
			depth -= *q == ']';
			q++;
		} while (depth > 0 && *q);
		q += strspn(q, " \t");
		if (q[0] != '=' || q[1] == '=')
			continue;
		q += 1 + strspn(q + 1, " \t");
		if (!strncmp(q, "hist(", 5) || !strncmp(q, "lhist(", 6))
			return "histogram";
		if (!strncmp(q, "count(", 6) || !strncmp(q, "sum(", 4))
			return "counter";
		return "gauge";
	}
	return "gauge";
}

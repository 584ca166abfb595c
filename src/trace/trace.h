/*
 * A compiled trace program: its probes expanded to one BPF program per
 * attach point, its maps, printf formats and other user-space actions,
 * and the stages that build, load, attach and run it.
 */
#ifndef LOUPE_TRACE_TRACE_H
#define LOUPE_TRACE_TRACE_H

#include <stdbool.h>
#include <stdio.h>
#include "ast.h"
#include "provider.h"
#include "tprint.h"
#include "tprobe.h"
#include "ttype.h"

struct bpf_insn;
struct btf;
struct ir_func;
struct session;

/* A typed function argument of a raw tracepoint or kernel function. */
struct trace_arg {
	char name[64];
	struct ttype type;
};

#define TRACE_MAX_ARGS 12
#define TRACE_MAX_INSTS 1024	/* BPF programs one trace program may load */

/* Where a USDT argument is, from its note's "N@OPERAND" text. */
enum usdt_arg_kind {
	UA_CONST,	/* $imm */
	UA_REG,		/* %reg */
	UA_MEM,		/* disp(%reg): user memory */
};

struct usdt_arg {
	enum usdt_arg_kind kind;
	int size;		/* bytes: 1, 2, 4 or 8 */
	bool is_signed;
	int reg_off;		/* offset of the register in struct pt_regs */
	long long value;	/* UA_CONST: the value; UA_MEM: displacement */
};

/* One attach point of a probe: one BPF program. */
struct trace_inst {
	struct ast_node *probe;		/* the AST_PROBE it belongs to */
	struct ast_node *attach;	/* the AST_ATTACH it came from */
	enum probe_kind kind;
	char *name;		/* canonical, e.g. "tracepoint:sched:sched_switch" */
	char *target;		/* tracepoint category, binary path */
	char *func;		/* tracepoint/function/raw tracepoint name */
	struct tp_format tp;	/* PK_TRACEPOINT */
	struct trace_arg args[TRACE_MAX_ARGS];	/* PK_RAWTP, PK_FENTRY */
	int nargs;
	struct ttype ret_type;	/* PK_FEXIT */
	unsigned long long period;	/* PK_INTERVAL: ns; PK_PROFILE: Hz */
	unsigned long offset;	/* uprobes: file offset */
	unsigned long semaphore;	/* usdt: file offset of it, or 0 */
	int sw_config;		/* PK_SOFTWARE: PERF_COUNT_SW_* */
	int btf_func_id;	/* PK_FENTRY/PK_FEXIT: the function in BTF */
	struct usdt_arg uargs[TRACE_MAX_ARGS];	/* usdt */
	int nuargs;
	struct ir_func *ir;
	struct bpf_insn *insns;
	int ninsns;
	int *lines;
	int prog_fd;
	int *fds;		/* perf events to close */
	int nfds;
	int *links;		/* BPF links (and raw tracepoints) to close */
	int nlinks;
};

struct trace_printf {
	char *fmt;
	struct ttype args;	/* TT_TUPLE */
	struct src_loc loc;
};

/* A variable of one probe: int values live in a register, others on the
 * stack. */
struct trace_var {
	char *name;
	struct ttype type;
	bool assigned;
	int reg;
	int off;
};

#define TRACE_MAX_VARS 64
#define TRACE_MAX_STACK_MAPS 8
/* The per-CPU scratch map's value: objects at offsets BASE.. in it. */
#define TRACE_SCRATCH_BASE	8
#define TRACE_SCRATCH_SIZE	16384

struct trace_prog {
	struct src_file src;
	struct ast_node *ast;
	FILE *err;

	struct trace_inst *insts;
	int ninsts;
	struct trace_map *maps;
	int nmaps;
	struct trace_printf *printfs;
	int nprintfs;
	char **time_fmts;
	int ntime_fmts;
	struct ttype *print_vals;
	int nprint_vals;

	/* per-probe state during sema and lowering */
	struct trace_var vars[TRACE_MAX_VARS];
	int nvars;
	bool second_pass;	/* maps' types are all known */
	bool uses_kstack, uses_ustack;	/* at the full depth */
	bool uses_ucopy;	/* ustack(dwarf/auto): copies to walk */
	/* where a copy ends: task_struct.mm, mm_struct.start_stack */
	unsigned int ucopy_mm_off, ucopy_top_off;
	struct trace_stack_map stack_maps[TRACE_MAX_STACK_MAPS];
	int nstack_maps;

	int ringbuf_fd;
	int lost_fd;
	int zero_fd;		/* one all-zero value as big as the biggest */
	int scratch_fd;		/* per-CPU objects past the stack (lower.c) */
	int kstack_fd;
	int ustack_fd;
	struct btf *btf;	/* vmlinux BTF, loaded on first need */
	struct btf *btf_base;	/* with script structs: btf is split off it */
	void **arena;		/* sema_alloc()'d blocks */
	int narena;

	/* from the command line */
	int target_pid;		/* -p, or -c's child: $target/cpid */
	/*
	 * --cgroup/--container: probes fire only for tasks in this cgroup v2
	 * directory or below (checked in the kernel), and uprobe paths are
	 * resolved in the root of root_pid, one of its processes.
	 */
	const char *cgroup_dir;
	int root_pid;
	int cgroup_fd;		/* its BPF_MAP_TYPE_CGROUP_ARRAY */
	bool unsafe;		/* --unsafe: signal(), system()... */
	bool no_demangle;	/* --no-demangle: names as in the symtab */
	enum trace_unwind unwind;	/* --unwind: ustack's default */
	bool inline_frames;	/* --inline: inlined functions as frames */
	int fp_pids_fd;		/* --unwind auto: pid -> 1 if fp */
	char **positional;	/* $1.. */
	int npositional;
	int max_insts;		/* 0: TRACE_MAX_INSTS */
	unsigned long ringbuf_size;	/* --buffer-size; 0: 512 KiB */
	/*
	 * The agent's: maps are LRU hashes (of trace_map.entries keys), so
	 * keys from a label explosion evict old ones instead of filling
	 * the map.
	 */
	bool lru_maps;
	unsigned long long start_ns;	/* CLOCK_MONOTONIC at compile: elapsed */
};

/* expand.c: attach points to instances; sema.c: types (both passes). */
int expand_probes(struct trace_prog *p);
int sema_check(struct trace_prog *p, struct trace_inst *inst);
int sema_finish(struct trace_prog *p);
int sema_define_structs(struct trace_prog *p);
void sema_type_free(struct ttype *t);

/* lower.c: typed AST of one instance -> IR. */
int lower_inst(struct trace_prog *p, struct trace_inst *inst);

/* runtime.c */
enum trace_dump {
	TRACE_DUMP_NONE,
	TRACE_DUMP_AST,
	TRACE_DUMP_IR,
	TRACE_DUMP_BPF,
};

struct trace_run_opts {
	int child;		/* -c's command: ends the run when it exits */
	void (*on_attached)(void *ctx);	/* e.g. let -c's command go */
	void *ctx;
};

/* 0, or an exit status (2: the program is wrong, 1: the system). */
/* prog.c */
void trace_prog_init(struct trace_prog *p);
int trace_check(struct trace_prog *p);
int trace_lower(struct trace_prog *p, FILE *dump_ir, FILE *dump_bpf);
void trace_prog_free(struct trace_prog *p);
int trace_compile(struct trace_prog *p, enum trace_dump dump);
/* After trace_check(): creates the maps, lowers and emits (no dumps). */
int trace_build(struct trace_prog *p);
/*
 * The per-CPU scratch map for objects past the stack, created on the
 * first need once the other maps exist; -1 if there is none.
 */
int trace_scratch_map(struct trace_prog *p);
int trace_load(struct trace_prog *p);
/*
 * Attaches every loaded instance, without a session: the programs run
 * until trace_detach() (or the process ends). 0, or EXIT_RUNTIME after
 * the reason on p->err, with whatever was attached detached again.
 */
int trace_attach(struct trace_prog *p);
void trace_detach(struct trace_prog *p);
/* Attaches, runs BEGIN, the session's loop, END; prints the maps. */
int trace_run(struct trace_prog *p, struct session *s,
	      const struct trace_run_opts *ro);

#endif

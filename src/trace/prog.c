/*
 * A trace program from text to BPF instructions, without the kernel's
 * help beyond looking things up: parse, expand and type (trace_check),
 * then lower and emit every instance (trace_lower). The runtime creates
 * maps between the two; the fuzz target runs both without any.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/btf.h>
#include "ir.h"
#include "log.h"
#include "out.h"
#include "trace.h"

void trace_prog_init(struct trace_prog *p)
{
	memset(p, 0, sizeof(*p));
	p->ringbuf_fd = p->lost_fd = p->kstack_fd = p->ustack_fd = -1;
	p->zero_fd = p->cgroup_fd = p->scratch_fd = p->fp_pids_fd = -1;
}

/* Parses and types the program; 0, or EXIT_USAGE with the error said. */
int trace_check(struct trace_prog *p)
{
	p->start_ns = out_mono_ns();
	p->ast = ast_parse(&p->src, p->err);
	if (!p->ast)
		return EXIT_USAGE;
	if (sema_define_structs(p) || expand_probes(p))
		return EXIT_USAGE;
	p->second_pass = false;
	for (int i = 0; i < p->ninsts; i++)
		if (sema_check(p, &p->insts[i]))
			return EXIT_USAGE;
	p->second_pass = true;
	for (int i = 0; i < p->ninsts; i++)
		if (sema_check(p, &p->insts[i]))
			return EXIT_USAGE;
	if (sema_finish(p))
		return EXIT_USAGE;
	/* printfs and other actions were collected by the last pass;
	 * lowering checks each instance again so numbering restarts */
	for (int i = 0; i < p->nprintfs; i++) {
		free(p->printfs[i].fmt);
		sema_type_free(&p->printfs[i].args);
	}
	p->nprintfs = 0;
	for (int i = 0; i < p->ntime_fmts; i++)
		free(p->time_fmts[i]);
	p->ntime_fmts = 0;
	for (int i = 0; i < p->nprint_vals; i++)
		sema_type_free(&p->print_vals[i]);
	p->nprint_vals = 0;
	return 0;
}

/* Lowers and emits every instance, optionally dumping IR and BPF. */
int trace_lower(struct trace_prog *p, FILE *dump_ir, FILE *dump_bpf)
{
	char err[256];

	for (int i = 0; i < p->ninsts; i++) {
		struct trace_inst *inst = &p->insts[i];

		if (sema_check(p, inst) || lower_inst(p, inst))
			return EXIT_USAGE;
		if (ir_emit(inst->ir, &inst->insns, &inst->ninsns,
			    &inst->lines, err, sizeof(err))) {
			diag_error(p->err, &p->src, inst->probe->loc,
				   "%s: %s", inst->name, err);
			return EXIT_USAGE;
		}
		if (dump_ir) {
			ir_dump_src(dump_ir, inst->ir, p->src.text);
		}
		if (dump_bpf) {
			fprintf(dump_bpf, "%s:\n", inst->name);
			ir_dump_bpf(dump_bpf, inst->insns, inst->ninsns,
				    inst->lines, p->src.text);
		}
	}
	return 0;
	return 0;
}

void trace_prog_free(struct trace_prog *p)
{
	for (int i = 0; i < p->ninsts; i++) {
		struct trace_inst *inst = &p->insts[i];

		for (int k = 0; k < inst->nlinks; k++)
			close(inst->links[k]);
		free(inst->links);
		for (int k = 0; k < inst->nfds; k++)
			close(inst->fds[k]);
		free(inst->fds);
		if (inst->prog_fd >= 0)
			close(inst->prog_fd);
		free(inst->name);
		free(inst->target);
		free(inst->func);
		tp_format_free(&inst->tp);
		if (inst->ir)
			ir_func_free(inst->ir);
		free(inst->insns);
		free(inst->lines);
	}
	free(p->insts);
	for (int i = 0; i < p->nmaps; i++) {
		if (p->maps[i].fd >= 0)
			close(p->maps[i].fd);
		free(p->maps[i].name);
		sema_type_free(&p->maps[i].key);
		sema_type_free(&p->maps[i].value);
	}
	free(p->maps);
	for (int i = 0; i < p->nprintfs; i++) {
		free(p->printfs[i].fmt);
		sema_type_free(&p->printfs[i].args);
	}
	free(p->printfs);
	for (int i = 0; i < p->ntime_fmts; i++)
		free(p->time_fmts[i]);
	free(p->time_fmts);
	for (int i = 0; i < p->nprint_vals; i++)
		sema_type_free(&p->print_vals[i]);
	free(p->print_vals);
	for (int i = 0; i < p->narena; i++)
		free(p->arena[i]);
	free(p->arena);
	{
		int fds[] = { p->ringbuf_fd, p->lost_fd, p->zero_fd,
			      p->kstack_fd, p->ustack_fd, p->cgroup_fd,
			      p->scratch_fd, p->fp_pids_fd };

		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	for (int i = 0; i < p->nstack_maps; i++)
		if (p->stack_maps[i].fd >= 0)
			close(p->stack_maps[i].fd);
	btf__free(p->btf);
	btf__free(p->btf_base);
	if (p->ast)
		ast_free(p->ast);
	trace_prog_init(p);
}

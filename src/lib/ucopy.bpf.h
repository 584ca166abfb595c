/*
 * The copy a walk by CFI in user space starts from (--unwind dwarf, see
 * unwind.h): the current task's user registers and the top of its user
 * stack. One place for every BPF object that sends such copies (the
 * stack tools through stacks.bpf.h, the agent's profiler).
 */
#ifndef LOUPE_UCOPY_BPF_H
#define LOUPE_UCOPY_BPF_H

#include "stacks.h"

/*
 * Fills regs (the DWARF x86-64 numbering, STACKS_NREGS of them) from the
 * registers the task entered the kernel with, and copies at most
 * STACKS_COPY_MAX bytes from its stack pointer up (not past the main
 * thread's stack top) into stack; returns the bytes copied. A stack page
 * that cannot be read here (not present: no faults in this context)
 * leaves the rest of the page the stack pointer is in.
 */
static __always_inline __u32 ucopy_user(struct task_struct *t, __u64 *regs,
					__u8 *stack)
{
	struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(t);
	__u64 sp, top, size;

	regs[0] = BPF_CORE_READ(r, ax);
	regs[1] = BPF_CORE_READ(r, dx);
	regs[2] = BPF_CORE_READ(r, cx);
	regs[3] = BPF_CORE_READ(r, bx);
	regs[4] = BPF_CORE_READ(r, si);
	regs[5] = BPF_CORE_READ(r, di);
	regs[6] = BPF_CORE_READ(r, bp);
	regs[7] = sp = BPF_CORE_READ(r, sp);
	regs[8] = BPF_CORE_READ(r, r8);
	regs[9] = BPF_CORE_READ(r, r9);
	regs[10] = BPF_CORE_READ(r, r10);
	regs[11] = BPF_CORE_READ(r, r11);
	regs[12] = BPF_CORE_READ(r, r12);
	regs[13] = BPF_CORE_READ(r, r13);
	regs[14] = BPF_CORE_READ(r, r14);
	regs[15] = BPF_CORE_READ(r, r15);
	regs[16] = BPF_CORE_READ(r, ip);
	top = BPF_CORE_READ(t, mm, start_stack);
	size = STACKS_COPY_MAX;
	if (sp < top && top - sp < size)
		size = top - sp;
	if (size && bpf_probe_read_user(stack, size, (void *)sp))
		size = 0;
	if (!size) {
		size = 4096 - (sp & 4095);
		if (size > STACKS_COPY_MAX ||
		    bpf_probe_read_user(stack, size, (void *)sp))
			size = 0;
	}
	return size;
}

#endif

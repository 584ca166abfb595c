/*
 * Addresses in ELF objects and in stack maps: the one place that maps an
 * object's virtual addresses to file offsets and back (its PT_LOAD
 * segments), and that reads a stack's addresses out of a stack map.
 */
#ifndef LOUPE_ADDR_H
#define LOUPE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libelf.h>

/* A PT_LOAD segment. */
struct addr_seg {
	uint64_t offset, filesz, memsz, vaddr;
};

/* The PT_LOAD segments of e, in *segs (freed by the caller); 0 or -errno. */
int addr_elf_segments(Elf *e, struct addr_seg **segs, size_t *n);
/*
 * The file offset of vaddr. in_file: code, which must be in the file;
 * otherwise (a USDT semaphore) it may sit past the file part of its
 * segment, in the zero-filled rest. 0, or -ERANGE if no segment holds it.
 */
int addr_seg_offset(const struct addr_seg *segs, size_t n, uint64_t vaddr,
		    bool in_file, uint64_t *off);
/* The virtual address of a file offset; the offset if no segment has it. */
uint64_t addr_seg_vaddr(const struct addr_seg *segs, size_t n, uint64_t off);
/* addr_seg_offset() on e's segments read for this one address. */
int addr_elf_offset(Elf *e, uint64_t vaddr, bool in_file, uint64_t *off);

#define ADDR_MAX_DEPTH	127	/* the kernel's PERF_MAX_STACK_DEPTH */

/*
 * The addresses of stack id in a stack map whose values hold depth
 * addresses (zeroed past the stack's end): their number, 0 if the id is
 * not in the map.
 */
int addr_stack(int map_fd, uint32_t id, uint64_t *ips, int depth);

/* Addresses gathered from many stacks (to load only their symbols). */
struct addr_list {
	uint64_t *v;
	size_t n, cap;
};

/* Appends stack id's addresses; 0 or -ENOMEM. */
int addr_list_add_stack(struct addr_list *l, int map_fd, uint32_t id,
			int depth);
void addr_list_free(struct addr_list *l);

#endif

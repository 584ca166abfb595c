/*
 * PT_LOAD arithmetic for uprobes, USDT notes and symbolization, and stack
 * map reads for every printer of stacks (see addr.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gelf.h>
#include <bpf/bpf.h>
#include "addr.h"

int addr_elf_segments(Elf *e, struct addr_seg **segs, size_t *n)
{
	size_t nph;
	GElf_Phdr ph;

	*segs = NULL;
	*n = 0;
	if (elf_getphdrnum(e, &nph))
		return -ENOEXEC;
	*segs = calloc(nph ? nph : 1, sizeof(**segs));
	if (!*segs)
		return -ENOMEM;
	for (size_t i = 0; i < nph; i++) {
		if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		(*segs)[(*n)++] = (struct addr_seg){
			.offset = ph.p_offset, .filesz = ph.p_filesz,
			.memsz = ph.p_memsz, .vaddr = ph.p_vaddr,
		};
	}
	return 0;
}

int addr_seg_offset(const struct addr_seg *segs, size_t n, uint64_t vaddr,
		    bool in_file, uint64_t *off)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t len = in_file ? segs[i].filesz : segs[i].memsz;

		if (vaddr >= segs[i].vaddr && vaddr - segs[i].vaddr < len) {
			*off = vaddr - segs[i].vaddr + segs[i].offset;
			return 0;
		}
	}
	return -ERANGE;
}

uint64_t addr_seg_vaddr(const struct addr_seg *segs, size_t n, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		if (off >= segs[i].offset && off - segs[i].offset <
		    segs[i].filesz)
			return off - segs[i].offset + segs[i].vaddr;
	return off;
}

int addr_elf_offset(Elf *e, uint64_t vaddr, bool in_file, uint64_t *off)
{
	struct addr_seg *segs;
	size_t n;
	int err;

	err = addr_elf_segments(e, &segs, &n);
	if (!err)
		err = addr_seg_offset(segs, n, vaddr, in_file, off);
	free(segs);
	return err;
}

int addr_stack(int map_fd, uint32_t id, uint64_t *ips, int depth)
{
	int n = 0;

	memset(ips, 0, depth * sizeof(*ips));
	if (bpf_map_lookup_elem(map_fd, &id, ips))
		return 0;
	while (n < depth && ips[n])
		n++;
	return n;
}

int addr_list_add_stack(struct addr_list *l, int map_fd, uint32_t id,
			int depth)
{
	uint64_t ips[ADDR_MAX_DEPTH], *grown;
	int n;

	if (depth > ADDR_MAX_DEPTH)
		depth = ADDR_MAX_DEPTH;
	n = addr_stack(map_fd, id, ips, depth);

	if (l->n + n > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;

		while (cap < l->n + n)
			cap *= 2;
		grown = realloc(l->v, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		l->v = grown;
		l->cap = cap;
	}
	memcpy(l->v + l->n, ips, n * sizeof(*ips));
	l->n += n;
	return 0;
}

void addr_list_free(struct addr_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

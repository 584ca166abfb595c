/*
 * User half of the in-kernel unwinding prototype (issue 16's design (b),
 * measured against loupe's copy-and-libdw mode by ktab_bench.py):
 *
 *   ktab PID HZ SECONDS
 *
 * compiles the .eh_frame of every object PID maps into ktab.h's rows
 * (libdw's CFI: dwarf_cfi_addrframe over each FDE of .eh_frame_hdr's
 * table, one row per range where the rules change), loads them into a
 * BPF array, samples every CPU at HZ for SECONDS with ktab.bpf.c walking
 * PID's user stacks in the kernel, and prints each counted stack as
 * "stack COUNT path:0xVADDR;..." (leaf first) and one "summary {json}"
 * line: rows, table bytes, build CPU, BPF run time and counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include <dwarf.h>
#include "ktab.h"
#include "ktab.skel.h"

struct table {
	struct ktab_row *v;
	size_t n, cap;
};

struct object {
	char path[PATH_MAX];
	__u32 first, n;		/* rows in the table */
	GElf_Phdr *loads;
	size_t nloads;
};

struct mapping {
	struct ktab_map m;
	int obj;
};

static struct table tab;
static struct object objs[KTAB_MAX_MAPS];
static int nobjs;
static struct mapping maps[KTAB_MAX_MAPS];
static int nmaps;
static unsigned long long unsupported_rows;

static int push(const struct ktab_row *r)
{
	if (tab.n == tab.cap) {
		size_t cap = tab.cap ? tab.cap * 2 : 65536;
		struct ktab_row *v = realloc(tab.v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		tab.v = v;
		tab.cap = cap;
	}
	tab.v[tab.n++] = *r;
	return 0;
}

/* The register-save rule "at CFA + off": off, or false if another. */
static bool cfa_offset(const Dwarf_Op *ops, size_t nops, __s64 *off)
{
	if (!nops || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (nops == 1) {
		*off = 0;
		return true;
	}
	if (nops == 2 && ops[1].atom == DW_OP_plus_uconst) {
		*off = (__s64)ops[1].number;
		return true;
	}
	if (nops == 3 && (ops[1].atom == DW_OP_consts ||
			  ops[1].atom == DW_OP_constu) &&
	    ops[2].atom == DW_OP_plus) {
		*off = (__s64)ops[1].number;
		return true;
	}
	return false;
}

/* The row of a frame state: CFA, where rbp was saved, or why not. */
static void row_of(Dwarf_Frame *fr, struct ktab_row *r)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;
	__s64 off;
	bool sig;

	memset(r, 0, sizeof(*r));
	r->kind = KTAB_ROW_UNSUPPORTED;
	if (dwarf_frame_info(fr, NULL, NULL, &sig) < 0 || sig)
		return;
	/* the return address undefined: the outermost frame (_start) */
	if (!dwarf_frame_register(fr, 16, mem, &ops, &nops) && !nops &&
	    ops == mem) {
		r->kind = KTAB_ROW_END;
		return;
	}
	if (dwarf_frame_cfa(fr, &ops, &nops) || nops != 1)
		return;
	/* libdw gives "register + offset" as DW_OP_bregx reg, off */
	if (ops[0].atom == DW_OP_bregx && ops[0].number == 7)
		r->cfa_reg = KTAB_CFA_RSP;
	else if (ops[0].atom == DW_OP_bregx && ops[0].number == 6)
		r->cfa_reg = KTAB_CFA_RBP;
	else
		return;
	r->cfa_off = (__s32)ops[0].number2;
	if (dwarf_frame_register(fr, 6, mem, &ops, &nops))
		return;
	if (nops) {
		if (!cfa_offset(ops, nops, &off) || off < -32768 || off > 32767)
			return;
		r->rbp_off = off;
	}
	r->kind = KTAB_ROW_OK;
}

static bool same_rule(const struct ktab_row *a, const struct ktab_row *b)
{
	return a->kind == b->kind && a->cfa_reg == b->cfa_reg &&
	       a->cfa_off == b->cfa_off && a->rbp_off == b->rbp_off;
}

static Elf_Scn *section(Elf *e, const char *want, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(e, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(e, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, sh))
			continue;
		name = elf_strptr(e, shstrndx, sh->sh_name);
		if (name && !strcmp(name, want))
			return scn;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * The FDEs' start addresses from .eh_frame_hdr's search table, in the
 * layout every toolchain here writes (datarel sdata4 pairs), sorted.
 */
static __u64 *fde_starts(Elf *e, size_t *n)
{
	GElf_Shdr sh;
	Elf_Scn *scn = section(e, ".eh_frame_hdr", &sh);
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
	const unsigned char *p;
	__u64 *v;
	__u32 count;

	if (!d || d->d_size < 12)
		return NULL;
	p = d->d_buf;
	if (p[0] != 1 || p[2] != DW_EH_PE_udata4 ||
	    p[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
		return NULL;
	memcpy(&count, p + 8, 4);
	if (12 + (size_t)count * 8 > d->d_size)
		return NULL;
	v = malloc((count + 1) * sizeof(*v));
	if (!v)
		return NULL;
	for (__u32 i = 0; i < count; i++) {
		__s32 loc;

		memcpy(&loc, p + 12 + i * 8, 4);
		v[i] = sh.sh_addr + loc;
	}
	qsort(v, count, sizeof(*v), cmp_u64);
	*n = count;
	return v;
}

/* Appends the rows of one object's .eh_frame: 0 or -1. */
static int compile(Elf *e)
{
	Dwarf_CFI *cfi = dwarf_getcfi_elf(e);
	size_t n = 0;
	__u64 *starts = cfi ? fde_starts(e, &n) : NULL;

	if (!starts) {
		if (cfi)
			dwarf_cfi_end(cfi);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		__u64 a = starts[i];
		__u64 next = i + 1 < n ? starts[i + 1] : ~0ULL;
		struct ktab_row r;

		while (a < next) {
			Dwarf_Addr s, end;
			Dwarf_Frame *fr;

			if (dwarf_cfi_addrframe(cfi, a, &fr))
				break;
			row_of(fr, &r);
			dwarf_frame_info(fr, &s, &end, NULL);
			free(fr);
			unsupported_rows += r.kind == KTAB_ROW_UNSUPPORTED;
			r.pc = a;
			if (!tab.n || !same_rule(&tab.v[tab.n - 1], &r) ||
			    tab.v[tab.n - 1].pc > a)
				push(&r);
			if (end <= a)
				break;
			a = end;
		}
		/* a gap between two FDEs (or past the last one) */
		if (a < next || i + 1 == n) {
			r = (struct ktab_row){ .pc = a, .kind = KTAB_ROW_NONE };
			push(&r);
		}
	}
	free(starts);
	dwarf_cfi_end(cfi);
	return 0;
}

static int object_of(int pid, const char *path, __u64 start, __u64 end)
{
	char file[PATH_MAX + 64];
	size_t nph;
	Elf *e;
	int fd, i;

	for (i = 0; i < nobjs; i++)
		if (!strcmp(objs[i].path, path))
			return i;
	if (nobjs == KTAB_MAX_MAPS)
		return -1;
	snprintf(file, sizeof(file), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)start, (unsigned long long)end);
	fd = open(file, O_RDONLY);
	if (fd < 0)
		return -1;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_getphdrnum(e, &nph))
		goto fail;
	i = nobjs;
	snprintf(objs[i].path, sizeof(objs[i].path), "%s", path);
	objs[i].first = tab.n;
	if (compile(e)) {
		tab.n = objs[i].first;
		goto fail;
	}
	objs[i].n = tab.n - objs[i].first;
	objs[i].loads = calloc(nph, sizeof(GElf_Phdr));
	for (size_t k = 0; objs[i].loads && k < nph; k++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, k, &ph) && ph.p_type == PT_LOAD)
			objs[i].loads[objs[i].nloads++] = ph;
	}
	elf_end(e);
	close(fd);
	return nobjs++;
fail:
	if (e)
		elf_end(e);
	close(fd);
	return -1;
}

/* The executable file mappings of pid, with their objects' rows. */
static int read_maps(int pid)
{
	char path[64], line[PATH_MAX + 256], file[PATH_MAX];
	unsigned long long start, end, off;
	char perms[5];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && nmaps < KTAB_MAX_MAPS) {
		struct mapping *m = &maps[nmaps];
		int o;

		if (sscanf(line, "%llx-%llx %4s %llx %*s %*s %4095s", &start,
			   &end, perms, &off, file) != 5 || perms[2] != 'x' ||
		    file[0] != '/')
			continue;
		o = object_of(pid, file, start, end);
		if (o < 0)
			continue;
		m->obj = o;
		m->m.start = start;
		m->m.end = end;
		m->m.first = objs[o].first;
		m->m.n = objs[o].n;
		for (size_t k = 0; k < objs[o].nloads; k++) {
			const GElf_Phdr *ph = &objs[o].loads[k];

			if (off >= ph->p_offset &&
			    off < ph->p_offset + ph->p_filesz)
				m->m.bias = start - (ph->p_vaddr + off -
						     ph->p_offset);
		}
		nmaps++;
	}
	fclose(f);
	return 0;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static const struct mapping *mapping_at(__u64 pc)
{
	for (int i = 0; i < nmaps; i++)
		if (pc >= maps[i].m.start && pc < maps[i].m.end)
			return &maps[i];
	return NULL;
}

static void print_stacks(int fd)
{
	struct ktab_stack key, next;
	void *prev = NULL;
	__u64 count;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &count))
			continue;
		printf("stack %llu ", (unsigned long long)count);
		for (int i = 0; i < KTAB_DEPTH && key.ips[i]; i++) {
			const struct mapping *m = mapping_at(key.ips[i]);

			if (m)
				printf("%s%s:%#llx", i ? ";" : "",
				       objs[m->obj].path,
				       (unsigned long long)(key.ips[i] -
							    m->m.bias));
			else
				printf("%s?:%#llx", i ? ";" : "",
				       (unsigned long long)key.ips[i]);
		}
		printf("\n");
	}
}

static int by_start(const void *a, const void *b)
{
	const struct mapping *x = a, *y = b;

	return x->m.start < y->m.start ? -1 : x->m.start > y->m.start;
}

int main(int argc, char **argv)
{
	unsigned long long st[KTAB_NSTATS] = { 0 };
	struct bpf_prog_info info = { 0 };
	__u32 info_len = sizeof(info);
	int pid, hz, secs, ncpu, stats_fd, *pfds;
	struct bpf_link **links;
	struct ktab_bpf *skel;
	double t0, build_cpu;
	__u32 *keys;
	int err = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: ktab PID HZ SECONDS\n");
		return 2;
	}
	pid = atoi(argv[1]);
	hz = atoi(argv[2]);
	secs = atoi(argv[3]);
	elf_version(EV_CURRENT);
	t0 = cpu_s();
	if (read_maps(pid) || !nmaps || !tab.n) {
		fprintf(stderr, "ktab: no unwind tables for PID %d\n", pid);
		return 1;
	}
	qsort(maps, nmaps, sizeof(*maps), by_start);
	skel = ktab_bpf__open();
	if (!skel)
		return 1;
	skel->rodata->target_pid = pid;
	skel->rodata->nmaps = nmaps;
	bpf_map__set_max_entries(skel->maps.rows, tab.n);
	if (ktab_bpf__load(skel)) {
		fprintf(stderr, "ktab: load failed\n");
		goto out;
	}
	keys = malloc(tab.n * sizeof(*keys));
	for (__u32 i = 0; keys && i < tab.n; i++)
		keys[i] = i;
	{
		__u32 count = tab.n;

		if (!keys || bpf_map_update_batch(bpf_map__fd(skel->maps.rows),
						  keys, tab.v, &count, NULL)) {
			fprintf(stderr, "ktab: cannot fill the rows\n");
			goto out;
		}
	}
	free(keys);
	for (__u32 i = 0; i < (__u32)nmaps; i++)
		bpf_map_update_elem(bpf_map__fd(skel->maps.maps), &i,
				    &maps[i].m, BPF_ANY);
	build_cpu = cpu_s() - t0;
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	ncpu = libbpf_num_possible_cpus();
	pfds = calloc(ncpu, sizeof(*pfds));
	links = calloc(ncpu, sizeof(*links));
	for (int c = 0; c < ncpu; c++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.size = sizeof(attr),
			.sample_period = 1000000000ULL / hz,
		};

		pfds[c] = syscall(__NR_perf_event_open, &attr, -1, c, -1,
				  PERF_FLAG_FD_CLOEXEC);
		if (pfds[c] >= 0)
			links[c] = bpf_program__attach_perf_event(
				skel->progs.ktab_sample, pfds[c]);
	}
	t0 = cpu_s();
	sleep(secs);
	for (int c = 0; c < ncpu; c++) {
		bpf_link__destroy(links[c]);
		if (pfds[c] >= 0)
			close(pfds[c]);
	}
	for (__u32 k = 0; k < KTAB_NSTATS; k++) {
		__u64 v[ncpu];

		if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &k, v))
			for (int c = 0; c < ncpu; c++)
				st[k] += v[c];
	}
	bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.ktab_sample),
				&info, &info_len);
	print_stacks(bpf_map__fd(skel->maps.counts));
	printf("summary {\"objects\":%d,\"maps\":%d,\"rows\":%zu,"
	       "\"unsupported_rows\":%llu,\"table_bytes\":%zu,"
	       "\"build_cpu_s\":%.4f,\"run_user_cpu_s\":%.4f,"
	       "\"run_time_ns\":%llu,\"run_cnt\":%llu,\"samples\":%llu,"
	       "\"whole\":%llu,\"no_map\":%llu,\"no_row\":%llu,"
	       "\"read_fail\":%llu,\"too_deep\":%llu,\"frames\":%llu}\n",
	       nobjs, nmaps, tab.n, unsupported_rows,
	       tab.n * sizeof(struct ktab_row) +
	       nmaps * sizeof(struct ktab_map), build_cpu, cpu_s() - t0,
	       (unsigned long long)info.run_time_ns,
	       (unsigned long long)info.run_cnt, st[KTAB_SAMPLES],
	       st[KTAB_WHOLE], st[KTAB_NO_MAP], st[KTAB_NO_ROW],
	       st[KTAB_READ_FAIL], st[KTAB_TOO_DEEP], st[KTAB_FRAMES]);
	if (stats_fd >= 0)
		close(stats_fd);
	err = 0;
out:
	ktab_bpf__destroy(skel);
	return err;
}

/*
 * DWARF unwinding of copied user stacks (see unwind.h). One libdw session
 * (Dwfl) per process holds its modules, reported from /proc/PID/maps on
 * the process's first sample and again when its mappings change; every
 * sample of the process is then walked in it, reading memory only from
 * the copy the kernel sent. The least recently used sessions are closed
 * past the unwinder's cap on sessions, or on bytes, so that a system-wide
 * run does not keep every binary of the machine open. What a session
 * holds is what the heap grew by while libdw opened it and walked in it
 * (mallinfo2, whose arenas libdw allocates from): its module list, ELF
 * headers, CFI tables and caches.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <gelf.h>
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include "unwind.h"

/* Functions looked at to tell a frame-pointer build. */
#define UNWIND_FP_PROBES	256
/*
 * Walks measured in each session: the first ones (its CFI is read as
 * addresses first land in a module), then one in this many (mallinfo2
 * walks the free lists: too dear for every sample).
 */
#define UNWIND_MEASURE_FIRST	16
#define UNWIND_MEASURE_EVERY	32

struct unwind_proc {
	int pid;
	Dwfl *dwfl;
	char *maps;		/* the /proc/PID/maps text reported */
	size_t maps_len;
	unsigned long long used;	/* for the LRU */
	size_t bytes;		/* the heap it took, as measured */
	unsigned long walks;
};

/* The sample being walked, read by the libdw callbacks. */
struct unwind_sample {
	int tid;
	const uint64_t *regs;
	int nregs;
	const uint8_t *stack;
	size_t len;
};

struct unwinder {
	struct unwind_proc *procs;
	size_t nprocs, cap;
	size_t max_procs;	/* sessions open at most */
	size_t budget;		/* bytes the sessions may hold, 0: any */
	size_t bytes;		/* what the open sessions hold */
	unsigned long long clock;
	struct unwind_sample cur;
};

/* The sample's thread is the only thread libdw is told of. */
static pid_t unwind_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct unwinder *u = arg;

	(void)dwfl;
	if (*thread_argp)
		return 0;
	*thread_argp = u;
	return u->cur.tid;
}

/* Stack memory from the copy only: the process may have moved on. */
static bool unwind_memory_read(Dwfl *dwfl, Dwarf_Addr addr,
			       Dwarf_Word *result, void *arg)
{
	struct unwinder *u = arg;
	uint64_t sp = u->cur.regs[7];

	(void)dwfl;
	if (addr < sp || addr - sp > u->cur.len ||
	    u->cur.len - (addr - sp) < sizeof(*result))
		return false;
	memcpy(result, u->cur.stack + (addr - sp), sizeof(*result));
	return true;
}

static bool unwind_set_registers(Dwfl_Thread *thread, void *thread_arg)
{
	struct unwinder *u = thread_arg;
	Dwarf_Word regs[17];
	int n = u->cur.nregs < 17 ? u->cur.nregs : 17;

	if (n < 17)
		return false;
	for (int i = 0; i < n; i++)
		regs[i] = u->cur.regs[i];
	dwfl_thread_state_register_pc(thread, regs[16]);
	return dwfl_thread_state_registers(thread, 0, n, regs);
}

static const Dwfl_Thread_Callbacks unwind_thread_cbs = {
	.next_thread = unwind_next_thread,
	.memory_read = unwind_memory_read,
	.set_initial_registers = unwind_set_registers,
};

static char *unwind_read_maps(int pid, size_t *len)
{
	size_t cap = 16384, n = 0;
	char path[64], *buf = NULL, *nb;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (!buf || n == cap) {
			cap = buf ? cap * 2 : cap;
			nb = realloc(buf, cap);
			if (!nb)
				goto fail;
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (!r)
			break;
		n += r;
	}
	close(fd);
	*len = n;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

/* Bytes of heap in use, small blocks and mmap'ed ones. */
static size_t unwind_heap(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* What the heap grew by since before (other threads' frees: nothing). */
static void unwind_charge(struct unwinder *u, struct unwind_proc *p,
			  size_t before)
{
	size_t now = unwind_heap();

	if (now <= before)
		return;
	p->bytes += now - before;
	u->bytes += now - before;
}

static void unwind_proc_close(struct unwinder *u, struct unwind_proc *p)
{
	if (p->dwfl)
		dwfl_end(p->dwfl);
	free(p->maps);
	p->dwfl = NULL;
	p->maps = NULL;
	u->bytes -= p->bytes < u->bytes ? p->bytes : u->bytes;
	p->bytes = 0;
	p->walks = 0;
}

/* The least recently used open session but keep's, or NULL. */
static struct unwind_proc *unwind_lru(struct unwinder *u,
				      const struct unwind_proc *keep)
{
	struct unwind_proc *lru = NULL;

	for (size_t i = 0; i < u->nprocs; i++) {
		struct unwind_proc *p = &u->procs[i];

		if (p != keep && p->dwfl && (!lru || p->used < lru->used))
			lru = p;
	}
	return lru;
}

/* Closes the least recently used sessions until the budget holds. */
static void unwind_keep_budget(struct unwinder *u,
			       const struct unwind_proc *keep)
{
	struct unwind_proc *lru;

	while (u->budget && u->bytes > u->budget &&
	       (lru = unwind_lru(u, keep)))
		unwind_proc_close(u, lru);
}

/* libdw's default search for separate debug files (/usr/lib/debug). */
static char *unwind_debuginfo_path;

static const Dwfl_Callbacks unwind_proc_cbs = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &unwind_debuginfo_path,
};

/* Whether process pid sees another root than ours (a container's). */
static bool unwind_other_root(int pid)
{
	struct stat a, b;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	if (stat(path, &a) || stat("/proc/self/root", &b))
		return false;
	return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

/*
 * The modules of a process in a container: libdw (0.188) opens a
 * mapping's path as we see it, where the container's files are not;
 * reported from its maps with every path under /proc/PID/root, they open
 * (and their .gnu_debuglink files are looked for) inside the container.
 * Its vdso goes unreported (no CFI for a frame in it).
 */
static int unwind_report_in_root(Dwfl *dwfl, int pid, const char *maps,
				 size_t len)
{
	char root[64], *text = NULL;
	size_t tlen = 0;
	FILE *in, *out;
	int err = -1;

	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	out = open_memstream(&text, &tlen);
	if (!out)
		return -1;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(maps + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (maps + i)) + 1 : len - i;
		const char *slash = memchr(maps + i, '/', n);

		if (slash) {
			fwrite(maps + i, 1, slash - (maps + i), out);
			fputs(root, out);
			fwrite(slash, 1, n - (slash - (maps + i)), out);
		} else {
			fwrite(maps + i, 1, n, out);
		}
		i += n;
	}
	if (fclose(out))
		goto out;
	in = fmemopen(text, tlen, "r");
	if (in) {
		err = dwfl_linux_proc_maps_report(dwfl, in);
		fclose(in);
	}
out:
	free(text);
	return err;
}

static Dwfl *unwind_open(struct unwinder *u, int pid, const char *maps,
			 size_t len)
{
	Dwfl *dwfl = dwfl_begin(&unwind_proc_cbs);
	int err;

	if (!dwfl)
		return NULL;
	if (unwind_other_root(pid))
		err = unwind_report_in_root(dwfl, pid, maps, len);
	else
		err = dwfl_linux_proc_report(dwfl, pid);
	if (err ||
	    dwfl_report_end(dwfl, NULL, NULL) ||
	    !dwfl_attach_state(dwfl, NULL, pid, &unwind_thread_cbs, u)) {
		dwfl_end(dwfl);
		return NULL;
	}
	return dwfl;
}

static struct unwind_proc *unwind_find(struct unwinder *u, int pid)
{
	for (size_t i = 0; i < u->nprocs; i++)
		if (u->procs[i].pid == pid)
			return &u->procs[i];
	return NULL;
}

/* A free slot: a new one, or the least recently used process's. */
static struct unwind_proc *unwind_slot(struct unwinder *u)
{
	struct unwind_proc *p, *lru;

	if (u->nprocs < u->max_procs) {
		if (u->nprocs == u->cap) {
			size_t cap = u->cap ? u->cap * 2 : 16;

			p = realloc(u->procs, cap * sizeof(*p));
			if (!p)
				return NULL;
			u->procs = p;
			u->cap = cap;
		}
		p = &u->procs[u->nprocs++];
		memset(p, 0, sizeof(*p));
		return p;
	}
	lru = &u->procs[0];
	for (size_t i = 1; i < u->nprocs; i++)
		if (u->procs[i].used < lru->used)
			lru = &u->procs[i];
	unwind_proc_close(u, lru);
	return lru;
}

int unwind_prepare(struct unwinder *u, int pid)
{
	struct unwind_proc *p = unwind_find(u, pid);
	size_t len, before;
	char *maps = unwind_read_maps(pid, &len);

	if (!maps)
		return errno == ENOENT ? -ESRCH : -errno;
	if (p && p->dwfl && p->maps_len == len && !memcmp(p->maps, maps, len)) {
		free(maps);
		return 0;
	}
	if (!p)
		p = unwind_slot(u);
	if (!p) {
		free(maps);
		return -ENOMEM;
	}
	unwind_proc_close(u, p);
	p->pid = pid;
	p->used = ++u->clock;
	before = unwind_heap();
	p->dwfl = unwind_open(u, pid, maps, len);
	if (!p->dwfl) {
		free(maps);
		return -ESRCH;
	}
	p->maps = maps;
	p->maps_len = len;
	unwind_charge(u, p, before);
	unwind_keep_budget(u, p);
	return 0;
}

struct unwind_walk {
	uint64_t *ips;
	int n, max;
};

static int unwind_on_frame(Dwfl_Frame *state, void *arg)
{
	struct unwind_walk *w = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation) || !pc)
		return DWARF_CB_ABORT;
	w->ips[w->n++] = pc;
	return w->n < w->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

int unwind_stack(struct unwinder *u, int pid, int tid, const uint64_t *regs,
		 int nregs, const void *stack, size_t len, uint64_t *ips,
		 int max)
{
	struct unwind_walk w = { .ips = ips, .max = max };
	struct unwind_proc *p = unwind_find(u, pid);
	size_t before = 0;
	bool measure;

	if (max <= 0 || nregs < 17)
		return 0;
	if (!p || !p->dwfl) {
		if (unwind_prepare(u, pid))
			return 0;
		p = unwind_find(u, pid);
	}
	p->used = ++u->clock;
	u->cur = (struct unwind_sample){ tid, regs, nregs, stack, len };
	measure = u->budget && (p->walks < UNWIND_MEASURE_FIRST ||
				!(p->walks % UNWIND_MEASURE_EVERY));
	p->walks++;
	if (measure)
		before = unwind_heap();
	/* A walk that stops early (no CFI, stack copy too short) still
	 * leaves the frames found until then. */
	dwfl_getthread_frames(p->dwfl, tid, unwind_on_frame, &w);
	if (measure) {
		unwind_charge(u, p, before);
		unwind_keep_budget(u, p);
	}
	if (!w.n && regs[16])
		ips[w.n++] = regs[16];
	return w.n;
}

/* push %rbp; mov %rsp,%rbp, maybe after endbr64. */
static bool unwind_fp_prologue(const unsigned char *p, size_t len)
{
	static const unsigned char endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	static const unsigned char frame[] = { 0x55, 0x48, 0x89, 0xe5 };

	if (len >= 8 && !memcmp(p, endbr64, 4)) {
		p += 4;
		len -= 4;
	}
	return len >= 4 && !memcmp(p, frame, 4);
}

/*
 * Counts the global and weak functions of the symbol table of type
 * sh_type (crt's local helpers never keep a frame) and those of them
 * that open a frame.
 */
static void unwind_count_fp(Elf *e, Elf64_Word sh_type, int *funcs,
			    int *framed)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn)) && *funcs < UNWIND_FP_PROBES) {
		Elf_Data *data;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != sh_type ||
		    !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		n = data ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; i < n && *funcs < UNWIND_FP_PROBES; i++) {
			Elf_Data *text;
			GElf_Shdr tsh;
			Elf_Scn *ts;
			GElf_Sym s;
			const char *name;
			int bind;

			if (!gelf_getsym(data, i, &s))
				break;
			bind = GELF_ST_BIND(s.st_info);
			if (GELF_ST_TYPE(s.st_info) != STT_FUNC ||
			    (bind != STB_GLOBAL && bind != STB_WEAK) ||
			    s.st_shndx == SHN_UNDEF || s.st_size < 8)
				continue;
			name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name || name[0] == '_')
				continue;
			ts = elf_getscn(e, s.st_shndx);
			text = ts ? elf_getdata(ts, NULL) : NULL;
			if (!text || !gelf_getshdr(ts, &tsh) ||
			    tsh.sh_type != SHT_PROGBITS ||
			    s.st_value < tsh.sh_addr ||
			    s.st_value - tsh.sh_addr + 8 > text->d_size)
				continue;
			(*funcs)++;
			*framed += unwind_fp_prologue(
				(unsigned char *)text->d_buf +
				(s.st_value - tsh.sh_addr), 8);
		}
	}
}

bool unwind_exe_has_fp(int pid)
{
	int fd, funcs = 0, framed = 0;
	char path[64];
	Elf *e;

	elf_version(EV_CURRENT);
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (e && elf_kind(e) == ELF_K_ELF) {
		unwind_count_fp(e, SHT_SYMTAB, &funcs, &framed);
		if (!funcs)
			unwind_count_fp(e, SHT_DYNSYM, &funcs, &framed);
	}
	if (e)
		elf_end(e);
	close(fd);
	/*
	 * Nearly all: gcc at -O1 and above leaves a leaf function without
	 * a frame even with -fno-omit-frame-pointer, and the kernel's walk
	 * then loses the leaf's caller.
	 */
	return funcs && framed * 20 >= funcs * 19;
}

void unwind_set_budget(struct unwinder *u, size_t bytes)
{
	u->budget = bytes;
	unwind_keep_budget(u, NULL);
}

void unwind_stats(const struct unwinder *u, size_t *sessions, size_t *bytes)
{
	*sessions = 0;
	for (size_t i = 0; i < u->nprocs; i++)
		*sessions += u->procs[i].dwfl != NULL;
	*bytes = u->bytes;
}

struct unwinder *unwind_new(size_t max_procs)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (u)
		u->max_procs = max_procs ? max_procs : 1;
	return u;
}

void unwind_free(struct unwinder *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nprocs; i++)
		unwind_proc_close(u, &u->procs[i]);
	free(u->procs);
	free(u);
}

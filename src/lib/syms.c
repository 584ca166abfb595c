/*
 * Symbolization for stack traces. Kernel: /proc/kallsyms sorted once,
 * then binary search. User: a process's mappings from /proc/PID/maps; an
 * address becomes a file offset in its mapping, then a virtual address of
 * the ELF object (through its PT_LOAD headers), then the symbol that
 * covers it in .symtab or .dynsym. Files are read through /proc/PID/root
 * so processes in other mount namespaces resolve too.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include "syms.h"

struct sym {
	uint64_t addr;
	uint64_t size;		/* 0: up to the next symbol */
	const char *name;
	const char *module;	/* kernel only: NULL for the core kernel */
};

struct sym_table {
	struct sym *syms;
	size_t n, cap;
	char **strings;		/* owned names, freed with the table */
	size_t nstrings, capstrings;
};

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int table_add(struct sym_table *t, uint64_t addr, uint64_t size,
		     const char *name, const char *module)
{
	char *copy;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct sym *s = realloc(t->syms, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		t->syms = s;
		t->cap = cap;
	}
	if (t->nstrings == t->capstrings) {
		size_t cap = t->capstrings ? t->capstrings * 2 : 1024;
		char **s = realloc(t->strings, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		t->strings = s;
		t->capstrings = cap;
	}
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	t->strings[t->nstrings++] = copy;
	t->syms[t->n++] = (struct sym){ addr, size, copy, module };
	return 0;
}

static void table_free(struct sym_table *t)
{
	for (size_t i = 0; i < t->nstrings; i++)
		free(t->strings[i]);
	free(t->strings);
	free(t->syms);
	memset(t, 0, sizeof(*t));
}

/* The symbol at or below addr, or NULL. */
static const struct sym *table_find(const struct sym_table *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n;
	const struct sym *s;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	s = &t->syms[lo - 1];
	if (s->size && addr >= s->addr + s->size)
		return NULL;
	return s;
}

/* --- kernel ----------------------------------------------------------- */

static struct sym_table ksyms;
static bool ksyms_loaded;

static void ksyms_load(void)
{
	char line[512], name[256], module[128], type;
	const char *last_mod = NULL;
	unsigned long long addr;
	FILE *f;

	ksyms_loaded = true;
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		const char *mod = NULL;
		int n;

		module[0] = '\0';
		n = sscanf(line, "%llx %c %255s [%127[^]]]", &addr, &type,
			   name, module);
		if (n < 3 || !addr)
			continue;
		/* Only code: stacks hold return addresses into text. */
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (module[0] && (!last_mod || strcmp(last_mod, module))) {
			/* A module's symbols come together: one copy each. */
			if (table_add(&ksyms, 0, 0, module, NULL))
				break;
			ksyms.n--;
			last_mod = ksyms.strings[ksyms.nstrings - 1];
		}
		mod = module[0] ? last_mod : NULL;
		if (table_add(&ksyms, addr, 0, name, mod))
			break;
	}
	fclose(f);
	qsort(ksyms.syms, ksyms.n, sizeof(*ksyms.syms), sym_cmp);
}

void syms_kernel_format(uint64_t addr, char *buf, size_t len)
{
	const struct sym *s;

	if (!ksyms_loaded)
		ksyms_load();
	s = table_find(&ksyms, addr);
	if (!s) {
		snprintf(buf, len, "[unknown]");
		return;
	}
	snprintf(buf, len, "%s+0x%llx [%s]", s->name,
		 (unsigned long long)(addr - s->addr),
		 s->module ? s->module : "kernel");
}

/* --- user ------------------------------------------------------------- */

struct load_seg {
	uint64_t offset, vaddr, filesz;
};

/* One ELF file's symbols, shared by every process that maps it. */
struct elf_syms {
	dev_t dev;
	unsigned long ino;
	struct sym_table table;
	struct load_seg *segs;
	size_t nsegs;
	struct elf_syms *next;
};

static struct elf_syms *elf_cache;

struct mapping {
	uint64_t start, end, offset;
	dev_t dev;
	unsigned long ino;
	char *path;
	struct elf_syms *elf;	/* looked up on first use */
	bool tried;
};

struct syms_proc {
	int pid;
	struct mapping *maps;
	size_t n;
};

static void read_symtab(Elf *elf, Elf_Scn *scn, struct sym_table *t)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	GElf_Shdr sh;
	GElf_Sym sym;

	if (!data || !gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return;
	for (size_t i = 1; i < sh.sh_size / sh.sh_entsize; i++) {
		const char *name;
		char plain[256];
		int type;

		if (!gelf_getsym(data, i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!name || !name[0])
			continue;
		/* "malloc@@GLIBC_2.2.5" reads better as "malloc". */
		snprintf(plain, sizeof(plain), "%.*s",
			 (int)strcspn(name, "@"), name);
		if (table_add(t, sym.st_value, sym.st_size, plain, NULL))
			return;
	}
}

static struct elf_syms *elf_syms_load(const char *path, dev_t dev,
				      unsigned long ino)
{
	struct elf_syms *es = calloc(1, sizeof(*es));
	Elf_Scn *scn = NULL;
	size_t nph = 0;
	GElf_Shdr sh;
	GElf_Phdr ph;
	Elf *elf = NULL;
	int fd = -1;

	if (!es)
		return NULL;
	es->dev = dev;
	es->ino = ino;
	es->next = elf_cache;
	elf_cache = es;
	/* A file that cannot be read stays cached, empty: "[unknown]". */
	if (elf_version(EV_CURRENT) == EV_NONE)
		return es;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return es;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nph))
		goto out;
	es->segs = calloc(nph ? nph : 1, sizeof(*es->segs));
	for (size_t i = 0; es->segs && i < nph; i++) {
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD)
			es->segs[es->nsegs++] = (struct load_seg){
				ph.p_offset, ph.p_vaddr, ph.p_filesz };
	}
	while ((scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, &sh) && (sh.sh_type == SHT_SYMTAB ||
					       sh.sh_type == SHT_DYNSYM))
			read_symtab(elf, scn, &es->table);
	}
	qsort(es->table.syms, es->table.n, sizeof(*es->table.syms), sym_cmp);
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return es;
}

static struct elf_syms *elf_syms_get(int pid, const struct mapping *m)
{
	char path[PATH_MAX + 32];

	for (struct elf_syms *es = elf_cache; es; es = es->next)
		if (es->dev == m->dev && es->ino == m->ino)
			return es;
	snprintf(path, sizeof(path), "/proc/%d/root%s", pid, m->path);
	return elf_syms_load(path, m->dev, m->ino);
}

struct syms_proc *syms_proc_open(int pid)
{
	char path[64], line[PATH_MAX + 128];
	struct syms_proc *p;
	FILE *f;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return p;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		unsigned int major, minor;
		unsigned long ino;
		char *file = strchr(line, '/');
		struct mapping *m;

		if (!file || sscanf(line, "%llx-%llx %*s %llx %x:%x %lu",
				    &start, &end, &off, &major, &minor,
				    &ino) != 6)
			continue;
		file[strcspn(file, "\n")] = '\0';
		if (p->n % 64 == 0) {
			m = realloc(p->maps, (p->n + 64) * sizeof(*m));
			if (!m)
				break;
			p->maps = m;
		}
		m = &p->maps[p->n];
		*m = (struct mapping){ start, end, off, makedev(major, minor),
				       ino, strdup(file), NULL, false };
		if (!m->path)
			break;
		p->n++;
	}
	fclose(f);
	return p;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

void syms_proc_format(struct syms_proc *p, uint64_t addr, char *buf,
		      size_t len)
{
	struct mapping *m = NULL;
	const struct sym *s = NULL;
	uint64_t off, vaddr = 0;
	bool have_vaddr = false;

	for (size_t i = 0; p && i < p->n; i++) {
		if (addr >= p->maps[i].start && addr < p->maps[i].end) {
			m = &p->maps[i];
			break;
		}
	}
	if (!m) {
		snprintf(buf, len, "[unknown]");
		return;
	}
	if (!m->tried) {
		m->elf = elf_syms_get(p->pid, m);
		m->tried = true;
	}
	off = addr - m->start + m->offset;
	for (size_t i = 0; m->elf && i < m->elf->nsegs; i++) {
		const struct load_seg *seg = &m->elf->segs[i];

		if (off >= seg->offset && off < seg->offset + seg->filesz) {
			vaddr = off - seg->offset + seg->vaddr;
			have_vaddr = true;
			break;
		}
	}
	if (have_vaddr)
		s = table_find(&m->elf->table, vaddr);
	if (!s) {
		snprintf(buf, len, "[unknown] [%s]", base_name(m->path));
		return;
	}
	snprintf(buf, len, "%s+0x%llx [%s]", s->name,
		 (unsigned long long)(vaddr - s->addr), base_name(m->path));
}

void syms_proc_close(struct syms_proc *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->maps[i].path);
	free(p->maps);
	free(p);
}

void syms_free(void)
{
	while (elf_cache) {
		struct elf_syms *next = elf_cache->next;

		table_free(&elf_cache->table);
		free(elf_cache->segs);
		free(elf_cache);
		elf_cache = next;
	}
	table_free(&ksyms);
	ksyms_loaded = false;
}

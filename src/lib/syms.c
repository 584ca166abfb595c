/*
 * Symbolization for stack traces (see syms.h for the model). Everything a
 * lookup needs is copied out of the kernel's and the processes' files into
 * the cache when first seen, so that frames still resolve once a process
 * has exited or its binary has been deleted.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <libiberty/demangle.h>
#include "addr.h"
#include "out.h"
#include "syms.h"

/* A kernel address this far past the last symbol is not in its text. */
#define KERNEL_MAX_OFFSET	(1ULL << 20)
/* A process's mappings are read again on a miss at most this often. */
#define RECAPTURE_NS		200000000ULL
/*
 * A perf map line's name is cut here: a JIT may write anything, and a
 * frame's name ends up in one output line.
 */
#define JIT_NAME_MAX		1024

struct sym {
	uint64_t start;
	uint64_t size;		/* 0: up to the next symbol */
	const char *name;
	const char *module;	/* kernel only: NULL for the core kernel */
};

/* Sorted symbols; the names live in blocks owned by the table. */
struct symtab {
	struct sym *v;
	size_t n, cap;
	char **blocks;
	size_t nblocks;
};

/* One ELF object (an executable, a library, the vdso). */
struct elf_obj {
	uint64_t dev, ino;	/* both 0 for the vdso */
	char *path;		/* as the first process that mapped it saw it */
	struct symtab syms;
	struct addr_seg *loads;
	size_t nloads;
	char *build_id;		/* GNU build id as hex, or NULL */
	bool failed;		/* not readable or not ELF: no symbols */
};

struct proc_map {
	uint64_t start, end, offset;
	struct elf_obj *obj;	/* NULL: anonymous or not a file */
	const char *path;	/* interned; NULL if anonymous */
};

struct proc {
	int pid;
	struct proc_map *maps;
	size_t nmaps;
	char *maps_text;	/* the snapshot the maps were parsed from */
	size_t maps_len;
	uint64_t captured_ns;
	struct symtab jit;	/* /tmp/perf-PID.map */
	off_t jit_size;		/* size of the perf map when it was read */
};

struct syms_cache {
	struct symtab ksyms;
	bool ksyms_loaded;
	/* ksyms holds only what these sorted addresses need */
	uint64_t *kprepared;
	size_t nkprepared;
	struct elf_obj **objs;
	size_t nobjs, capobjs;
	struct elf_obj *vdso;
	bool vdso_tried;
	struct proc **procs;
	size_t nprocs, capprocs;
	struct proc *last_proc;
	char **strings;		/* interned mapping paths */
	size_t nstrings, capstrings;
	/*
	 * Name blocks of tables that were replaced (a full kallsyms load
	 * after a prepared one, a JIT map read again): callers may still
	 * hold names from them, and names live as long as the cache.
	 */
	char **retired;
	size_t nretired, capretired;
	char debug_dir[PATH_MAX];
	bool no_demangle;
	/*
	 * Demangled names by the address of the mangled one (open
	 * addressing, a power of two slots): each name is demangled once.
	 */
	struct demangled *dm;
	size_t ndm, capdm;
};

struct demangled {
	const char *mangled;	/* NULL: a free slot */
	char *name;		/* NULL: not a mangled name, show as is */
};

/* Grows *v (of *cap elements of size sz) to hold n + 1 elements. */
static int grow(void *v, size_t *cap, size_t n, size_t sz)
{
	void **p = v;
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	nv = realloc(*p, ncap * sz);
	if (!nv)
		return -ENOMEM;
	*p = nv;
	*cap = ncap;
	return 0;
}

/* ------------------------------------------------------------ symtab */

static int symtab_add(struct symtab *t, uint64_t start, uint64_t size,
		      const char *name, const char *module)
{
	if (grow(&t->v, &t->cap, t->n, sizeof(*t->v)))
		return -ENOMEM;
	t->v[t->n++] = (struct sym){ start, size, name, module };
	return 0;
}

/* Takes ownership of block (freed with the table). */
static int symtab_keep(struct symtab *t, char *block)
{
	char **b = realloc(t->blocks, (t->nblocks + 1) * sizeof(*b));

	if (!b) {
		free(block);
		return -ENOMEM;
	}
	t->blocks = b;
	t->blocks[t->nblocks++] = block;
	return 0;
}

static void symtab_free(struct symtab *t)
{
	for (size_t i = 0; i < t->nblocks; i++)
		free(t->blocks[i]);
	free(t->blocks);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/*
 * Empties a table whose names may already have been handed out: the name
 * blocks move to the cache and are freed with it.
 */
static void symtab_retire(struct syms_cache *c, struct symtab *t)
{
	size_t i;

	for (i = 0; i < t->nblocks; i++) {
		if (grow(&c->retired, &c->capretired, c->nretired,
			 sizeof(*c->retired)))
			break;
		c->retired[c->nretired++] = t->blocks[i];
	}
	/* Out of memory: leak the rest rather than free live names. */
	t->nblocks = 0;
	symtab_free(t);
}

/*
 * Among symbols at one address the lookup takes the last: order them so
 * that is the largest, and among equals a name without a leading '_'
 * ("malloc" rather than "__libc_malloc").
 */
static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	bool ux, uy;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	ux = x->name[0] == '_';
	uy = y->name[0] == '_';
	if (ux != uy)
		return ux ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void symtab_sort(struct symtab *t)
{
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), sym_cmp);
}

static const struct sym *symtab_find(const struct symtab *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	/*
	 * The nearest symbol may end before addr while an earlier, larger
	 * one (a function with a local label symbol inside) covers it.
	 */
	for (size_t i = lo; i > 0 && lo - i < 4; i--) {
		const struct sym *s = &t->v[i - 1];

		if (!s->size || addr - s->start < s->size)
			return s;
	}
	return NULL;
}

/* Reads a whole file (procfs files have no size) into a NUL-ended block. */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap), *nb;
	ssize_t r;

	if (!buf)
		return NULL;
	for (;;) {
		if (n + 1 >= cap) {
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (!r)
			break;
		n += r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	free(buf);
	return NULL;
}

static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	int err;

	if (fd < 0)
		return NULL;
	buf = read_all(fd, len);
	err = errno;
	close(fd);
	errno = err;
	return buf;
}

/* ------------------------------------------------------------ kernel */

#define NAME_BLOCK (256 * 1024)

/* Names are copied into large blocks: no per-name allocation, and the
 * ~5 MB kallsyms text is never held whole. */
struct name_arena {
	char *block;
	size_t used;
};

static const char *arena_copy(struct symtab *t, struct name_arena *a,
			      const char *s)
{
	size_t n = strlen(s) + 1;
	char *dst;

	if (!a->block || a->used + n > NAME_BLOCK) {
		a->block = malloc(NAME_BLOCK);
		if (!a->block || symtab_keep(t, a->block))
			return a->block = NULL;
		a->used = 0;
	}
	dst = a->block + a->used;
	memcpy(dst, s, n);
	a->used += n;
	return dst;
}

/*
 * One /proc/kallsyms line, "ADDR TYPE NAME[\t[MODULE]]", cut in place:
 * true for a code symbol (stacks hold return addresses), with its parts.
 */
static bool kallsyms_code_line(char *line, unsigned long long *addr,
			       char **name, char **module)
{
	char *p, type;

	line[strcspn(line, "\n")] = '\0';
	*addr = strtoull(line, &p, 16);
	if (p == line || *p != ' ' || !p[1] || p[2] != ' ')
		return false;
	type = p[1];
	if (type != 't' && type != 'T' && type != 'w' && type != 'W')
		return false;
	*name = p + 3;
	*module = NULL;
	p = strchr(*name, '\t');
	if (p) {
		*p++ = '\0';
		if (*p == '[') {
			*module = p + 1;
			p = strchr(*module, ']');
			if (p)
				*p = '\0';
		}
	}
	return true;
}

static int parse_kallsyms(struct symtab *t, FILE *f)
{
	const char *last_module = NULL;
	struct name_arena arena = { 0 };
	bool nonzero = false;
	char line[512];

	while (fgets(line, sizeof(line), f)) {
		const char *kept_name, *kept_module = NULL;
		unsigned long long addr;
		char *name, *module;

		if (!kallsyms_code_line(line, &addr, &name, &module))
			continue;
		if (addr)
			nonzero = true;
		kept_name = arena_copy(t, &arena, name);
		if (module) {
			/* a module's symbols come together: one copy each */
			if (!last_module || strcmp(last_module, module))
				last_module = arena_copy(t, &arena, module);
			kept_module = last_module;
		}
		if (!kept_name || (module && !kept_module) ||
		    symtab_add(t, addr, 0, kept_name, kept_module))
			return -ENOMEM;
	}
	/* kptr_restrict hides the addresses: every one reads as 0. */
	if (t->n && !nonzero)
		return -EPERM;
	symtab_sort(t);
	return 0;
}

int syms_load_kallsyms(struct syms_cache *c, FILE *f)
{
	int err;

	symtab_retire(c, &c->ksyms);
	free(c->kprepared);
	c->kprepared = NULL;
	c->nkprepared = 0;
	c->ksyms_loaded = true;
	err = parse_kallsyms(&c->ksyms, f);
	if (err)
		symtab_retire(c, &c->ksyms);
	return err;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Index of the first of the n sorted values that is >= x. */
static size_t lower_bound(const uint64_t *v, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool any_in(const uint64_t *v, size_t n, uint64_t lo, uint64_t hi)
{
	size_t i = lower_bound(v, n, lo);

	return i < n && v[i] < hi;
}

struct pending_sym {
	uint64_t addr;
	char name[256];
	char module[64];
	bool valid;
};

static int keep_if_needed(struct syms_cache *c, struct name_arena *arena,
			  const struct pending_sym *ps, uint64_t next_addr)
{
	uint64_t hi = next_addr > ps->addr ? next_addr :
		      ps->addr + KERNEL_MAX_OFFSET;
	const char *name, *module = NULL;

	if (!ps->valid ||
	    !any_in(c->kprepared, c->nkprepared, ps->addr, hi))
		return 0;
	name = arena_copy(&c->ksyms, arena, ps->name);
	if (ps->module[0])
		module = arena_copy(&c->ksyms, arena, ps->module);
	if (!name || (ps->module[0] && !module))
		return -ENOMEM;
	return symtab_add(&c->ksyms, ps->addr, 0, name, module);
}

/*
 * Loads only the kernel symbols that can hold one of addrs: a symbol is
 * kept when an address falls between it and the symbol after it in
 * /proc/kallsyms (which lists each part of the kernel in address order).
 * A later lookup of an address not given here loads every symbol.
 */
int syms_kernel_prepare(struct syms_cache *c, const uint64_t *addrs,
			size_t n)
{
	struct name_arena arena = { 0 };
	struct pending_sym *ps;
	char line[512];
	int err = 0;
	FILE *f;

	if (c->ksyms_loaded || !n)
		return 0;
	c->kprepared = malloc(n * sizeof(*addrs));
	ps = calloc(1, sizeof(*ps));
	if (!c->kprepared || !ps) {
		free(ps);
		return -ENOMEM;
	}
	memcpy(c->kprepared, addrs, n * sizeof(*addrs));
	qsort(c->kprepared, n, sizeof(*addrs), cmp_u64);
	c->nkprepared = n;
	c->ksyms_loaded = true;
	f = fopen("/proc/kallsyms", "re");
	if (!f) {
		free(ps);
		return -errno;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char *name, *module;

		if (!kallsyms_code_line(line, &addr, &name, &module))
			continue;
		err = keep_if_needed(c, &arena, ps, addr);
		ps->addr = addr;
		snprintf(ps->name, sizeof(ps->name), "%s", name);
		snprintf(ps->module, sizeof(ps->module), "%s",
			 module ? module : "");
		ps->valid = true;
	}
	if (!err)
		err = keep_if_needed(c, &arena, ps, 0);
	fclose(f);
	free(ps);
	symtab_sort(&c->ksyms);
	return err;
}

static void load_kernel(struct syms_cache *c)
{
	FILE *f;

	/* prepared for other addresses: start over with every symbol */
	if (c->kprepared) {
		free(c->kprepared);
		c->kprepared = NULL;
		c->nkprepared = 0;
		symtab_retire(c, &c->ksyms);
		c->ksyms_loaded = false;
	}
	if (c->ksyms_loaded)
		return;
	c->ksyms_loaded = true;
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return;
	syms_load_kallsyms(c, f);
	fclose(f);
}

/*
 * Whether the prepared table resolves addr right. It holds the symbol of
 * every prepared address p; addr is inside that symbol when the nearest
 * kept symbol below addr is the one below the first p >= addr, since then
 * sym <= addr <= p < the symbol after it. That covers p - 1, the byte a
 * return address is looked up by.
 */
static bool kernel_prepared_for(struct syms_cache *c, uint64_t addr)
{
	size_t i;

	if (!c->kprepared)
		return false;
	i = lower_bound(c->kprepared, c->nkprepared, addr);
	if (i == c->nkprepared)
		return false;
	if (c->kprepared[i] == addr)
		return true;
	return c->kprepared[i] - addr < KERNEL_MAX_OFFSET &&
	       symtab_find(&c->ksyms, addr) ==
	       symtab_find(&c->ksyms, c->kprepared[i]);
}

const char *syms_kernel(struct syms_cache *c, uint64_t addr,
			uint64_t *offset, const char **module)
{
	const struct sym *s;

	if (!kernel_prepared_for(c, addr))
		load_kernel(c);
	s = symtab_find(&c->ksyms, addr);
	if (!s || (s == &c->ksyms.v[c->ksyms.n - 1] &&
		   addr - s->start >= KERNEL_MAX_OFFSET))
		return NULL;
	if (offset)
		*offset = addr - s->start;
	if (module)
		*module = s->module;
	return s->name;
}

int syms_kernel_frame(struct syms_cache *c, uint64_t addr,
		      struct syms_frame *out)
{
	memset(out, 0, sizeof(*out));
	out->addr = addr;
	out->name = syms_kernel(c, addr, &out->offset, &out->module);
	if (!out->name)
		return -ENOENT;
	out->kind = SYMS_KERNEL;
	return 0;
}

/* ------------------------------------------------------------ names */

/* Itanium C++ ("_Z"), Rust legacy (also "_Z") and Rust v0 ("_R"). */
static bool looks_mangled(const char *name)
{
	return name[0] == '_' && (name[1] == 'Z' || name[1] == 'R' ||
				  (name[1] == '_' && name[2] == 'Z'));
}

static size_t dm_slot(const struct syms_cache *c, const char *mangled)
{
	uintptr_t h = (uintptr_t)mangled;

	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15ULL;
	return (h >> 20) & (c->capdm - 1);
}

static int dm_grow(struct syms_cache *c)
{
	struct demangled *old = c->dm;
	size_t oldcap = c->capdm;

	c->capdm = oldcap ? oldcap * 2 : 256;
	c->dm = calloc(c->capdm, sizeof(*c->dm));
	if (!c->dm) {
		c->dm = old;
		c->capdm = oldcap;
		return -ENOMEM;
	}
	for (size_t i = 0; i < oldcap; i++) {
		size_t j;

		if (!old[i].mangled)
			continue;
		for (j = dm_slot(c, old[i].mangled); c->dm[j].mangled;
		     j = (j + 1) & (c->capdm - 1))
			;
		c->dm[j] = old[i];
	}
	free(old);
	return 0;
}

/*
 * The name to show for a symbol: demangled by libiberty (the demangler
 * of GNU binutils and gdb, which knows C++ and both Rust schemes), with
 * the parameters as perf shows them and Rust's hash suffix dropped.
 * Symbol names live as long as the cache, so the result is kept by the
 * address of the mangled name.
 */
static const char *display_name(struct syms_cache *c, const char *name)
{
	size_t i;

	if (c->no_demangle || !looks_mangled(name))
		return name;
	if (c->ndm * 2 >= c->capdm && dm_grow(c))
		return name;
	for (i = dm_slot(c, name); c->dm[i].mangled;
	     i = (i + 1) & (c->capdm - 1))
		if (c->dm[i].mangled == name)
			return c->dm[i].name ? c->dm[i].name : name;
	c->dm[i].mangled = name;
	/* "__Z": a symbol of a Mach-O object or an extra underscore. */
	c->dm[i].name = cplus_demangle(name[1] == '_' ? name + 1 : name,
				       DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
	c->ndm++;
	return c->dm[i].name ? c->dm[i].name : name;
}

char *syms_demangle(const struct syms_cache *c, const char *name)
{
	if (c->no_demangle || !looks_mangled(name))
		return NULL;
	return cplus_demangle(name[1] == '_' ? name + 1 : name,
			      DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}

void syms_set_demangle(struct syms_cache *c, bool on)
{
	c->no_demangle = !on;
}

/* ------------------------------------------------------------ ELF */

static bool elf_ready;

static void elf_init(void)
{
	if (!elf_ready) {
		elf_version(EV_CURRENT);
		elf_ready = true;
	}
}

/* Adds the function symbols of every section of type sh_type. */
static int load_elf_syms(struct elf_obj *o, Elf *e, Elf64_Word sh_type,
			 bool *found)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn))) {
		Elf_Data *data, *strdata;
		Elf_Scn *strscn;
		char *names;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != sh_type ||
		    !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		strscn = elf_getscn(e, sh.sh_link);
		strdata = strscn ? elf_getdata(strscn, NULL) : NULL;
		if (!data || !strdata || !strdata->d_buf || !strdata->d_size)
			continue;
		names = malloc(strdata->d_size + 1);
		if (!names)
			return -ENOMEM;
		memcpy(names, strdata->d_buf, strdata->d_size);
		names[strdata->d_size] = '\0';
		if (symtab_keep(&o->syms, names))
			return -ENOMEM;
		n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym s;
			char *name, *at;
			int type;

			if (!gelf_getsym(data, i, &s))
				break;
			type = GELF_ST_TYPE(s.st_info);
			if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
			    s.st_shndx == SHN_UNDEF || !s.st_value ||
			    s.st_name >= strdata->d_size)
				continue;
			name = names + s.st_name;
			if (!*name)
				continue;
			/*
			 * "memcpy@GLIBC_2.2.5": drop the version. Names that
			 * share this string's tail are cut the same way.
			 */
			at = strchr(name, '@');
			if (at)
				*at = '\0';
			if (symtab_add(&o->syms, s.st_value, s.st_size, name,
				       NULL))
				return -ENOMEM;
			*found = true;
		}
	}
	return 0;
}

static Elf_Scn *find_section(Elf *e, const char *want)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(e, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(e, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (name && !strcmp(name, want))
			return scn;
	}
	return NULL;
}

/* The GNU build id as lowercase hex, or false. */
static bool build_id(Elf *e, char *hex, size_t len)
{
	Elf_Scn *scn = find_section(e, ".note.gnu.build-id");
	Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	while (data && (off = gelf_getnote(data, off, &nh, &name_off,
					   &desc_off)) > 0) {
		const unsigned char *d = (const unsigned char *)data->d_buf +
					 desc_off;

		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    memcmp((char *)data->d_buf + name_off, "GNU", 4) ||
		    nh.n_descsz < 2 || nh.n_descsz * 2 + 1 > len)
			continue;
		for (size_t i = 0; i < nh.n_descsz; i++)
			snprintf(hex + 2 * i, 3, "%02x", d[i]);
		return true;
	}
	return false;
}

static int open_elf_fd(const char *path, Elf **e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	*e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!*e || elf_kind(*e) != ELF_K_ELF) {
		if (*e)
			elf_end(*e);
		close(fd);
		return -1;
	}
	return fd;
}

/* Adds .symtab from a separate debug file; true if one was found. */
static bool try_debug_file(struct elf_obj *o, const char *path)
{
	bool found = false;
	Elf *e;
	int fd = open_elf_fd(path, &e);

	if (fd < 0)
		return false;
	load_elf_syms(o, e, SHT_SYMTAB, &found);
	elf_end(e);
	close(fd);
	return found;
}

/*
 * A stripped object's full symbol table may be installed separately: by
 * build id under the debug directory, or by the name .gnu_debuglink
 * gives, next to the object, in its .debug/ or under the debug directory.
 * root prefixes every path (the process's /proc/PID/root).
 */
static void load_debug_syms(struct syms_cache *c, struct elf_obj *o, Elf *e,
			    const char *root, const char *inner_path)
{
	char path[PATH_MAX * 2], hex[128], dir[PATH_MAX];
	const char *link = NULL, *slash;
	Elf_Data *data;
	Elf_Scn *scn;

	if (build_id(e, hex, sizeof(hex))) {
		snprintf(path, sizeof(path), "%s%s/.build-id/%.2s/%s.debug",
			 root, c->debug_dir, hex, hex + 2);
		if (try_debug_file(o, path))
			return;
	}
	scn = find_section(e, ".gnu_debuglink");
	data = scn ? elf_getdata(scn, NULL) : NULL;
	if (data && data->d_size > 1 &&
	    memchr(data->d_buf, '\0', data->d_size))
		link = data->d_buf;
	if (!link || !*link || strchr(link, '/'))
		return;
	slash = strrchr(inner_path, '/');
	snprintf(dir, sizeof(dir), "%.*s",
		 slash ? (int)(slash - inner_path) : 0, inner_path);
	snprintf(path, sizeof(path), "%s%s/%s", root, dir, link);
	if (strcmp(path + strlen(root), inner_path) && try_debug_file(o, path))
		return;
	snprintf(path, sizeof(path), "%s%s/.debug/%s", root, dir, link);
	if (try_debug_file(o, path))
		return;
	snprintf(path, sizeof(path), "%s%s%s/%s", root, c->debug_dir, dir,
		 link);
	try_debug_file(o, path);
}

/* Reads an object's segments and symbols from an open ELF. */
static void load_elf(struct syms_cache *c, struct elf_obj *o, Elf *e,
		     const char *root, const char *inner_path)
{
	bool symtab = false, dynsym = false;
	char hex[128];

	addr_elf_segments(e, &o->loads, &o->nloads);
	if (build_id(e, hex, sizeof(hex)))
		o->build_id = strdup(hex);
	load_elf_syms(o, e, SHT_SYMTAB, &symtab);
	load_elf_syms(o, e, SHT_DYNSYM, &dynsym);
	if (!symtab && inner_path)
		load_debug_syms(c, o, e, root, inner_path);
	symtab_sort(&o->syms);
}

static struct elf_obj *obj_new(struct syms_cache *c, uint64_t dev,
			       uint64_t ino, const char *path)
{
	struct elf_obj *o;

	if (grow(&c->objs, &c->capobjs, c->nobjs, sizeof(*c->objs)))
		return NULL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->path = strdup(path);
	if (!o->path) {
		free(o);
		return NULL;
	}
	o->dev = dev;
	o->ino = ino;
	o->failed = true;
	c->objs[c->nobjs++] = o;
	return o;
}

static struct elf_obj *obj_find(struct syms_cache *c, uint64_t dev,
				uint64_t ino)
{
	for (size_t i = 0; i < c->nobjs; i++)
		if (c->objs[i]->ino == ino && c->objs[i]->dev == dev)
			return c->objs[i];
	return NULL;
}

static void obj_free(struct elf_obj *o)
{
	symtab_free(&o->syms);
	free(o->build_id);
	free(o->loads);
	free(o->path);
	free(o);
}

/*
 * The file of a mapping: through map_files first (it reaches deleted and
 * replaced files and other mount namespaces alike), else by its path
 * inside the process's root.
 */
static struct elf_obj *obj_for_mapping(struct syms_cache *c, int pid,
				       const struct syms_mapping *m)
{
	uint64_t dev = makedev(m->dev_major, m->dev_minor);
	char path[PATH_MAX + 64], root[64];
	struct elf_obj *o = obj_find(c, dev, m->inode);
	Elf *e;
	int fd;

	if (o)
		return o;
	o = obj_new(c, dev, m->inode, m->path);
	if (!o)
		return NULL;
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	fd = open_elf_fd(path, &e);
	if (fd < 0) {
		snprintf(path, sizeof(path), "%s%s", root, m->path);
		fd = open_elf_fd(path, &e);
	}
	if (fd < 0)
		return o;
	o->failed = false;
	load_elf(c, o, e, root, m->path);
	elf_end(e);
	close(fd);
	return o;
}

/*
 * Every 64-bit process maps the same vdso image as this one: read ours
 * from memory (a copy: libelf wants a writable image).
 */
static struct elf_obj *vdso_obj(struct syms_cache *c)
{
	unsigned long long start, end;
	char line[512], *image;
	bool found = false;
	struct elf_obj *o;
	FILE *f;
	Elf *e;

	if (c->vdso_tried)
		return c->vdso;
	c->vdso_tried = true;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "[vdso]") &&
			sscanf(line, "%llx-%llx", &start, &end) == 2;
	fclose(f);
	if (!found || end <= start)
		return NULL;
	image = malloc(end - start);
	if (!image)
		return NULL;
	memcpy(image, (void *)(uintptr_t)start, end - start);
	o = obj_new(c, 0, 0, "[vdso]");
	e = o ? elf_memory(image, end - start) : NULL;
	if (e && elf_kind(e) == ELF_K_ELF) {
		o->failed = false;
		load_elf(c, o, e, "", NULL);
	}
	if (e)
		elf_end(e);
	free(image);
	c->vdso = o;
	return o;
}

/* The object's virtual address of a file offset, through PT_LOAD. */
static uint64_t obj_vaddr(const struct elf_obj *o, uint64_t file_off)
{
	return addr_seg_vaddr(o->loads, o->nloads, file_off);
}

int syms_file(struct syms_cache *c, const char *path, uint64_t vaddr,
	      struct syms_frame *out)
{
	const struct sym *s = NULL;
	struct elf_obj *o;
	struct stat st;
	Elf *e;
	int fd;

	elf_init();
	memset(out, 0, sizeof(*out));
	out->addr = vaddr;
	if (stat(path, &st))
		return -errno;
	o = obj_find(c, st.st_dev, st.st_ino);
	if (!o) {
		o = obj_new(c, st.st_dev, st.st_ino, path);
		if (!o)
			return -ENOMEM;
		fd = open_elf_fd(path, &e);
		if (fd >= 0) {
			o->failed = false;
			load_elf(c, o, e, "", path);
			elf_end(e);
			close(fd);
		}
	}
	out->module = o->path;
	if (!o->failed)
		s = symtab_find(&o->syms, vaddr);
	if (!s)
		return -ENOENT;
	out->kind = SYMS_USER;
	out->name = display_name(c, s->name);
	out->offset = vaddr - s->start;
	return 0;
}

/* ------------------------------------------------------------ processes */

int syms_parse_maps_line(char *line, struct syms_mapping *m)
{
	unsigned long long start, end, off, ino;
	unsigned int maj, min;
	int n = 0;
	size_t len;
	char *path;

	memset(m, 0, sizeof(*m));
	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end,
		   m->perms, &off, &maj, &min, &ino, &n) < 7 || !n)
		return -1;
	path = line + n;
	len = strcspn(path, "\n");
	path[len] = '\0';
	if (len > 10 && !strcmp(path + len - 10, " (deleted)")) {
		path[len - 10] = '\0';
		m->deleted = true;
	}
	m->start = start;
	m->end = end;
	m->offset = off;
	m->dev_major = maj;
	m->dev_minor = min;
	m->inode = ino;
	m->path = path;
	return 0;
}

static const char *intern(struct syms_cache *c, const char *s)
{
	char *copy;

	for (size_t i = 0; i < c->nstrings; i++)
		if (!strcmp(c->strings[i], s))
			return c->strings[i];
	if (grow(&c->strings, &c->capstrings, c->nstrings,
		 sizeof(*c->strings)))
		return NULL;
	copy = strdup(s);
	if (copy)
		c->strings[c->nstrings++] = copy;
	return copy;
}

static struct proc *proc_find(struct syms_cache *c, int pid)
{
	if (c->last_proc && c->last_proc->pid == pid)
		return c->last_proc;
	for (size_t i = 0; i < c->nprocs; i++) {
		if (c->procs[i]->pid == pid) {
			c->last_proc = c->procs[i];
			return c->last_proc;
		}
	}
	return NULL;
}

static void proc_free(struct proc *p)
{
	free(p->maps);
	free(p->maps_text);
	symtab_free(&p->jit);
	free(p);
}

/* The pid the process has in its own pid namespace (for its perf map). */
static int ns_pid(int pid)
{
	char path[64], line[256];
	int inner = pid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return pid;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		/* The last field is the innermost namespace's pid. */
		for (;;) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			inner = v;
			p = end;
		}
		break;
	}
	fclose(f);
	return inner;
}

/* JIT runtimes list their code as "START SIZE name" lines, in hex. */
static void load_perf_map(struct syms_cache *c, struct proc *p)
{
	char path[128], *text, *line, *next;
	struct stat st;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%d.map", p->pid,
		 ns_pid(p->pid));
	if (stat(path, &st) || st.st_size == p->jit_size)
		return;
	text = read_file(path, &len);
	if (!text)
		return;
	symtab_retire(c, &p->jit);
	p->jit_size = st.st_size;
	if (symtab_keep(&p->jit, text))
		return;
	for (line = text; *line; line = next) {
		unsigned long long start, size;
		char *q, *name;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		start = strtoull(line, &q, 16);
		if (q == line || *q != ' ')
			continue;
		size = strtoull(q + 1, &name, 16);
		if (name == q + 1 || *name != ' ' || !name[1])
			continue;
		if (strlen(name + 1) > JIT_NAME_MAX)
			name[1 + JIT_NAME_MAX] = '\0';
		if (symtab_add(&p->jit, start, size, name + 1, NULL))
			break;
	}
	symtab_sort(&p->jit);
}

int syms_capture(struct syms_cache *c, int pid)
{
	struct proc_map *maps = NULL;
	size_t len, nmaps = 0, cap = 0;
	char path[64], *text, *copy, *line, *next;
	struct proc *p;

	elf_init();
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	text = read_file(path, &len);
	if (!text)
		return errno == ENOENT ? -ESRCH : -errno;
	/* A zombie's or kernel thread's maps are empty: keep what we had. */
	p = proc_find(c, pid);
	if (!len) {
		free(text);
		return p ? 0 : -ESRCH;
	}
	if (!p) {
		if (grow(&c->procs, &c->capprocs, c->nprocs,
			 sizeof(*c->procs)))
			goto nomem;
		p = calloc(1, sizeof(*p));
		if (!p)
			goto nomem;
		p->pid = pid;
		p->jit_size = -1;
		c->procs[c->nprocs++] = p;
	}
	p->captured_ns = out_mono_ns();
	load_perf_map(c, p);
	if (p->maps_text && p->maps_len == len &&
	    !memcmp(p->maps_text, text, len)) {
		free(text);
		return 0;
	}
	copy = strdup(text);
	if (!copy)
		goto nomem;
	for (line = copy; *line; line = next) {
		struct syms_mapping m;
		struct proc_map pm = { 0 };

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (syms_parse_maps_line(line, &m) || m.perms[2] != 'x')
			continue;
		pm.start = m.start;
		pm.end = m.end;
		pm.offset = m.offset;
		if (m.path[0] == '/')
			pm.obj = obj_for_mapping(c, pid, &m);
		else if (!strcmp(m.path, "[vdso]"))
			pm.obj = vdso_obj(c);
		pm.path = m.path[0] ? intern(c, m.path) : NULL;
		if (grow(&maps, &cap, nmaps, sizeof(*maps))) {
			free(copy);
			goto nomem;
		}
		maps[nmaps++] = pm;
	}
	free(copy);
	free(p->maps);
	free(p->maps_text);
	p->maps = maps;
	p->nmaps = nmaps;
	p->maps_text = text;
	p->maps_len = len;
	return 0;
nomem:
	free(maps);
	free(text);
	return -ENOMEM;
}

static const struct proc_map *proc_map_find(const struct proc *p,
					    uint64_t addr)
{
	size_t lo = 0, hi = p->nmaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < p->maps[lo - 1].end)
		return &p->maps[lo - 1];
	return NULL;
}

int syms_user_map(struct syms_cache *c, int pid, uint64_t addr,
		  struct syms_map *out)
{
	const struct proc_map *m;
	struct proc *p = proc_find(c, pid);

	memset(out, 0, sizeof(*out));
	m = p ? proc_map_find(p, addr) : NULL;
	if (!m)
		return -ENOENT;
	out->start = m->start;
	out->end = m->end;
	out->offset = m->offset;
	out->path = m->obj ? m->obj->path : m->path;
	out->build_id = m->obj ? m->obj->build_id : NULL;
	return 0;
}

int syms_user(struct syms_cache *c, int pid, uint64_t addr,
	      struct syms_frame *out)
{
	const struct proc_map *m;
	const struct sym *s = NULL;
	struct proc *p;

	memset(out, 0, sizeof(*out));
	out->addr = addr;
	p = proc_find(c, pid);
	if (!p && syms_capture(c, pid))
		return -ESRCH;
	p = proc_find(c, pid);
	if (!p)
		return -ESRCH;
	m = proc_map_find(p, addr);
	/* Code mapped since the last capture (dlopen, a new JIT region). */
	if (!m && out_mono_ns() - p->captured_ns > RECAPTURE_NS &&
	    !syms_capture(c, pid))
		m = proc_map_find(p, addr);
	if (m) {
		out->module = m->obj ? m->obj->path : m->path;
		if (m->obj && !m->obj->failed)
			s = symtab_find(&m->obj->syms,
					obj_vaddr(m->obj,
						  addr - m->start + m->offset));
		if (s) {
			out->kind = SYMS_USER;
			out->name = display_name(c, s->name);
			out->offset = obj_vaddr(m->obj, addr - m->start +
						m->offset) - s->start;
			return 0;
		}
	}
	/* Anonymous code: ask the JIT's perf map. */
	if (!m || !m->obj) {
		s = symtab_find(&p->jit, addr);
		if (s) {
			out->kind = SYMS_JIT;
			out->name = display_name(c, s->name);
			out->offset = addr - s->start;
			out->module = NULL;
			return 0;
		}
	}
	return -ENOENT;
}

/* ------------------------------------------------------------ cache */

struct syms_cache *syms_cache_new(void)
{
	struct syms_cache *c = calloc(1, sizeof(*c));

	if (c)
		snprintf(c->debug_dir, sizeof(c->debug_dir), "/usr/lib/debug");
	return c;
}

void syms_set_debug_dir(struct syms_cache *c, const char *dir)
{
	snprintf(c->debug_dir, sizeof(c->debug_dir), "%s", dir);
}

void syms_cache_free(struct syms_cache *c)
{
	if (!c)
		return;
	symtab_free(&c->ksyms);
	free(c->kprepared);
	for (size_t i = 0; i < c->nobjs; i++)
		obj_free(c->objs[i]);
	free(c->objs);
	for (size_t i = 0; i < c->nprocs; i++)
		proc_free(c->procs[i]);
	free(c->procs);
	for (size_t i = 0; i < c->nstrings; i++)
		free(c->strings[i]);
	free(c->strings);
	for (size_t i = 0; i < c->nretired; i++)
		free(c->retired[i]);
	free(c->retired);
	for (size_t i = 0; i < c->capdm; i++)
		free(c->dm[i].name);
	free(c->dm);
	free(c);
}

void syms_format(const struct syms_frame *f, char *buf, size_t len)
{
	const char *mod = f->module, *slash;

	if (f->kind == SYMS_KERNEL && !mod)
		mod = "kernel";
	else if (f->kind == SYMS_JIT)
		mod = "jit";
	if (mod && mod[0] == '/') {
		slash = strrchr(mod, '/');
		mod = slash + 1;
	}
	if (!f->name && mod)
		snprintf(buf, len, "[unknown] [%s]", mod);
	else if (!f->name)
		snprintf(buf, len, "[unknown]");
	else if (mod)
		snprintf(buf, len, "%s+0x%llx [%s]", f->name,
			 (unsigned long long)f->offset, mod);
	else
		snprintf(buf, len, "%s+0x%llx", f->name,
			 (unsigned long long)f->offset);
}

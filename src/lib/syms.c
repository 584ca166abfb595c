/*
 * Symbolization for stack traces (see syms.h for the model). Kernel
 * symbols and JIT perf maps are copied into the cache when first read.
 * An ELF object is held by an open file and a compact index of its
 * functions, its names read from the file on demand, so that frames
 * still resolve once a process has exited or its binary has been
 * deleted, while the memory follows the functions sampled rather than
 * whole symbol tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
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
/* An ELF symbol's name is cut here (C++ templates run to kilobytes). */
#define USER_NAME_MAX		8192
/* Symbol table bytes read at a time while an index is built. */
#define SYM_CHUNK		16384
/*
 * What the indexes of open ELF objects may take unless
 * syms_set_budget() says otherwise, and at most how many objects are
 * open at once: up to SYMS_MAX_OPEN, and each holding one or two file
 * descriptors, a quarter of the descriptor limit at most.
 */
#define SYMS_BUDGET_DEFAULT	(64 << 20)
#define SYMS_MAX_OPEN		256

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

/*
 * One function of an ELF object's index: 16 bytes, the name left in the
 * file (a number in the object's name space, see struct name_table) and
 * read when a lookup lands on it. libLLVM-14's 34,000 functions take
 * 0.54 MB instead of the 4.2 MB its names and a pointer index took.
 */
struct usym {
	uint64_t start;
	uint32_t size;		/* capped at 4 GB */
	uint32_t name;
};

/*
 * A string table of an object's file (or of its debug file): names from
 * base to base + size - 1 are at off + (name - base) in that file.
 */
struct name_table {
	int file;		/* 0: the object, 1: its debug file */
	uint64_t off, size;
	uint32_t base;
};

#define OBJ_MAX_TABLES	4

/*
 * One ELF object (an executable, a library, the vdso). Its segments,
 * build id and how to open it stay for the cache's life; its files stay
 * open and its index in memory while it is "open": the cache closes the
 * least recently used ones past its budget and opens them again when a
 * lookup needs them (a file that cannot be opened again, or whose inode
 * changed, has no names from then on).
 */
struct elf_obj {
	uint64_t dev, ino;	/* both 0 for the vdso */
	char *path;		/* as the first process that mapped it saw it */
	char *paths[2];		/* opened again: the object, its debug file */
	uint64_t fdev[2], fino[2];	/* what paths[] opened first */
	int fds[2];		/* -1: closed */
	struct usym *syms;	/* NULL until a lookup needs it */
	size_t nsyms;
	struct name_table tables[OBJ_MAX_TABLES];
	int ntables;
	const char *image;	/* the vdso: its copy in memory, never closed */
	size_t image_size;
	struct addr_seg *loads;
	size_t nloads;
	char *build_id;		/* GNU build id as hex, or NULL */
	bool failed;		/* not readable or not ELF: no symbols */
	bool open;		/* fds and index count against the budget */
	bool indexed;		/* syms holds the index (possibly empty) */
	bool lost;		/* could not be opened again: no more names */
	uint64_t used;		/* the cache's tick at its last lookup */
	size_t bytes;		/* charged to the budget while open */
};

#define NAME_BLOCK (256 * 1024)

/* Names are copied into large blocks: no per-name allocation, and the
 * ~5 MB kallsyms text is never held whole. */
struct name_arena {
	char *block;
	size_t used;
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
	/*
	 * Names read from ELF objects, by (object, name): read once, kept
	 * in blocks owned by unames for the cache's life.
	 */
	struct uname *un;
	size_t nun, capun;
	struct symtab unames;
	struct name_arena uarena;
	/* the open objects' bytes, at most budget; tick: for the LRU */
	size_t budget, open_bytes, nopen, max_open;
	uint64_t tick;
};

struct uname {
	const struct elf_obj *obj;	/* NULL: a free slot */
	uint32_t name;
	const char *s;
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

/* ------------------------------------------------------------ ELF index */

/* Reads len bytes at off of the object's file (0) or debug file (1). */
static ssize_t obj_pread(const struct elf_obj *o, int file, void *buf,
			 size_t len, uint64_t off)
{
	ssize_t r;

	if (o->image) {
		if (file || off >= o->image_size)
			return -1;
		if (len > o->image_size - off)
			len = o->image_size - off;
		memcpy(buf, o->image + off, len);
		return len;
	}
	do
		r = pread(o->fds[file], buf, len, off);
	while (r < 0 && errno == EINTR);
	return r;
}

/* A function symbol of a symbol table section, as each_func sees it. */
typedef int (*func_fn)(void *ctx, uint64_t value, uint64_t size,
		       uint32_t name);

/*
 * Calls fn for each function symbol (FUNC or IFUNC, defined, with an
 * address, a size and a name) of the symbol table sh of the object's
 * file `file`, read in chunks: the table is never in memory whole, nor
 * mapped. Stops at fn's first non-zero return, which it returns.
 */
static int each_func(const struct elf_obj *o, int file, Elf *e,
		     const GElf_Shdr *sh, func_fn fn, void *ctx)
{
	bool is64 = gelf_getclass(e) == ELFCLASS64;
	size_t esz = is64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
	const unsigned char *ident = (const unsigned char *)elf_getident(e,
									 NULL);
	union {
		Elf64_Sym s64[SYM_CHUNK / sizeof(Elf64_Sym)];
		Elf32_Sym s32[SYM_CHUNK / sizeof(Elf32_Sym)];
		unsigned char b[SYM_CHUNK];
	} buf;
	uint64_t off = 0;
	int ret;

	if (sh->sh_entsize != esz || !ident)
		return 0;
	while (off + esz <= sh->sh_size) {
		size_t want = sh->sh_size - off < sizeof(buf) / esz * esz ?
			      sh->sh_size - off : sizeof(buf) / esz * esz;
		ssize_t r = obj_pread(o, file, buf.b, want,
				      sh->sh_offset + off);
		Elf_Data d = { .d_buf = buf.b, .d_type = ELF_T_SYM,
			       .d_version = EV_CURRENT };

		if (r < (ssize_t)esz)
			return 0;
		d.d_size = r / esz * esz;
		if (!gelf_xlatetom(e, &d, &d, ident[EI_DATA]))
			return 0;
		for (size_t i = 0; i < d.d_size / esz; i++) {
			uint64_t value, size;
			uint32_t name;
			unsigned int type, shndx;

			if (is64) {
				value = buf.s64[i].st_value;
				size = buf.s64[i].st_size;
				name = buf.s64[i].st_name;
				type = ELF64_ST_TYPE(buf.s64[i].st_info);
				shndx = buf.s64[i].st_shndx;
			} else {
				value = buf.s32[i].st_value;
				size = buf.s32[i].st_size;
				name = buf.s32[i].st_name;
				type = ELF32_ST_TYPE(buf.s32[i].st_info);
				shndx = buf.s32[i].st_shndx;
			}
			if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
			    shndx == SHN_UNDEF || !value || !size || !name)
				continue;
			ret = fn(ctx, value, size, name);
			if (ret)
				return ret;
		}
		off += d.d_size;
	}
	return 0;
}

static int found_func(void *ctx, uint64_t value, uint64_t size,
		      uint32_t name)
{
	(void)ctx, (void)value, (void)size, (void)name;
	return 1;
}

/* Whether the file's .symtab has a function (the object is not stripped). */
static bool has_symtab_funcs(const struct elf_obj *o, int file, Elf *e)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB &&
		    each_func(o, file, e, &sh, found_func, NULL))
			return true;
	return false;
}

struct index_build {
	struct usym *v;
	size_t n, cap;
	uint32_t base, size;	/* the table being read */
};

static int add_func(void *ctx, uint64_t value, uint64_t size,
		    uint32_t name)
{
	struct index_build *b = ctx;

	if (name >= b->size)
		return 0;
	if (grow(&b->v, &b->cap, b->n, sizeof(*b->v)))
		return -ENOMEM;
	b->v[b->n++] = (struct usym){
		value, size > UINT32_MAX ? UINT32_MAX : size, b->base + name,
	};
	return 0;
}

/* Adds the functions of the file's symbol tables of type sh_type. */
static int index_tables(struct elf_obj *o, int file, Elf *e,
			Elf64_Word sh_type, struct index_build *b)
{
	Elf_Scn *scn = NULL, *strscn;
	GElf_Shdr sh, strsh;
	int err;

	while ((scn = elf_nextscn(e, scn))) {
		struct name_table *t = &o->tables[o->ntables];
		uint32_t base = o->ntables ? t[-1].base + t[-1].size : 0;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != sh_type ||
		    o->ntables == OBJ_MAX_TABLES)
			continue;
		strscn = elf_getscn(e, sh.sh_link);
		if (!strscn || !gelf_getshdr(strscn, &strsh) ||
		    strsh.sh_type != SHT_STRTAB || !strsh.sh_size ||
		    strsh.sh_size > UINT32_MAX - base)
			continue;
		*t = (struct name_table){ file, strsh.sh_offset, strsh.sh_size,
					  base };
		o->ntables++;
		b->base = base;
		b->size = strsh.sh_size;
		err = each_func(o, file, e, &sh, add_func, b);
		if (err)
			return err;
	}
	return 0;
}

static const struct name_table *name_table(const struct elf_obj *o,
					   uint32_t name)
{
	for (int i = 0; i < o->ntables; i++)
		if (name >= o->tables[i].base &&
		    name - o->tables[i].base < o->tables[i].size)
			return &o->tables[i];
	return NULL;
}

/*
 * Reads the name numbered name into buf (len bytes, cut there), with its
 * symbol version ("memcpy@GLIBC_2.2.5") dropped: its length, or -1.
 */
static ssize_t name_read(const struct elf_obj *o, uint32_t name, char *buf,
			 size_t len)
{
	const struct name_table *t = name_table(o, name);
	uint64_t at, room;
	ssize_t r;

	if (!t)
		return -1;
	at = name - t->base;
	room = t->size - at;
	r = obj_pread(o, t->file, buf, room < len - 1 ? room : len - 1,
		      t->off + at);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	buf[strcspn(buf, "@")] = '\0';
	return strlen(buf);
}

static int usym_cmp(const void *a, const void *b)
{
	const struct usym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->size > y->size) - (x->size < y->size);
}

/*
 * Whether name a is the better of two at one address: one without a
 * leading '_' ("malloc" rather than "__libc_malloc"), else the greater.
 */
static bool name_better(const char *a, const char *b)
{
	bool ua = a[0] == '_', ub = b[0] == '_';

	if (ua != ub)
		return ub;
	return strcmp(a, b) > 0;
}

/*
 * Sorts the index and keeps one symbol per address: the largest (a
 * lookup takes the one covering the address), named by name_better().
 */
static size_t index_dedup(const struct elf_obj *o, struct usym *v, size_t n)
{
	char best[256], other[256];
	size_t i, j, k, out = 0;

	if (n > 1)
		qsort(v, n, sizeof(*v), usym_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && v[j].start == v[i].start; j++)
			;
		/* the largest are last: i..j-1 sorted by size */
		k = j - 1;
		if (k > i && v[k - 1].size == v[k].size) {
			size_t pick = k;

			if (name_read(o, v[k].name, best, sizeof(best)) < 0)
				best[0] = '\0';
			for (size_t m = k; m > i && v[m - 1].size == v[k].size;
			     m--) {
				if (name_read(o, v[m - 1].name, other,
					      sizeof(other)) < 0 ||
				    !name_better(other, best))
					continue;
				memcpy(best, other, sizeof(best));
				pick = m - 1;
			}
			k = pick;
		}
		v[out++] = v[k];
	}
	return out;
}

static void cache_close(struct syms_cache *c, struct elf_obj *o);

/*
 * Whether the cache may keep more: under its byte budget and its count
 * of open objects (each holds one or two file descriptors).
 */
static bool cache_over(const struct syms_cache *c)
{
	return c->open_bytes > c->budget || c->nopen > c->max_open;
}

/* Closes the least recently used open objects, never keep, until it fits. */
static void cache_trim(struct syms_cache *c, const struct elf_obj *keep)
{
	while (cache_over(c)) {
		struct elf_obj *lru = NULL;

		for (size_t i = 0; i < c->nobjs; i++) {
			struct elf_obj *o = c->objs[i];

			if (o->open && o != keep && (!lru || o->used < lru->used))
				lru = o;
		}
		if (!lru)
			return;
		cache_close(c, lru);
	}
}

/* Counts an open object's bytes against the budget. */
static void cache_charge(struct syms_cache *c, struct elf_obj *o,
			 size_t bytes)
{
	o->bytes += bytes;
	c->open_bytes += bytes;
	cache_trim(c, o);
}

static void cache_close(struct syms_cache *c, struct elf_obj *o)
{
	if (!o->open)
		return;
	for (int i = 0; i < 2; i++) {
		if (o->fds[i] >= 0)
			close(o->fds[i]);
		o->fds[i] = -1;
	}
	free(o->syms);
	o->syms = NULL;
	o->nsyms = 0;
	o->ntables = 0;
	o->indexed = false;
	c->open_bytes -= o->bytes;
	c->nopen--;
	o->bytes = 0;
	o->open = false;
}

/*
 * Opens file `which` of the object at path (its first opening records
 * the inode; an opening again must find the same one): fd or -1.
 */
static int obj_open_file(struct elf_obj *o, int which, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) ||
	    (o->fino[which] && (st.st_ino != o->fino[which] ||
				st.st_dev != o->fdev[which]))) {
		close(fd);
		return -1;
	}
	o->fdev[which] = st.st_dev;
	o->fino[which] = st.st_ino;
	return fd;
}

/* Marks an object open with its files (fds[]) and charges it. */
static void cache_open(struct syms_cache *c, struct elf_obj *o)
{
	o->open = true;
	c->nopen++;
	o->used = ++c->tick;
	cache_charge(c, o, sizeof(*o));
}

/* Opens a closed object's files again by their paths: 0 or -1. */
static int obj_reopen(struct syms_cache *c, struct elf_obj *o)
{
	if (o->lost || !o->paths[0])
		return -1;
	o->fds[0] = obj_open_file(o, 0, o->paths[0]);
	o->fds[1] = o->paths[1] ? obj_open_file(o, 1, o->paths[1]) : -1;
	if (o->fds[0] < 0 || (o->paths[1] && o->fds[1] < 0)) {
		if (o->fds[0] >= 0)
			close(o->fds[0]);
		if (o->fds[1] >= 0)
			close(o->fds[1]);
		o->fds[0] = o->fds[1] = -1;
		o->lost = true;
		return -1;
	}
	cache_open(c, o);
	return 0;
}

/*
 * Reads an open object's index: its symbol tables' functions (.symtab
 * and .dynsym, or its debug file's .symtab), sorted, one per address.
 * An index that alone is over the budget is not kept: no names.
 */
static int obj_index(struct syms_cache *c, struct elf_obj *o)
{
	struct index_build b = { 0 };
	struct usym *v;
	int err = 0;
	Elf *e;

	o->indexed = true;
	for (int file = 0; file < 2 && !err; file++) {
		if (o->image && !file)
			e = elf_memory((char *)o->image, o->image_size);
		else if (o->fds[file] >= 0 && !o->image)
			e = elf_begin(o->fds[file], ELF_C_READ_MMAP, NULL);
		else
			continue;
		if (!e)
			continue;
		if (elf_kind(e) == ELF_K_ELF) {
			err = index_tables(o, file, e, SHT_SYMTAB, &b);
			if (!err && !file)
				err = index_tables(o, file, e, SHT_DYNSYM, &b);
		}
		elf_end(e);
	}
	if (err) {
		free(b.v);
		return err;
	}
	b.n = index_dedup(o, b.v, b.n);
	v = b.n ? realloc(b.v, b.n * sizeof(*b.v)) : NULL;
	if (!v)
		free(b.v);
	o->syms = v;
	o->nsyms = v ? b.n : 0;
	if (o->image)
		return 0;
	cache_charge(c, o, o->nsyms * sizeof(*o->syms));
	if (c->open_bytes > c->budget) {
		/* alone over the budget */
		cache_close(c, o);
		o->lost = true;
		return -ENOSPC;
	}
	return 0;
}

/* Makes the object's index ready for a lookup: 0 or -1. */
static int obj_ready(struct syms_cache *c, struct elf_obj *o)
{
	if (o->failed)
		return -1;
	if (!o->image && !o->open && obj_reopen(c, o))
		return -1;
	o->used = ++c->tick;
	if (!o->indexed && obj_index(c, o))
		return -1;
	return 0;
}

static const struct usym *usym_find(const struct elf_obj *o, uint64_t addr)
{
	size_t lo = 0, hi = o->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/*
	 * The nearest symbol may end before addr while an earlier, larger
	 * one (a function with a local function inside) covers it.
	 */
	for (size_t i = lo; i > 0 && lo - i < 4; i--) {
		const struct usym *s = &o->syms[i - 1];

		if (addr - s->start < s->size)
			return s;
	}
	return NULL;
}

static size_t uname_slot(const struct syms_cache *c, const struct elf_obj *o,
			 uint32_t name)
{
	uint64_t h = ((uintptr_t)o >> 4) * 0x9e3779b97f4a7c15ULL ^ name;

	h *= 0xff51afd7ed558ccdULL;
	return (h >> 32) & (c->capun - 1);
}

static int uname_grow(struct syms_cache *c)
{
	struct uname *old = c->un;
	size_t oldcap = c->capun;

	c->capun = oldcap ? oldcap * 2 : 256;
	c->un = calloc(c->capun, sizeof(*c->un));
	if (!c->un) {
		c->un = old;
		c->capun = oldcap;
		return -ENOMEM;
	}
	for (size_t i = 0; i < oldcap; i++) {
		size_t j;

		if (!old[i].obj)
			continue;
		for (j = uname_slot(c, old[i].obj, old[i].name); c->un[j].obj;
		     j = (j + 1) & (c->capun - 1))
			;
		c->un[j] = old[i];
	}
	free(old);
	return 0;
}

/*
 * The name numbered name of an object with its files open, read once:
 * kept for the cache's life, as every name syms.h hands out. NULL if it
 * cannot be read.
 */
static const char *uname_get(struct syms_cache *c, const struct elf_obj *o,
			     uint32_t name)
{
	char short_buf[256], *buf = short_buf, *long_buf = NULL;
	const char *kept;
	size_t i;
	ssize_t n;

	if (c->nun * 2 >= c->capun && uname_grow(c))
		return NULL;
	for (i = uname_slot(c, o, name); c->un[i].obj;
	     i = (i + 1) & (c->capun - 1))
		if (c->un[i].obj == o && c->un[i].name == name)
			return c->un[i].s;
	/* most names are short: a second read only for a long one */
	n = name_read(o, name, buf, sizeof(short_buf));
	if (n == sizeof(short_buf) - 1 && (long_buf = malloc(USER_NAME_MAX))) {
		buf = long_buf;
		n = name_read(o, name, buf, USER_NAME_MAX);
	}
	kept = n > 0 ? arena_copy(&c->unames, &c->uarena, buf) : NULL;
	free(long_buf);
	if (!kept)
		return NULL;
	c->un[i] = (struct uname){ o, name, kept };
	c->nun++;
	return kept;
}

/*
 * The symbol covering vaddr, a virtual address of the object: its name
 * (NULL: none) and *start its address.
 */
static const char *obj_symbol(struct syms_cache *c, struct elf_obj *o,
			      uint64_t vaddr, uint64_t *start)
{
	const struct usym *s;

	if (obj_ready(c, o))
		return NULL;
	s = usym_find(o, vaddr);
	if (!s)
		return NULL;
	*start = s->start;
	return uname_get(c, o, s->name);
}

static int open_elf_fd(struct elf_obj *o, int which, const char *path,
		       Elf **e)
{
	int fd = obj_open_file(o, which, path);

	if (fd < 0)
		return -1;
	*e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!*e || elf_kind(*e) != ELF_K_ELF) {
		if (*e)
			elf_end(*e);
		close(fd);
		o->fino[which] = o->fdev[which] = 0;
		return -1;
	}
	return fd;
}

/* Keeps path as the debug file if its .symtab has functions. */
static bool try_debug_file(struct elf_obj *o, const char *path)
{
	bool found;
	Elf *e;
	int fd = open_elf_fd(o, 1, path, &e);

	if (fd < 0)
		return false;
	o->fds[1] = fd;
	found = has_symtab_funcs(o, 1, e);
	elf_end(e);
	if (found)
		o->paths[1] = strdup(path);
	if (!found || !o->paths[1]) {
		close(fd);
		o->fds[1] = -1;
		o->fino[1] = o->fdev[1] = 0;
		return false;
	}
	return true;
}

/*
 * A stripped object's full symbol table may be installed separately: by
 * build id under the debug directory, or by the name .gnu_debuglink
 * gives, next to the object, in its .debug/ or under the debug directory.
 * root prefixes every path (the process's /proc/PID/root, or "" for the
 * host's). True if found.
 */
static bool find_debug_in(struct syms_cache *c, struct elf_obj *o, Elf *e,
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
			return true;
	}
	scn = find_section(e, ".gnu_debuglink");
	data = scn ? elf_getdata(scn, NULL) : NULL;
	if (data && data->d_size > 1 &&
	    memchr(data->d_buf, '\0', data->d_size))
		link = data->d_buf;
	if (!link || !*link || strchr(link, '/'))
		return false;
	slash = strrchr(inner_path, '/');
	snprintf(dir, sizeof(dir), "%.*s",
		 slash ? (int)(slash - inner_path) : 0, inner_path);
	snprintf(path, sizeof(path), "%s%s/%s", root, dir, link);
	if (strcmp(path + strlen(root), inner_path) && try_debug_file(o, path))
		return true;
	snprintf(path, sizeof(path), "%s%s/.debug/%s", root, dir, link);
	if (try_debug_file(o, path))
		return true;
	snprintf(path, sizeof(path), "%s%s%s/%s", root, c->debug_dir, dir,
		 link);
	return try_debug_file(o, path);
}

/*
 * A process in a container has its debug files in its own root; the
 * host's debug directory may have them too (installed for the image).
 */
static void find_debug_file(struct syms_cache *c, struct elf_obj *o, Elf *e,
			    const char *root, const char *inner_path)
{
	if (!find_debug_in(c, o, e, root, inner_path) && *root)
		find_debug_in(c, o, e, "", inner_path);
}

/*
 * Reads what an object keeps for the cache's life (segments, build id,
 * where its symbols are) from its open ELF, and keeps its files open;
 * the index is read at the first lookup.
 */
static void obj_setup(struct syms_cache *c, struct elf_obj *o, Elf *e,
		      int fd, const char *root, const char *inner_path)
{
	char hex[128];

	o->failed = false;
	o->fds[0] = fd;
	addr_elf_segments(e, &o->loads, &o->nloads);
	if (build_id(e, hex, sizeof(hex)))
		o->build_id = strdup(hex);
	if (inner_path && !has_symtab_funcs(o, 0, e))
		find_debug_file(c, o, e, root, inner_path);
	cache_open(c, o);
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
	o->fds[0] = o->fds[1] = -1;
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

static void obj_free(struct syms_cache *c, struct elf_obj *o)
{
	cache_close(c, o);
	free(o->syms);
	free(o->build_id);
	free(o->loads);
	free(o->path);
	free(o->paths[0]);
	free(o->paths[1]);
	free((void *)o->image);
	free(o);
}

/*
 * A closed object mapped by another process: its map_files entry is the
 * way to open it again from now on (the first process may have gone).
 */
static void obj_adopt(struct elf_obj *o, const char *path)
{
	char *copy;

	if (o->open || o->failed || o->image || !o->paths[0] ||
	    !strcmp(o->paths[0], path))
		return;
	copy = strdup(path);
	if (!copy)
		return;
	free(o->paths[0]);
	o->paths[0] = copy;
	o->lost = false;
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

	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	if (o) {
		obj_adopt(o, path);
		return o;
	}
	o = obj_new(c, dev, m->inode, m->path);
	if (!o)
		return NULL;
	fd = open_elf_fd(o, 0, path, &e);
	if (fd < 0) {
		snprintf(path, sizeof(path), "%s%s", root, m->path);
		fd = open_elf_fd(o, 0, path, &e);
	}
	if (fd < 0)
		return o;
	o->paths[0] = strdup(path);
	obj_setup(c, o, e, fd, root, m->path);
	elf_end(e);
	return o;
}

/*
 * Every 64-bit process maps the same vdso image as this one: read ours
 * from memory (a copy, kept: its names are read from it).
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
	if (!o) {
		free(image);
		return NULL;
	}
	o->image = image;
	o->image_size = end - start;
	e = elf_memory(image, end - start);
	if (e && elf_kind(e) == ELF_K_ELF) {
		o->failed = false;
		addr_elf_segments(e, &o->loads, &o->nloads);
	}
	if (e)
		elf_end(e);
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
	const char *name;
	struct elf_obj *o;
	uint64_t start;
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
		fd = open_elf_fd(o, 0, path, &e);
		if (fd >= 0) {
			o->paths[0] = strdup(o->path);
			obj_setup(c, o, e, fd, "", path);
			elf_end(e);
		}
	}
	out->module = o->path;
	name = obj_symbol(c, o, vaddr, &start);
	if (!name)
		return -ENOENT;
	out->kind = SYMS_USER;
	out->name = display_name(c, name);
	out->offset = vaddr - start;
	return 0;
}

void syms_set_budget(struct syms_cache *c, size_t bytes)
{
	c->budget = bytes;
	cache_trim(c, NULL);
}

size_t syms_open_bytes(const struct syms_cache *c)
{
	return c->open_bytes;
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
	const struct sym *s;
	const char *name = NULL;
	uint64_t start = 0, vaddr;
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
		if (m->obj) {
			vaddr = obj_vaddr(m->obj, addr - m->start + m->offset);
			name = obj_symbol(c, m->obj, vaddr, &start);
		}
		if (name) {
			out->kind = SYMS_USER;
			out->name = display_name(c, name);
			out->offset = vaddr - start;
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
	struct rlimit rl;

	if (!c)
		return NULL;
	snprintf(c->debug_dir, sizeof(c->debug_dir), "/usr/lib/debug");
	c->budget = SYMS_BUDGET_DEFAULT;
	c->max_open = SYMS_MAX_OPEN;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur / 8 < c->max_open)
		c->max_open = rl.rlim_cur > 64 ? rl.rlim_cur / 8 : 8;
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
		obj_free(c, c->objs[i]);
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
	free(c->un);
	symtab_free(&c->unames);
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

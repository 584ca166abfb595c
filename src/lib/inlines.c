/*
 * Inlined frames (inlines.h): for a user address, the chain of
 * DW_TAG_inlined_subroutine scopes of its compile unit that contain it,
 * found with libdw the way addr2line -i does. One offline libdw session
 * (Dwfl) per object, opened on first use through the process's
 * /proc/PID/map_files (or its root) and closed least recently used first
 * once their DWARF sections pass the byte budget; libdw's standard search
 * finds a separate debug file by build id or .gnu_debuglink, in the
 * process's root first (a container's /usr/lib/debug), then the host's.
 * Answers are
 * kept per (object, file offset), so the many stacks that share a frame
 * walk its compile unit once; names are interned and outlive the closing
 * of their object.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gelf.h>
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include "addr.h"
#include "inlines.h"
#include "syms.h"

#define INLINES_BUDGET		(64UL << 20)
/* Objects known (open or not); past it the least recently used goes. */
#define INLINES_MAX_OBJS	1024
/* Answers kept; all are dropped when the table is this full. */
#define INLINES_MAX_ANSWERS	(1U << 16)

/* One object, keyed by its build id (else its path). */
struct inl_obj {
	const char *key;	/* interned */
	Dwfl *dwfl;		/* NULL: closed, or it has no DWARF */
	Dwfl_Module *mod;
	Dwarf_Addr bias;	/* libdw's address = ELF vaddr + bias */
	struct addr_seg *loads;
	size_t nloads;
	size_t bytes;		/* its DWARF sections */
	Dwfl_Callbacks *cbs;	/* dwfl's, with its debug search path */
	bool no_dwarf;		/* looked at: nothing to find there */
	unsigned long long used;
};

/* The inlined names at one file offset of one object. */
struct inl_answer {
	const char *key;	/* NULL: a free slot */
	uint64_t off;
	const char **names;
	int n;
};

struct inl_name {
	struct inl_name *next;
	char s[];
};

struct inlines {
	size_t budget, bytes;
	struct inl_obj *objs;
	size_t nobjs;
	unsigned long long clock;
	struct inl_answer *answers;
	size_t nanswers, capanswers;
	struct inl_name **names;	/* interned strings, a hash of lists */
	size_t capnames;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* The one copy of s, kept as long as in lives (NULL if out of memory). */
static const char *inl_intern(struct inlines *in, const char *s)
{
	struct inl_name **slot = &in->names[hash_str(s) & (in->capnames - 1)];
	struct inl_name *n;
	size_t len = strlen(s);

	for (n = *slot; n; n = n->next)
		if (!strcmp(n->s, s))
			return n->s;
	n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	memcpy(n->s, s, len + 1);
	n->next = *slot;
	*slot = n;
	return n->s;
}

struct inlines *inlines_new(size_t budget)
{
	struct inlines *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->budget = budget ? budget : INLINES_BUDGET;
	in->capnames = 4096;
	in->names = calloc(in->capnames, sizeof(*in->names));
	in->objs = calloc(INLINES_MAX_OBJS, sizeof(*in->objs));
	if (!in->names || !in->objs) {
		inlines_free(in);
		return NULL;
	}
	return in;
}

static void obj_close(struct inlines *in, struct inl_obj *o)
{
	if (o->dwfl)
		dwfl_end(o->dwfl);
	o->dwfl = NULL;
	free(o->cbs);
	o->cbs = NULL;
	o->mod = NULL;
	in->bytes -= o->bytes;
	o->bytes = 0;
}

static void answers_clear(struct inlines *in)
{
	for (size_t i = 0; i < in->capanswers; i++)
		free(in->answers[i].names);
	free(in->answers);
	in->answers = NULL;
	in->nanswers = in->capanswers = 0;
}

void inlines_free(struct inlines *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->nobjs; i++) {
		obj_close(in, &in->objs[i]);
		free(in->objs[i].loads);
	}
	free(in->objs);
	answers_clear(in);
	for (size_t i = 0; in->names && i < in->capnames; i++) {
		struct inl_name *n = in->names[i], *next;

		for (; n; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(in->names);
	free(in);
}

void inlines_stats(const struct inlines *in, size_t *objs, size_t *bytes)
{
	size_t open = 0;

	for (size_t i = 0; i < in->nobjs; i++)
		open += in->objs[i].dwfl != NULL;
	*objs = open;
	*bytes = in->bytes;
}

/* The DWARF sections libdw reads for an answer, in bytes. */
static size_t dwarf_bytes(Dwarf *dw)
{
	Elf *e = dwarf_getelf(dw);
	Elf_Scn *scn = NULL;
	size_t shstrndx, bytes = 0;
	GElf_Shdr sh;

	if (!e || elf_getshdrstrndx(e, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(e, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (name && !strncmp(name, ".debug_", 7))
			bytes += sh.sh_size;
	}
	return bytes;
}

/*
 * libdw's search for a separate debug file, as the process sees its
 * files: by build id and .gnu_debuglink under its root's /usr/lib/debug,
 * next to the object in its root, then libdw's default (next to the path,
 * in .debug/, under the host's /usr/lib/debug). One block: the callbacks
 * and the path they point to live as long as the object's Dwfl.
 */
struct inl_search {
	Dwfl_Callbacks cbs;
	char *path;
	char text[128];
};

static Dwfl_Callbacks *inl_callbacks(int pid)
{
	struct inl_search *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	snprintf(s->text, sizeof(s->text),
		 "/proc/%d/root/usr/lib/debug:/proc/%d/root::.debug:/usr/lib/debug",
		 pid, pid);
	s->path = s->text;
	s->cbs = (Dwfl_Callbacks){
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.debuginfo_path = &s->path,
	};
	/* cbs is the first member: freeing it frees the block */
	return &s->cbs;
}

/*
 * Opens the object of mapping m of process pid: through map_files (a
 * deleted or replaced file, another mount namespace), else its path in
 * the process's root, else the path itself (the process is gone).
 * libdw is told the path the process sees, where it looks for a
 * .gnu_debuglink file.
 */
static void obj_open(struct inlines *in, struct inl_obj *o, int pid,
		     const struct syms_map *m)
{
	char path[PATH_MAX + 64];
	Dwarf_Addr dbias;
	Dwarf *dw;
	Elf *e;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", pid, m->path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		fd = open(m->path, O_RDONLY | O_CLOEXEC);
	o->no_dwarf = true;
	if (fd < 0)
		return;
	o->cbs = inl_callbacks(pid);
	o->dwfl = o->cbs ? dwfl_begin(o->cbs) : NULL;
	if (!o->dwfl) {
		free(o->cbs);
		o->cbs = NULL;
		close(fd);
		return;
	}
	/* libdw owns fd from here, whatever the outcome. */
	o->mod = dwfl_report_offline(o->dwfl, m->path, m->path, fd);
	dwfl_report_end(o->dwfl, NULL, NULL);
	e = o->mod ? dwfl_module_getelf(o->mod, &o->bias) : NULL;
	dw = e ? dwfl_module_getdwarf(o->mod, &dbias) : NULL;
	if (!dw || (!o->loads && addr_elf_segments(e, &o->loads,
						   &o->nloads))) {
		obj_close(in, o);
		return;
	}
	o->no_dwarf = false;
	o->bytes = dwarf_bytes(dw);
	in->bytes += o->bytes;
}

/* Closes the least recently used objects past the budget, but keep. */
static void objs_trim(struct inlines *in, const struct inl_obj *keep)
{
	while (in->bytes > in->budget) {
		struct inl_obj *lru = NULL;

		for (size_t i = 0; i < in->nobjs; i++) {
			struct inl_obj *o = &in->objs[i];

			if (o->dwfl && o != keep &&
			    (!lru || o->used < lru->used))
				lru = o;
		}
		if (!lru)
			return;
		obj_close(in, lru);
	}
}

/* The object of key, opened if needed; NULL if it has no DWARF. */
static struct inl_obj *obj_get(struct inlines *in, const char *key, int pid,
			       const struct syms_map *m)
{
	struct inl_obj *o = NULL;

	for (size_t i = 0; i < in->nobjs && !o; i++)
		if (in->objs[i].key == key)
			o = &in->objs[i];
	if (!o && in->nobjs == INLINES_MAX_OBJS) {
		o = &in->objs[0];
		for (size_t i = 1; i < in->nobjs; i++)
			if (in->objs[i].used < o->used)
				o = &in->objs[i];
		obj_close(in, o);
		free(o->loads);
		memset(o, 0, sizeof(*o));
	} else if (!o) {
		o = &in->objs[in->nobjs++];
	}
	o->used = ++in->clock;
	if (o->key != key) {
		o->key = key;
		obj_open(in, o, pid, m);
	} else if (!o->dwfl && !o->no_dwarf) {
		/* closed for the budget: open it again */
		obj_open(in, o, pid, m);
	}
	objs_trim(in, o);
	return o->dwfl ? o : NULL;
}

static size_t answer_slot(const struct inlines *in, const char *key,
			  uint64_t off)
{
	size_t mask = in->capanswers - 1;
	size_t i = (hash_str(key) ^ off * 0x9e3779b97f4a7c15ULL) & mask;

	while (in->answers[i].key &&
	       (in->answers[i].key != key || in->answers[i].off != off))
		i = (i + 1) & mask;
	return i;
}

static int answers_grow(struct inlines *in)
{
	struct inl_answer *old = in->answers;
	size_t oldcap = in->capanswers;

	if (oldcap >= INLINES_MAX_ANSWERS) {
		answers_clear(in);
		oldcap = 0;
		old = NULL;
	}
	in->capanswers = oldcap ? oldcap * 2 : 1024;
	in->answers = calloc(in->capanswers, sizeof(*in->answers));
	if (!in->answers) {
		in->answers = old;
		in->capanswers = oldcap;
		return -ENOMEM;
	}
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			in->answers[answer_slot(in, old[i].key, old[i].off)] =
				old[i];
	free(old);
	return 0;
}

/*
 * The interned name of an inlined function's DIE, from its abstract
 * origin (or the declaration that one specifies): the linkage name,
 * demangled unless symbols are not (a C++ method with its class and
 * parameters), else DW_AT_name; NULL if none.
 */
static const char *die_name(struct inlines *in, struct syms_cache *syms,
			    Dwarf_Die *die)
{
	const char *name = NULL, *ret;
	Dwarf_Attribute attr;
	char *dm = NULL;

	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr)) {
		name = dwarf_formstring(&attr);
		dm = name ? syms_demangle(syms, name) : NULL;
	}
	if (!name && dwarf_attr_integrate(die, DW_AT_name, &attr))
		name = dwarf_formstring(&attr);
	ret = dm || name ? inl_intern(in, dm ? dm : name) : NULL;
	free(dm);
	return ret;
}

/* Walks the scopes at file offset off of o into a new answer's names. */
static int inlines_lookup(struct inlines *in, struct syms_cache *syms,
			  struct inl_obj *o, uint64_t off, const char **names,
			  int max)
{
	Dwarf_Addr a = addr_seg_vaddr(o->loads, o->nloads, off) + o->bias;
	Dwarf_Die *cu, *scopes = NULL;
	Dwarf_Addr dbias;
	int n, k = 0;

	cu = dwfl_module_addrdie(o->mod, a, &dbias);
	if (!cu)
		return 0;
	n = dwarf_getscopes(cu, a - dbias, &scopes);
	for (int i = 0; i < n && k < max; i++) {
		const char *name;

		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		name = die_name(in, syms, &scopes[i]);
		names[k] = name ? name : inl_intern(in, "[unknown]");
		k += names[k] != NULL;
	}
	free(scopes);
	return k;
}

int inlines_user(struct inlines *in, struct syms_cache *syms, int pid,
		 uint64_t addr, const char **names, int max)
{
	const char *found[INLINES_MAX_DEPTH];
	struct inl_answer *ans;
	struct inl_obj *o;
	struct syms_map m;
	const char *key;
	uint64_t off;
	size_t slot;
	int n;

	if (syms_user_map(syms, pid, addr, &m) || !m.path || m.path[0] != '/')
		return 0;
	key = inl_intern(in, m.build_id ? m.build_id : m.path);
	if (!key)
		return 0;
	off = addr - m.start + m.offset;
	if (in->capanswers) {
		ans = &in->answers[answer_slot(in, key, off)];
		if (ans->key)
			goto out;
	}
	o = obj_get(in, key, pid, &m);
	n = o ? inlines_lookup(in, syms, o, off, found, INLINES_MAX_DEPTH) :
		0;
	if (in->nanswers * 2 >= in->capanswers && answers_grow(in))
		return 0;
	slot = answer_slot(in, key, off);
	ans = &in->answers[slot];
	ans->names = n ? malloc(n * sizeof(*ans->names)) : NULL;
	if (n && !ans->names)
		return 0;
	if (n)
		memcpy(ans->names, found, n * sizeof(*found));
	ans->n = n;
	ans->key = key;
	ans->off = off;
	in->nanswers++;
out:
	n = ans->n < max ? ans->n : max;
	if (n)
		memcpy(names, ans->names, n * sizeof(*names));
	return n;
}

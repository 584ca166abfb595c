/*
 * Addresses to symbol names, for every tool that shows stacks.
 *
 * Kernel: /proc/kallsyms, loaded once on first use, sorted, binary search;
 * module symbols carry their module name.
 *
 * User: a process's executable mappings from /proc/PID/maps; an address
 * becomes a file offset in its mapping, then a virtual address of the ELF
 * object (through its PT_LOAD headers), then the symbol covering it in
 * .symtab or .dynsym (or in a separate debug file found by build id or
 * .gnu_debuglink). Files are opened through /proc/PID/map_files (deleted
 * or replaced binaries, other mount namespaces) or /proc/PID/root, and
 * stay open; each object is cached by (device, inode) with a compact
 * index of its functions (16 bytes each), and a name is read from the
 * file when a lookup first lands on it. The indexes live within a byte
 * budget: past it, the least recently used objects are closed and
 * opened again when needed. The vdso resolves
 * through this process's own copy; anonymous code through the JIT's
 * /tmp/perf-PID.map (names cut at 1 KB). Mangled C++ and Rust names are
 * demangled. syms_capture() snapshots a process while it lives so
 * its addresses still resolve after it exits.
 */
#ifndef LOUPE_SYMS_H
#define LOUPE_SYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct syms_cache;

enum syms_kind {
	SYMS_UNKNOWN,		/* nothing resolved the address */
	SYMS_USER,		/* a symbol of an ELF object */
	SYMS_KERNEL,		/* a kallsyms symbol */
	SYMS_JIT,		/* a perf map entry of a JIT */
};

struct syms_frame {
	uint64_t addr;
	enum syms_kind kind;
	const char *name;	/* NULL if unknown */
	uint64_t offset;	/* addr - start of the symbol */
	/*
	 * The object: a file path as the process sees it, "[vdso]", or
	 * for the kernel a module name (NULL for the core kernel). NULL
	 * when the address is in no known mapping. Valid as long as the
	 * cache lives.
	 */
	const char *module;
	/*
	 * A function inlined at addr (inlines.h), shown as a frame of its
	 * own before the function that holds it; syms never sets it.
	 */
	bool inlined;
};

struct syms_cache *syms_cache_new(void);
void syms_cache_free(struct syms_cache *c);

/*
 * Kernel symbol of addr (kallsyms is loaded on first call), or NULL;
 * *offset gets addr - symbol, *module the module name or NULL for the
 * core kernel. Either output pointer may be NULL.
 */
const char *syms_kernel(struct syms_cache *c, uint64_t addr,
			uint64_t *offset, const char **module);
/* The same as a frame: 0, or -ENOENT with kind SYMS_UNKNOWN. */
int syms_kernel_frame(struct syms_cache *c, uint64_t addr,
		      struct syms_frame *out);
/*
 * Loads only the kernel symbols these addresses need (a few hundred KB
 * instead of every symbol); other addresses still resolve, by loading all.
 */
int syms_kernel_prepare(struct syms_cache *c, const uint64_t *addrs,
			size_t n);
/* Loads a kallsyms text instead of /proc/kallsyms (tests, other hosts). */
int syms_load_kallsyms(struct syms_cache *c, FILE *f);

/*
 * Symbol of a user address of process pid. Captures the process first if
 * it was not captured yet. 0, or a negative errno with out->kind
 * SYMS_UNKNOWN (out->module still names the mapping when there is one):
 * -ESRCH if the process is gone and was never captured, -ENOENT if no
 * symbol covers the address.
 */
int syms_user(struct syms_cache *c, int pid, uint64_t addr,
	      struct syms_frame *out);

/* The mapping of a user address as syms_user() last saw it. */
struct syms_map {
	uint64_t start, end, offset;
	const char *path;	/* NULL: anonymous; valid while the cache is */
	const char *build_id;	/* GNU build id in hex, or NULL */
};

/* Fills out for addr of a captured process: 0 or -ENOENT. */
int syms_user_map(struct syms_cache *c, int pid, uint64_t addr,
		  struct syms_map *out);

/*
 * Reads the process's mappings now (again, if they changed since the last
 * capture) and loads the symbols of every object it maps, so that its
 * addresses resolve after it exits. 0 or a negative errno.
 */
int syms_capture(struct syms_cache *c, int pid);

/* Symbol of virtual address vaddr of an ELF file (e.g. a uprobe target). */
int syms_file(struct syms_cache *c, const char *path, uint64_t vaddr,
	      struct syms_frame *out);

/*
 * Whether user names are demangled (C++, Rust legacy and v0), the
 * default, or shown as the symbol table has them (--no-demangle).
 */
void syms_set_demangle(struct syms_cache *c, bool on);

/*
 * A name from elsewhere (DWARF) as the cache shows names: a malloc'ed
 * demangled copy, or NULL to show it as is (not mangled, --no-demangle).
 */
char *syms_demangle(const struct syms_cache *c, const char *name);

/*
 * The bytes the open ELF objects' indexes may take (default 64 MB), a
 * hard cap: past it the least recently used are closed, and opened
 * again by path (their map_files entry, or their path in the process's
 * root) when a lookup needs them; one that cannot be opened again, or is
 * alone over the budget, has no names from then on. Names already
 * handed out stay valid.
 */
void syms_set_budget(struct syms_cache *c, size_t bytes);
/* What the open objects take now, as the budget counts it. */
size_t syms_open_bytes(const struct syms_cache *c);

/* Where build-id debug files live (default /usr/lib/debug). */
void syms_set_debug_dir(struct syms_cache *c, const char *dir);

/* "name+0xoff [module]": module is a file's base name, or "kernel". */
void syms_format(const struct syms_frame *f, char *buf, size_t len);

/* One line of /proc/PID/maps. */
struct syms_mapping {
	uint64_t start, end, offset;
	unsigned int dev_major, dev_minor;
	uint64_t inode;
	char perms[5];
	const char *path;	/* points into the line; "" if anonymous */
	bool deleted;		/* path ended with " (deleted)" (stripped) */
};

/* Parses one maps line in place (the path is cut at its end): 0 or -1. */
int syms_parse_maps_line(char *line, struct syms_mapping *m);

#endif

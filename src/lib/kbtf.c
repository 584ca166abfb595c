/*
 * Kernel BTF cut down to what the embedded objects need. libbpf parses the
 * whole kernel BTF (5.5 MB, 127k types) on every load, for CO-RE, for the
 * attach ids of tp_btf/fentry programs; that was most of a tool's start-up
 * time and memory. Here it is cut once per kernel and loupe build: every
 * type those objects can reach stays as it is under its own id, every other
 * one becomes an anonymous 12-byte placeholder, so type ids (attach ids,
 * CO-RE type ids) stay the kernel's. The result is cached in
 * /var/cache/loupe (LOUPE_BTF_CACHE overrides) and handed to libbpf by
 * wrapping btf__load_vmlinux_btf() at link time (libbpf is static). Any
 * doubt (an object using something this does not model, a cache that does
 * not check out) means the whole kernel BTF, as before.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "kbtf.h"
#include "log.h"
#include "tool.h"

#define KBTF_DEFAULT_DIR	"/var/cache/loupe"
#define KBTF_MAGIC		"LOUPEKBT"
#define KBTF_FORMAT		1	/* bump when the cut changes */
#define KBTF_MAX_SIZE		(64u << 20)
#define KBTF_BUILD_ID_MAX	32
#define KERNEL_BTF		"/sys/kernel/btf/vmlinux"

/* CO-RE relocation kinds (enum bpf_core_relo_kind) this file acts upon. */
#define RELO_TYPE_ID_LOCAL	6
#define RELO_TYPE_ID_TARGET	7
#define RELO_TYPE_SIZE		9
#define RELO_ENUMVAL_VALUE	11

struct kbtf_file_hdr {
	char magic[8];
	__u32 format;
	__u32 build_id_len;
	__u8 build_id[KBTF_BUILD_ID_MAX];
	__u64 kernel_hash;
	__u64 kernel_size;
	__u64 payload_size;
	__u64 payload_hash;
};

/*
 * The cut BTF, and where to read it again: when the cache holds it, it is
 * read for each parse and dropped at once, so that it and libbpf's parsed
 * copy (1.6 MB each) are never both held for a whole load.
 */
static struct {
	pthread_mutex_t lock;
	bool tried;
	void *raw;
	size_t size;
	bool in_cache;		/* raw can be read again from path */
	char path[PATH_MAX];
	struct kbtf_file_hdr key;
	struct btf *full;	/* only if a module's BTF needed it as base */
} kbtf = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*
 * kbtf_share(): one parse of the cut BTF serves the next loads, which
 * otherwise parse it each (and the hook chooser once more per tool): 40%
 * of the CPU of the overview's set-up, eleven objects. Under kbtf.lock.
 */
static struct {
	struct btf *btf;
	int uses;	/* kbtf_end() calls before it is freed */
} share;

static const struct tool *const *kbtf_tools;
static __thread bool kbtf_active;
/* The last cut BTF handed to libbpf in this thread (see btf_get_from_fd). */
static __thread struct btf *kbtf_handed;

struct btf *__real_btf__load_vmlinux_btf(void);
struct btf *__real_btf_get_from_fd(int btf_fd, struct btf *base_btf);

void kbtf_init(const struct tool *const *tools)
{
	const char *env = getenv("LOUPE_BTF_CACHE");

	/* LOUPE_BTF_CACHE=off: always the whole kernel BTF. */
	kbtf_tools = env && !strcmp(env, "off") ? NULL : tools;
}

/*
 * A tool may run as a modified copy of its table row (fewer probes, a
 * mode): what matters is that it loads one of the table's objects.
 */
void kbtf_begin(const struct tool *t)
{
	kbtf_active = false;
	for (int i = 0; kbtf_tools && t && t->skel && kbtf_tools[i]; i++)
		if (kbtf_tools[i]->skel &&
		    kbtf_tools[i]->skel->elf_bytes == t->skel->elf_bytes)
			kbtf_active = true;
}

void __real_btf__free(struct btf *btf);

static void share_drop(int uses)
{
	share.uses = uses;
	if (share.uses > 0)
		return;
	__real_btf__free(share.btf);
	__atomic_store_n(&share.btf, NULL, __ATOMIC_RELEASE);
}

void kbtf_share(int uses)
{
	pthread_mutex_lock(&kbtf.lock);
	share_drop(uses);
	pthread_mutex_unlock(&kbtf.lock);
}

void kbtf_end(void)
{
	kbtf_active = false;
	kbtf_handed = NULL;
	pthread_mutex_lock(&kbtf.lock);
	if (share.uses > 0)
		share_drop(share.uses - 1);
	pthread_mutex_unlock(&kbtf.lock);
}

/*
 * libbpf frees the kernel BTF after each load: not the shared one. No
 * lock: this file frees BTFs while it holds kbtf.lock, and share.btf only
 * goes away once no load can hold it any more.
 */
void __wrap_btf__free(struct btf *btf)
{
	if (!btf || btf != __atomic_load_n(&share.btf, __ATOMIC_ACQUIRE))
		__real_btf__free(btf);
}

static __u64 kbtf_hash(__u64 h, const void *data, size_t len)
{
	const unsigned char *p = data;
	__u64 w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/* Hash of the kernel BTF's bytes, read in chunks (never held whole). */
static int kernel_key(__u64 *hash, __u64 *size)
{
	static char buf[65536];
	ssize_t n;
	size_t fill;
	int fd;

	fd = open(KERNEL_BTF, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*hash = 0xcbf29ce484222325ULL;
	*size = 0;
	do {
		/* Fill the buffer whole: sysfs hands out a page per read. */
		for (fill = 0; fill < sizeof(buf); fill += n) {
			n = read(fd, buf + fill, sizeof(buf) - fill);
			if (n < 0 && errno == EINTR) {
				n = 0;
				continue;
			}
			if (n <= 0)
				break;
		}
		*hash = kbtf_hash(*hash, buf, fill);
		*size += fill;
	} while (n > 0);
	close(fd);
	return n < 0 ? -EIO : 0;
}

struct build_id {
	__u8 bytes[KBTF_BUILD_ID_MAX];
	__u32 len;
};

/* The GNU build id note of the loupe binary (the first object listed). */
static int find_build_id(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct build_id *id = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = p + ph->p_memsz;

		if (ph->p_type != PT_NOTE)
			continue;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const char *name = p + sizeof(*nh);
			const char *desc = name + ((nh->n_namesz + 3) & ~3u);

			p = desc + ((nh->n_descsz + 3) & ~3u);
			if (p > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(name, "GNU", 4) && nh->n_descsz &&
			    nh->n_descsz <= KBTF_BUILD_ID_MAX) {
				memcpy(id->bytes, desc, nh->n_descsz);
				id->len = nh->n_descsz;
			}
		}
	}
	return 1;	/* only the main program */
}

static const char *cache_dir(void)
{
	const char *env = getenv("LOUPE_BTF_CACHE");

	return env && env[0] ? env : KBTF_DEFAULT_DIR;
}

/* Only a cache nobody but root could have written is believed. */
static bool root_only(const struct stat *st)
{
	return st->st_uid == 0 && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

static bool dir_ok(const char *dir)
{
	struct stat st;

	return !stat(dir, &st) && S_ISDIR(st.st_mode) && root_only(&st);
}

static void cache_key(struct kbtf_file_hdr *h, char *path, size_t len)
{
	struct build_id id = { .len = 0 };
	char hex[2 * KBTF_BUILD_ID_MAX + 1] = "";

	memset(h, 0, sizeof(*h));
	memcpy(h->magic, KBTF_MAGIC, sizeof(h->magic));
	h->format = KBTF_FORMAT;
	path[0] = '\0';
	if (kernel_key(&h->kernel_hash, &h->kernel_size)) {
		log_debug("kernel BTF cache: cannot read %s", KERNEL_BTF);
		return;
	}
	dl_iterate_phdr(find_build_id, &id);
	if (!id.len) {
		log_debug("kernel BTF cache: this loupe has no build id");
		return;
	}
	memcpy(h->build_id, id.bytes, id.len);
	h->build_id_len = id.len;
	for (__u32 i = 0; i < id.len; i++)
		sprintf(hex + 2 * i, "%02x", id.bytes[i]);
	snprintf(path, len, "%s/kbtf-%016llx-%s.btf", cache_dir(),
		 (unsigned long long)h->kernel_hash, hex);
}

static bool read_all(int fd, void *buf, size_t len)
{
	ssize_t n;

	for (char *p = buf; len; p += n, len -= n) {
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			n = 0;
		else if (n <= 0)
			return false;
	}
	return true;
}

/* The cut BTF from the cache, if every check passes. */
static void *cache_read(const char *path, const struct kbtf_file_hdr *want,
			size_t *size)
{
	struct kbtf_file_hdr h;
	struct stat st;
	void *raw = NULL;
	const char *why;
	int fd;

	if (!dir_ok(cache_dir())) {
		log_debug("kernel BTF cache: %s is missing or not root's alone",
			  cache_dir());
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		log_debug("kernel BTF cache: no %s", path);
		return NULL;
	}
	why = "not a regular file of root's";
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !root_only(&st))
		goto bad;
	why = "unreadable header";
	if (!read_all(fd, &h, sizeof(h)))
		goto bad;
	why = "another kernel, build or format";
	if (memcmp(&h, want, offsetof(struct kbtf_file_hdr, payload_size)))
		goto bad;
	why = "wrong size";
	if (!h.payload_size || h.payload_size > KBTF_MAX_SIZE ||
	    (__u64)st.st_size != sizeof(h) + h.payload_size)
		goto bad;
	raw = malloc(h.payload_size);
	why = "unreadable";
	if (!raw || !read_all(fd, raw, h.payload_size))
		goto bad;
	/* Parsed when handed out: a parse failure falls back there. */
	why = "checksum mismatch";
	if (kbtf_hash(0, raw, h.payload_size) != h.payload_hash)
		goto bad;
	close(fd);
	*size = h.payload_size;
	log_debug("kernel BTF cache: using %s", path);
	return raw;
bad:
	log_debug("kernel BTF cache: %s: %s; rebuilding it", path, why);
	free(raw);
	close(fd);
	return NULL;
}

/*
 * Written under a temporary name and renamed: readers see all or none.
 * True if it was written.
 */
static bool cache_write(const char *path, struct kbtf_file_hdr *h,
			const void *raw, size_t size)
{
	const char *dir = cache_dir();
	char tmp[PATH_MAX];
	int fd;
	bool ok;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		log_debug("kernel BTF cache: cannot create %s: %s", dir,
			  strerror(errno));
		return false;
	}
	if (!dir_ok(dir)) {
		log_debug("kernel BTF cache: %s is not root's alone; not written",
			  dir);
		return false;
	}
	snprintf(tmp, sizeof(tmp), "%s/.kbtf-XXXXXX", dir);
	fd = mkstemp(tmp);
	if (fd < 0) {
		log_debug("kernel BTF cache: cannot write in %s: %s", dir,
			  strerror(errno));
		return false;
	}
	h->payload_size = size;
	h->payload_hash = kbtf_hash(0, raw, size);
	ok = !fchmod(fd, 0644) && write(fd, h, sizeof(*h)) == sizeof(*h) &&
	     write(fd, raw, size) == (ssize_t)size;
	ok = !close(fd) && ok && !rename(tmp, path);
	if (!ok) {
		log_debug("kernel BTF cache: writing %s failed: %s", path,
			  strerror(errno));
		unlink(tmp);
		return false;
	}
	log_debug("kernel BTF cache: wrote %s (%zu bytes)", path, size);
	return true;
}

/* ---- the cut: which kernel types the objects can reach ---- */

/*
 * A type libbpf looks up by name in the kernel BTF: the root type of a
 * CO-RE relocation (matched by kind and name without its ___flavor, as
 * libbpf does) or an attach target (matched exactly).
 */
struct root {
	char *name;
	size_t len;
	int kind;
	bool exact;
};

struct cut {
	const struct btf *kernel;
	__u8 *keep;
	struct root *roots;
	size_t nroots, cap;
};

static int core_kind(int kind)
{
	return kind == BTF_KIND_ENUM64 ? BTF_KIND_ENUM : kind;
}

/* libbpf's flavor rule: "name___flavor" is "name". */
static size_t essential_len(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = n >= 5 ? n - 5 + 1 : 0; i-- > 0;)
		if (name[i] != '_' && !strncmp(name + i + 1, "___", 3) &&
		    name[i + 4] != '_')
			return i + 1;
	return n;
}

static int add_root(struct cut *c, const char *name, size_t len, int kind,
		    bool exact)
{
	struct root *r;

	if (c->nroots == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 256;
		r = realloc(c->roots, c->cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		c->roots = r;
	}
	r = &c->roots[c->nroots];
	r->name = strndup(name, len);
	if (!r->name)
		return -ENOMEM;
	r->len = len;
	r->kind = kind;
	r->exact = exact;
	c->nroots++;
	return 0;
}

/*
 * Keep a type and all it holds by value: what libbpf reads of a candidate
 * when it matches an access string (members, nested anonymous members,
 * arrays, the field's type through typedefs and modifiers) and resolves
 * a size. A pointer is kept but not what it points to: libbpf never looks
 * through one for the relocations this cut accepts.
 */
static void keep_deep(struct cut *c, __u32 id)
{
	const struct btf_type *t;
	__u16 vlen;

	if (!id || c->keep[id])
		return;
	c->keep[id] = 1;
	t = btf__type_by_id(c->kernel, id);
	vlen = btf_vlen(t);
	switch (btf_kind(t)) {
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
	case BTF_KIND_FUNC:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		keep_deep(c, t->type);
		break;
	case BTF_KIND_ARRAY:
		keep_deep(c, btf_array(t)->type);
		keep_deep(c, btf_array(t)->index_type);
		break;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		for (__u16 i = 0; i < vlen; i++)
			keep_deep(c, btf_members(t)[i].type);
		break;
	case BTF_KIND_FUNC_PROTO:
		keep_deep(c, t->type);
		for (__u16 i = 0; i < vlen; i++)
			keep_deep(c, btf_params(t)[i].type);
		break;
	default:
		break;
	}
}

/* A section of an ELF image by name, bounds checked. */
static const void *elf_section(const void *elf, size_t size, const char *want,
			       size_t *len)
{
	const Elf64_Ehdr *eh = elf;
	const Elf64_Shdr *sh, *strs;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(*sh) || eh->e_shoff > size ||
	    (size - eh->e_shoff) / sizeof(*sh) < eh->e_shnum ||
	    eh->e_shstrndx >= eh->e_shnum)
		return NULL;
	sh = (const Elf64_Shdr *)((const char *)elf + eh->e_shoff);
	strs = &sh[eh->e_shstrndx];
	for (int i = 0; i < eh->e_shnum; i++) {
		size_t at = strs->sh_offset + sh[i].sh_name;
		const char *name = (const char *)elf + at;

		if (at >= size || !memchr(name, '\0', size - at) ||
		    strcmp(name, want) || sh[i].sh_type == SHT_NOBITS ||
		    sh[i].sh_offset > size ||
		    sh[i].sh_size > size - sh[i].sh_offset)
			continue;
		*len = sh[i].sh_size;
		return (const char *)elf + sh[i].sh_offset;
	}
	return NULL;
}

/* Program sections whose attach id libbpf looks up in the kernel BTF. */
static const struct {
	const char *sec;
	const char *prefix;
	int kind;
} attach_secs[] = {
	{ "tp_btf/", "btf_trace_", BTF_KIND_TYPEDEF },
	{ "fentry/", "", BTF_KIND_FUNC },
	{ "fexit/", "", BTF_KIND_FUNC },
	{ "fmod_ret/", "", BTF_KIND_FUNC },
	{ "fentry.s/", "", BTF_KIND_FUNC },
	{ "fexit.s/", "", BTF_KIND_FUNC },
	{ "fmod_ret.s/", "", BTF_KIND_FUNC },
	{ "lsm/", "bpf_lsm_", BTF_KIND_FUNC },
	{ "lsm.s/", "bpf_lsm_", BTF_KIND_FUNC },
	{ "iter/", "bpf_iter_", BTF_KIND_FUNC },
	{ "iter.s/", "bpf_iter_", BTF_KIND_FUNC },
};

static int add_attach_roots(struct cut *c, struct bpf_object *obj)
{
	struct bpf_program *prog;
	char *name;
	int err;

	bpf_object__for_each_program(prog, obj) {
		const char *sec = bpf_program__section_name(prog);

		sec += sec[0] == '?';
		if (strstr(sec, "freplace") || strstr(sec, "struct_ops"))
			return -EOPNOTSUPP;
		for (size_t i = 0; i < sizeof(attach_secs) /
				       sizeof(attach_secs[0]); i++) {
			size_t n = strlen(attach_secs[i].sec);

			if (strncmp(sec, attach_secs[i].sec, n))
				continue;
			if (asprintf(&name, "%s%s", attach_secs[i].prefix,
				     sec + n) < 0)
				return -ENOMEM;
			err = add_root(c, name, strlen(name),
				       attach_secs[i].kind, true);
			free(name);
			if (err)
				return err;
		}
	}
	return 0;
}

/* The local types of an object's CO-RE relocations (.BTF.ext). */
static int add_core_roots(struct cut *c, const struct btf *local,
			  const void *ext, size_t ext_len)
{
	const __u32 *h = ext;
	const char *p, *end;
	__u32 rec_size;
	int err;

	/* magic+version+flags, hdr_len, func/line info, core_relo off/len */
	if (!ext || ext_len < 8 || (h[0] & 0xffff) != 0xeB9F || h[1] > ext_len)
		return ext ? -EINVAL : 0;
	if (h[1] < 32)
		return 0;	/* no CO-RE relocations */
	if (h[6] > ext_len - h[1] || h[7] > ext_len - h[1] - h[6])
		return -EINVAL;
	p = (const char *)ext + h[1] + h[6];
	end = p + h[7];
	if (p + 4 > end)
		return 0;
	memcpy(&rec_size, p, 4);
	if (rec_size < 16)
		return -EINVAL;
	for (p += 4; p + 8 <= end;) {
		__u32 num;

		memcpy(&num, p + 4, 4);
		p += 8;
		if (num > (size_t)(end - p) / rec_size)
			return -EINVAL;
		for (; num; num--, p += rec_size) {
			__u32 type_id, kind;
			const struct btf_type *t, *r;
			const char *name;

			memcpy(&type_id, p + 4, 4);
			memcpy(&kind, p + 12, 4);
			if (kind == RELO_TYPE_ID_LOCAL)
				continue;
			if (kind > RELO_ENUMVAL_VALUE)
				return -EOPNOTSUPP;	/* TYPE_MATCHES, newer */
			t = btf__type_by_id(local, type_id);
			if (!t)
				return -EINVAL;
			/*
			 * Type relocations compare the whole type, through
			 * pointers and prototypes: accepted only where the
			 * comparison stops at the type itself.
			 */
			r = btf__type_by_id(local, btf__resolve_type(local,
								     type_id));
			if (kind >= RELO_TYPE_ID_TARGET &&
			    kind <= RELO_TYPE_SIZE && r &&
			    (btf_is_ptr(r) || btf_is_array(r) ||
			     btf_is_func_proto(r)))
				return -EOPNOTSUPP;
			name = btf__name_by_offset(local, t->name_off);
			if (!name || !name[0])
				return -EOPNOTSUPP;
			err = add_root(c, name, essential_len(name),
				       core_kind(btf_kind(t)), false);
			if (err)
				return err;
		}
	}
	return 0;
}

static int add_object(struct cut *c, const void *elf, size_t size)
{
	const void *btf_data, *ext;
	size_t btf_len, ext_len = 0;
	struct bpf_object *obj;
	struct btf *local;
	int err, n;

	obj = bpf_object__open_mem(elf, size, NULL);
	if (!obj)
		return -errno;
	err = add_attach_roots(c, obj);
	bpf_object__close(obj);
	if (err)
		return err;
	btf_data = elf_section(elf, size, ".BTF", &btf_len);
	ext = elf_section(elf, size, ".BTF.ext", &ext_len);
	if (!btf_data)
		return ext ? -EINVAL : 0;
	local = btf__new(btf_data, btf_len);
	if (libbpf_get_error(local))
		return -EINVAL;
	/* Typed ksyms and kfuncs are looked up in the kernel BTF too. */
	n = btf__type_cnt(local);
	for (int i = 1; i < n && !err; i++) {
		const struct btf_type *t = btf__type_by_id(local, i);

		if (btf_is_datasec(t) &&
		    !strcmp(btf__name_by_offset(local, t->name_off), ".ksyms"))
			err = -EOPNOTSUPP;
	}
	if (!err)
		err = add_core_roots(c, local, ext, ext_len);
	btf__free(local);
	return err;
}

static int root_cmp(const void *a, const void *b)
{
	const struct root *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* A root's name against the first len bytes of name, as strcmp would. */
static int root_name_cmp(const struct root *r, const char *name, size_t len)
{
	int d = strncmp(r->name, name, len);

	return d ? d : r->name[len] != '\0';
}

/* Keep the kernel types whose name (or essential name) is a root's. */
static void keep_named(struct cut *c, const char *name, size_t len, int kind,
		       bool exact, __u32 id)
{
	size_t lo = 0, hi = c->nroots;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (root_name_cmp(&c->roots[mid], name, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->nroots && !root_name_cmp(&c->roots[lo], name, len);
	     lo++) {
		const struct root *r = &c->roots[lo];

		if (r->exact != exact)
			continue;
		if (exact ? r->kind == kind : r->kind == core_kind(kind))
			keep_deep(c, id);
	}
}

static void keep_roots(struct cut *c)
{
	int n = btf__type_cnt(c->kernel);

	qsort(c->roots, c->nroots, sizeof(*c->roots), root_cmp);
	for (int id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(c->kernel, id);
		const char *name = btf__name_by_offset(c->kernel, t->name_off);

		/* Integers decide libbpf's pointer size: keep them all. */
		if (btf_is_int(t) || btf_is_float(t))
			c->keep[id] = 1;
		if (!name || !name[0])
			continue;
		keep_named(c, name, essential_len(name), btf_kind(t), false,
			   id);
		keep_named(c, name, strlen(name), btf_kind(t), true, id);
	}
}

/* ---- writing the cut as raw BTF ---- */

struct strtab {
	char *data;
	size_t len, cap;
	__u32 *slots;		/* old offset + 1 and new offset, pairs */
	size_t nslots, used;
};

static __u32 *str_slot(struct strtab *s, __u32 old)
{
	size_t h = (old * 2654435761u) & (s->nslots - 1);

	while (s->slots[2 * h] && s->slots[2 * h] != old + 1)
		h = (h + 1) & (s->nslots - 1);
	return &s->slots[2 * h];
}

static int str_grow(struct strtab *s)
{
	struct strtab n = *s;

	n.nslots = s->nslots ? 2 * s->nslots : 4096;
	n.slots = calloc(n.nslots, 2 * sizeof(__u32));
	if (!n.slots)
		return -ENOMEM;
	for (size_t i = 0; i < s->nslots; i++) {
		if (!s->slots[2 * i])
			continue;
		memcpy(str_slot(&n, s->slots[2 * i] - 1), &s->slots[2 * i],
		       2 * sizeof(__u32));
	}
	free(s->slots);
	*s = n;
	return 0;
}

/* The new offset of a kernel string, added once; -1 when out of memory. */
static long str_add(struct strtab *s, const struct btf *kernel, __u32 old)
{
	const char *str = btf__name_by_offset(kernel, old);
	size_t n = str ? strlen(str) + 1 : 1;
	__u32 *slot;
	char *d;

	if (!old || !str || !str[0])
		return 0;
	if (4 * (s->used + 1) > 3 * s->nslots && str_grow(s))
		return -1;
	slot = str_slot(s, old);
	if (slot[0])
		return slot[1];
	if (s->len + n > s->cap) {
		s->cap = 2 * (s->len + n);
		d = realloc(s->data, s->cap);
		if (!d)
			return -1;
		s->data = d;
	}
	memcpy(s->data + s->len, str, n);
	slot[0] = old + 1;
	slot[1] = s->len;
	s->used++;
	s->len += n;
	return slot[1];
}

static size_t type_size(const struct btf_type *t)
{
	size_t base = sizeof(*t), vlen = btf_vlen(t);

	switch (btf_kind(t)) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return base + sizeof(__u32);
	case BTF_KIND_ARRAY:
		return base + sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return base + vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return base + vlen * sizeof(struct btf_enum);
	case BTF_KIND_ENUM64:
		return base + vlen * sizeof(struct btf_enum64);
	case BTF_KIND_FUNC_PROTO:
		return base + vlen * sizeof(struct btf_param);
	case BTF_KIND_DATASEC:
		return base + vlen * sizeof(struct btf_var_secinfo);
	default:
		return base;
	}
}

/* The size of the entries after a type that start with a name offset. */
static size_t named_entry_size(const struct btf_type *t)
{
	switch (btf_kind(t)) {
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return sizeof(struct btf_enum);
	case BTF_KIND_ENUM64:
		return sizeof(struct btf_enum64);
	case BTF_KIND_FUNC_PROTO:
		return sizeof(struct btf_param);
	default:
		return 0;
	}
}

/* Move a kept type's strings into the new string table. */
static int rename_strings(struct btf_type *t, struct strtab *s,
			  const struct btf *kernel)
{
	size_t step = named_entry_size(t), n = step ? btf_vlen(t) : 0;
	char *entries = (char *)(t + 1);
	__u32 *off;
	long nw;

	for (size_t i = 0; i <= n; i++) {
		off = i ? (__u32 *)(entries + (i - 1) * step) : &t->name_off;
		nw = str_add(s, kernel, *off);
		if (nw < 0)
			return -ENOMEM;
		*off = nw;
	}
	return 0;
}

static int write_cut(struct cut *c, void **raw, size_t *size)
{
	const struct btf_type placeholder = {
		.info = BTF_KIND_FWD << 24,	/* anonymous: never matched */
	};
	int n = btf__type_cnt(c->kernel), err = -ENOMEM;
	struct strtab s = { .len = 1, .cap = 1 << 16 };
	struct btf_header *hdr;
	size_t types = 0, at;
	char *out;

	for (int id = 1; id < n; id++)
		types += c->keep[id] ?
			 type_size(btf__type_by_id(c->kernel, id)) :
			 sizeof(placeholder);
	s.data = calloc(1, s.cap);
	out = malloc(sizeof(*hdr) + types);
	if (!s.data || !out)
		goto out;
	at = sizeof(*hdr);
	for (int id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(c->kernel, id);
		size_t len = c->keep[id] ? type_size(t) : sizeof(placeholder);

		memcpy(out + at, c->keep[id] ? (const void *)t : &placeholder,
		       len);
		if (c->keep[id] &&
		    rename_strings((struct btf_type *)(out + at), &s,
				   c->kernel))
			goto out;
		at += len;
	}
	hdr = (struct btf_header *)out;
	*hdr = (struct btf_header){
		.magic = BTF_MAGIC, .version = BTF_VERSION,
		.hdr_len = sizeof(*hdr), .type_off = 0, .type_len = types,
		.str_off = types, .str_len = s.len,
	};
	*raw = realloc(out, at + s.len);
	if (!*raw)
		goto out;
	memcpy((char *)*raw + at, s.data, s.len);
	*size = at + s.len;
	out = NULL;
	err = 0;
out:
	free(out);
	free(s.data);
	free(s.slots);
	return err;
}

/* Cut the kernel BTF down to what every embedded object can reach. */
static int cut_kernel_btf(const struct btf *kernel, void **raw, size_t *size)
{
	struct cut c = { .kernel = kernel };
	const void *seen[256];
	int nseen = 0, err = 0, kept = 0, n = btf__type_cnt(kernel);

	c.keep = calloc(n, 1);
	if (!c.keep)
		return -ENOMEM;
	for (int i = 0; kbtf_tools[i] && !err; i++) {
		const void *elf;
		size_t len;
		bool dup = false;

		if (!kbtf_tools[i]->skel)
			continue;
		elf = kbtf_tools[i]->skel->elf_bytes(&len);
		for (int j = 0; j < nseen; j++)
			dup |= seen[j] == elf;
		if (dup)
			continue;
		if (nseen < (int)(sizeof(seen) / sizeof(seen[0])))
			seen[nseen++] = elf;
		err = add_object(&c, elf, len);
		if (err)
			log_debug("kernel BTF cache: %s's object needs what the cut leaves out (%s); using the whole kernel BTF",
				  kbtf_tools[i]->name, strerror(-err));
	}
	if (!err) {
		keep_roots(&c);
		for (int id = 1; id < n; id++)
			kept += c.keep[id];
		err = write_cut(&c, raw, size);
		log_debug("kernel BTF cache: kept %d of %d types", kept, n - 1);
	}
	for (size_t i = 0; i < c.nroots; i++)
		free(c.roots[i].name);
	free(c.roots);
	free(c.keep);
	return err;
}

/*
 * The cut BTF, from the cache or made now from the whole one (then also
 * returned, parsed already, in *full). Called with the lock held.
 */
static void find_cut(struct btf **full)
{
	cache_key(&kbtf.key, kbtf.path, sizeof(kbtf.path));
	if (!kbtf.path[0])
		return;
	kbtf.raw = cache_read(kbtf.path, &kbtf.key, &kbtf.size);
	kbtf.in_cache = kbtf.raw != NULL;
	if (kbtf.raw)
		return;
	*full = __real_btf__load_vmlinux_btf();
	if (libbpf_get_error(*full))
		return;
	if (cut_kernel_btf(*full, &kbtf.raw, &kbtf.size))
		return;
	kbtf.in_cache = cache_write(kbtf.path, &kbtf.key, kbtf.raw,
				    kbtf.size);
}

/* A parsed copy of the cut BTF, or NULL. Called with the lock held. */
static struct btf *parse_cut(void)
{
	struct btf *btf;

	if (!kbtf.raw && kbtf.in_cache) {
		kbtf.raw = cache_read(kbtf.path, &kbtf.key, &kbtf.size);
		kbtf.in_cache = kbtf.raw != NULL;
	}
	if (!kbtf.raw)
		return NULL;
	btf = btf__new(kbtf.raw, kbtf.size);
	if (kbtf.in_cache) {
		free(kbtf.raw);
		kbtf.raw = NULL;
	}
	if (!libbpf_get_error(btf))
		return btf;
	log_debug("kernel BTF cache: parsing the cut BTF failed");
	return NULL;
}

struct btf *__wrap_btf__load_vmlinux_btf(void)
{
	struct btf *full = NULL, *btf = NULL;

	if (!kbtf_active)
		return __real_btf__load_vmlinux_btf();
	pthread_mutex_lock(&kbtf.lock);
	if (!kbtf.tried) {
		kbtf.tried = true;
		find_cut(&full);
	}
	/* The first run on a kernel has parsed the whole BTF: use it. */
	if (!full && share.uses > 0 && share.btf) {
		btf = share.btf;
	} else if (!full) {
		btf = parse_cut();
		if (share.uses > 0)
			__atomic_store_n(&share.btf, btf, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&kbtf.lock);
	if (full)
		return full;
	if (!btf)
		return __real_btf__load_vmlinux_btf();
	kbtf_handed = btf;
	return btf;
}

/*
 * libbpf loads a module's BTF on top of the kernel's when a type or
 * function is not in the kernel's: its type ids and strings continue the
 * whole kernel BTF's, so that one must be its base, parsed on demand.
 */
struct btf *__wrap_btf_get_from_fd(int btf_fd, struct btf *base_btf)
{
	if (base_btf && base_btf == kbtf_handed) {
		pthread_mutex_lock(&kbtf.lock);
		if (!kbtf.full) {
			kbtf.full = __real_btf__load_vmlinux_btf();
			if (libbpf_get_error(kbtf.full))
				kbtf.full = NULL;
		}
		base_btf = kbtf.full;
		pthread_mutex_unlock(&kbtf.lock);
		if (!base_btf) {
			errno = ENOENT;
			return NULL;
		}
	}
	return __real_btf_get_from_fd(btf_fd, base_btf);
}

/*
 * The user-space side of probe enumeration, read from ELF files: function
 * symbols (uprobe targets) and USDT probes (SystemTap SDT notes). The
 * kernel places uprobes at file offsets, so the notes' virtual addresses
 * are turned into offsets here, once, for listing and attaching alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "addr.h"
#include "usdt.h"

#define NT_STAPSDT	3

static int elf_open(const char *path, int *fd, Elf **elf)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	*elf = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	if (!*elf || elf_kind(*elf) != ELF_K_ELF) {
		if (*elf)
			elf_end(*elf);
		close(*fd);
		return -ENOEXEC;
	}
	return 0;
}

/* --- function symbols --------------------------------------------------- */

struct names {
	char **v;
	size_t n, cap;
};

static int names_add(struct names *ns, const char *s, size_t len)
{
	if (ns->n == ns->cap) {
		size_t ncap = ns->cap ? ns->cap * 2 : 256;
		char **grown = realloc(ns->v, ncap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		ns->v = grown;
		ns->cap = ncap;
	}
	ns->v[ns->n] = strndup(s, len);
	if (!ns->v[ns->n])
		return -ENOMEM;
	ns->n++;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Function symbols of one table: defined STT_FUNC and STT_GNU_IFUNC
 * symbols that have code (a size, or an address in .text). The version
 * is dropped ("memcpy@GLIBC_2.2.5" lists as "memcpy"), as uprobes name
 * functions without it.
 */
static int table_funcs(Elf *elf, Elf_Scn *scn, size_t text_ndx,
		       const char *pat, struct names *ns)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	GElf_Shdr sh;
	GElf_Sym sym;
	size_t n;
	int err = 0;

	if (!data || !gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return 0;
	n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 1; !err && i < n; i++) {
		const char *name;
		char buf[512];
		size_t len;
		int type;

		if (!gelf_getsym(data, i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
		    sym.st_shndx == SHN_UNDEF ||
		    sym.st_shndx >= SHN_LORESERVE || !sym.st_value)
			continue;
		if (!sym.st_size && sym.st_shndx != text_ndx)
			continue;
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!name || !name[0])
			continue;
		len = strcspn(name, "@");
		if (len >= sizeof(buf))
			continue;
		memcpy(buf, name, len);
		buf[len] = '\0';
		if (!tprobe_match(pat, buf))
			continue;
		err = names_add(ns, name, len);
	}
	return err;
}

int tprobe_elf_funcs(const char *path, const char *pat, tprobe_cb cb,
		     void *ctx)
{
	struct names ns = { 0 };
	size_t shstrndx, text_ndx = 0;
	Elf_Scn *scn;
	GElf_Shdr sh;
	Elf *elf;
	int fd, err;

	err = elf_open(path, &fd, &elf);
	if (err)
		return err;
	if (elf_getshdrstrndx(elf, &shstrndx)) {
		err = -ENOEXEC;
		goto out;
	}
	for (scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".text"))
			text_ndx = elf_ndxscn(scn);
	}
	for (scn = elf_nextscn(elf, NULL); !err && scn;
	     scn = elf_nextscn(elf, scn)) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM)
			err = table_funcs(elf, scn, text_ndx, pat, &ns);
	}
	if (!err && ns.n) {
		qsort(ns.v, ns.n, sizeof(*ns.v), cmp_name);
		for (size_t i = 0; i < ns.n; i++) {
			if (i && !strcmp(ns.v[i - 1], ns.v[i]))
				continue;
			if (cb(ctx, ns.v[i], NULL))
				break;
		}
	}
out:
	for (size_t i = 0; i < ns.n; i++)
		free(ns.v[i]);
	free(ns.v);
	elf_end(elf);
	close(fd);
	return err;
}

/* --- USDT --------------------------------------------------------------- */

/* Copies a NUL-terminated string from the note; NULL if it overruns. */
static const char *note_str(const char *p, const char *end, char *dst,
			    size_t len)
{
	size_t n = strnlen(p, end - p);

	if (p + n >= end)
		return NULL;
	snprintf(dst, len, "%.*s", (int)n, p);
	return p + n + 1;
}

/*
 * One stapsdt note: three addresses (pc, the .stapsdt.base address the
 * linker saw, semaphore) of the file's word size, then provider, name and
 * argument strings.
 */
static int parse_note(Elf *elf, const char *desc, size_t len, bool is64,
		      uint64_t base_now, bool have_base, struct usdt_note *n)
{
	const char *p = desc, *end = desc + len;
	uint64_t addr[3];
	size_t w = is64 ? 8 : 4;

	if (len < 3 * w)
		return -EINVAL;
	for (int i = 0; i < 3; i++, p += w) {
		if (is64) {
			memcpy(&addr[i], p, 8);
		} else {
			uint32_t v;

			memcpy(&v, p, 4);
			addr[i] = v;
		}
	}
	memset(n, 0, sizeof(*n));
	p = note_str(p, end, n->provider, sizeof(n->provider));
	if (p)
		p = note_str(p, end, n->name, sizeof(n->name));
	if (p)
		p = note_str(p, end, n->args, sizeof(n->args));
	if (!p)
		return -EINVAL;
	/* Prelink moves the file but not the notes: shift by how far
	 * .stapsdt.base moved. */
	if (have_base && addr[1]) {
		addr[0] += base_now - addr[1];
		if (addr[2])
			addr[2] += base_now - addr[1];
	}
	if (addr_elf_offset(elf, addr[0], true, &n->pc))
		return -EINVAL;
	if (addr[2] && addr_elf_offset(elf, addr[2], false, &n->semaphore))
		return -EINVAL;
	return 0;
}

int tprobe_usdt(const char *path, const char *prov_pat, const char *name_pat,
		usdt_cb cb, void *ctx)
{
	Elf_Scn *scn, *notes = NULL;
	uint64_t base_now = 0;
	bool have_base = false, is64;
	size_t shstrndx, off, name_off, desc_off;
	struct usdt_note n;
	Elf_Data *data;
	GElf_Nhdr nh;
	GElf_Shdr sh;
	Elf *elf;
	int fd, err;

	err = elf_open(path, &fd, &elf);
	if (err)
		return err;
	is64 = gelf_getclass(elf) == ELFCLASS64;
	if (elf_getshdrstrndx(elf, &shstrndx)) {
		err = -ENOEXEC;
		goto out;
	}
	for (scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (sh.sh_type == SHT_NOTE && !strcmp(name, ".note.stapsdt"))
			notes = scn;
		else if (!strcmp(name, ".stapsdt.base")) {
			base_now = sh.sh_addr;
			have_base = true;
		}
	}
	data = notes ? elf_getdata(notes, NULL) : NULL;
	if (!data)
		goto out;
	off = 0;
	while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off))) {
		const char *owner = (const char *)data->d_buf + name_off;

		if (nh.n_type != NT_STAPSDT || nh.n_namesz != 8 ||
		    memcmp(owner, "stapsdt", 8))
			continue;
		/* A malformed note is skipped, not fatal: others may do. */
		if (parse_note(elf, (const char *)data->d_buf + desc_off,
			       nh.n_descsz, is64, base_now, have_base, &n))
			continue;
		if (!tprobe_match(prov_pat, n.provider) ||
		    !tprobe_match(name_pat, n.name))
			continue;
		if (cb(ctx, &n))
			break;
	}
out:
	elf_end(elf);
	close(fd);
	return err;
}

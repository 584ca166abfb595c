/*
 * User-space probe targets. The kernel places a uprobe at a file offset of
 * an inode, so a function name is turned into an offset here (its ELF
 * symbol, then the PT_LOAD segment that maps it), and a short name such as
 * "libc" into the file a process really maps. Paths of another process go
 * through /proc/PID/root, so binaries inside containers (other mount
 * namespaces) resolve to the inode that process runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "hook.h"
#include "uprobe.h"

#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define MULTIARCH "aarch64-linux-gnu"
#elif defined(__powerpc64__)
#define MULTIARCH "powerpc64le-linux-gnu"
#elif defined(__s390x__)
#define MULTIARCH "s390x-linux-gnu"
#else
#define MULTIARCH "unknown"
#endif

#define DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* A path as process pid sees it (pid <= 0: as loupe sees it). */
static int in_root(int pid, const char *path, char *out, size_t len)
{
	int n;

	if (pid > 0 && path[0] == '/')
		n = snprintf(out, len, "/proc/%d/root%s", pid, path);
	else
		n = snprintf(out, len, "%s", path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Only objects of loupe's own ELF class can be mapped by the traced code
 * loupe is built for (skips /lib32/libc.so.6 and the like). */
static bool elf_class_ok(const char *path)
{
	unsigned char ident[EI_NIDENT];
	bool ok = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (read(fd, ident, sizeof(ident)) == (ssize_t)sizeof(ident))
		ok = !memcmp(ident, ELFMAG, SELFMAG) &&
		     ident[EI_CLASS] == (sizeof(long) == 8 ? ELFCLASS64 :
					 ELFCLASS32);
	close(fd);
	return ok;
}

/*
 * Does a file's base name stand for library name? "libc" matches
 * "libc.so.6" and "libc-2.31.so" but not "libcap.so.2"; a full soname
 * matches only itself.
 */
static bool lib_matches(const char *base, const char *name)
{
	size_t n = strlen(name);

	if (!strcmp(base, name))
		return true;
	if (strncmp(base, name, n))
		return false;
	if (!strncmp(base + n, ".so", 3))
		return base[n + 3] == '\0' || base[n + 3] == '.';
	return base[n] == '-' && base[n + 1] >= '0' && base[n + 1] <= '9' &&
	       strstr(base + n, ".so");
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The library as process pid maps it right now. */
static int library_in_maps(const char *name, int pid, char *out, size_t len)
{
	char path[64], line[PATH_MAX + 128], *file;
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		file = strchr(line, '/');
		if (!file || strstr(file, " (deleted)") ||
		    !lib_matches(base_name(file), name))
			continue;
		err = in_root(pid, file, out, len);
		break;
	}
	fclose(f);
	return err;
}

/* The library the dynamic linker would pick, from `ldconfig -p`. */
/*
 * The output of `ldconfig -p`, run once per process: a tool looking up
 * several libraries (http: libssl.so.3, libssl.so.1.1, libgnutls.so.30)
 * paid a fork and two execs for each, 3 to 200 ms apiece under load.
 */
static char *ldconfig_output(void)
{
	static char *text;
	static bool done;
	size_t len = 0, cap = 0, n;
	char *more;
	FILE *f;

	if (done)
		return text;
	done = true;
	f = popen("/sbin/ldconfig -p 2>/dev/null", "re");
	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			more = realloc(text, cap + 65536);
			if (!more)
				break;
			text = more;
			cap += 65536;
		}
		n = fread(text + len, 1, cap - len - 1, f);
		len += n;
		text[len] = '\0';
	} while (n);
	pclose(f);
	return text;
}

static int library_in_ldconfig(const char *name, char *out, size_t len)
{
	char line[PATH_MAX + 256], soname[256], *arrow;
	const char *p = ldconfig_output(), *end;
	int err = -ENOENT;
	size_t n;

	for (; p && *p && err; p = *end ? end + 1 : end) {
		end = p + strcspn(p, "\n");
		n = (size_t)(end - p);
		if (n >= sizeof(line))
			continue;
		memcpy(line, p, n);
		line[n] = '\0';
		arrow = strstr(line, " => ");
		if (!arrow || sscanf(line, " %255s", soname) != 1)
			continue;
		arrow += 4;
		if (!lib_matches(soname, name) || !elf_class_ok(arrow))
			continue;
		if ((size_t)snprintf(out, len, "%s", arrow) < len)
			err = 0;
	}
	return err;
}

/* The library in the usual directories, inside pid's root if pid > 0. */
static int library_in_dirs(const char *name, int pid, char *out, size_t len)
{
	static const char *const dirs[] = {
		"/lib/" MULTIARCH, "/usr/lib/" MULTIARCH, "/lib64",
		"/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib",
	};
	static const char *const suffixes[] = { "", ".so.6", ".so.1", ".so" };
	char file[PATH_MAX], path[PATH_MAX];

	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		for (size_t s = 0; s < sizeof(suffixes) / sizeof(suffixes[0]);
		     s++) {
			snprintf(file, sizeof(file), "%s/%s%s", dirs[d], name,
				 suffixes[s]);
			if (!in_root(pid, file, path, sizeof(path)) &&
			    elf_class_ok(path) &&
			    (size_t)snprintf(out, len, "%s", path) < len)
				return 0;
		}
	}
	return -ENOENT;
}

static int find_library(const char *name, int pid, char *out, size_t len)
{
	if (pid > 0)
		return library_in_maps(name, pid, out, len);
	if (!library_in_ldconfig(name, out, len))
		return 0;
	return library_in_dirs(name, 0, out, len);
}

int uprobe_find_library_in_root(const char *name, int pid, char *out,
				size_t len)
{
	return library_in_dirs(name, pid, out, len);
}

/*
 * A library by path or short name ("libc", "libc.so.6", "c"). With pid,
 * the one that process has mapped, reached through its /proc/PID/root.
 */
int uprobe_find_library(const char *name, int pid, char *out, size_t len)
{
	char lib[256];
	int err;

	if (!name[0])
		return -EINVAL;
	if (strchr(name, '/')) {
		err = in_root(pid, name, out, len);
		if (!err && access(out, R_OK))
			err = -errno;
		return err;
	}
	err = find_library(name, pid, out, len);
	if (err != -ENOENT || !strncmp(name, "lib", 3))
		return err;
	/* BCC accepts "c" for libc. */
	snprintf(lib, sizeof(lib), "lib%s", name);
	return find_library(lib, pid, out, len);
}

/* The process's own executable, if name is its base name. */
static int binary_of_process(const char *name, int pid, char *out,
			     size_t len)
{
	char link[64], exe[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0)
		return -ENOENT;
	exe[n] = '\0';
	if (strcmp(base_name(exe), name) || strstr(exe, " (deleted)"))
		return -ENOENT;
	return in_root(pid, exe, out, len);
}

/*
 * An executable by bare name, the first in PATH like execvp(). Another
 * process's PATH is not ours (pid > 0): the usual one is used there.
 */
int uprobe_find_in_path(const char *name, int pid, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096], *dir, *save = NULL, file[PATH_MAX];

	snprintf(dirs, sizeof(dirs), "%s",
		 pid > 0 || !path || !path[0] ? DEFAULT_PATH : path);
	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(file, sizeof(file), "%s/%s", dir, name);
		if (in_root(pid, file, out, len))
			continue;
		if (!access(out, X_OK))
			return 0;
	}
	return -ENOENT;
}

/*
 * An executable or library by path or name: a path is taken as is (inside
 * pid's root when given), a bare name is looked up in PATH, then as a
 * library.
 */
int uprobe_find_binary(const char *name, int pid, char *out, size_t len)
{
	if (!name[0])
		return -EINVAL;
	if (strchr(name, '/'))
		return uprobe_find_library(name, pid, out, len);
	if (!strncmp(name, "lib", 3) || strstr(name, ".so"))
		return uprobe_find_library(name, pid, out, len);
	if (pid > 0 && !binary_of_process(name, pid, out, len))
		return 0;
	if (!uprobe_find_in_path(name, pid, out, len))
		return 0;
	return uprobe_find_library(name, pid, out, len);
}

/*
 * Does symbol name stand for func? Versions are ignored unless both carry
 * one: "malloc" matches "malloc@@GLIBC_2.2.5" (.symtab spelling) and
 * "malloc" (.dynsym spelling, version kept aside in .gnu.version).
 */
static bool sym_matches(const char *name, const char *func)
{
	size_t fn = strcspn(func, "@"), nn = strcspn(name, "@");

	if (fn != nn || strncmp(name, func, fn))
		return false;
	if (func[fn] && name[nn])
		return !strcmp(name + nn + strspn(name + nn, "@"),
			       func + fn + strspn(func + fn, "@"));
	return true;
}

/*
 * Look func up in one symbol table. In .dynsym, a hidden (non-default)
 * version such as memcpy@GLIBC_2.2.5 loses to the default one.
 */
static int find_in_table(Elf *elf, Elf_Scn *scn, Elf_Data *versym,
			 const char *func, GElf_Addr *addr)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	bool have_hidden = false;
	GElf_Addr hidden = 0;
	GElf_Shdr sh;
	GElf_Sym sym;
	size_t n;

	if (!data || !gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return -ENOENT;
	n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 1; i < n; i++) {
		const char *name;
		GElf_Versym ver = 0;

		if (!gelf_getsym(data, i, &sym) ||
		    GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!name || !sym_matches(name, func))
			continue;
		if (versym)
			gelf_getversym(versym, i, &ver);
		if (ver & 0x8000) {
			if (!have_hidden)
				hidden = sym.st_value;
			have_hidden = true;
			continue;
		}
		*addr = sym.st_value;
		return 0;
	}
	if (!have_hidden)
		return -ENOENT;
	*addr = hidden;
	return 0;
}

/* File offset of func in the ELF file: .symtab first, then .dynsym. */
int uprobe_func_offset(const char *path, const char *func,
		       unsigned long *offset)
{
	Elf_Scn *scn, *symtab = NULL, *dynsym = NULL;
	Elf_Data *versym = NULL;
	GElf_Addr addr = 0;
	uint64_t off;
	GElf_Shdr sh;
	int fd, err = -ENOENT;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto out_close;
	}
	for (scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			symtab = scn;
		else if (sh.sh_type == SHT_DYNSYM)
			dynsym = scn;
		else if (sh.sh_type == SHT_GNU_versym)
			versym = elf_getdata(scn, NULL);
	}
	if (symtab)
		err = find_in_table(elf, symtab, NULL, func, &addr);
	if (err && dynsym)
		err = find_in_table(elf, dynsym, versym, func, &addr);
	if (!err)
		err = addr_elf_offset(elf, addr, true, &off);
	if (!err)
		*offset = off;
	elf_end(elf);
out_close:
	close(fd);
	return err;
}

int uprobe_resolve(const char *binary, const char *func, int pid,
		   struct uprobe_target *t)
{
	int err;

	memset(t, 0, sizeof(*t));
	if ((size_t)snprintf(t->func, sizeof(t->func), "%s", func) >=
	    sizeof(t->func) || !func[0])
		return -EINVAL;
	err = uprobe_find_binary(binary, pid, t->path, sizeof(t->path));
	if (err) {
		/* An empty path tells "no such binary" from "no such func". */
		t->path[0] = '\0';
		return err;
	}
	return uprobe_func_offset(t->path, func, &t->offset);
}

/* "BINARY:FUNC" into its halves; the last ':' splits (paths may hold one). */
int uprobe_parse_spec(const char *spec, char *binary, size_t blen,
		      char *func, size_t flen)
{
	const char *colon = strrchr(spec, ':');
	size_t n;

	if (!colon || colon == spec || !colon[1])
		return -EINVAL;
	n = colon - spec;
	if (n >= blen || strlen(colon + 1) >= flen)
		return -ENAMETOOLONG;
	memcpy(binary, spec, n);
	binary[n] = '\0';
	strcpy(func, colon + 1);
	return 0;
}

bool uprobe_is_section(const char *section)
{
	return !strncmp(section, "uprobe", 6) ||
	       !strncmp(section, "uretprobe", 9);
}

/*
 * The kernel's uprobe_multi links (Linux 6.6), which libbpf 1.1.2 does
 * not know: the constants and the BPF_LINK_CREATE fields are spelled out
 * here, as the kernel defines them.
 */
#define UPROBE_MULTI_ATTACH	48	/* BPF_TRACE_UPROBE_MULTI */
#define UPROBE_MULTI_RETURN	1U	/* BPF_F_UPROBE_MULTI_RETURN */

struct uprobe_multi_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
};

/*
 * libbpf 1.1.2 cannot wrap a link fd it did not create, and every caller
 * keeps struct bpf_link: this is libbpf's own layout of it (unchanged
 * from 0.7 to 1.5), allocated with calloc() as bpf_link__destroy() frees
 * it, with a detach that closes the fd. multi_supported() checks the
 * layout (bpf_link__fd() must read the fd back): if it does not match,
 * uprobes stay perf links.
 */
struct libbpf_link {
	int (*detach)(struct bpf_link *link);
	void (*dealloc)(struct bpf_link *link);
	char *pin_path;
	int fd;
	bool disconnected;
};

/*
 * Why a second kind of link: a perf-event uprobe is torn down under a
 * kernel mutex (event_mutex) with RCU grace periods waited for inside,
 * so its detaches run one after another (about 100 ms each here,
 * whatever the number of threads); a uprobe_multi link waits for its
 * grace periods without that lock, and links detached from several
 * threads share them. Supported if the kernel takes such a program and,
 * for a directory, answers EBADF (not a regular file) rather than
 * EINVAL.
 */
static bool multi_supported(void)
{
	static int supported = -1;
	struct libbpf_link layout = { .fd = 1234 };
	struct uprobe_multi_attr a = { 0 };
	__u64 offset = 0;
	int prog, fd;

	if (supported >= 0)
		return supported;
	supported = 0;
	if (bpf_link__fd((struct bpf_link *)&layout) != layout.fd)
		return false;
	prog = hook_trivial_prog(BPF_PROG_TYPE_KPROBE, UPROBE_MULTI_ATTACH, 0);
	if (prog < 0)
		return false;
	a.prog_fd = prog;
	a.attach_type = UPROBE_MULTI_ATTACH;
	a.path = (unsigned long)"/";
	a.offsets = (unsigned long)&offset;
	a.cnt = 1;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	if (fd >= 0)
		close(fd);
	else
		supported = errno == EBADF;
	close(prog);
	return supported;
}

void uprobe_prepare(struct bpf_object *obj)
{
	struct bpf_program *prog;

	if (!multi_supported())
		return;
	bpf_object__for_each_program(prog, obj) {
		if (!uprobe_is_section(bpf_program__section_name(prog)))
			continue;
		bpf_program__set_expected_attach_type(prog,
						      UPROBE_MULTI_ATTACH);
	}
}

static int multi_detach(struct bpf_link *link)
{
	return close(bpf_link__fd(link));
}

static struct bpf_link *multi_attach(struct bpf_program *prog, bool retprobe,
				     int pid, const struct uprobe_target *t)
{
	struct uprobe_multi_attr a = { 0 };
	__u64 offset = t->offset;
	struct libbpf_link *l;
	int fd, err;

	a.prog_fd = bpf_program__fd(prog);
	a.attach_type = UPROBE_MULTI_ATTACH;
	a.path = (unsigned long)t->path;
	a.offsets = (unsigned long)&offset;
	a.cnt = 1;
	a.multi_flags = retprobe ? UPROBE_MULTI_RETURN : 0;
	a.pid = pid > 0 ? pid : 0;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	if (fd < 0)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l) {
		err = errno;
		close(fd);
		errno = err;
		return NULL;
	}
	l->detach = multi_detach;
	l->fd = fd;
	return (struct bpf_link *)l;
}

/*
 * A uprobe_multi link if uprobe_prepare() chose it for the program, else
 * libbpf's perf event on the uprobe PMU with a BPF link on it. Neither
 * writes to tracefs's uprobe_events, so the kernel frees the probe with
 * loupe's file descriptors even after SIGKILL. With pid, the probe fires
 * only in that process (all its threads).
 */
struct bpf_link *uprobe_attach(struct bpf_program *prog, bool retprobe,
			       int pid, const struct uprobe_target *t)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe);

	if (bpf_program__expected_attach_type(prog) == UPROBE_MULTI_ATTACH)
		return multi_attach(prog, retprobe, pid, t);
	return bpf_program__attach_uprobe_opts(prog, pid > 0 ? pid : -1,
					       t->path, t->offset, &opts);
}

/*
 * Attach a program whose section names its target, e.g.
 * "uretprobe/libc.so.6:getaddrinfo": the binary is found as pid sees it
 * (system-wide: as loupe sees it). Returns NULL with errno set on failure.
 */
struct bpf_link *uprobe_attach_section(struct bpf_program *prog, int pid)
{
	static char last_binary[PATH_MAX], last_path[PATH_MAX];
	static int last_pid = -1;
	const char *section = bpf_program__section_name(prog);
	char binary[PATH_MAX], func[UPROBE_FUNC_LEN];
	const char *spec = strchr(section, '/');
	struct uprobe_target t = { 0 };
	int err;

	if (!uprobe_is_section(section) || !spec ||
	    uprobe_parse_spec(spec + 1, binary, sizeof(binary), func,
			      sizeof(func))) {
		errno = EINVAL;
		return NULL;
	}
	/* Tools attach several functions of one library: find it once. */
	if (last_pid != pid || strcmp(last_binary, binary)) {
		err = uprobe_find_binary(binary, pid, last_path,
					 sizeof(last_path));
		if (err) {
			last_pid = -1;
			errno = -err;
			return NULL;
		}
		snprintf(last_binary, sizeof(last_binary), "%s", binary);
		last_pid = pid;
	}
	snprintf(t.path, sizeof(t.path), "%s", last_path);
	snprintf(t.func, sizeof(t.func), "%s", func);
	err = uprobe_func_offset(t.path, func, &t.offset);
	if (err) {
		errno = -err;
		return NULL;
	}
	return uprobe_attach(prog, !strncmp(section, "uretprobe", 9), pid,
			     &t);
}

/*
 * TLS libraries for the uprobe tools (tlslib.h): found by name on the
 * host and in containers' roots, or through a process's maps, each file
 * once, and probed with uprobe.c.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "session.h"
#include "tlslib.h"
#include "uprobe.h"

static const char *const type_names[TLSLIB_TYPES] = {
	[TLSLIB_OPENSSL] = "openssl",
	[TLSLIB_GNUTLS] = "gnutls",
};

void tlslib_init(struct tlslib_set *set, const struct tlslib_func *funcs,
		 int nfuncs, unsigned int skip)
{
	memset(set, 0, sizeof(*set));
	set->funcs = funcs;
	set->nfuncs = nfuncs < TLSLIB_MAX_FUNCS ? nfuncs : TLSLIB_MAX_FUNCS;
	set->skip = skip;
}

const char *tlslib_type_name(enum tlslib_type type)
{
	return type < TLSLIB_TYPES ? type_names[type] : "?";
}

int tlslib_parse_type(const char *s, size_t n)
{
	for (int t = 0; t < TLSLIB_TYPES; t++)
		if (n == strlen(type_names[t]) && !strncmp(s, type_names[t], n))
			return t;
	return -1;
}

/* The same file found twice (a symlink, an extra lib) is probed once. */
static bool lib_known(const struct tlslib_set *set, const char *path)
{
	struct stat a, b;

	if (stat(path, &a))
		return false;
	for (int i = 0; i < set->nlibs; i++)
		if (!stat(set->libs[i].path, &b) && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return true;
	return false;
}

/*
 * tlslib_add() for a copy in mount namespace ns (0: the host's); told:
 * the namespace was counted among those left out already.
 */
static int add_lib(struct tlslib_set *set, enum tlslib_type type,
		   const char *path, unsigned long ns, bool told)
{
	struct tlslib *l;
	int found = 0;

	if (lib_known(set, path))
		return 1;
	if (set->nlibs == TLSLIB_MAX_LIBS) {
		if (told)
			return -E2BIG;
		set->nskipped++;
		if (!set->skipped[0])
			snprintf(set->skipped, sizeof(set->skipped), "%s",
				 path);
		return -E2BIG;
	}
	l = &set->libs[set->nlibs];
	memset(l, 0, sizeof(*l));
	l->ns = ns;
	l->type = type;
	snprintf(l->path, sizeof(l->path), "%s", path);
	for (int f = 0; f < set->nfuncs; f++) {
		if (set->funcs[f].type != type || (set->skip & (1U << f)))
			continue;
		if (!uprobe_func_offset(path, set->funcs[f].name,
					&l->offset[f])) {
			l->has[f] = true;
			found++;
		}
	}
	if (found)
		set->nlibs++;
	return found;
}

int tlslib_add(struct tlslib_set *set, enum tlslib_type type,
	       const char *path)
{
	return add_lib(set, type, path, 0, false);
}

static const struct {
	enum tlslib_type type;
	const char *name;
} system_libs[] = {
	{ TLSLIB_OPENSSL, "libssl.so.3" },
	{ TLSLIB_OPENSSL, "libssl.so.1.1" },
	{ TLSLIB_GNUTLS, "libgnutls.so.30" },
}, process_libs[] = {
	{ TLSLIB_OPENSSL, "libssl" },
	{ TLSLIB_GNUTLS, "libgnutls" },
};

#define NSYSTEM_LIBS (sizeof(system_libs) / sizeof(system_libs[0]))
#define NPROCESS_LIBS (sizeof(process_libs) / sizeof(process_libs[0]))

static bool mount_ns(const char *pid, ino_t *ino)
{
	char path[sizeof("/proc//ns/mnt") + NAME_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%s/ns/mnt", pid);
	if (stat(path, &st))
		return false;
	*ino = st.st_ino;
	return true;
}

static bool ns_in(const unsigned long *list, int n, unsigned long ns)
{
	for (int i = 0; i < n; i++)
		if (list[i] == ns)
			return true;
	return false;
}

/*
 * The other mount namespaces alive now, each with its lowest pid (/proc
 * lists pids in order: a container's first process, the one that lives
 * longest): how many.
 */
static int alive_roots(unsigned long *ns, int *pid, int max)
{
	struct dirent *de;
	ino_t self, ino;
	int n = 0;
	DIR *d;

	if (!mount_ns("self", &self))
		return 0;
	d = opendir("/proc");
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    !mount_ns(de->d_name, &ino) || ino == self ||
		    ns_in(ns, n, ino))
			continue;
		ns[n] = ino;
		pid[n++] = atoi(de->d_name);
	}
	closedir(d);
	return n;
}

/* Adds the libraries in the root of ns, reached through pid. */
static void look_into(struct tlslib_set *set, unsigned long ns, int pid,
		      bool told)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < NSYSTEM_LIBS; i++)
		if (!uprobe_find_library_in_root(system_libs[i].name, pid,
						 path, sizeof(path)))
			add_lib(set, system_libs[i].type, path, ns, told);
}

/*
 * A container has its own copies of the libraries, other files than the
 * host's, which the host's probes do not see. Each other mount namespace
 * is one root to look in (its libraries are found even if nothing maps
 * them yet): once, or again after libraries left the set (freed), when
 * one left out for want of a slot has one now, or one that shared the
 * file of a library gone must be probed under its own path. The list
 * kept is the ones alive now, so one that went away and one reusing its
 * number later is new.
 */
static void scan_roots(struct tlslib_set *set, const unsigned long *alive,
		       const int *pids, int nalive, bool freed)
{
	for (int i = 0; i < nalive; i++) {
		bool seen = ns_in(set->roots, set->nroots, alive[i]);

		if (!seen || freed)
			look_into(set, alive[i], pids[i], seen);
	}
	memcpy(set->roots, alive, nalive * sizeof(alive[0]));
	set->nroots = nalive;
}

/*
 * The libraries of namespaces no longer alive leave the set, their links
 * go to gone (at most max; a library whose links do not fit stays for
 * the next look): how many links. *freed: whether a slot was.
 */
static int reap(struct tlslib_set *set, const unsigned long *alive,
		int nalive, struct bpf_link **gone, int max, bool *freed)
{
	int n = 0, kept = 0;

	for (int i = 0; i < set->nlibs; i++) {
		struct tlslib *l = &set->libs[i];

		if (!l->ns || ns_in(alive, nalive, l->ns) ||
		    n + l->nlinks > max) {
			if (kept != i)
				set->libs[kept] = *l;
			kept++;
			continue;
		}
		log_debug("%s: its mount namespace ended, %d probes detached",
			  l->path, l->nlinks);
		memcpy(gone + n, l->links, l->nlinks * sizeof(*gone));
		n += l->nlinks;
	}
	*freed = kept < set->nlibs;
	set->nlibs = kept;
	return n;
}

void tlslib_forget_link(struct tlslib_set *set, const struct bpf_link *link)
{
	for (int i = 0; i < set->nlibs; i++) {
		struct tlslib *l = &set->libs[i];

		for (int j = 0; j < l->nlinks; j++) {
			if (l->links[j] != link)
				continue;
			l->links[j] = l->links[--l->nlinks];
			return;
		}
	}
}

/* Links of the set's that no owner took: forgotten and detached. */
static void destroy_links(struct tlslib_set *set, struct bpf_link **links,
			  int n)
{
	for (int i = 0; i < n; i++) {
		tlslib_forget_link(set, links[i]);
		bpf_link__destroy(links[i]);
	}
}

static void tell_skipped(const struct tlslib_set *set, int n)
{
	log_err("%d more TLS libraries (containers' copies) are not probed: "
		"at most %d are, the first left out is %s; -p PID probes the "
		"ones a process maps", n, TLSLIB_MAX_LIBS, set->skipped);
}

void tlslib_find(struct tlslib_set *set, int pid)
{
	int pids[TLSLIB_MAX_ROOTS], n;
	unsigned long alive[TLSLIB_MAX_ROOTS];
	char path[PATH_MAX];

	if (pid > 0) {
		for (size_t i = 0; i < NPROCESS_LIBS; i++)
			if (!uprobe_find_library(process_libs[i].name, pid,
						 path, sizeof(path)))
				tlslib_add(set, process_libs[i].type, path);
		return;
	}
	for (size_t i = 0; i < NSYSTEM_LIBS; i++)
		if (!uprobe_find_library(system_libs[i].name, 0, path,
					 sizeof(path)))
			tlslib_add(set, system_libs[i].type, path);
	n = alive_roots(alive, pids, TLSLIB_MAX_ROOTS);
	scan_roots(set, alive, pids, n, false);
	if (set->nskipped)
		tell_skipped(set, set->nskipped);
}

int tlslib_rescan(struct tlslib_set *set, struct bpf_link **gone, int max,
		  int *ngone)
{
	int skipped = set->nskipped, pids[TLSLIB_MAX_ROOTS], n, from;
	unsigned long alive[TLSLIB_MAX_ROOTS];
	bool freed;

	set->skipped[0] = '\0';	/* the first left out this time */
	n = alive_roots(alive, pids, TLSLIB_MAX_ROOTS);
	*ngone = reap(set, alive, n, gone, max, &freed);
	from = set->nlibs;
	scan_roots(set, alive, pids, n, freed);
	if (set->nskipped > skipped)
		tell_skipped(set, set->nskipped - skipped);
	for (int i = from; i < set->nlibs; i++)
		log_debug("probing TLS library %s (a mount namespace that "
			  "appeared since the start)", set->libs[i].path);
	return from;
}

bool tlslib_any(const struct tlslib_set *set, int f)
{
	for (int i = 0; i < set->nlibs; i++)
		if (set->libs[i].has[f])
			return true;
	return false;
}

int tlslib_func_of_prog(const struct tlslib_set *set,
			const struct bpf_program *prog)
{
	const char *name = bpf_program__name(prog);

	for (int f = 0; f < set->nfuncs; f++)
		if (!strcmp(name, set->funcs[f].entry) ||
		    (set->funcs[f].ret && !strcmp(name, set->funcs[f].ret)))
			return f;
	return -1;
}

int tlslib_attach_all(struct tlslib_set *set, struct bpf_program *prog,
		      int pid, struct bpf_link **links, int max)
{
	return tlslib_attach_from(set, prog, pid, 0, links, max);
}

int tlslib_attach_from(struct tlslib_set *set, struct bpf_program *prog,
		       int pid, int from, struct bpf_link **links, int max)
{
	int f = tlslib_func_of_prog(set, prog), n = 0, err;
	struct uprobe_target t = { 0 };
	bool ret;

	if (f < 0)
		return -EINVAL;
	ret = set->funcs[f].ret &&
	      !strcmp(bpf_program__name(prog), set->funcs[f].ret);
	for (int i = from; i < set->nlibs; i++) {
		struct tlslib *l = &set->libs[i];

		if (!l->has[f])
			continue;
		if (n == max) {
			err = -E2BIG;
			goto fail;
		}
		memcpy(t.path, l->path, sizeof(t.path));
		snprintf(t.func, sizeof(t.func), "%s", set->funcs[f].name);
		t.offset = l->offset[f];
		links[n] = uprobe_attach(prog, ret, pid, &t);
		if (!links[n] && (errno == ENOENT || errno == ESRCH) &&
		    !strncmp(l->path, "/proc/", 6)) {
			/*
			 * A container's copy whose container ended since it
			 * was found (its root went with its last process):
			 * nothing left to probe there, not an error.
			 */
			log_debug("%s: gone with its container", l->path);
			memset(l->has, 0, sizeof(l->has));
			continue;
		}
		if (!links[n]) {
			err = errno ? -errno : -EINVAL;
			log_err("cannot probe %s in %s: %s", t.func, t.path,
				strerror(-err));
			goto fail;
		}
		if (l->nlinks < (int)(sizeof(l->links) / sizeof(l->links[0])))
			l->links[l->nlinks++] = links[n];
		n++;
	}
	return n;
fail:
	destroy_links(set, links, n);
	return err;
}

struct bpf_link *tlslib_attach(struct tlslib_set *set, struct session *s,
			       struct bpf_program *prog)
{
	struct bpf_link *links[TLSLIB_MAX_LIBS];
	int n = tlslib_attach_all(set, prog, s->opts.pid, links,
				  TLSLIB_MAX_LIBS);

	if (n <= 0) {
		errno = n < 0 ? -n : EINVAL;
		return NULL;
	}
	for (int i = 1; i < n; i++) {
		if (!session_add_link(s, links[i]))
			continue;
		/* links 1 .. i - 1 are the session's now; it destroyed i */
		tlslib_forget_link(set, links[i]);
		destroy_links(set, links + i + 1, n - i - 1);
		destroy_links(set, links, 1);
		errno = E2BIG;
		return NULL;
	}
	return links[0];
}

int tlslib_attach_new(struct tlslib_set *set, struct bpf_object *obj,
		      int pid, int from, struct bpf_link **links, int max)
{
	struct bpf_program *prog;
	int n, made = 0;

	bpf_object__for_each_program(prog, obj) {
		if (from == set->nlibs)
			break;
		if (!bpf_program__autoload(prog) ||
		    tlslib_func_of_prog(set, prog) < 0)
			continue;
		n = tlslib_attach_from(set, prog, pid, from, links + made,
				       max - made);
		if (n < 0)
			break;
		made += n;
	}
	return made;
}

int tlslib_follow(struct tlslib_set *set, struct session *s)
{
	struct bpf_link *links[TLSLIB_MAX_LINKS], *gone[TLSLIB_MAX_LINKS];
	int n, ngone, from = tlslib_rescan(set, gone, TLSLIB_MAX_LINKS, &ngone);

	session_drop_links(s, gone, ngone);
	n = tlslib_attach_new(set, s->obj, s->opts.pid, from, links,
			      TLSLIB_MAX_LINKS);
	for (int i = 0; i < n; i++) {
		if (!session_add_link(s, links[i]))
			continue;
		log_err("a library found since the start is not probed: "
			"more than %d links", SESSION_MAX_LINKS);
		/* the session destroyed links[i] */
		tlslib_forget_link(set, links[i]);
		destroy_links(set, links + i + 1, n - i - 1);
		return -E2BIG;
	}
	return 0;
}

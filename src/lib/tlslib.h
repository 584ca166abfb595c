/*
 * The TLS libraries a tool probes (sslsniff, http): which copies of
 * OpenSSL and GnuTLS there are (the system's, those a process maps, or
 * files given), where each probed function is in them, and attaching a
 * tool's program to every copy that has its function.
 */
#ifndef LOUPE_TLSLIB_H
#define LOUPE_TLSLIB_H

#include <limits.h>
#include <stdbool.h>

struct bpf_link;
struct bpf_object;
struct bpf_program;
struct session;

enum tlslib_type { TLSLIB_OPENSSL, TLSLIB_GNUTLS, TLSLIB_TYPES };

/* A probed function and the tool's two programs for it (ret may be NULL). */
struct tlslib_func {
	const char *name;
	enum tlslib_type type;
	const char *entry;
	const char *ret;
};

#define TLSLIB_MAX_FUNCS	12
#define TLSLIB_MAX_LIBS		32
/* Mount namespaces (containers) looked into at most at a time. */
#define TLSLIB_MAX_ROOTS	256
/* The links of all libraries: an entry and a return per function. */
#define TLSLIB_MAX_LINKS	(TLSLIB_MAX_LIBS * TLSLIB_MAX_FUNCS * 2)

struct tlslib {
	enum tlslib_type type;
	char path[PATH_MAX];
	unsigned long offset[TLSLIB_MAX_FUNCS];
	bool has[TLSLIB_MAX_FUNCS];
	/* A container's copy: its mount namespace (0: the host's). */
	unsigned long ns;
	/*
	 * Its links (the session's or the agent's), detached when its
	 * namespace ends: a slot is not held by a container gone.
	 */
	struct bpf_link *links[TLSLIB_MAX_FUNCS * 2];
	int nlinks;
};

/* The libraries found for a tool's table of functions. */
struct tlslib_set {
	const struct tlslib_func *funcs;
	int nfuncs;
	unsigned int skip;	/* bit f: function f is not wanted */
	struct tlslib libs[TLSLIB_MAX_LIBS];
	int nlibs;
	/* Found past TLSLIB_MAX_LIBS, not probed (told once by find). */
	int nskipped;
	char skipped[PATH_MAX];
	/* The other mount namespaces looked into, alive at the last look. */
	unsigned long roots[TLSLIB_MAX_ROOTS];
	int nroots;
};

void tlslib_init(struct tlslib_set *set, const struct tlslib_func *funcs,
		 int nfuncs, unsigned int skip);
/* "openssl" or "gnutls"; -1 from the parse if it is neither. */
const char *tlslib_type_name(enum tlslib_type type);
int tlslib_parse_type(const char *s, size_t n);
/*
 * Adds the library at path (a file seen once, whatever its names):
 * how many of its type's functions it has (0: not added), or -E2BIG.
 */
int tlslib_add(struct tlslib_set *set, enum tlslib_type type,
	       const char *path);
/*
 * The system's libssl.so.3, libssl.so.1.1, libgnutls.so.30 and those in
 * the roots of other mount namespaces (containers), or those process
 * pid (> 0) maps.
 */
void tlslib_find(struct tlslib_set *set, int pid);
/*
 * Forgets the libraries of mount namespaces that ended since the last
 * look (containers gone), their links put in gone (at most max, *ngone
 * of them: the caller drops them from its own list and detaches them),
 * then looks into the namespaces that appeared (containers started
 * later; system-wide only), and those a freed slot now has room for,
 * and adds their libraries: returns the index of the first new one
 * (set->nlibs if none).
 */
int tlslib_rescan(struct tlslib_set *set, struct bpf_link **gone, int max,
		  int *ngone);
/* A link of the set's that its owner detaches for another reason. */
void tlslib_forget_link(struct tlslib_set *set, const struct bpf_link *link);
/*
 * obj's loaded TLS programs on the libraries from index from on (a
 * rescan's new ones): the links in links (at most max), how many were
 * made; it stops at the first that fails, after a message.
 */
int tlslib_attach_new(struct tlslib_set *set, struct bpf_object *obj,
		      int pid, int from, struct bpf_link **links, int max);
/*
 * tlslib_rescan(), the links of the libraries gone detached, then the
 * session's loaded TLS programs on the new libraries (links to the
 * session): a tool's on_second when system-wide. 0, or -errno after a
 * message.
 */
int tlslib_follow(struct tlslib_set *set, struct session *s);
/* Whether some library has function f. */
bool tlslib_any(const struct tlslib_set *set, int f);
/* The function whose entry or return program prog is, -1 if none. */
int tlslib_func_of_prog(const struct tlslib_set *set,
			const struct bpf_program *prog);
/*
 * Attaches prog (a function's entry or return) to every library that
 * has the function: the first link is returned, the others go to the
 * session. NULL with errno set after a message.
 */
struct bpf_link *tlslib_attach(struct tlslib_set *set, struct session *s,
			       struct bpf_program *prog);
/*
 * The same without a session (the agent): prog on every library with its
 * function, only process pid's calls if pid > 0; the links in links (at
 * most max). How many, or -errno after a message (none left attached).
 */
int tlslib_attach_all(struct tlslib_set *set, struct bpf_program *prog,
		      int pid, struct bpf_link **links, int max);
/* The same for the libraries from index from on. */
int tlslib_attach_from(struct tlslib_set *set, struct bpf_program *prog,
		       int pid, int from, struct bpf_link **links, int max);

#endif

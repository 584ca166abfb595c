/*
 * Finding where a user-space probe goes: a binary or library by name (on
 * the host, or as a given process sees it through /proc/PID/root), a
 * function's file offset in it, and attaching a uprobe there through a
 * uprobe_multi link (Linux 6.6) or a perf_event-based one.
 */
#ifndef LOUPE_UPROBE_H
#define LOUPE_UPROBE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct bpf_link;
struct bpf_object;
struct bpf_program;

#define UPROBE_FUNC_LEN 256

/* Where a uprobe on BINARY:FUNC goes. */
struct uprobe_target {
	char path[PATH_MAX];		/* file to probe, as loupe opens it */
	char func[UPROBE_FUNC_LEN];	/* symbol as the user spelled it */
	unsigned long offset;		/* file offset of the function */
};

int uprobe_find_library(const char *name, int pid, char *out, size_t len);
/*
 * A library file in the usual directories of process pid's root (no
 * ldconfig cache there): a container's own copy, mapped or not yet.
 */
int uprobe_find_library_in_root(const char *name, int pid, char *out,
				size_t len);
int uprobe_find_in_path(const char *name, int pid, char *out, size_t len);
int uprobe_find_binary(const char *name, int pid, char *out, size_t len);
int uprobe_func_offset(const char *path, const char *func,
		       unsigned long *offset);
int uprobe_resolve(const char *binary, const char *func, int pid,
		   struct uprobe_target *t);
int uprobe_parse_spec(const char *spec, char *binary, size_t blen,
		      char *func, size_t flen);
bool uprobe_is_section(const char *section);
/*
 * Before the object loads: its uprobe programs are made for the kernel's
 * uprobe_multi links where the kernel has them (their detach does not
 * wait in line); uprobe_attach() then uses those.
 */
void uprobe_prepare(struct bpf_object *obj);
struct bpf_link *uprobe_attach(struct bpf_program *prog, bool retprobe,
			       int pid, const struct uprobe_target *t);
struct bpf_link *uprobe_attach_section(struct bpf_program *prog, int pid);

#endif

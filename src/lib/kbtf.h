/*
 * The kernel BTF the embedded objects need, cut down once per kernel and
 * build, and handed to libbpf in place of the whole kernel BTF.
 */
#ifndef LOUPE_KBTF_H
#define LOUPE_KBTF_H

struct tool;

/* The table of tools whose embedded objects the cut-down BTF serves. */
void kbtf_init(const struct tool *const *tools);
/*
 * Between these two calls, in this thread, libbpf (and the hook chooser)
 * get the cut-down BTF when they load the kernel's: only while one of
 * the table's objects is being loaded.
 */
void kbtf_begin(const struct tool *t);
void kbtf_end(void);
/*
 * The next uses kbtf_end() calls share one parsed cut-down BTF (when
 * several tools start in one process); 0 frees it now.
 */
void kbtf_share(int uses);

#endif

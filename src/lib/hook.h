/*
 * Hook chooser: each tool lists, per logical probe, candidate sets of BPF
 * programs from cheapest to most expensive; the first set whose hooks
 * really load and attach on this kernel is kept, the others are switched
 * off before the object is loaded.
 */
#ifndef LOUPE_HOOK_H
#define LOUPE_HOOK_H

#include <stdbool.h>
#include <stddef.h>

struct bpf_object;

#define HOOK_MAX_PROGS		8
#define HOOK_MAX_CANDIDATES	6
#define HOOK_WHY_LEN		160
#define HOOK_TARGET_LEN		128

/*
 * A program name prefixed with '?' is optional: kept if it works. A tool
 * with no BPF object (its programs are built at run time: drop, count,
 * capture) names its hooks by section instead ("xdp", "tc/ingress") and
 * hands the chooser a NULL object.
 */
struct hook_candidate {
	const char *progs[HOOK_MAX_PROGS];
	/* A BPF helper the programs need (enum bpf_func_id), 0 if none. */
	int helper;
};

/*
 * Arrays of probes end with an entry whose name is NULL. An optional probe
 * feeds something the tool can do without (e.g. one column): when none of
 * its candidates works the tool still runs, and `loupe list` shows it with
 * hook "none" and the reasons.
 */
struct hook_probe {
	const char *name;
	struct hook_candidate candidates[HOOK_MAX_CANDIDATES];
	bool optional;
};

enum hook_kind {
	HOOK_UNKNOWN,
	HOOK_FENTRY,
	HOOK_FEXIT,
	HOOK_KPROBE,
	HOOK_KRETPROBE,
	HOOK_TP_BTF,
	HOOK_RAW_TP,
	HOOK_TRACEPOINT,
	HOOK_UPROBE,
	HOOK_URETPROBE,
	HOOK_PERF_EVENT,
	/* Packet and socket hooks, attached by the tool to what it names. */
	HOOK_XDP,
	HOOK_TC,		/* a clsact qdisc: target ingress or egress */
	HOOK_TCX,		/* a tcx link (6.6+): ingress or egress */
	HOOK_SOCKOPS,
	HOOK_SK_MSG,
};

struct hook_point {
	enum hook_kind kind;
	char target[HOOK_TARGET_LEN];
};

/* What the chooser found for one probe. */
struct hook_result {
	int chosen;		/* candidate index, -1 if none works */
	int ncandidates;
	char why[HOOK_MAX_CANDIDATES][HOOK_WHY_LEN];	/* empty = works */
};

/* Tests one program by name; 0 if its hook works, else -errno and why. */
typedef int (*hook_test_fn)(const char *prog, char *why, size_t len,
			    void *ctx);

const char *hook_kind_name(enum hook_kind kind);
int hook_parse_section(const char *section, struct hook_point *pt);
/* Tests whether a helper works in a candidate's programs; 0 if it does. */
typedef int (*hook_helper_fn)(const struct hook_candidate *c, char *why,
			      size_t len, void *ctx);

int hook_decide(const struct hook_probe *probe, hook_test_fn test,
		hook_helper_fn helper_ok, void *ctx, struct hook_result *res);
bool hook_prog_in_candidate(const struct hook_candidate *c, const char *prog,
			    bool *optional);
int hook_test_point(const struct hook_point *pt, char *why, size_t len);
/* The same with the kernel BTF the caller has parsed (NULL: parse one). */
struct btf;
int hook_test_point_btf(const struct hook_point *pt, const struct btf *btf,
			char *why, size_t len);
/* One value read from a sysfs file with fmt (e.g. "config:%d"). */
int hook_read_sysfs_int(const char *path, const char *fmt, int *val);
/*
 * The hook of program name (no '?') in obj, or of section name when obj
 * is NULL: 0 or -errno.
 */
int hook_prog_point(struct bpf_object *obj, const char *name,
		    struct hook_point *pt);
const char *hook_candidate_label(struct bpf_object *obj,
				 const struct hook_candidate *c);
int hook_choose(struct bpf_object *obj, const struct hook_probe *probes,
		struct hook_result *results);
/*
 * Switches off every program a probe table lists: a tool with two ways to
 * hook the same thing hands one table to the chooser and this the other.
 */
void hook_disable(struct bpf_object *obj, const struct hook_probe *probes);
const char *hook_tracefs(void);
/* Why hook_tracefs() found none: 0, -EACCES, -EPERM (cannot mount)... */
int hook_tracefs_error(const char **dir);
void hook_tracefs_why(char *why, size_t len);
/*
 * enum bpf_attach_type's tcx values (Linux 6.6; the running kernel's BTF
 * has them, Debian 12's headers do not).
 */
#define HOOK_BPF_TCX_INGRESS	46
#define HOOK_BPF_TCX_EGRESS	47

/* Loads "return 0" as a program of type: its fd, or -errno. */
int hook_trivial_prog(int type, int attach_type, unsigned int btf_id);

#endif

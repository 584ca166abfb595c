/*
 * Types of trace-program values, and how values of those types are laid
 * out in the bytes the BPF side hands to user space (ring-buffer records,
 * map keys and map values). Semantic analysis decides them; code
 * generation writes those bytes; the printer reads them. This header is
 * the contract between the three.
 */
#ifndef LOUPE_TRACE_TTYPE_H
#define LOUPE_TRACE_TTYPE_H

#include <stdbool.h>
#include <stdint.h>

#define TRACE_STRLEN		64	/* bpftrace's default string size */
#define TRACE_COMM_LEN		16
#define TRACE_MAX_TUPLE		8
#define TRACE_HIST_SLOTS	66	/* <0, 0, then [2^k, 2^(k+1)) k=0..63 */
#define TRACE_STACK_DEPTH	127
#define TRACE_USTACK_WALKED	0xffffffffu	/* TT_USTACK's "how" */

/* How a ustack is walked: --unwind, ustack(dwarf) (stacks.h's order). */
enum trace_unwind {
	TRACE_UNWIND_FP,	/* frame pointers, by the kernel */
	TRACE_UNWIND_DWARF,	/* a copy walked by CFI in user space */
	TRACE_UNWIND_AUTO,	/* fp where the executable keeps them */
};

/*
 * Bytes of each kind (all little-endian, naturally aligned):
 *   TT_INT      size 1, 2, 4 or 8; signed or not.
 *   TT_STR      size bytes, NUL-terminated unless it fills them.
 *   TT_KSTACK   8: u64 stack id in the program's kernel stack map
 *               (negative: the id the helper failed with).
 *   TT_USTACK   16: u64 id, u32 pid, u32 how (the stack's origin):
 *               0: id is a stack id in the user stack map (frame
 *               pointers); TRACE_USTACK_WALKED: id names a stack walked
 *               in user space (tustack.h); any other value is the CPU +
 *               1 of a copy sent for a walk (ustack(dwarf)), id then the
 *               copy's tag (its bpf_ktime_get_ns()).
 *               Both: stack_limit frames at most (0: TRACE_STACK_DEPTH),
 *               each limit its own stack map; stack_perf: perf's layout.
 *   TT_KSYM     8: u64 kernel address (ksym()).
 *   TT_USYM     16: u64 user address, u32 pid, u32 0 (usym()).
 *   TT_INET     24: u32 family (AF_INET/AF_INET6), u8 addr[16], u32 0
 *               (ntop()).
 *   TT_TIMESTAMP 8: u64 ns since boot (strftime()'s argument).
 *   TT_CGROUP_PATH 8: u64 cgroup v2 id (cgroup_path()); fmt: its
 *               hierarchy filter, NULL for all.
 *   TT_BUF      8 + capacity: u32 length, u32 0, the bytes (buf()).
 *   TT_MACADDR  8: the 6 bytes of a MAC address, u16 0 (macaddr()).
 *   TT_TUPLE    the elements one after another, each aligned to its
 *               own alignment (8 for everything but small ints and
 *               strings, which align to 1..8 like C).
 *   TT_PTR      8: an address; btf_id says what it points to (in the
 *               kernel's vmlinux BTF), 0 if unknown.
 *   TT_RECORD   a struct/union read from the kernel: size bytes, btf_id.
 *   TT_USERNAME reserved.
 */
enum ttype_kind {
	TT_NONE = 0,	/* no value (void function, statement) */
	TT_INT,
	TT_STR,
	TT_KSTACK,
	TT_USTACK,
	TT_KSYM,
	TT_USYM,
	TT_INET,
	TT_TIMESTAMP,
	TT_CGROUP_PATH,
	TT_BUF,
	TT_MACADDR,
	TT_TUPLE,
	TT_PTR,
	TT_RECORD,
	/* the values of aggregation maps; only ever a map's value type */
	TT_COUNT,
	TT_SUM,
	TT_AVG,
	TT_MIN,
	TT_MAX,
	TT_STATS,
	TT_HIST,
	TT_LHIST,
};

struct ttype {
	enum ttype_kind kind;
	unsigned int size;	/* bytes, as laid out above */
	bool is_signed;		/* TT_INT, TT_SUM/MIN/MAX/AVG/STATS */
	bool user;		/* TT_PTR/TT_STR source: user memory */
	int btf_id;		/* TT_PTR (pointee), TT_RECORD */
	/* TT_TUPLE: elements (owned by the program's type arena). */
	int nelems;
	struct ttype *elems;
	unsigned int *offsets;	/* offset of each element */
	/* TT_TIMESTAMP: strftime() format, decoded; TT_CGROUP_PATH: the
	 * hierarchy filter (both owned by the program) */
	const char *fmt;
	/* TT_KSTACK, TT_USTACK: kstack(perf, 3) */
	int stack_limit;
	bool stack_perf;
	unsigned char stack_unwind;	/* TT_USTACK: enum trace_unwind */
	/* TT_LHIST parameters */
	long long lhist_min, lhist_max, lhist_step;
};

/*
 * Per-CPU map values of aggregations (user space adds up the CPUs):
 *   TT_COUNT, TT_SUM    s64/u64
 *   TT_AVG, TT_STATS    struct { s64 sum; u64 count; }
 *   TT_MIN, TT_MAX      struct { s64 value; u64 set; } (set: 1 once the
 *                       CPU has seen a value; CPUs with 0 are ignored)
 *   TT_HIST             u64 slots[TRACE_HIST_SLOTS]: slot 0 counts values
 *                       < 0, slot 1 value 0, slot k+2 [2^k, 2^(k+1))
 *   TT_LHIST            u64 slots[(max - min) / step + 2]: slot 0 values
 *                       < min, slot i+1 [min + i*step, min + (i+1)*step),
 *                       the last slot values >= max
 *   both                then s64 sum: the values added up (an exporter
 *                       needs a histogram's exact sum; print ignores it)
 */
struct trace_avg_value {
	int64_t sum;
	uint64_t count;
};

struct trace_minmax_value {
	int64_t value;
	uint64_t set;
};

/*
 * kstack(N)/ustack(N): a stack map N frames deep, as bpftrace has, so that
 * stacks equal in their first N frames are one map key.
 */
struct trace_stack_map {
	bool user;
	int limit;
	int fd;
};

/* The map of stack type t with a limit; -1 if there is none. */
int ttype_stack_fd(const struct trace_stack_map *maps, int n,
		   const struct ttype *t);
unsigned int ttype_lhist_slots(const struct ttype *t);
/* TT_HIST, TT_LHIST: the slots before the sum; 0 for other kinds. */
unsigned int ttype_hist_slots(const struct ttype *t);
/* Bytes one CPU's copy of a map value of type t takes. */
unsigned int ttype_value_size(const struct ttype *t);
/* "int64", "string[64]", "(int64, string[16])", "hist" ... */
void ttype_name(const struct ttype *t, char *buf, unsigned int len);
bool ttype_equal(const struct ttype *a, const struct ttype *b);

#endif

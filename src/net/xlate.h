/*
 * Classic BPF (what libpcap compiles a tcpdump expression into) translated
 * to eBPF for XDP and TC programs.
 */
#ifndef LOUPE_XLATE_H
#define LOUPE_XLATE_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/filter.h>

enum xlate_hook {
	XLATE_XDP,
	XLATE_TC,
};

/*
 * Stack slots the translation keeps for the epilogue: the packet's whole
 * length (u32, what cBPF's `len` reads), a free u32 word, the program's
 * context (u64) and 32 free bytes.
 */
#define XLATE_LEN_OFF	(-68)
#define XLATE_FREE_OFF	(-72)
#define XLATE_CTX_OFF	(-80)
#define XLATE_SCRATCH_OFF (-112)

/* A growable program; free with xlate_free(). */
struct xlate_prog {
	struct bpf_insn *insns;
	size_t n;
	size_t cap;
};

/*
 * Translates the classic program (checked as the kernel's cBPF loader
 * would: known opcodes, forward jumps inside it, M[] indexes below 16, a
 * return at the end) into prog. The filter's result (cBPF's return value,
 * 0 for no match) is in r0 when it reaches epi, the caller's tail which
 * must end in exit; r10-relative slots above are readable there. Returns
 * 0, or -1 with a one-line reason in err.
 */
int xlate_cbpf(const struct sock_filter *cbpf, size_t n, enum xlate_hook hook,
	       const struct bpf_insn *epi, size_t nepi, struct xlate_prog *prog,
	       char *err, size_t errlen);

/*
 * The tails loupe uses: verdict returns match or nomatch (e.g. XDP_DROP,
 * XDP_PASS); count also adds the packet and its length to entry key + 1
 * (a match) or key (no match) of a per-CPU array of struct
 * xlate_counter. Each fills epi (room for XLATE_EPI_MAX) and returns its
 * length.
 */
#define XLATE_EPI_MAX	32

struct xlate_counter {
	unsigned long long packets;
	unsigned long long bytes;
};

size_t xlate_epi_verdict(struct bpf_insn *epi, int match, int nomatch);
size_t xlate_epi_count(struct bpf_insn *epi, int map_fd, int key,
		       int match, int nomatch);

/*
 * The capture tail (TC only): a match sends a struct xlate_capture and
 * the packet's first snaplen bytes to the perf event array map_fd, on
 * this CPU; every packet goes on to the next filter (TC_ACT_UNSPEC).
 */
struct xlate_capture {
	unsigned long long boot_ns;	/* bpf_ktime_get_boot_ns() */
	unsigned int len;		/* the packet's length */
	unsigned int caplen;		/* bytes that follow */
	unsigned int dir;		/* as given to xlate_epi_capture() */
	unsigned int pad;
};

size_t xlate_epi_capture(struct bpf_insn *epi, int map_fd,
			 unsigned int snaplen, unsigned int dir);

void xlate_free(struct xlate_prog *prog);

#endif

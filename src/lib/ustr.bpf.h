/*
 * Kernel side of ustr.h: copying strings out of the traced process, with
 * a record of what went wrong.
 *
 * A BPF program cannot take a page fault, so bpf_probe_read_user_str()
 * fails on a page that is mapped but not resident yet (a literal in
 * .rodata nobody has touched, a file mapping not read so far, memory
 * swapped out). The traced call faults the page in when it reads the
 * string itself. So a tool reads a string at the call's entry, where it is
 * what the caller passed, keeps the pointer, and at the return reads again
 * a string whose entry read faulted (ustr_retry()): by then the caller's
 * memory is the same, unless the call replaced it (a successful exec), and
 * most likely resident. Include after loupe.bpf.h.
 */
#ifndef LOUPE_USTR_BPF_H
#define LOUPE_USTR_BPF_H

#include "ustr.h"

/*
 * Copy the string at src into dst (size bytes, NUL included). Returns the
 * bytes used in dst with the NUL, from 1 (empty: nothing could be read) to
 * size, and sets *state to USTR_UNREAD, USTR_TRUNCATED or 0.
 */
static __always_inline __u32 ustr_read(char *dst, __u32 size,
				       const void *src, __u32 *state)
{
	long n = bpf_probe_read_user_str(dst, size, src);

	if (n <= 0) {
		dst[0] = '\0';
		*state = USTR_UNREAD;
		return 1;
	}
	if (n >= size) {
		*state = USTR_TRUNCATED;
		return size;
	}
	*state = 0;
	return n;
}

/*
 * At the return of the call whose entry did ustr_read(): read again if
 * that read faulted. Returns what ustr_read() does, or 0 (and leaves dst
 * alone) if the entry read had worked.
 */
static __always_inline __u32 ustr_retry(char *dst, __u32 size,
					const void *src, __u32 *state)
{
	if (!(*state & USTR_UNREAD))
		return 0;
	return ustr_read(dst, size, src, state);
}

#endif

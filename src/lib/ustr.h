/*
 * The outcome of copying a string out of a traced process, as one set of
 * bits shared by the BPF side (ustr.bpf.h fills them in) and the output
 * writer (out.c turns them into JSON flags and table markers), so that a
 * cut or missing string is never shown as if it were whole.
 */
#ifndef LOUPE_USTR_H
#define LOUPE_USTR_H

/* The copy stopped at its buffer's size: the string may go on. */
#define USTR_TRUNCATED	0x1
/*
 * The memory could not be read (a page not resident when the BPF program
 * ran, or a bad pointer): what is shown is empty or a prefix.
 */
#define USTR_UNREAD	0x2

#endif

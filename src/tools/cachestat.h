/* Counter slots shared by cachestat's kernel and user halves. */
#ifndef LOUPE_CACHESTAT_H
#define LOUPE_CACHESTAT_H

/*
 * Every page added to the page cache lands in exactly one of the two
 * "added" slots, so user space never sees one half of an add.
 */
enum cachestat_counter {
	/* folio_mark_accessed, mark_page_accessed */
	CACHESTAT_ACCESSED,
	CACHESTAT_BUF_DIRTIED,	/* mark_buffer_dirty */
	/* pages added, except by a write-family syscall to that file */
	CACHESTAT_READ_ADDED,
	/* pages added to the file a write-family syscall is writing */
	CACHESTAT_WRITE_ADDED,
	/* pages newly dirtied (folios where the size is not known) */
	CACHESTAT_DIRTIED,
	CACHESTAT_DIRTIED_FOLIOS,	/* folios newly dirtied */
	CACHESTAT_MAX,
};

#endif

/* Counter slots shared by cachestat's kernel and user halves. */
#ifndef LOUPE_CACHESTAT_H
#define LOUPE_CACHESTAT_H

enum cachestat_counter {
	/* folio_mark_accessed, mark_page_accessed */
	CACHESTAT_ACCESSED,
	CACHESTAT_BUF_DIRTIED,	/* mark_buffer_dirty */
	CACHESTAT_ADDED,	/* pages added to the page cache */
	CACHESTAT_DIRTIED,	/* page-cache folios newly dirtied */
	CACHESTAT_MAX,
};

#endif

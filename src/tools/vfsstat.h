/* Counter slots shared by vfsstat's kernel and user halves. */
#ifndef LOUPE_VFSSTAT_H
#define LOUPE_VFSSTAT_H

enum vfsstat_counter {
	VFSSTAT_READ,
	VFSSTAT_WRITE,
	VFSSTAT_CREATE,
	VFSSTAT_OPEN,
	VFSSTAT_FSYNC,
	VFSSTAT_MAX,
};

#endif

/* Event shared by bashreadline's kernel and user halves. */
#ifndef LOUPE_BASHREADLINE_H
#define LOUPE_BASHREADLINE_H

#include "event.h"

#define READLINE_LEN 256

struct readline_event {
	struct event_hdr hdr;
	char line[READLINE_LEN];
};

#endif

/* Constants shared by funclatency's kernel and user halves. */
#ifndef LOUPE_FUNCLATENCY_H
#define LOUPE_FUNCLATENCY_H

#include "event.h"

#define FUNCLAT_SLOTS 64	/* log2 slots, as hist.h's HIST_SLOTS */

#endif

/* Settings shared by profile's kernel and user halves. */
#ifndef LOUPE_PROFILE_H
#define LOUPE_PROFILE_H

#include "stacks.h"

#define PROFILE_FREQ	49	/* samples per second per CPU, like BCC */

#endif

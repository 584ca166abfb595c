/* The agent's state shared by its main thread and its HTTP threads. */
#ifndef LOUPE_AGENT_AGENT_H
#define LOUPE_AGENT_AGENT_H

#include <pthread.h>
#include "config.h"
#include "expo.h"
#include "out.h"

struct agent {
	struct expo_registry *reg;
	pthread_mutex_t lock;		/* config: replaced on SIGHUP */
	struct config config;
	struct expo_family *build_info;
	struct expo_family *scrape_seconds;
	struct expo_family *reload_ok;
	struct expo_family *reload_time;
};

/* index.c: the HTML page at "/" (ctx: the struct agent). */
void agent_render_index(void *ctx, struct out_buf *b);

#endif

/* The agent's state shared by its main thread and its HTTP threads. */
#ifndef LOUPE_AGENT_AGENT_H
#define LOUPE_AGENT_AGENT_H

#include <pthread.h>
#include "config.h"
#include "expo.h"
#include "metric.h"
#include "out.h"
#include "packets.h"

struct agent {
	struct expo_registry *reg;
	/* config and custom: replaced on SIGHUP; held by a scrape */
	pthread_mutex_t lock;
	struct config config;
	struct metric_set *custom;	/* the config's programs, attached */
	struct packet_set *packets;	/* the config's packets:, attached */
	/* loupe_packets_total, _bytes_total: once a config has packets: */
	struct expo_family *packets_total, *packet_bytes;
	/* --metrics: one set per built-in, each attached or NULL */
	struct metric_program *builtin_progs;
	struct metric_set **builtins;
	char **builtin_why;	/* why built-in i is not attached, or NULL */
	int nbuiltins;
	int nbuiltins_attached;
	struct metric_self self;
	struct expo_family *build_info;
	struct expo_family *scrape_seconds;
	struct expo_family *reload_ok;
	struct expo_family *reload_time;
	struct profiler *profiler;	/* NULL: --profile-hz 0 */
	struct expo_family *profile_dropped;
};

/* index.c: the HTML page at "/" (ctx: the struct agent). */
void agent_render_index(void *ctx, struct out_buf *b);
/*
 * The live flame graph's lists (two <select>s): the processes and cgroups
 * sampled in the last seconds; the profiler must be on.
 */
void agent_render_flame_targets(struct agent *a, unsigned int seconds,
				struct out_buf *b);

#endif

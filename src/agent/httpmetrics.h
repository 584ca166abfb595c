/*
 * The agent's HTTP request metrics (--http): `loupe http`'s BPF object
 * and pairing (httppair.c) feeding http_request_duration_seconds.
 */
#ifndef LOUPE_AGENT_HTTPMETRICS_H
#define LOUPE_AGENT_HTTPMETRICS_H

#include <pthread.h>
#include <stddef.h>
#include "expo.h"

struct httpmetrics;

/*
 * Registers the families in r, loads and attaches the probes (socket
 * calls, and the system's TLS libraries); by: BUILTIN_BY_* labels. lock
 * is taken around label lookups shared with scrapes. NULL after a
 * message; nothing stays attached then.
 */
struct httpmetrics *httpmetrics_start(struct expo_registry *r,
				      pthread_mutex_t *lock, unsigned int by);
/* Starts the thread reading the ring (after privileges are dropped). */
int httpmetrics_serve(struct httpmetrics *m);
/* Scrape time, lock held: the counters read from the kernel. */
void httpmetrics_refresh(struct httpmetrics *m);
/* Stops the thread, detaches, frees; the families stay registered. */
void httpmetrics_stop(struct httpmetrics *m);
/*
 * httpmetrics_stop(), and the families leave the registry too (a reload
 * that turns http: off, or that fails after turning it on).
 */
void httpmetrics_remove(struct httpmetrics *m);

#endif

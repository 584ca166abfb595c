/*
 * parallel_for(): threads take the next index from one atomic counter
 * until none is left, so a slow item (a detach waiting for an RCU grace
 * period) never holds up the items behind it.
 */
#include <pthread.h>
#include "parallel.h"

#define PARALLEL_MAX_THREADS	64

struct parallel_work {
	parallel_fn fn;
	void *ctx;
	int n;
	int next;	/* atomic */
};

static void *parallel_worker(void *arg)
{
	struct parallel_work *w = arg;
	int i;

	while ((i = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED)) < w->n)
		w->fn(w->ctx, i);
	return NULL;
}

void parallel_for(int n, int width, parallel_fn fn, void *ctx)
{
	struct parallel_work w = { .fn = fn, .ctx = ctx, .n = n };
	pthread_t threads[PARALLEL_MAX_THREADS];
	int started = 0;

	if (width > n)
		width = n;
	if (width > PARALLEL_MAX_THREADS)
		width = PARALLEL_MAX_THREADS;
	/* The caller is one of the width threads. */
	while (started < width - 1 &&
	       !pthread_create(&threads[started], NULL, parallel_worker, &w))
		started++;
	parallel_worker(&w);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

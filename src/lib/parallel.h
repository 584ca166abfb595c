/*
 * The one thread pool: work that only waits on the kernel (detaching
 * links, the verifier, tools that sleep for --duration) spread over
 * threads that share one counter of what is left to do.
 */
#ifndef LOUPE_PARALLEL_H
#define LOUPE_PARALLEL_H

typedef void (*parallel_fn)(void *ctx, int i);

/*
 * Calls fn(ctx, i) once for each i in [0, n), on at most width threads
 * (the caller's included), and returns when every call has returned.
 * Whatever no thread could be started for is done by the others: the
 * work never depends on a pthread_create() succeeding.
 */
void parallel_for(int n, int width, parallel_fn fn, void *ctx);

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * cpuburn: the workload of bench/profile_bench.py.
 *
 * Build: cc -O2 -fno-omit-frame-pointer -pthread -o cpuburn cpuburn.c
 *
 * Burn mode (default): THREADS threads (default: one per online CPU) each
 * do UNITS fixed units of integer work in a known call chain
 *   main -> burn_thread -> burn_outer -> burn_inner -> spin
 * and the process reports the wall time of the whole job.
 *
 * Sleep mode (-s US): each thread calls nanosleep(US) COUNT (-n) times in
 *   main -> nap_thread -> nap_outer -> nap_inner -> nanosleep
 * and the process reports the wall time and the time it slept (wall time
 * of the nanosleep calls).
 *
 * With -w the threads are created first, "ready PID" is printed, and the
 * job starts when a line arrives on stdin; after the job the result line is
 * printed and the process, worker threads included (blocked on a barrier),
 * waits for EOF (or a line) on stdin before it exits, so that a profiler
 * can still read its memory maps (bpftrace resolves a user stack through
 * /proc/TID of the sampled thread: a thread that has exited stays as raw
 * addresses).
 *
 * Result (one line on stdout):
 *   result wall_s=W cpu_s=C units=U threads=T units_per_s=R nivcsw=N
 *          [slept_s=S calls=K]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SPIN_ITERS	(1u << 18)	/* one unit: about 0.3-1 ms */
#define MAX_THREADS	256

static long units = 1000;
static long sleep_us = -1;
static long sleep_count = 1000;
static int nthreads;
static int wait_mode;

static pthread_barrier_t start_barrier, done_barrier, exit_barrier;
static volatile uint64_t sink[MAX_THREADS * 8];
static double slept[MAX_THREADS];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The leaf: an xorshift loop the compiler cannot fold away. */
__attribute__((noinline)) static uint64_t spin(uint64_t x)
{
	for (unsigned i = 0; i < SPIN_ITERS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

__attribute__((noinline)) static uint64_t burn_inner(uint64_t x)
{
	x = spin(x);
	__asm__ volatile("" : "+r"(x));
	return x;
}

__attribute__((noinline)) static uint64_t burn_outer(uint64_t x, long n)
{
	for (long i = 0; i < n; i++)
		x = burn_inner(x);
	__asm__ volatile("" : "+r"(x));
	return x;
}

__attribute__((noinline)) static void *burn_thread(void *arg)
{
	long id = (long)arg;

	pthread_barrier_wait(&start_barrier);
	sink[id * 8] = burn_outer(0x9e3779b97f4a7c15ULL + id, units);
	pthread_barrier_wait(&done_barrier);
	pthread_barrier_wait(&exit_barrier);
	return NULL;
}

__attribute__((noinline)) static double nap_inner(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	double t0 = now_s();

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	return now_s() - t0;
}

__attribute__((noinline)) static double nap_outer(long us, long n)
{
	double s = 0;

	for (long i = 0; i < n; i++)
		s += nap_inner(us);
	__asm__ volatile("" ::: "memory");
	return s;
}

__attribute__((noinline)) static void *nap_thread(void *arg)
{
	long id = (long)arg;

	pthread_barrier_wait(&start_barrier);
	slept[id] = nap_outer(sleep_us, sleep_count);
	pthread_barrier_wait(&done_barrier);
	pthread_barrier_wait(&exit_barrier);
	return NULL;
}

static void wait_line(void)
{
	char buf[64];

	if (!fgets(buf, sizeof(buf), stdin))
		return;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: cpuburn [-t THREADS] [-u UNITS] [-w]\n"
		"       cpuburn -s SLEEP_US [-n COUNT] [-t THREADS] [-w]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	pthread_t tids[MAX_THREADS];
	struct rusage ru;
	double t0, wall, cpu, sl = 0;
	int c;

	nthreads = sysconf(_SC_NPROCESSORS_ONLN);
	while ((c = getopt(argc, argv, "t:u:s:n:w")) != -1) {
		switch (c) {
		case 't': nthreads = atoi(optarg); break;
		case 'u': units = atol(optarg); break;
		case 's': sleep_us = atol(optarg); break;
		case 'n': sleep_count = atol(optarg); break;
		case 'w': wait_mode = 1; break;
		default: usage();
		}
	}
	if (nthreads < 1 || nthreads > MAX_THREADS || units < 1 ||
	    sleep_count < 1)
		usage();

	pthread_barrier_init(&start_barrier, NULL, nthreads + 1);
	pthread_barrier_init(&done_barrier, NULL, nthreads + 1);
	pthread_barrier_init(&exit_barrier, NULL, nthreads + 1);
	for (long i = 0; i < nthreads; i++) {
		if (pthread_create(&tids[i], NULL,
				   sleep_us >= 0 ? nap_thread : burn_thread,
				   (void *)i)) {
			perror("pthread_create");
			return 1;
		}
	}
	if (wait_mode) {
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		wait_line();
	}
	t0 = now_s();
	pthread_barrier_wait(&start_barrier);
	pthread_barrier_wait(&done_barrier);
	wall = now_s() - t0;
	getrusage(RUSAGE_SELF, &ru);
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	if (sleep_us >= 0) {
		for (int i = 0; i < nthreads; i++)
			sl += slept[i];
		printf("result wall_s=%.6f cpu_s=%.6f units=0 threads=%d "
		       "units_per_s=0 nivcsw=%ld slept_s=%.6f calls=%ld\n",
		       wall, cpu, nthreads, ru.ru_nivcsw, sl,
		       sleep_count * nthreads);
	} else {
		printf("result wall_s=%.6f cpu_s=%.6f units=%ld threads=%d "
		       "units_per_s=%.1f nivcsw=%ld\n", wall, cpu,
		       units * nthreads, nthreads, units * nthreads / wall,
		       ru.ru_nivcsw);
	}
	fflush(stdout);
	if (wait_mode)
		wait_line();
	pthread_barrier_wait(&exit_barrier);
	for (int i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	return 0;
}

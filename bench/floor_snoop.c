// SPDX-License-Identifier: GPL-2.0
/*
 * floor_snoop: minimal open snoop. The BPF side writes (pid, comm, path) to
 * a ring buffer without wakeup; user space drains the ring every 100 ms and
 * only counts records.
 *
 *   floor_snoop [-b RING_MB] [-m SUBSTRING]
 *
 * Prints "floor_snoop: ready" on stdout (flushed) once attached. At
 * SIGINT/SIGTERM it drains the ring, detaches and prints
 *   floor_snoop: records=N matched=M lost=L
 * where matched counts records whose path contains SUBSTRING and lost counts
 * failed ring-buffer reservations.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "floor_snoop.h"
#include "floor_snoop.skel.h"

static volatile sig_atomic_t stop;
static unsigned long long records, matched;
static const char *marker;

static void on_sig(int sig)
{
	(void)sig;
	stop = 1;
}

static int log_fn(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	return lvl == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct fs_event *e = data;

	(void)ctx;
	records++;
	if (marker && len >= sizeof(*e) && strstr(e->path, marker))
		matched++;
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sig };
	struct floor_snoop_bpf *skel;
	struct ring_buffer *rb = NULL;
	unsigned long ring_mb = 64;
	unsigned long long lost = 0;
	__u32 key = 0;
	int opt, err;

	while ((opt = getopt(argc, argv, "b:m:h")) != -1) {
		switch (opt) {
		case 'b': ring_mb = strtoul(optarg, NULL, 10); break;
		case 'm': marker = optarg; break;
		default:
			fprintf(stderr, "usage: floor_snoop [-b RING_MB] [-m SUBSTRING]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!ring_mb || (ring_mb & (ring_mb - 1))) {
		fprintf(stderr, "floor_snoop: -b must be a power of two (MB)\n");
		return 2;
	}

	libbpf_set_print(log_fn);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	skel = floor_snoop_bpf__open();
	if (!skel) {
		fprintf(stderr, "floor_snoop: open failed: %s\n", strerror(errno));
		return 1;
	}
	bpf_map__set_max_entries(skel->maps.events, ring_mb << 20);
	err = floor_snoop_bpf__load(skel);
	if (err) {
		fprintf(stderr, "floor_snoop: load failed: %s\n", strerror(-err));
		goto out;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "floor_snoop: ring_buffer__new failed: %s\n", strerror(errno));
		goto out;
	}
	err = floor_snoop_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "floor_snoop: attach failed: %s\n", strerror(-err));
		goto out;
	}
	printf("floor_snoop: ready\n");
	fflush(stdout);

	while (!stop) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL); /* interrupted early by a signal */
		if (ring_buffer__consume(rb) < 0 && errno != EINTR)
			break;
	}
	floor_snoop_bpf__detach(skel);
	ring_buffer__consume(rb);
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.lost), &key, &lost);
	printf("floor_snoop: records=%llu matched=%llu lost=%llu\n", records, matched, lost);
	err = 0;
out:
	ring_buffer__free(rb);
	floor_snoop_bpf__destroy(skel);
	return err ? 1 : 0;
}

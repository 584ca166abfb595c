/*
 * The agent's HTTP request metrics: the http tool's BPF object, loaded
 * and attached here as the tool would (socket tracepoints, uprobes on the
 * system's TLS libraries), its ring read by a thread of its own and each
 * request paired with its response by httppair.c, then observed into
 * http_request_duration_seconds{role,method,route,status} (with the
 * cgroup and container labels first under --by-cgroup/--by-container).
 * Routes are templated (ids -> :id) and the registry's series cap bounds
 * what a scan of many paths can add; refused label sets are counted in
 * loupe_agent_series_dropped_total like any other.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "builtin.h"
#include "event.h"
#include "netsock.h"
#include "http.skel.h"
#include "httpmetrics.h"
#include "httppair.h"
#include "log.h"
#include "metric.h"
#include "session.h"
#include "tlslib.h"
#include "hook.h"
#include "privs.h"
#include "out.h"
#include "uprobe.h"

/* Program links: the socket tracepoints and TLS probes on every library. */
#define LINKS_MAX (16 + HTTPPAIR_TLS_FUNCS * 2 * TLSLIB_MAX_LIBS)
#define LABELS_MAX 8
/* How often new mount namespaces (containers) are looked for. */
#define LOOK_EVERY_NS 2000000000LL

/* Seconds: from 100 µs (loopback) to 10 s. */
static const double bounds[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

struct httpmetrics {
	struct http_bpf *skel;
	struct tlslib_set tls;
	struct bpf_link *links[LINKS_MAX];
	int nlinks;
	struct ring_buffer *rb;
	struct httppair *pairs;
	pthread_mutex_t *lock;
	unsigned int by;
	struct expo_family *duration;
	struct expo_family *lost;
	pthread_t thread;
	bool running;
	volatile bool stopping;
};

/* One request: its labels, then an observation of its latency. */
static void on_request(void *ctx, const struct httppair_req *r)
{
	struct httpmetrics *m = ctx;
	char cg[256], ctr[3][128], route[HTTP1_PATH_LEN], status[16];
	const char *values[LABELS_MAX];
	int n = 0;

	pthread_mutex_lock(m->lock);
	if (m->by & BUILTIN_BY_CGROUP) {
		labels_format_int(LABEL_CGROUP, r->hdr.cgroup_id, cg,
				  sizeof(cg));
		values[n++] = cg;
	}
	if (m->by & BUILTIN_BY_CONTAINER) {
		static const enum label_kind kinds[3] = {
			LABEL_CONTAINER, LABEL_POD, LABEL_NAMESPACE
		};

		for (int i = 0; i < 3; i++) {
			labels_format_int(kinds[i], r->hdr.cgroup_id, ctr[i],
					  sizeof(ctr[i]));
			values[n++] = ctr[i];
		}
	}
	http1_route(r->path, route, sizeof(route));
	/* By hand: snprintf() per request showed in the agent's profile. */
	if (r->status >= 100 && r->status <= 999) {
		status[0] = '0' + r->status / 100;
		status[1] = '0' + r->status / 10 % 10;
		status[2] = '0' + r->status % 10;
		status[3] = '\0';
	} else if (r->status) {
		snprintf(status, sizeof(status), "%d", r->status);
	} else {
		strcpy(status, "-");
	}
	values[n++] = httppair_role_name(r->role);
	values[n++] = r->method;
	values[n++] = route;
	values[n++] = status;
	expo_observe(m->duration, values, (r->end_ns - r->start_ns) / 1e9);
	pthread_mutex_unlock(m->lock);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct httpmetrics *m = ctx;

	httppair_event(m->pairs, data, size);
	return 0;
}

static int add_families(struct httpmetrics *m, struct expo_registry *r)
{
	const char *labels[LABELS_MAX];
	char err[256];
	int n = 0;

	if (m->by & BUILTIN_BY_CGROUP)
		labels[n++] = "cgroup";
	if (m->by & BUILTIN_BY_CONTAINER) {
		labels[n++] = "container";
		labels[n++] = "pod";
		labels[n++] = "namespace";
	}
	labels[n++] = "role";
	labels[n++] = "method";
	labels[n++] = "route";
	labels[n++] = "status";
	m->duration = expo_family_add(r, "http_request_duration_seconds",
		"HTTP/1 requests served (role server) or sent (client), "
		"from the request's first byte to the response's last",
		EXPO_HISTOGRAM, labels, n, bounds,
		sizeof(bounds) / sizeof(*bounds), err, sizeof(err));
	if (m->duration)
		m->lost = expo_family_add(r, "loupe_http_requests_lost_total",
			"HTTP requests not observed because the ring was full",
			EXPO_COUNTER, NULL, 0, NULL, 0, err, sizeof(err));
	if (!m->duration || !m->lost) {
		log_err("--http: %s", err);
		return -EINVAL;
	}
	expo_set(m->lost, NULL, 0);
	return 0;
}

/* Socket programs as they are; TLS ones on every library with theirs. */
static int attach(struct httpmetrics *m)
{
	struct bpf_program *prog;
	int n;

	bpf_object__for_each_program(prog, m->skel->obj) {
		if (!bpf_program__autoload(prog))
			continue;
		if (tlslib_func_of_prog(&m->tls, prog) >= 0) {
			n = tlslib_attach_all(&m->tls, prog, 0,
					      m->links + m->nlinks,
					      LINKS_MAX - m->nlinks);
			if (n < 0)
				return n;
			m->nlinks += n;
			continue;
		}
		if (m->nlinks == LINKS_MAX)
			return -E2BIG;
		m->links[m->nlinks] = bpf_program__attach(prog);
		if (!m->links[m->nlinks]) {
			n = -errno;
			log_err("--http: cannot attach %s: %s",
				bpf_program__name(prog), strerror(errno));
			return n;
		}
		m->nlinks++;
	}
	return 0;
}

static int load(struct httpmetrics *m, size_t ring_bytes)
{
	struct hook_result results[3];
	struct bpf_program *prog;
	int err;

	m->skel = http_bpf__open();
	if (!m->skel) {
		log_err("--http: cannot open the http object: %s",
			strerror(errno));
		return -errno;
	}
	tlslib_init(&m->tls, httppair_tls_funcs, HTTPPAIR_TLS_FUNCS, 0);
	tlslib_find(&m->tls, 0);
	bpf_object__for_each_program(prog, m->skel->obj) {
		int f = tlslib_func_of_prog(&m->tls, prog);

		if (f >= 0 && !tlslib_any(&m->tls, f))
			bpf_program__set_autoload(prog, false);
	}
	/* The socket calls' cheapest hook here; the others are not loaded. */
	if (hook_choose(m->skel->obj, httppair_socket_probes, results)) {
		log_err("--http: no hook for the socket calls works here: %s",
			results[0].chosen < 0 ? results[0].why[0] : "exit");
		return -ENOENT;
	}
	m->skel->rodata->tls_on = m->tls.nlibs > 0;
	/* the agent's own answers to scrapes are not requests to count */
	m->skel->rodata->filter.exclude_pid = getpid();
	m->skel->rodata->filter.wakeup_bytes = ring_bytes / 4;
	/* Labels by cgroup or container need the cgroup id, nothing else. */
	m->skel->rodata->filter.header_lite =
		!(m->by & (BUILTIN_BY_CGROUP | BUILTIN_BY_CONTAINER));
	bpf_map__set_max_entries(m->skel->maps.events, ring_bytes);
	uprobe_prepare(m->skel->obj);
	err = http_bpf__load(m->skel);
	if (err) {
		log_err("--http: cannot load the http object: %s",
			strerror(-err));
		return err;
	}
	return 0;
}

struct httpmetrics *httpmetrics_start(struct expo_registry *r,
				      pthread_mutex_t *lock, unsigned int by)
{
	struct httpmetrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->lock = lock;
	m->by = by;
	if (add_families(m, r) || load(m, HTTPPAIR_RING_DEFAULT) || attach(m))
		goto fail;
	m->pairs = httppair_new(on_request, m);
	m->rb = ring_buffer__new(bpf_map__fd(m->skel->maps.events), on_event,
				 m, NULL);
	if (!m->pairs || !m->rb) {
		log_err("--http: cannot read the ring: %s", strerror(errno));
		goto fail;
	}
	return m;
fail:
	/* a reload goes on serving without them */
	httpmetrics_remove(m);
	return NULL;
}

/*
 * A container started since: its own TLS libraries get the probes too
 * (the agent's other threads keep no capability effective; this one
 * raises the kept ones while it attaches, CAP_SYS_PTRACE among them to
 * reach the container's root through /proc/PID/root).
 */
static void follow_new_libraries(struct httpmetrics *m)
{
	struct bpf_link *gone[TLSLIB_MAX_LINKS];
	int from, ngone, raised = privs_effective(true);

	/* A container gone: its library's slot and links are freed. */
	from = tlslib_rescan(&m->tls, gone, TLSLIB_MAX_LINKS, &ngone);
	session_forget_links(m->links, &m->nlinks, gone, ngone);
	session_destroy_links(gone, ngone);
	m->nlinks += tlslib_attach_new(&m->tls, m->skel->obj, 0, from,
				       m->links + m->nlinks,
				       LINKS_MAX - m->nlinks);
	if (!raised)
		privs_effective(false);
}

static void *reader(void *arg)
{
	struct httpmetrics *m = arg;
	long long next_look = out_mono_ns() + LOOK_EVERY_NS;

	/*
	 * The kernel wakes us past a backlog only (no wakeup per event):
	 * after the timeout, what came meanwhile is drained too.
	 */
	while (!m->stopping) {
		int err = ring_buffer__poll(m->rb, 200);

		if (err >= 0)
			err = ring_buffer__consume(m->rb);

		if (err < 0 && err != -EINTR) {
			log_err("--http: reading the ring: %s",
				strerror(-err));
			break;
		}
		if ((long long)out_mono_ns() >= next_look) {
			follow_new_libraries(m);
			next_look = out_mono_ns() + LOOK_EVERY_NS;
		}
	}
	return NULL;
}

int httpmetrics_serve(struct httpmetrics *m)
{
	int err = pthread_create(&m->thread, NULL, reader, m);

	if (err) {
		log_err("--http: cannot start its thread: %s", strerror(err));
		return EXIT_RUNTIME;
	}
	m->running = true;
	return 0;
}

void httpmetrics_refresh(struct httpmetrics *m)
{
	if (!m)
		return;
	/* the pairing's count is the reader's: one word, read as it is */
	expo_set(m->lost, NULL, m->skel->bss->lost_requests +
		 httppair_lost(m->pairs));
}

/* The families go after the thread that observes into them. */
static void stop(struct httpmetrics *m, bool unregister)
{
	if (!m)
		return;
	if (m->running) {
		m->stopping = true;
		pthread_join(m->thread, NULL);
	}
	session_destroy_links(m->links, m->nlinks);
	m->nlinks = 0;
	ring_buffer__free(m->rb);
	httppair_free(m->pairs);
	http_bpf__destroy(m->skel);
	if (unregister) {
		expo_family_remove(m->duration);
		expo_family_remove(m->lost);
	}
	free(m);
}

void httpmetrics_stop(struct httpmetrics *m)
{
	stop(m, false);
}

void httpmetrics_remove(struct httpmetrics *m)
{
	stop(m, true);
}

/*
 * Which container a task runs in. Runtimes name a container's cgroup
 * after its 64-hex-digit id, each in its own way (docker-ID.scope,
 * cri-containerd-ID.scope, crio-ID.scope, libpod-ID.scope with systemd's
 * cgroup driver; /docker/ID, /libpod_parent/libpod-ID, kubepods/QOS/
 * podUID/ID with cgroupfs), so the path alone gives the runtime, the id
 * and a Kubernetes pod's UID. Names come from the runtime's state files,
 * read once per cgroup and cached: a container that has gone by the time
 * its events are printed keeps what was read, or at least its id.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cgroup.h"
#include "container.h"
#include "json.h"
#include "opts.h"

#define CACHE_SLOTS	1024
/* Runtime state files are small; containers.json grows ~600 B each. */
#define STATE_MAX	(16 << 20)
#define FIND_WALK_MAX	100000

static const char *const runtime_names[] = {
	[CONTAINER_UNKNOWN] = "unknown",
	[CONTAINER_DOCKER] = "docker",
	[CONTAINER_CONTAINERD] = "containerd",
	[CONTAINER_CRIO] = "cri-o",
	[CONTAINER_PODMAN] = "podman",
};

/* Cgroup name shapes: PREFIX + id + SUFFIX is one path component. */
static const struct {
	const char *prefix;
	const char *suffix;
	enum container_runtime runtime;
} shapes[] = {
	{ "docker-", ".scope", CONTAINER_DOCKER },
	{ "cri-containerd-", ".scope", CONTAINER_CONTAINERD },
	{ "crio-", ".scope", CONTAINER_CRIO },
	{ "libpod-", ".scope", CONTAINER_PODMAN },
	{ "libpod-", "", CONTAINER_PODMAN },
	/* systemd driver's "SLICE:PREFIX:ID" as kubelet and runtimes write */
	{ ":cri-containerd:", "", CONTAINER_CONTAINERD },
	{ ":crio:", "", CONTAINER_CRIO },
	{ ":docker:", "", CONTAINER_DOCKER },
};

struct container_slot {
	uint64_t cgroup_id;
	bool in_container;
	struct container_info info;
};

static struct container_slot cache[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char state_root[PATH_MAX];

const char *container_runtime_name(enum container_runtime runtime)
{
	if ((unsigned int)runtime >= sizeof(runtime_names) /
	    sizeof(runtime_names[0]))
		return "unknown";
	return runtime_names[runtime];
}

static bool is_id(const char *s, size_t n)
{
	if (n != CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) ||
		    isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* The id in component c (n bytes) if it has one of the shapes above. */
static const char *shaped_id(const char *c, size_t n,
			     enum container_runtime *runtime)
{
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		size_t pre = strlen(shapes[i].prefix);
		size_t suf = strlen(shapes[i].suffix);
		const char *at = c;

		if (shapes[i].prefix[0] == ':') {
			at = memmem(c, n, shapes[i].prefix, pre);
			if (!at)
				continue;
		} else if (n < pre || memcmp(c, shapes[i].prefix, pre)) {
			continue;
		}
		at += pre;
		if (at + CONTAINER_ID_LEN + suf != c + n ||
		    memcmp(at + CONTAINER_ID_LEN, shapes[i].suffix, suf) ||
		    !is_id(at, CONTAINER_ID_LEN))
			continue;
		*runtime = shapes[i].runtime;
		return at;
	}
	return NULL;
}

/*
 * A pod's cgroup: "pod" + UID with cgroupfs, "kubepods[-QOS]-pod" + UID
 * with dashes turned into underscores + ".slice" with systemd.
 */
static bool pod_uid(const char *c, size_t n, char *uid, size_t len)
{
	const char *at;
	size_t k;

	if (n > 6 && !memcmp(c + n - 6, ".slice", 6)) {
		n -= 6;
		at = NULL;
		for (const char *p = c; p + 4 <= c + n; p++)
			if (!memcmp(p, "-pod", 4))
				at = p + 4;
		if (!at || memcmp(c, "kubepods", 8))
			return false;
	} else if (n > 3 && !memcmp(c, "pod", 3)) {
		at = c + 3;
	} else {
		return false;
	}
	k = (size_t)(c + n - at);
	if (k < 8 || k >= len)
		return false;
	for (size_t i = 0; i < k; i++) {
		if (!isxdigit((unsigned char)at[i]) && at[i] != '-' &&
		    at[i] != '_')
			return false;
		uid[i] = at[i] == '_' ? '-' : at[i];
	}
	uid[k] = '\0';
	return true;
}

bool container_parse_path(const char *path, struct container_ref *ref)
{
	const char *c = path, *end, *id, *prev = NULL;
	enum container_runtime runtime;
	size_t n, prev_n = 0;
	char uid[sizeof(ref->pod_uid)] = "";
	bool found = false;

	memset(ref, 0, sizeof(*ref));
	if (!path)
		return false;
	for (; *c; c = end) {
		while (*c == '/')
			c++;
		end = strchrnul(c, '/');
		n = (size_t)(end - c);
		if (!n)
			break;
		/* "SLICE:PREFIX:ID" names the pod's slice before the id */
		if (!found)
			pod_uid(c, strcspn(c, ":/"), uid, sizeof(uid));
		id = shaped_id(c, n, &runtime);
		if (!id && is_id(c, n) && (uid[0] || (prev_n == 6 &&
		    !memcmp(prev, "docker", 6)))) {
			/* cgroupfs: /docker/ID, kubepods/QOS/podUID/ID */
			id = c;
			runtime = uid[0] ? CONTAINER_UNKNOWN :
				  CONTAINER_DOCKER;
		}
		if (id) {
			memcpy(ref->id, id, CONTAINER_ID_LEN);
			ref->id[CONTAINER_ID_LEN] = '\0';
			ref->runtime = runtime;
			snprintf(ref->pod_uid, sizeof(ref->pod_uid), "%s",
				 uid);
			found = true;
		}
		prev = c;
		prev_n = n;
	}
	if (!found)
		memset(ref, 0, sizeof(*ref));
	return found;
}

static struct json *read_state(const char *fmt, const char *id)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", state_root);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), fmt, id);
	return json_parse_file(path, STATE_MAX);
}

static void set(char *dst, size_t len, const char *val)
{
	if (val && val[0] && !dst[0])
		snprintf(dst, len, "%s", val);
}

#define SET(field, val) set(info->field, sizeof(info->field), (val))

/*
 * OCI annotations (or docker labels) that Kubernetes runtimes set: CRI-O
 * and dockershim the io.kubernetes.* ones, containerd its own.
 */
static void read_annotations(const struct json *a, struct container_info *info)
{
	SET(pod, json_get_str(a, "io.kubernetes.pod.name"));
	SET(pod, json_get_str(a, "io.kubernetes.cri.sandbox-name"));
	SET(namespace, json_get_str(a, "io.kubernetes.pod.namespace"));
	SET(namespace, json_get_str(a, "io.kubernetes.cri.sandbox-namespace"));
	SET(name, json_get_str(a, "io.kubernetes.container.name"));
	SET(name, json_get_str(a, "io.kubernetes.cri.container-name"));
	SET(image, json_get_str(a, "io.kubernetes.cri.image-name"));
	SET(image, json_get_str(a, "io.kubernetes.cri-o.ImageName"));
}

/* An OCI bundle's config.json: its annotations. */
static bool read_bundle(const char *fmt, const char *id,
			struct container_info *info)
{
	struct json *cfg = read_state(fmt, id);

	if (!cfg)
		return false;
	read_annotations(json_get(cfg, "annotations"), info);
	json_free(cfg);
	return true;
}

/*
 * containers/storage (podman, CRI-O): containers.json lists every
 * container with its names and, in a JSON string, its image's name.
 */
static bool read_storage(const char *id, struct container_info *info)
{
	struct json *all = read_state("/var/lib/containers/storage/"
				      "overlay-containers/containers.json", id);
	const struct json *c, *names;
	struct json *meta;
	const char *m;
	bool found = false;

	for (size_t i = 0; (c = json_index(all, i)); i++) {
		if (!json_get_str(c, "id") || strcmp(json_get_str(c, "id"), id))
			continue;
		found = true;
		names = json_index(json_get(c, "names"), 0);
		if (names && names->type == JSON_STRING)
			SET(name, names->str);
		m = json_get_str(c, "metadata");
		meta = m ? json_parse(m, strlen(m)) : NULL;
		SET(image, json_get_str(meta, "image-name"));
		json_free(meta);
		break;
	}
	json_free(all);
	return found;
}

static bool read_docker(const char *id, struct container_info *info)
{
	struct json *cfg = read_state("/var/lib/docker/containers/%s/"
				      "config.v2.json", id);
	const struct json *conf;
	const char *name;

	if (!cfg)
		return false;
	name = json_get_str(cfg, "Name");
	/* docker keeps a leading slash on names */
	SET(name, name && name[0] == '/' ? name + 1 : name);
	conf = json_get(cfg, "Config");
	SET(image, json_get_str(conf, "Image"));
	read_annotations(json_get(conf, "Labels"), info);
	json_free(cfg);
	return true;
}

/* containerd keeps a bundle per namespace (k8s.io, moby, default...). */
static bool read_containerd(const char *id, struct container_info *info)
{
	char pattern[PATH_MAX];
	bool found = false;
	glob_t g;

	if (snprintf(pattern, sizeof(pattern), "%s/run/containerd/"
		     "io.containerd.runtime.v2.task/*/%s/config.json",
		     state_root, id) >= (int)sizeof(pattern) ||
	    glob(pattern, 0, NULL, &g))
		return false;
	for (size_t i = 0; i < g.gl_pathc && !found; i++)
		found = read_bundle("%s", g.gl_pathv[i] + strlen(state_root),
				    info);
	globfree(&g);
	return found;
}

static bool read_cri_o(const char *id, struct container_info *info)
{
	bool found;

	found = read_bundle("/run/containers/storage/overlay-containers/%s/"
			    "userdata/config.json", id, info);
	found |= read_storage(id, info);
	return found;
}

static bool read_podman(const char *id, struct container_info *info)
{
	bool found = read_storage(id, info);

	found |= read_bundle("/var/lib/containers/storage/overlay-containers/"
			     "%s/userdata/config.json", id, info);
	return found;
}

void container_read_names(const struct container_ref *ref,
			  struct container_info *info)
{
	static const struct {
		enum container_runtime runtime;
		bool (*read)(const char *id, struct container_info *info);
	} readers[] = {
		{ CONTAINER_DOCKER, read_docker },
		{ CONTAINER_CONTAINERD, read_containerd },
		{ CONTAINER_CRIO, read_cri_o },
		{ CONTAINER_PODMAN, read_podman },
	};

	memset(info, 0, sizeof(*info));
	info->ref = *ref;
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
		if (ref->runtime != CONTAINER_UNKNOWN &&
		    ref->runtime != readers[i].runtime)
			continue;
		if (readers[i].read(ref->id, info)) {
			info->ref.runtime = readers[i].runtime;
			break;
		}
	}
}

bool container_of_cgroup(uint64_t cgroup_id, struct container_info *info)
{
	struct container_slot *slot = &cache[cgroup_id % CACHE_SLOTS];
	char path[PATH_MAX];
	struct container_ref ref;
	bool in;

	if (!cgroup_id)
		return false;
	pthread_mutex_lock(&cache_lock);
	if (slot->cgroup_id != cgroup_id) {
		slot->cgroup_id = cgroup_id;
		slot->in_container = container_parse_path(
			cgroup_path(cgroup_id, path, sizeof(path)), &ref);
		if (slot->in_container)
			container_read_names(&ref, &slot->info);
	}
	in = slot->in_container;
	if (in)
		*info = slot->info;
	pthread_mutex_unlock(&cache_lock);
	return in;
}

/* The walk of container_find() (under find_lock). */
static struct {
	const char *want;
	size_t root_len;
	char dir[PATH_MAX];
	char id[CONTAINER_ID_LEN + 1];
	int matches;
	int visited;
} find;
static pthread_mutex_t find_lock = PTHREAD_MUTEX_INITIALIZER;

static bool find_matches(const struct container_ref *ref)
{
	struct container_info info;
	size_t n = strlen(find.want);
	const char *slash = strchr(find.want, '/');

	if (n <= CONTAINER_ID_LEN && !strncmp(ref->id, find.want, n) &&
	    is_id(ref->id, CONTAINER_ID_LEN) &&
	    strspn(find.want, "0123456789abcdef") == n)
		return true;
	container_read_names(ref, &info);
	/* NAMESPACE/POD: no runtime allows a '/' in a container's name */
	if (slash)
		return strlen(info.namespace) == (size_t)(slash - find.want) &&
		       !strncmp(info.namespace, find.want, slash - find.want) &&
		       !strcmp(info.pod, slash + 1);
	return !strcmp(info.name, find.want);
}

void container_pod_cgroup(const struct container_ref *ref, char *dir)
{
	char *base, *slash = strrchr(dir, '/');

	if (!ref->pod_uid[0] || !slash)
		return;
	*slash = '\0';
	base = strrchr(dir, '/');
	base = base ? base + 1 : dir;
	if (strncmp(base, "pod", 3) &&
	    !(strstr(base, "-pod") && strstr(base, ".slice") &&
	      !strchr(base, ':')))
		*slash = '/';
}

static int find_dir(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	struct container_ref ref;
	char dir[PATH_MAX];

	(void)st;
	(void)ftw;
	if (type != FTW_D)
		return 0;
	if (++find.visited >= FIND_WALK_MAX)
		return 1;
	/* the outermost cgroup of a container covers the rest of it */
	if (!container_parse_path(path + find.root_len, &ref) ||
	    !strcmp(ref.id, find.id))
		return 0;
	if (!find_matches(&ref))
		return 0;
	snprintf(dir, sizeof(dir), "%s", path);
	if (strchr(find.want, '/'))
		container_pod_cgroup(&ref, dir);
	/* a pod's other containers are in the cgroup found already */
	if (find.matches && !strcmp(dir, find.dir))
		return 0;
	if (find.matches++ == 0) {
		snprintf(find.dir, sizeof(find.dir), "%s", dir);
		memcpy(find.id, ref.id, sizeof(find.id));
	}
	return 0;
}

int container_find(const char *name_or_id, char *cgroup_dir, size_t len)
{
	const char *root = opts_cgroup2_root();
	int err = -ENOENT;

	if (!root || !name_or_id[0])
		return -ENOENT;
	pthread_mutex_lock(&find_lock);
	memset(&find, 0, sizeof(find));
	find.want = name_or_id;
	find.root_len = strlen(root);
	nftw(root, find_dir, 16, FTW_PHYS | FTW_MOUNT);
	if (find.matches > 1)
		err = -EEXIST;
	else if (find.matches == 1) {
		snprintf(cgroup_dir, len, "%s", find.dir);
		err = 0;
	}
	pthread_mutex_unlock(&find_lock);
	return err;
}

void container_set_state_root(const char *root)
{
	snprintf(state_root, sizeof(state_root), "%s",
		 root && strcmp(root, "/") ? root : "");
}

/*
 * What a cgroup says about a task: its path from its id (container.c reads
 * the container out of the path). A cgroup v2 id is also a kernfs file
 * handle, so open_by_handle_at() on the cgroup2 mount turns it into a
 * directory whose /proc/self/fd link is the path: no tree walk, and it
 * works for cgroups created after loupe started. That needs
 * CAP_DAC_READ_SEARCH, which the agent drops once its probes are attached;
 * without it the v2 tree is walked instead (an id is its directory's inode
 * number), caching every directory seen. Results are cached; a cgroup
 * already gone has no path (NULL). Sessions may run in several threads
 * (the overview), so lookups copy out under a lock.
 *
 * cgroup_hierarchy_paths() is bpftrace's cgroup_path(): the id's path in
 * every mounted hierarchy where a directory has that inode number, v2
 * first (named "unified"), then the v1 ones by their mount's name.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <fnmatch.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "opts.h"
#include "cgroup.h"

#define CACHE_SLOTS	1024
#define FILEID_KERNFS	0xfe
/* Directories a walk visits at most: a bound on a scrape's work. */
#define WALK_MAX	100000

struct cgroup_slot {
	uint64_t id;
	char *path;		/* NULL: unresolved */
	bool gone;		/* a walk did not find it: ids are not reused */
};

static struct cgroup_slot cache[CACHE_SLOTS];
static void hier_cache_free(void);
static int mount_fd = -1;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* The path relative to the cgroup2 root, as /proc/PID/cgroup shows it. */
static char *relative(const char *path, const char *root)
{
	size_t root_len = strlen(root);

	if (strncmp(path, root, root_len))
		return strdup(path);
	return strdup(path[root_len] ? path + root_len : "/");
}

/* The walk in progress (under cache_lock): what it looks for, finds. */
static struct {
	uint64_t id;
	const char *root;
	char *found;
	int visited;
} walk;

static int walk_dir(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	struct cgroup_slot *slot = &cache[st->st_ino % CACHE_SLOTS];

	(void)ftw;
	if (type != FTW_D)
		return 0;
	if (st->st_ino == walk.id) {
		walk.found = relative(path, walk.root);
		return 1;
	}
	/* the target's slot is the caller's to fill */
	if (slot->id != st->st_ino &&
	    st->st_ino % CACHE_SLOTS != walk.id % CACHE_SLOTS) {
		free(slot->path);
		slot->id = st->st_ino;
		slot->path = relative(path, walk.root);
		slot->gone = false;
	}
	return ++walk.visited >= WALK_MAX;
}

static char *resolve_by_walk(uint64_t id, const char *root, bool *gone)
{
	walk.id = id;
	walk.root = root;
	walk.found = NULL;
	walk.visited = 0;
	nftw(root, walk_dir, 16, FTW_PHYS | FTW_MOUNT);
	*gone = !walk.found && walk.visited < WALK_MAX;
	return walk.found;
}

static char *resolve(uint64_t id, bool *gone)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} handle = { .fh = { .handle_bytes = 8, .handle_type = FILEID_KERNFS } };
	const char *root = opts_cgroup2_root();
	char link[64], path[PATH_MAX];
	ssize_t n;
	int fd;

	*gone = false;
	if (!root)
		return NULL;
	if (mount_fd < 0)
		mount_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mount_fd < 0)
		return NULL;
	memcpy(handle.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mount_fd, &handle.fh, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == EPERM)
		return resolve_by_walk(id, root, gone);
	if (fd < 0)
		return NULL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	path[n] = '\0';
	return relative(path, root);
}

const char *cgroup_path(uint64_t id, char *buf, size_t len)
{
	struct cgroup_slot *slot = &cache[id % CACHE_SLOTS];
	const char *found = NULL;

	if (!id)
		return NULL;
	pthread_mutex_lock(&cache_lock);
	if (slot->id != id || (!slot->path && !slot->gone)) {
		free(slot->path);
		slot->id = id;
		slot->path = resolve(id, &slot->gone);
	}
	if (slot->path) {
		snprintf(buf, len, "%s", slot->path);
		found = buf;
	}
	pthread_mutex_unlock(&cache_lock);
	return found;
}

void cgroup_cache_free(void)
{
	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < CACHE_SLOTS; i++) {
		free(cache[i].path);
		cache[i].path = NULL;
		cache[i].id = 0;
		cache[i].gone = false;
	}
	if (mount_fd >= 0)
		close(mount_fd);
	mount_fd = -1;
	pthread_mutex_unlock(&cache_lock);
	hier_cache_free();
}

/* ---- every hierarchy (bpftrace's cgroup_path) ---------------------------- */

#define HIER_MAX	16
#define HIER_DEPTH	32
#define HIER_SLOTS	256

struct hierarchy {
	char name[64];		/* "unified" for v2, else the mount's name */
	char mnt[PATH_MAX];
};

static struct hierarchy hiers[HIER_MAX];
static int nhiers = -1;
static struct {
	uint64_t id;
	char *paths;		/* "name:path\n" per hierarchy, in order */
} hier_cache[HIER_SLOTS];
static pthread_mutex_t hier_lock = PTHREAD_MUTEX_INITIALIZER;

static int hier_cmp(const void *a, const void *b)
{
	const struct hierarchy *x = a, *y = b;
	bool ux = !strcmp(x->name, "unified"), uy = !strcmp(y->name, "unified");

	if (ux != uy)
		return ux ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The cgroup mounts of /proc/self/mountinfo, once. */
static void read_hierarchies(void)
{
	char *line = NULL, *sep, mnt[PATH_MAX], type[64];
	size_t cap = 0;
	FILE *f;

	nhiers = 0;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	while (nhiers < HIER_MAX && getline(&line, &cap, f) > 0) {
		struct hierarchy *h = &hiers[nhiers];
		const char *base;

		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s", type) != 1 ||
		    (strcmp(type, "cgroup") && strcmp(type, "cgroup2")))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		base = strrchr(mnt, '/');
		snprintf(h->name, sizeof(h->name), "%.63s",
			 !strcmp(type, "cgroup2") ? "unified" :
			 base ? base + 1 : mnt);
		snprintf(h->mnt, sizeof(h->mnt), "%s", mnt);
		nhiers++;
	}
	free(line);
	fclose(f);
	qsort(hiers, nhiers, sizeof(hiers[0]), hier_cmp);
}

/* Depth-first search under dir (path) for inode id; rel is its path. */
static bool find_inode(const char *dir, const char *rel, uint64_t id,
		       int depth, int *budget, char *out, size_t len)
{
	char sub[PATH_MAX], subrel[PATH_MAX];
	struct dirent *e;
	bool found = false;
	DIR *d;

	if (depth > HIER_DEPTH || --*budget < 0)
		return false;
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(subrel, sizeof(subrel), "%s/%s",
			 strcmp(rel, "/") ? rel : "", e->d_name);
		if (e->d_ino == id) {
			snprintf(out, len, "%s", subrel);
			found = true;
			break;
		}
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		found = find_inode(sub, subrel, id, depth + 1, budget, out,
				   len);
	}
	closedir(d);
	return found;
}

/* "name:path\n" for each hierarchy holding id; malloc'd. */
static char *hierarchy_paths(uint64_t id)
{
	char path[PATH_MAX], *all = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&all, &len);
	struct stat st;

	if (!m)
		return NULL;
	for (int i = 0; i < nhiers; i++) {
		int budget = WALK_MAX;

		if (stat(hiers[i].mnt, &st))
			continue;
		if (st.st_ino == id)
			snprintf(path, sizeof(path), "/");
		else if (!find_inode(hiers[i].mnt, "/", id, 0, &budget, path,
				     sizeof(path)))
			continue;
		fprintf(m, "%s:%s\n", hiers[i].name, path);
	}
	fclose(m);
	return all;
}

const char *cgroup_hierarchy_paths(uint64_t id, const char *filter,
				   char *buf, size_t len)
{
	size_t slot = id % HIER_SLOTS, used = 0;
	const char *s, *nl;

	if (!len)
		return buf;
	buf[0] = '\0';
	pthread_mutex_lock(&hier_lock);
	if (nhiers < 0)
		read_hierarchies();
	if (hier_cache[slot].id != id || !hier_cache[slot].paths) {
		free(hier_cache[slot].paths);
		hier_cache[slot].id = id;
		hier_cache[slot].paths = hierarchy_paths(id);
	}
	for (s = hier_cache[slot].paths; s && *s; s = nl + 1) {
		const char *colon = strchr(s, ':');
		char name[64];

		nl = strchr(s, '\n');
		if (!nl || !colon || colon > nl)
			break;
		snprintf(name, sizeof(name), "%.*s", (int)(colon - s), s);
		if (filter && fnmatch(filter, name, 0))
			continue;
		used += snprintf(buf + used, len - used, "%s%.*s",
				 used ? "," : "", (int)(nl - s), s);
		if (used >= len)
			break;
	}
	pthread_mutex_unlock(&hier_lock);
	return buf;
}

static void hier_cache_free(void)
{
	pthread_mutex_lock(&hier_lock);
	for (int i = 0; i < HIER_SLOTS; i++) {
		free(hier_cache[i].paths);
		hier_cache[i].paths = NULL;
		hier_cache[i].id = 0;
	}
	pthread_mutex_unlock(&hier_lock);
}

static int first_pid(const char *dir, int depth)
{
	char path[PATH_MAX];
	struct dirent *e;
	int pid = 0;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid > 0 || depth >= HIER_DEPTH)
		return pid;
	d = opendir(dir);
	if (!d)
		return 0;
	while (!pid && (e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		pid = first_pid(path, depth + 1);
	}
	closedir(d);
	return pid;
}

int cgroup_first_pid(const char *dir)
{
	return first_pid(dir, 0);
}

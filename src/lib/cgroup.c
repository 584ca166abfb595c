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
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
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
}

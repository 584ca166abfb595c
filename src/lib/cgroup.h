/* What user space adds to an event about its task: its cgroup path. */
#ifndef LOUPE_CGROUP_H
#define LOUPE_CGROUP_H

#include <stddef.h>
#include <stdint.h>

/* The path of a cgroup v2 id, relative to the v2 root; NULL if gone. */
const char *cgroup_path(uint64_t cgroup_id, char *buf, size_t len);
void cgroup_cache_free(void);
/*
 * bpftrace's cgroup_path(): "unified:/a/b,cpu:/..." for every mounted
 * hierarchy where a directory has id as its inode number (v2 first, then
 * v1 by mount name), those whose name matches the glob filter if given.
 */
/*
 * A process in cgroup v2 directory dir or below (the first found), e.g.
 * to see a container's files through /proc/PID/root; 0 if it is empty.
 */
int cgroup_first_pid(const char *dir);
const char *cgroup_hierarchy_paths(uint64_t cgroup_id, const char *filter,
				   char *buf, size_t len);

#endif

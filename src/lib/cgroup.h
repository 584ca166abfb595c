/* What user space adds to an event about its task: its cgroup path. */
#ifndef LOUPE_CGROUP_H
#define LOUPE_CGROUP_H

#include <stddef.h>
#include <stdint.h>

/* The path of a cgroup v2 id, relative to the v2 root; NULL if gone. */
const char *cgroup_path(uint64_t cgroup_id, char *buf, size_t len);
void cgroup_cache_free(void);

#endif

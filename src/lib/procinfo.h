/* What user space adds to an event about its task: cgroup path, container. */
#ifndef LOUPE_PROCINFO_H
#define LOUPE_PROCINFO_H

#include <stddef.h>
#include <stdint.h>

const char *procinfo_cgroup_path(uint64_t cgroup_id, char *buf, size_t len);
void procinfo_free(void);

#endif

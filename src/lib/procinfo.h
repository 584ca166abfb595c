/* What user space adds to an event about its task: cgroup path, container. */
#ifndef LOUPE_PROCINFO_H
#define LOUPE_PROCINFO_H

#include <stdint.h>

const char *procinfo_cgroup_path(uint64_t cgroup_id);
void procinfo_free(void);

#endif

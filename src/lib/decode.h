/* Turning kernel numbers into the names users know. */
#ifndef LOUPE_DECODE_H
#define LOUPE_DECODE_H

#include <stddef.h>
#include <stdint.h>

const char *decode_signal(int sig);
void decode_exit(uint32_t exit_code, char *buf, size_t len);
void decode_open_flags(uint64_t flags, char *buf, size_t len);
const char *decode_container_id(const char *cgroup_path, char *buf,
				size_t len);

#endif

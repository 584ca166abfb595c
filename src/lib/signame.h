/* Signal numbers and exit statuses as users know them. */
#ifndef LOUPE_SIGNAME_H
#define LOUPE_SIGNAME_H

#include <stddef.h>
#include <stdint.h>

const char *signame_of(int sig);
void signame_exit(uint32_t exit_code, char *buf, size_t len);

#endif

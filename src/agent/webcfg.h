/*
 * The Prometheus exporter-toolkit web config (--web-config FILE): TLS
 * certificate and key, basic-auth users with bcrypt hashes.
 */
#ifndef LOUPE_AGENT_WEBCFG_H
#define LOUPE_AGENT_WEBCFG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define WEBCFG_MAX_USERS	64

struct webcfg_user {
	char *name;
	char *hash;		/* $2y$/$2b$/$2a$ bcrypt */
	char *verified;		/* last password that matched, or NULL */
};

struct webcfg {
	char *cert_pem;		/* cert_file's contents, NULL: no TLS */
	char *key_pem;
	struct webcfg_user users[WEBCFG_MAX_USERS];
	int nusers;
	pthread_mutex_t lock;	/* users[].verified */
};

/* 0, or EXIT_USAGE with "FILE:LINE:COL: message" in err. */
int webcfg_load(const char *path, struct webcfg *w, char *err, size_t errlen);
void webcfg_free(struct webcfg *w);
/* Whether user and password match a configured user (constant time). */
bool webcfg_check_user(struct webcfg *w, const char *user, const char *pass);

#endif

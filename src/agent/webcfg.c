/*
 * The web config of Prometheus exporters (exporter-toolkit's format):
 * tls_server_config with cert_file and key_file, basic_auth_users with
 * bcrypt hashes. Passwords are checked with crypt(3) from libxcrypt.
 * bcrypt is slow on purpose (tens of ms), so like exporter-toolkit the
 * agent remembers the last password that matched each user; a wrong one
 * is never remembered, so guessing costs a bcrypt every time.
 */
#define _GNU_SOURCE
#include <crypt.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "webcfg.h"
#include "ydoc.h"

#define PEM_MAX_SIZE	(1 << 20)

/* Whether a and b are equal, in time that depends on their lengths only. */
static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= a[i] ^ b[i];
	return !diff;
}

static bool bcrypt_hash(const char *h)
{
	return strlen(h) == 60 && (!strncmp(h, "$2y$", 4) ||
				   !strncmp(h, "$2b$", 4) ||
				   !strncmp(h, "$2a$", 4));
}

/* Whether crypt(3) gives hash back for pass. */
static bool bcrypt_matches(const char *hash, const char *pass)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *out;
	bool ok;

	if (!cd)
		return false;
	out = crypt_r(pass, hash, cd);
	ok = out && out[0] != '*' && same_secret(out, hash);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* Whether crypt(3) here knows the hash's method and cost. */
static bool bcrypt_usable(const char *hash)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *out;
	bool ok;

	if (!cd)
		return false;
	out = crypt_r("", hash, cd);
	ok = out && out[0] != '*';
	free(cd);
	return ok;
}

bool webcfg_check_user(struct webcfg *w, const char *user, const char *pass)
{
	struct webcfg_user *u = NULL;
	bool ok;

	for (int i = 0; i < w->nusers; i++)
		if (!strcmp(w->users[i].name, user))
			u = &w->users[i];
	if (!u) {
		/* the same work as for a user, not to tell names apart */
		bcrypt_matches(w->users[0].hash, pass);
		return false;
	}
	pthread_mutex_lock(&w->lock);
	ok = u->verified && same_secret(u->verified, pass);
	pthread_mutex_unlock(&w->lock);
	if (ok)
		return true;
	if (!bcrypt_matches(u->hash, pass))
		return false;
	pthread_mutex_lock(&w->lock);
	if (u->verified) {
		explicit_bzero(u->verified, strlen(u->verified));
		free(u->verified);
	}
	u->verified = strdup(pass);
	pthread_mutex_unlock(&w->lock);
	return true;
}

/* The contents of a PEM file named in the config (relative to it). */
static int read_pem(struct ydoc *d, yaml_node_t *n, const char *what,
		    char **out)
{
	char *dir_buf = NULL, *path = NULL;
	const char *name;
	int err = 0;
	size_t len;
	FILE *f;

	name = ydoc_string(d, n, what, &err);
	if (!name)
		return err;
	if (name[0] == '/') {
		path = strdup(name);
	} else {
		dir_buf = strdup(d->path);
		if (dir_buf && asprintf(&path, "%s/%s", dirname(dir_buf),
					name) < 0)
			path = NULL;
	}
	free(dir_buf);
	if (!path)
		return ydoc_error(d, n, "out of memory");
	f = fopen(path, "r");
	if (!f) {
		err = ydoc_error(d, n, "cannot read %s %s: %s", what, path,
				 strerror(errno));
		goto out;
	}
	*out = calloc(1, PEM_MAX_SIZE + 1);
	if (!*out) {
		err = ydoc_error(d, n, "out of memory");
	} else {
		len = fread(*out, 1, PEM_MAX_SIZE, f);
		if (ferror(f) || !len || len == PEM_MAX_SIZE)
			err = ydoc_error(d, n, "%s %s is empty, unreadable or over 1 MiB",
					 what, path);
	}
	fclose(f);
out:
	free(path);
	return err;
}

static int parse_tls(struct ydoc *d, yaml_node_t *n, struct webcfg *w)
{
	yaml_node_t *cert, *key;
	struct ydoc_key keys[] = {
		{ "cert_file", true, &cert },
		{ "key_file", true, &key },
		{ NULL },
	};
	int err;

	err = ydoc_mapping(d, n, "tls_server_config", keys);
	if (!err)
		err = read_pem(d, cert, "cert_file", &w->cert_pem);
	if (!err)
		err = read_pem(d, key, "key_file", &w->key_pem);
	return err;
}

static int parse_users(struct ydoc *d, yaml_node_t *n, struct webcfg *w)
{
	yaml_node_pair_t *pair;

	if (n->type != YAML_MAPPING_NODE)
		return ydoc_error(d, n,
				  "basic_auth_users must be a mapping (user: bcrypt hash)");
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = ydoc_node(d, pair->key);
		yaml_node_t *v = ydoc_node(d, pair->value);
		const char *user, *hash;
		int err = 0;

		user = ydoc_string(d, k, "a user name", &err);
		if (!user)
			return err;
		if (!*user || strchr(user, ':'))
			return ydoc_error(d, k,
					  "a user name must be non-empty and without ':'");
		for (int i = 0; i < w->nusers; i++)
			if (!strcmp(w->users[i].name, user))
				return ydoc_error(d, k,
						  "user '%s' is given twice",
						  user);
		hash = ydoc_string(d, v, "a password hash", &err);
		if (!hash)
			return err;
		if (!bcrypt_hash(hash) || !bcrypt_usable(hash))
			return ydoc_error(d, v,
					  "the password of '%s' must be a bcrypt hash ($2y$, $2b$ or $2a$, 60 characters; htpasswd -nBC 10 USER)",
					  user);
		if (w->nusers == WEBCFG_MAX_USERS)
			return ydoc_error(d, k, "more than %d users",
					  WEBCFG_MAX_USERS);
		w->users[w->nusers].name = strdup(user);
		w->users[w->nusers].hash = strdup(hash);
		w->nusers++;
		if (!w->users[w->nusers - 1].name ||
		    !w->users[w->nusers - 1].hash)
			return ydoc_error(d, k, "out of memory");
	}
	return 0;
}

int webcfg_load(const char *path, struct webcfg *w, char *err, size_t errlen)
{
	yaml_node_t *tls, *users;
	struct ydoc_key keys[] = {
		{ "tls_server_config", false, &tls },
		{ "basic_auth_users", false, &users },
		{ NULL },
	};
	struct ydoc d;
	int ret;

	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	ret = ydoc_load_mapping(&d, path, "the web config", keys, err, errlen);
	if (!ret && tls)
		ret = parse_tls(&d, tls, w);
	if (!ret && users)
		ret = parse_users(&d, users, w);
	ydoc_free(&d);
	if (ret)
		webcfg_free(w);
	return ret;
}

void webcfg_free(struct webcfg *w)
{
	for (int i = 0; i < w->nusers; i++) {
		free(w->users[i].name);
		free(w->users[i].hash);
		if (w->users[i].verified) {
			explicit_bzero(w->users[i].verified,
				       strlen(w->users[i].verified));
			free(w->users[i].verified);
		}
	}
	if (w->key_pem) {
		explicit_bzero(w->key_pem, strlen(w->key_pem));
		free(w->key_pem);
	}
	free(w->cert_pem);
	pthread_mutex_destroy(&w->lock);
	memset(w, 0, sizeof(*w));
}

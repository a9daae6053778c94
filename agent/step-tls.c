/* Step 5: the TLS certificate and key, when TLS is on: the user data's pair (checked
 * already), or a key made once for this droplet and a self-signed certificate for its
 * addresses. A retried run keeps both; a new droplet gets new ones (the secrets
 * directory is emptied for it, and the old certificate does not name the new
 * addresses).
 *
 * stunnel reads the key in the secrets directory as root, before it drops to its own
 * user. redis-server ([tls] engine = redis) runs as redis from the start, in a unit
 * (Debian's) with ProtectSystem=strict, ProtectHome=yes and PrivateUsers=yes: it can
 * read /etc but not traverse the secrets directory (0700 root), which also holds the
 * password. It reads a copy of the key, PATH_TLS_KEY_REDIS, 0640 root:redis, in
 * /etc/doagent/tls (0755, written by root alone, unlike /etc/redis which the redis
 * group may write). The copy exists only while the redis engine is configured: step
 * files removes it otherwise. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "boot.h"
#include "doagent.h"
#include "fileio.h"
#include "paths.h"
#include "tls.h"
#include "strutil.h"

#define CERT_MAX (256 * 1024)

static int make_key(char **ret)
{
	_cleanup_free_ char *cause = NULL;

	return tls_make_key(ret, &cause) < 0 ? -EIO : 0;
}

static int write_cert(struct boot *b, const char *pem, char **ret_cause)
{
	_cleanup_free_ char *path = boot_path(b, PATH_TLS_CERT), *old = NULL;
	char *slash;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	if (fileio_read_file(path, CERT_MAX, &old, &len) == 0 && strcmp(old, pem) == 0)
		return 0;
	slash = strrchr(path, '/');
	*slash = '\0';
	r = fileio_mkdir_p(path, 0755);
	*slash = '/';
	if (r >= 0)
		r = fileio_write_atomic(path, pem, strlen(pem), 0644, (uid_t)-1, (gid_t)-1);
	if (r < 0) {
		strutil_cause(ret_cause, 0, "%s: %s", path, strerror(-r));
		return r;
	}
	return 1;
}

/* The certificate's directory and its parent (/etc/doagent/tls, /etc/doagent) open to
 * all for reading and searching: clients copy the certificate, and redis-server, as the
 * user redis, reads it and the key's copy there. A run under a 0077 umask (doagent.service)
 * before fileio_mkdir_p set modes exactly made them 0700. Nothing is made writable. */
static int open_dirs(struct boot *b, char **ret_cause)
{
	_cleanup_free_ char *path = boot_path(b, PATH_TLS_CERT);
	size_t root_len = b->opt->root ? strlen(b->opt->root) : 0;
	int i;

	if (!path)
		return -ENOMEM;
	for (i = 0; i < 2; i++) {
		struct stat st;

		*strrchr(path, '/') = '\0';
		if (strlen(path) <= root_len)
			break;
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			return strutil_cause(ret_cause, -ENOTDIR, "%s: not a directory", path);
		if ((st.st_mode & 0755) != 0755 && chmod(path, (st.st_mode | 0755) & 07777) < 0)
			return strutil_cause(ret_cause, -errno, "%s: %s", path, strerror(errno));
	}
	return 0;
}

/* The key's copy for redis-server: rewritten when its content, mode or owner differ.
 * Returns 1 when written, 0 when kept, or -errno with *ret_cause. */
static int write_redis_key(struct boot *b, const char *key, char **ret_cause)
{
	_cleanup_free_ char *path = boot_path(b, PATH_TLS_KEY_REDIS);
	_cleanup_erase_ char *old = NULL;
	struct stat st;
	size_t len;
	uid_t uid;
	gid_t gid;
	char *slash;
	int r;

	if (!path)
		return -ENOMEM;
	r = boot_lookup_ids(b, "root", "redis", &uid, &gid);
	if (r < 0)
		return strutil_cause(ret_cause, r, "%s: no user root or group redis on this system", PATH_TLS_KEY_REDIS);
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640 && st.st_uid == uid &&
	    st.st_gid == gid && fileio_read_file(path, CERT_MAX, &old, &len) == 0 && strcmp(old, key) == 0)
		return 0;
	slash = strrchr(path, '/');
	*slash = '\0';
	r = fileio_mkdir_p(path, 0755);
	*slash = '/';
	if (r >= 0)
		r = fileio_write_atomic(path, key, strlen(key), 0640, uid, gid);
	if (r < 0)
		return strutil_cause(ret_cause, r, "%s: %s", path, strerror(-r));
	return 1;
}

static int run(struct boot *b, char **ret_cause)
{
	_cleanup_free_ char *cert_path = boot_path(b, PATH_TLS_CERT), *old = NULL;
	_cleanup_erase_ char *key = NULL;
	_cleanup_free_ char *cert = NULL;
	size_t len;
	int r, written;

	if (!b->config.tls_enabled) {
		*ret_cause = strdup("TLS is off");
		return 0;
	}
	if (!cert_path)
		return DOAGENT_EXIT_FAILURE;
	if (b->config.tls_certificate) {
		/* The pair was checked with the user data; store it as given. */
		r = state_secret_put(b->state_dir, b->md->droplet_id, "tls.key", b->config.tls_key, ret_cause);
		if (r < 0)
			return DOAGENT_EXIT_FAILURE;
		key = strdup(b->config.tls_key);
		cert = strdup(b->config.tls_certificate);
		if (!key || !cert)
			return DOAGENT_EXIT_FAILURE;
		b->changed |= r > 0;
	} else {
		r = state_secret(b->state_dir, b->md->droplet_id, "tls.key", make_key, &key, ret_cause);
		if (r < 0)
			return DOAGENT_EXIT_FAILURE;
		/* Keep a certificate made for this key and these addresses. */
		if (fileio_read_file(cert_path, CERT_MAX, &old, &len) == 0 && tls_cert_matches(old, b->md) &&
		    tls_check_pair(old, key, NULL) == 0)
			cert = TAKE_PTR(old);
		else if (tls_make_self_signed(key, b->md, &cert, ret_cause) < 0)
			return DOAGENT_EXIT_FAILURE;
	}
	written = write_cert(b, cert, ret_cause);
	if (written < 0 || open_dirs(b, ret_cause) < 0)
		return DOAGENT_EXIT_FAILURE;
	b->changed |= written > 0;
	/* A configured droplet's files stay as they are (step files renders nothing). */
	if (config_redis_uses_tls(&b->config) && !b->configured) {
		r = write_redis_key(b, key, ret_cause);
		if (r < 0)
			return DOAGENT_EXIT_FAILURE;
		b->changed |= r > 0;
	}
	r = tls_fingerprint(cert, &b->tls_fingerprint, ret_cause);
	if (r < 0)
		return DOAGENT_EXIT_FAILURE;
	b->tls_cert = TAKE_PTR(cert);
	strutil_cause(ret_cause, 0, "%s certificate %s, SHA-256 %s%s",
		     b->config.tls_certificate ? "the user data's" : "a self-signed",
		     written ? "written" : "kept", b->tls_fingerprint,
		     b->config.tls_engine == CONFIG_TLS_REDIS ? "; for Redis' own TLS" : "; for stunnel");
	return 0;
}

const struct boot_step step_tls = { "tls", run, false };

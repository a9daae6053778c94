/* What create sent, kept per launch id: see record.h for the rules. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "record.h"
#include "strutil.h"
#include "strv.h"

#define RECORD_MAX (256 * 1024)

void record_digest(const void *data, size_t len, char ret[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != 32) {
		ret[0] = '\0';
		return;
	}
	for (unsigned i = 0; i < n; i++)
		snprintf(ret + 2 * i, 3, "%02x", md[i]);
}

static char *record_dir(char **ret_cause)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *dir = NULL;

	/* The XDG rule: a relative $XDG_STATE_HOME is ignored. */
	if (state && state[0] == '/') {
		if (asprintf(&dir, "%s/doagent-launch", state) < 0)
			dir = NULL;
	} else if (home && home[0] == '/') {
		if (asprintf(&dir, "%s/.local/state/doagent-launch", home) < 0)
			dir = NULL;
	} else {
		strutil_cause(ret_cause, -ENOENT, "neither $XDG_STATE_HOME nor $HOME is an absolute path");
		return NULL;
	}
	if (!dir)
		strutil_cause(ret_cause, -ENOMEM, "out of memory");
	return dir;
}

char *record_path(const char *launch_id, char **ret_cause)
{
	_cleanup_free_ char *dir = record_dir(ret_cause);
	char *path = NULL;

	if (!dir)
		return NULL;
	if (asprintf(&path, "%s/%s.json", dir, launch_id) < 0) {
		strutil_cause(ret_cause, -ENOMEM, "out of memory");
		return NULL;
	}
	return path;
}

/* Erase o's string member key (a secret), then drop o. */
static void put_erasing(json_object *o, const char *key)
{
	json_object *v;

	if (!o)
		return;
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		explicit_bzero((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
	json_object_put(o);
}

static bool add(json_object *o, const char *key, json_object *v)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

int record_save(const struct record *r, char **ret_cause)
{
	_cleanup_free_ char *dir = record_dir(ret_cause), *path = NULL;
	json_object *o = json_object_new_object(), *keys = json_object_new_array();
	const char *text;
	bool ok = o && keys;
	int k;

	for (char **key = r->ssh_keys; ok && key && *key; key++)
		ok = json_object_array_add(keys, json_object_new_string(*key)) == 0;
	ok = ok && add(o, "version", json_object_new_int(1)) &&
	     add(o, "launch_id", json_object_new_string(r->launch_id)) &&
	     add(o, "name", json_object_new_string(r->name)) &&
	     add(o, "source", json_object_new_string(r->source)) &&
	     (r->volume ? add(o, "volume", json_object_new_string(r->volume)) :
			  json_object_object_add(o, "volume", NULL) == 0) &&
	     add(o, "ssh_keys", TAKE_PTR(keys)) &&
	     (r->group ? add(o, "group", json_object_new_string(r->group)) &&
				 add(o, "nodes", json_object_new_int((int)r->nodes)) :
			 true) &&
	     add(o, "user_data", json_object_new_string(r->user_data));
	json_object_put(keys);
	if (dir && ok)
		path = record_path(r->launch_id, ret_cause);
	if (!path) {
		put_erasing(o, "user_data");
		return ok ? -ENOENT : strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	k = fileio_mkdir_p(dir, 0700);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (k == 0)
		k = text ? fileio_write_atomic(path, text, strlen(text), 0600, (uid_t)-1, (gid_t)-1) : -ENOMEM;
	if (text)
		explicit_bzero((char *)text, strlen(text));
	put_erasing(o, "user_data");
	if (k < 0)
		return strutil_cause(ret_cause, k, "%s: %s", path, strerror(-k));
	return 0;
}

/* o's string member key, copied: -EBADMSG when it is not a string (or null, allowed
 * when nullable). */
static int get_string(json_object *o, const char *key, bool nullable, char **ret)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		return -EBADMSG;
	if (!v && nullable) {
		*ret = NULL;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	*ret = strdup(json_object_get_string(v));
	return *ret ? 0 : -ENOMEM;
}

static int parse(json_object *o, struct record *r)
{
	json_object *keys = NULL, *nodes = NULL;
	int k = -EBADMSG;

	if (!json_object_is_type(o, json_type_object) ||
	    (k = get_string(o, "launch_id", false, &r->launch_id)) < 0 ||
	    (k = get_string(o, "name", false, &r->name)) < 0 ||
	    (k = get_string(o, "source", false, &r->source)) < 0 ||
	    (k = get_string(o, "volume", true, &r->volume)) < 0 ||
	    (k = get_string(o, "user_data", false, &r->user_data)) < 0)
		return k;
	/* A group's (absent from the records of single droplets). */
	if (json_object_object_get_ex(o, "group", NULL)) {
		if ((k = get_string(o, "group", false, &r->group)) < 0)
			return k;
		if (!json_object_object_get_ex(o, "nodes", &nodes) || !json_object_is_type(nodes, json_type_int) ||
		    json_object_get_int64(nodes) < 1 || json_object_get_int64(nodes) > 64)
			return -EBADMSG;
		r->nodes = (unsigned)json_object_get_int64(nodes);
	}
	r->ssh_keys = calloc(1, sizeof(char *));
	if (!r->ssh_keys)
		return -ENOMEM;
	if (!json_object_object_get_ex(o, "ssh_keys", &keys) || !json_object_is_type(keys, json_type_array))
		return -EBADMSG;
	for (size_t i = 0; i < json_object_array_length(keys); i++) {
		json_object *v = json_object_array_get_idx(keys, i);

		if (!json_object_is_type(v, json_type_string))
			return -EBADMSG;
		if (strv_extend(&r->ssh_keys, json_object_get_string(v)) < 0)
			return -ENOMEM;
	}
	return 0;
}

int record_load(const char *launch_id, struct record *ret, char **ret_cause)
{
	_cleanup_free_ char *path = record_path(launch_id, ret_cause);
	_cleanup_close_ int fd = -1;
	char *text = NULL;
	json_object *o;
	struct stat st;
	size_t len = 0;
	int k;

	*ret = (struct record){ 0 };
	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	if (fd < 0 || fstat(fd, &st) < 0)
		return strutil_cause(ret_cause, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		return strutil_cause(ret_cause, -EPERM,
				     "%s: not a file of this user that only it can read (mode %04o); refusing it",
				     path, (unsigned)(st.st_mode & 07777));
	k = fileio_read_fd(fd, RECORD_MAX, &text, &len);
	if (k < 0)
		return strutil_cause(ret_cause, k, "%s: %s", path, strerror(-k));
	o = strlen(text) == len ? json_tokener_parse(text) : NULL;
	explicit_bzero(text, len);
	free(text);
	k = o ? parse(o, ret) : -EBADMSG;
	put_erasing(o, "user_data");
	if (k == 0 && strcmp(ret->launch_id, launch_id) != 0)
		k = -EBADMSG;
	if (k < 0) {
		record_done(ret);
		return strutil_cause(ret_cause, k, "%s: %s", path,
				     k == -EBADMSG ? "not a record of doagent-launch" : strerror(-k));
	}
	return 0;
}

void record_done(struct record *r)
{
	free(r->launch_id);
	free(r->name);
	free(r->source);
	free(r->volume);
	free(r->group);
	erase_and_freep(&r->user_data);
	strv_free(r->ssh_keys);
	*r = (struct record){ 0 };
}

int record_save_certificate(const char *launch_id, const char *pem, char **ret_path, char **ret_cause)
{
	_cleanup_free_ char *dir = record_dir(ret_cause), *path = NULL;
	int k;

	if (!dir)
		return -ENOENT;
	if (asprintf(&path, "%s/%s.crt", dir, launch_id) < 0) {
		path = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	k = fileio_mkdir_p(dir, 0700);
	if (k == 0)
		k = fileio_write_atomic(path, pem, strlen(pem), 0644, (uid_t)-1, (gid_t)-1);
	if (k < 0)
		return strutil_cause(ret_cause, k, "%s: %s", path, strerror(-k));
	*ret_path = TAKE_PTR(path);
	return 0;
}

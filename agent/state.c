/*
 * State and secrets.
 *
 * MUST rules for this file:
 * - The state directory belongs to root (or whoever runs us) and nobody else may
 *   write to it; a symlink in its place is refused, never followed.
 * - Secrets are made once per droplet and stored 0600 inside a 0700 directory
 *   before anything uses them, so a retried run uses the same ones; a new droplet
 *   (another droplet id) never inherits them.
 * - Every write is atomic (fileio_write_atomic); state.json never holds a secret.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "state.h"
#include "strutil.h"

#define STATE_FILE "state.json"
#define STATE_MAX (256 * 1024)
#define SECRET_MAX 65536

/* dir exists as a real directory of ours that only we may write, creating it. */
static int safe_dir(const char *path, mode_t mode, char **ret_cause)
{
	struct stat st;

	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return strutil_cause(ret_cause, -errno, "%s: %s", path, strerror(errno));
	if (lstat(path, &st) < 0)
		return strutil_cause(ret_cause, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return strutil_cause(ret_cause, -ENOTDIR, "%s: not a directory (a symlink?); refusing it", path);
	if (st.st_uid != geteuid())
		return strutil_cause(ret_cause, -EPERM, "%s: owned by uid %u, not by us; refusing it", path,
			    (unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return strutil_cause(ret_cause, -EPERM, "%s: writable by group or others; refusing it", path);
	return 0;
}

int state_dir(const char *root, char **ret_path, char **ret_cause)
{
	_cleanup_free_ char *parent = NULL, *path = NULL;
	int r;

	if (!root)
		root = "";
	if (asprintf(&parent, "%s/var/lib", root) < 0 || asprintf(&path, "%s/doagent", parent) < 0)
		return -ENOMEM;
	r = fileio_mkdir_p(parent, 0755);
	if (r < 0)
		return strutil_cause(ret_cause, r, "%s: %s", parent, strerror(-r));
	r = safe_dir(path, 0755, ret_cause);
	if (r < 0)
		return r;
	*ret_path = TAKE_PTR(path);
	return 0;
}

static const char *get_string(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int dup_string(json_object *o, const char *key, char **ret)
{
	const char *s = get_string(o, key);

	*ret = NULL;
	if (s && !(*ret = strdup(s)))
		return -ENOMEM;
	return 0;
}

int state_add_step(struct state *s, const char *name, const char *result, const char *message,
		   uint64_t duration_ms)
{
	struct state_step *v = realloc(s->steps, (s->n_steps + 1) * sizeof(*v));
	struct state_step *st;

	if (!v)
		return -ENOMEM;
	s->steps = v;
	st = &v[s->n_steps];
	*st = (struct state_step){ .duration_ms = duration_ms };
	st->name = strdup(name);
	st->result = strdup(result);
	st->message = message ? strdup(message) : NULL;
	s->n_steps++;
	if (!st->name || !st->result || (message && !st->message))
		return -ENOMEM;
	return 0;
}

static int load_json(json_object *o, struct state *s)
{
	json_object *steps, *v;
	size_t i;

	if (dup_string(o, "droplet_id", &s->droplet_id) < 0 ||
	    dup_string(o, "configured", &s->configured) < 0 ||
	    dup_string(o, "result", &s->result) < 0 || dup_string(o, "error", &s->error) < 0)
		return -ENOMEM;
	if (json_object_object_get_ex(o, "exit_status", &v))
		s->exit_status = json_object_get_int(v);
	if (json_object_object_get_ex(o, "started", &v))
		s->started = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "finished", &v))
		s->finished = json_object_get_int64(v);
	if (!json_object_object_get_ex(o, "steps", &steps) || !json_object_is_type(steps, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(steps); i++) {
		json_object *st = json_object_array_get_idx(steps, i), *d;
		const char *name = get_string(st, "name"), *result = get_string(st, "result");

		if (!name || !result)
			return -EBADMSG;
		if (state_add_step(s, name, result, get_string(st, "message"),
				   json_object_object_get_ex(st, "duration_ms", &d) ? (uint64_t)json_object_get_int64(d) : 0) < 0)
			return -ENOMEM;
	}
	return 0;
}

int state_load(const char *dir, struct state *ret, char **ret_cause)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	_cleanup_json_ json_object *o = NULL;
	struct state s = { 0 };
	size_t len;
	int r;

	if (asprintf(&path, "%s/" STATE_FILE, dir) < 0)
		return -ENOMEM;
	r = fileio_read_file(path, STATE_MAX, &text, &len);
	if (r == -ENOENT) {
		*ret = s;
		return 0;
	}
	if (r < 0)
		return strutil_cause(ret_cause, r, "%s: %s", path, strerror(-r));
	o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object))
		return strutil_cause(ret_cause, -EBADMSG, "%s: not a state document", path);
	r = load_json(o, &s);
	if (r < 0) {
		state_done(&s);
		return r == -ENOMEM ? r : strutil_cause(ret_cause, r, "%s: damaged", path);
	}
	*ret = s;
	return 0;
}

static void add_string(json_object *o, const char *key, const char *value)
{
	if (value)
		json_object_object_add(o, key, json_object_new_string(value));
}

int state_save(const char *dir, const struct state *s, char **ret_cause)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	_cleanup_free_ char *path = NULL;
	json_object *steps = json_object_new_array();
	const char *text;
	size_t i;
	int r;

	if (!o || !steps || asprintf(&path, "%s/" STATE_FILE, dir) < 0) {
		json_object_put(steps);
		return -ENOMEM;
	}
	add_string(o, "droplet_id", s->droplet_id);
	add_string(o, "configured", s->configured);
	add_string(o, "result", s->result);
	add_string(o, "error", s->error);
	json_object_object_add(o, "exit_status", json_object_new_int(s->exit_status));
	json_object_object_add(o, "started", json_object_new_int64(s->started));
	json_object_object_add(o, "finished", json_object_new_int64(s->finished));
	json_object_object_add(o, "steps", steps);
	for (i = 0; i < s->n_steps; i++) {
		json_object *st = json_object_new_object();

		if (!st || json_object_array_add(steps, st) < 0) {
			json_object_put(st);
			return -ENOMEM;
		}
		add_string(st, "name", s->steps[i].name);
		add_string(st, "result", s->steps[i].result);
		add_string(st, "message", s->steps[i].message);
		json_object_object_add(st, "duration_ms", json_object_new_int64((int64_t)s->steps[i].duration_ms));
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return -ENOMEM;
	r = fileio_write_atomic(path, text, strlen(text), 0644, (uid_t)-1, (gid_t)-1);
	if (r < 0)
		return strutil_cause(ret_cause, r, "%s: %s", path, strerror(-r));
	return 0;
}

/* Remove every file in the secrets directory (a new droplet starts with none). */
static int wipe_secrets(const char *secrets, char **ret_cause)
{
	DIR *d = opendir(secrets);
	struct dirent *e;
	int r = 0;

	if (!d)
		return strutil_cause(ret_cause, -errno, "%s: %s", secrets, strerror(errno));
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && unlinkat(dirfd(d), e->d_name, 0) < 0 && r == 0)
			r = strutil_cause(ret_cause, -errno, "%s/%s: %s", secrets, e->d_name, strerror(errno));
	/* The temporary files of an interrupted write start with a dot. */
	rewinddir(d);
	while ((e = readdir(d)))
		if (strncmp(e->d_name, ".#", 2) == 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	return r;
}

static int read_small(const char *path, char **ret)
{
	size_t len;
	int r = fileio_read_file(path, SECRET_MAX, ret, &len);

	if (r >= 0 && strlen(*ret) != len) {
		erase_and_freep(ret);
		*ret = NULL;
		return -EBADMSG;
	}
	return r;
}

/* The secrets directory of dir, for droplet_id: made 0700 when missing, emptied when
 * its secrets belong to another droplet. */
static int secrets_dir(const char *dir, const char *droplet_id, char **ret, char **ret_cause)
{
	_cleanup_free_ char *secrets = NULL, *owner_path = NULL, *owner = NULL;
	int r;

	if (asprintf(&secrets, "%s/secrets", dir) < 0 || asprintf(&owner_path, "%s/droplet-id", secrets) < 0)
		return -ENOMEM;
	r = safe_dir(secrets, 0700, ret_cause);
	if (r < 0)
		return r;
	r = read_small(owner_path, &owner);
	if (r < 0 && r != -ENOENT && r != -EBADMSG)
		return strutil_cause(ret_cause, r, "%s: %s", owner_path, strerror(-r));
	if (!owner || strcmp(owner, droplet_id) != 0) {
		r = wipe_secrets(secrets, ret_cause);
		if (r < 0)
			return r;
		r = fileio_write_atomic(owner_path, droplet_id, strlen(droplet_id), 0600, (uid_t)-1, (gid_t)-1);
		if (r < 0)
			return strutil_cause(ret_cause, r, "%s: %s", owner_path, strerror(-r));
	}
	*ret = TAKE_PTR(secrets);
	return 0;
}

int state_secret(const char *dir, const char *droplet_id, const char *name,
		 int (*make)(char **ret), char **ret, char **ret_cause)
{
	_cleanup_free_ char *secrets = NULL, *path = NULL;
	_cleanup_erase_ char *value = NULL;
	int r;

	r = secrets_dir(dir, droplet_id, &secrets, ret_cause);
	if (r < 0)
		return r;
	if (asprintf(&path, "%s/%s", secrets, name) < 0)
		return -ENOMEM;
	r = read_small(path, &value);
	if (r >= 0 && value[0]) {
		*ret = TAKE_PTR(value);
		return 0;
	}
	if (r < 0 && r != -ENOENT && r != -EBADMSG)
		return strutil_cause(ret_cause, r, "%s: %s", path, strerror(-r));
	erase_and_freep(&value);
	r = make(&value);
	if (r < 0)
		return strutil_cause(ret_cause, r, "cannot make the %s: %s", name, strerror(-r));
	r = fileio_write_atomic(path, value, strlen(value), 0600, (uid_t)-1, (gid_t)-1);
	if (r < 0)
		return strutil_cause(ret_cause, r, "%s: %s", path, strerror(-r));
	*ret = TAKE_PTR(value);
	return 0;
}

int state_secret_put(const char *dir, const char *droplet_id, const char *name, const char *value,
		     char **ret_cause)
{
	_cleanup_free_ char *secrets = NULL, *path = NULL;
	_cleanup_erase_ char *old = NULL;
	int r;

	r = secrets_dir(dir, droplet_id, &secrets, ret_cause);
	if (r < 0)
		return r;
	if (asprintf(&path, "%s/%s", secrets, name) < 0)
		return -ENOMEM;
	if (read_small(path, &old) >= 0 && strcmp(old, value) == 0)
		return 0;
	r = fileio_write_atomic(path, value, strlen(value), 0600, (uid_t)-1, (gid_t)-1);
	if (r < 0)
		return strutil_cause(ret_cause, r, "%s: %s", path, strerror(-r));
	return 1;
}

void state_done(struct state *s)
{
	size_t i;

	free(s->droplet_id);
	free(s->configured);
	free(s->result);
	free(s->error);
	for (i = 0; i < s->n_steps; i++) {
		free(s->steps[i].name);
		free(s->steps[i].result);
		free(s->steps[i].message);
	}
	free(s->steps);
	*s = (struct state){ 0 };
}

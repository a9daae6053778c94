/* The state directory: run records and per-droplet secrets. */
#include "autoconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fileio.h"
#include "macro.h"
#include "state.h"

static char root[] = "/tmp/doagent-state.XXXXXX";
static unsigned made;

static int setup(void **state)
{
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static int make_secret(char **ret)
{
	made++;
	return asprintf(ret, "secret-number-%u", made) < 0 ? -ENOMEM : 0;
}

static void test_dir(void **state)
{
	_cleanup_free_ char *dir = NULL, *cause = NULL, *path = NULL;
	struct stat st;

	assert_int_equal(state_dir(root, &dir, &cause), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	/* A state directory others may write to is refused. */
	assert_int_equal(chmod(dir, 0777), 0);
	free(dir);
	dir = NULL;
	assert_int_equal(state_dir(root, &dir, &cause), -EPERM);
	assert_null(dir);
	assert_non_null(strstr(cause, "writable by group or others"));
	assert_true(asprintf(&path, "%s/var/lib/doagent", root) > 0);
	assert_int_equal(chmod(path, 0755), 0);
	free(cause);
	cause = NULL;
	assert_int_equal(state_dir(root, &dir, &cause), 0);
}

static void test_symlink_refused(void **state)
{
	char other[] = "/tmp/doagent-state-other.XXXXXX";
	_cleanup_free_ char *lib = NULL, *dir = NULL, *cause = NULL, *link = NULL;

	assert_non_null(mkdtemp(other));
	assert_true(asprintf(&lib, "%s/sym/var/lib", root) > 0);
	assert_int_equal(fileio_mkdir_p(lib, 0755), 0);
	assert_true(asprintf(&link, "%s/doagent", lib) > 0);
	assert_int_equal(symlink(other, link), 0);
	free(lib);
	assert_true(asprintf(&lib, "%s/sym", root) > 0);
	assert_int_equal(state_dir(lib, &dir, &cause), -ENOTDIR);
	assert_null(dir);
	rmdir(other);
}

static void test_save_load(void **state)
{
	_cleanup_free_ char *dir = NULL, *cause = NULL;
	struct state s = { 0 }, t = { 0 };

	assert_int_equal(state_dir(root, &dir, &cause), 0);
	assert_int_equal(state_load(dir, &t, &cause), 0);	/* nothing yet */
	assert_null(t.result);
	s.droplet_id = strdup("12345");
	s.configured = strdup("12345");
	s.result = strdup("failed");
	s.error = strdup("userdata: line 3: [redis] port: port out of range");
	s.exit_status = 65;
	s.started = 1700000000;
	s.finished = 1700000002;
	assert_int_equal(state_add_step(&s, "metadata", "ok", NULL, 12), 0);
	assert_int_equal(state_add_step(&s, "userdata", "failed", "line 3", 1), 0);
	assert_int_equal(state_save(dir, &s, &cause), 0);
	assert_int_equal(state_load(dir, &t, &cause), 0);
	assert_string_equal(t.droplet_id, "12345");
	assert_string_equal(t.configured, "12345");
	assert_string_equal(t.result, "failed");
	assert_string_equal(t.error, s.error);
	assert_int_equal(t.exit_status, 65);
	assert_int_equal(t.finished, 1700000002);
	assert_int_equal(t.n_steps, 2);
	assert_string_equal(t.steps[1].name, "userdata");
	assert_string_equal(t.steps[1].message, "line 3");
	assert_null(t.steps[0].message);
	assert_int_equal(t.steps[0].duration_ms, 12);
	state_done(&s);
	state_done(&t);
}

static void test_damaged(void **state)
{
	_cleanup_free_ char *dir = NULL, *cause = NULL, *path = NULL;
	struct state t = { 0 };

	assert_int_equal(state_dir(root, &dir, &cause), 0);
	assert_true(asprintf(&path, "%s/state.json", dir) > 0);
	assert_int_equal(fileio_write_atomic(path, "{\"droplet", 9, 0644, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(state_load(dir, &t, &cause), -EBADMSG);
	assert_non_null(strstr(cause, "state.json"));
	unlink(path);
}

static void test_secrets(void **state)
{
	_cleanup_free_ char *dir = NULL, *cause = NULL, *path = NULL, *owner = NULL;
	_cleanup_erase_ char *a = NULL, *b = NULL, *c = NULL;
	struct stat st;
	size_t len;

	assert_int_equal(state_dir(root, &dir, &cause), 0);
	made = 0;
	assert_int_equal(state_secret(dir, "111", "password", make_secret, &a, &cause), 0);
	assert_string_equal(a, "secret-number-1");
	/* A retry for the same droplet reads it back. */
	assert_int_equal(state_secret(dir, "111", "password", make_secret, &b, &cause), 0);
	assert_string_equal(b, "secret-number-1");
	assert_int_equal(made, 1);
	assert_true(asprintf(&path, "%s/secrets/password", dir) > 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	free(path);
	assert_true(asprintf(&path, "%s/secrets", dir) > 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* Another droplet (a snapshot booted anew) gets a new one. */
	assert_int_equal(state_secret(dir, "222", "password", make_secret, &c, &cause), 0);
	assert_string_equal(c, "secret-number-2");
	free(path);
	assert_true(asprintf(&path, "%s/secrets/droplet-id", dir) > 0);
	assert_int_equal(fileio_read_file(path, 100, &owner, &len), 0);
	assert_string_equal(owner, "222");
}

/* What a power loss may leave of a secret written without fsync, an empty file or
 * one of NUL bytes, is a missing secret: a new one is made, never an error or an
 * empty password. The same for the file naming the droplet the secrets belong to. */
static void test_secret_lost_to_power_loss(void **state)
{
	_cleanup_free_ char *dir = NULL, *cause = NULL, *path = NULL, *owner = NULL, *stored = NULL;
	_cleanup_erase_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	struct stat st;
	size_t len;

	assert_int_equal(state_dir(root, &dir, &cause), 0);
	made = 0;
	assert_int_equal(state_secret(dir, "333", "password", make_secret, &a, &cause), 0);
	assert_string_equal(a, "secret-number-1");
	assert_true(asprintf(&path, "%s/secrets/password", dir) > 0);

	/* Empty. */
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(state_secret(dir, "333", "password", make_secret, &b, &cause), 0);
	assert_string_equal(b, "secret-number-2");
	assert_int_equal(fileio_read_file(path, 100, &stored, &len), 0);
	assert_string_equal(stored, "secret-number-2");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* Its length in NUL bytes. */
	assert_int_equal(fileio_write_atomic(path, "\0\0\0\0\0\0\0\0", 8, 0600, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(state_secret(dir, "333", "password", make_secret, &c, &cause), 0);
	assert_string_equal(c, "secret-number-3");
	assert_int_equal(made, 3);

	/* An empty owner file: the secrets are not known to be this droplet's; new ones. */
	free(path);
	assert_true(asprintf(&path, "%s/secrets/droplet-id", dir) > 0);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(state_secret(dir, "333", "password", make_secret, &d, &cause), 0);
	assert_string_equal(d, "secret-number-4");
	assert_int_equal(fileio_read_file(path, 100, &owner, &len), 0);
	assert_string_equal(owner, "333");

	/* A stored secret (the user data's TLS key) that came back empty is written again. */
	assert_int_equal(state_secret_put(dir, "333", "tls.key", "KEY", &cause), 1);
	assert_int_equal(state_secret_put(dir, "333", "tls.key", "KEY", &cause), 0);
	free(path);
	assert_true(asprintf(&path, "%s/secrets/tls.key", dir) > 0);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(state_secret_put(dir, "333", "tls.key", "KEY", &cause), 1);
	free(stored);
	assert_int_equal(fileio_read_file(path, 100, &stored, &len), 0);
	assert_string_equal(stored, "KEY");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_secret_lost_to_power_loss),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

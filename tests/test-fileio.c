/* Atomic writes, bounded reads, mkdir -p. */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

static char dir[] = "/tmp/doagent-fileio.XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *path_in(const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

/* Only the files we expect are in the directory: no temporary file is left. */
static unsigned count_entries(const char *d)
{
	DIR *h = opendir(d);
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(h);
	while ((e = readdir(h)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
			n++;
	closedir(h);
	return n;
}

static void test_write_new_and_replace(void **state)
{
	_cleanup_free_ char *p = path_in("a.conf");
	_cleanup_free_ char *data = NULL;
	struct stat st;
	size_t len;

	umask(0);
	assert_int_equal(fileio_write_atomic(p, "one\n", 4, 0640, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(fileio_read_file(p, 100, &data, &len), 0);
	assert_string_equal(data, "one\n");
	free(data);
	data = NULL;

	umask(022);
	assert_int_equal(fileio_write_atomic(p, "two, longer\n", 12, 0600, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(fileio_read_file(p, 100, &data, &len), 0);
	assert_string_equal(data, "two, longer\n");
	assert_int_equal(count_entries(dir), 1);
	unlink(p);
}

static void test_symlink_is_replaced_not_followed(void **state)
{
	_cleanup_free_ char *target = path_in("target");
	_cleanup_free_ char *link = path_in("link");
	_cleanup_free_ char *data = NULL;
	struct stat st;
	size_t len;

	assert_int_equal(fileio_write_atomic(target, "precious", 8, 0644, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(fileio_write_atomic(link, "new", 3, 0600, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(fileio_read_file(target, 100, &data, &len), 0);
	assert_string_equal(data, "precious");
	unlink(link);
	unlink(target);
}

static void test_failure_leaves_nothing(void **state)
{
	_cleanup_free_ char *missing = path_in("no/such/dir/file");
	_cleanup_free_ char *sub = path_in("ro");
	_cleanup_free_ char *inside = path_in("ro/file");

	assert_int_equal(fileio_write_atomic(missing, "x", 1, 0600, (uid_t)-1, (gid_t)-1), -ENOENT);
	assert_int_equal(fileio_write_atomic("", "x", 1, 0600, (uid_t)-1, (gid_t)-1), -EINVAL);
	assert_int_equal(fileio_write_atomic(dir, "x", 1, 0600, (uid_t)-1, (gid_t)-1) < 0, 1);
	/* A directory where the file should be: rename fails and the temp file goes. */
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(mkdir(inside, 0755), 0);
	assert_true(fileio_write_atomic(inside, "x", 1, 0600, (uid_t)-1, (gid_t)-1) < 0);
	assert_int_equal(count_entries(sub), 1);
	rmdir(inside);
	rmdir(sub);
}

static void test_owner(void **state)
{
	_cleanup_free_ char *p = path_in("owned");
	struct stat st;

	if (geteuid() != 0) {
		/* Not root: asking for another owner must fail, and leave nothing. */
		assert_int_equal(fileio_write_atomic(p, "x", 1, 0600, 65534, 65534), -EPERM);
		assert_int_equal(access(p, F_OK), -1);
		return;
	}
	assert_int_equal(fileio_write_atomic(p, "x", 1, 0640, 65534, 65534), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_gid, 65534);
	assert_int_equal(st.st_mode & 07777, 0640);
	unlink(p);
}

static void test_read_limits(void **state)
{
	_cleanup_free_ char *p = path_in("big");
	_cleanup_free_ char *data = NULL;
	char block[1000];
	size_t len;

	memset(block, 'x', sizeof(block));
	block[10] = '\0';
	assert_int_equal(fileio_write_atomic(p, block, sizeof(block), 0600, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(fileio_read_file(p, 999, &data, &len), -E2BIG);
	assert_null(data);
	assert_int_equal(fileio_read_file(p, 1000, &data, &len), 0);
	assert_int_equal(len, 1000);
	assert_int_equal(data[10], '\0');
	assert_int_equal(data[11], 'x');
	assert_int_equal(data[1000], '\0');
	assert_int_equal(fileio_read_file("/nonexistent/file", 10, &data, &len), -ENOENT);
	unlink(p);
}

static void test_mkdir_p(void **state)
{
	_cleanup_free_ char *deep = path_in("x/y/z");
	_cleanup_free_ char *file = path_in("x/file");
	_cleanup_free_ char *through = path_in("x/file/sub");
	struct stat st;
	mode_t old = umask(0077);

	assert_int_equal(fileio_mkdir_p(deep, 0750), 0);
	umask(old);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);	/* the umask does not narrow it */
	assert_int_equal(chmod(deep, 0700), 0);
	assert_int_equal(fileio_mkdir_p(deep, 0750), 0);	/* already there: left alone */
	assert_int_equal(stat(deep, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(fileio_mkdir_p("/", 0755), 0);
	assert_int_equal(fileio_write_atomic(file, "x", 1, 0600, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(fileio_mkdir_p(through, 0755), -ENOTDIR);
}

/* Deferred: still atomic, mode set, nothing left behind; no filesystem remembered
 * when not deferred. */
static void test_deferred_write(void **state)
{
	_cleanup_free_ char *d = path_in("deferred");
	_cleanup_free_ char *p = path_in("deferred/file.conf");
	_cleanup_free_ char *sub = path_in("dsub");
	_cleanup_free_ char *inside = path_in("dsub/file");
	_cleanup_free_ char *data = NULL;
	struct stat st;
	size_t len;

	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(fileio_write_atomic(p, "plain", 5, 0644, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(fileio_sync_deferred(), 0);

	umask(022);
	fileio_defer_sync(true);
	assert_int_equal(fileio_write_atomic(p, "one\n", 4, 0640, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(fileio_read_file(p, 100, &data, &len), 0);
	assert_string_equal(data, "one\n");
	free(data);
	data = NULL;
	assert_int_equal(fileio_write_atomic(p, "two, longer\n", 12, 0600, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(fileio_read_file(p, 100, &data, &len), 0);
	assert_string_equal(data, "two, longer\n");
	assert_int_equal(count_entries(d), 1);
	/* A failed deferred write leaves nothing either. */
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(mkdir(inside, 0755), 0);
	assert_true(fileio_write_atomic(inside, "x", 1, 0600, (uid_t)-1, (gid_t)-1) < 0);
	assert_int_equal(count_entries(sub), 1);
	/* Not root: another owner is refused before any byte is written. */
	if (geteuid() != 0) {
		_cleanup_free_ char *owned = path_in("dsub/owned");

		assert_int_equal(fileio_write_atomic(owned, "x", 1, 0600, 65534, 65534), -EPERM);
		assert_int_equal(access(owned, F_OK), -1);
	}
	fileio_defer_sync(false);
	assert_int_equal(fileio_sync_deferred(), 1);
	assert_int_equal(fileio_sync_deferred(), 0);
	rmdir(inside);
	rmdir(sub);
	unlink(p);
	rmdir(d);
}

/* One syncfs per filesystem written to or noted, however many files. */
static void test_sync_once_per_filesystem(void **state)
{
	char other[] = "/dev/shm/doagent-fileio.XXXXXX";
	_cleanup_free_ char *a = path_in("a"), *b = path_in("b"), *c = path_in("c");
	_cleanup_free_ char *missing = path_in("no/such/dir/file");
	_cleanup_free_ char *o1 = NULL, *o2 = NULL;
	struct stat st_dir, st_other;
	int expect = 1;

	fileio_defer_sync(true);
	assert_int_equal(fileio_write_atomic(a, "a", 1, 0600, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(fileio_write_atomic(b, "b", 1, 0600, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(fileio_write_atomic(c, "c", 1, 0600, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(fileio_defer_note(a), 0);
	assert_int_equal(fileio_defer_note(dir), 0);
	assert_int_equal(fileio_defer_note(missing), 0);
	/* Another filesystem, when there is one to write to. */
	assert_int_equal(stat(dir, &st_dir), 0);
	if (mkdtemp(other)) {
		assert_int_equal(stat(other, &st_other), 0);
		if (st_other.st_dev != st_dir.st_dev)
			expect = 2;
		assert_true(asprintf(&o1, "%s/x", other) > 0);
		assert_true(asprintf(&o2, "%s/y", other) > 0);
		assert_int_equal(fileio_write_atomic(o1, "x", 1, 0600, (uid_t)-1, (gid_t)-1), 0);
		assert_int_equal(fileio_write_atomic(o2, "y", 1, 0600, (uid_t)-1, (gid_t)-1), 0);
	}
	assert_int_equal(fileio_sync_deferred(), expect);
	/* Forgotten once synced. */
	assert_int_equal(fileio_sync_deferred(), 0);
	/* A noted filesystem alone is synced too. */
	assert_int_equal(fileio_defer_note(a), 0);
	assert_int_equal(fileio_sync_deferred(), 1);
	fileio_defer_sync(false);
	if (o1) {
		unlink(o1);
		unlink(o2);
		rmdir(other);
	}
	unlink(a);
	unlink(b);
	unlink(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_new_and_replace),
		cmocka_unit_test(test_symlink_is_replaced_not_followed),
		cmocka_unit_test(test_failure_leaves_nothing),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_read_limits),
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_deferred_write),
		cmocka_unit_test(test_sync_once_per_filesystem),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* The replication guard: Redis' way of splitting a line, every decision, and
 * doagent --guard's own run on files under a root, as Redis and Sentinel rewrite them. */
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
#include "guard.h"
#include "macro.h"
#include "strv.h"

static void expect_words(const char *line, const char *const *want)
{
	char **w = guard_split_line(line);
	size_t i;

	assert_non_null(w);
	for (i = 0; want[i]; i++) {
		assert_non_null(w[i]);
		assert_string_equal(w[i], want[i]);
	}
	assert_null(w[i]);
	strv_free(w);
}

static void test_split(void **state)
{
	expect_words("dir \"/var/lib/redis\"", (const char *const[]){ "dir", "/var/lib/redis", NULL });
	expect_words("  replicaof 10.0.0.5   6380 ", (const char *const[]){ "replicaof", "10.0.0.5", "6380", NULL });
	expect_words("requirepass \"a\\\"b\\\\c\\x41\\n\"", (const char *const[]){ "requirepass", "a\"b\\cA\n", NULL });
	expect_words("x 'it\\'s' \"\"", (const char *const[]){ "x", "it's", "", NULL });
	expect_words("a\"b c\"", (const char *const[]){ "ab c", NULL });
	expect_words("# sentinel monitor g 1.2.3.4 6380 2", (const char *const[]){ NULL });
	expect_words("", (const char *const[]){ NULL });
	errno = 0;
	assert_null(guard_split_line("dir \"/var/lib"));
	assert_int_equal(errno, EINVAL);
	assert_null(guard_split_line("dir \"/a\"b"));
}

static void test_directive(void **state)
{
	const char *conf = "# comment\nport 6379\nDIR \"/mnt/data/redis\"\nreplicaof 10.0.0.9 6380\n";
	char **v;

	v = guard_directive(conf, "dir");
	assert_non_null(v);
	assert_string_equal(v[0], "/mnt/data/redis");
	strv_free(v);
	v = guard_directive(conf, "replicaof");
	assert_int_equal(strv_length(v), 2);
	strv_free(v);
	assert_null(guard_directive(conf, "masterauth"));
}

#define SENTINEL_SELF                                              \
	"port 0\ntls-port 26379\n"                                 \
	"sentinel monitor redis-1 10.0.0.5 6380 2\n"               \
	"sentinel auth-pass redis-1 \"secret pass\"\n"             \
	"sentinel known-replica redis-1 10.0.0.6 6380\n"           \
	"sentinel known-replica redis-1 10.0.0.7 6380\n"           \
	"sentinel known-sentinel redis-1 10.0.0.6 26379 abcdef\n"
#define SENTINEL_OTHER                                             \
	"sentinel monitor redis-1 10.0.0.6 6380 2\n"               \
	"sentinel known-replica redis-1 10.0.0.7 6380\n"           \
	"sentinel known-replica redis-1 10.0.0.5 6380\n"
#define SENTINEL_NEW "sentinel monitor redis-1 10.0.0.5 6380 2\n"
#define PRIMARY "requirepass \"secret pass\"\nmasterauth \"secret pass\"\nreplica-announce-ip 10.0.0.5\n"

static enum guard_decision decide(const char *redis, const char *sentinel, int data, int expect_r,
				  struct guard_result *g)
{
	int r = guard_decide(redis, sentinel, data, g);

	assert_int_equal(r, expect_r);
	assert_non_null(g->cause);
	assert_null(strstr(g->cause, "secret"));
	return g->decision;
}

static void test_decisions(void **state)
{
	struct guard_result g;

	/* A replica starts, whatever else. */
	assert_int_equal(decide(PRIMARY "replicaof 10.0.0.6 6380\n", SENTINEL_SELF, 0, 0, &g), GUARD_START);
	free(g.cause);
	/* A primary with its data starts. */
	assert_int_equal(decide(PRIMARY, SENTINEL_SELF, 1, 0, &g), GUARD_START);
	free(g.cause);
	/* A new group: no replica known yet. */
	assert_int_equal(decide(PRIMARY, SENTINEL_NEW, 0, 0, &g), GUARD_START);
	free(g.cause);
	/* Empty, with replicas, and Sentinel still names this node: refused. */
	assert_int_equal(decide(PRIMARY, SENTINEL_SELF, 0, 0, &g), GUARD_REFUSE);
	assert_non_null(strstr(g.cause, "2 replica(s)"));
	free(g.cause);
	/* Empty, and Sentinel has moved on: a replica of the new primary. */
	assert_int_equal(decide(PRIMARY, SENTINEL_OTHER, 0, 0, &g), GUARD_START_AS_REPLICA);
	assert_string_equal(g.ip, "10.0.0.6");
	assert_int_equal(g.port, 6380);
	free(g.cause);
	/* What cannot be understood is an error, not a start. */
	assert_int_equal(decide(PRIMARY, "port 0\n", 0, -EBADMSG, &g), GUARD_START);
	free(g.cause);
	assert_int_equal(decide("masterauth x\n", SENTINEL_SELF, 0, -EBADMSG, &g), GUARD_START);
	free(g.cause);
	assert_int_equal(decide(PRIMARY, "sentinel monitor g 10.0.0.5 notaport 2\n", 0, -EBADMSG, &g), GUARD_START);
	free(g.cause);
}

static char root[] = "/tmp/doagent-guard.XXXXXX";

static void put(const char *rel, const char *text, mode_t mode)
{
	_cleanup_free_ char *p = NULL;
	char *slash;

	assert_true(asprintf(&p, "%s%s", root, rel) > 0);
	slash = strrchr(p, '/');
	*slash = '\0';
	assert_int_equal(fileio_mkdir_p(p, 0755), 0);
	*slash = '/';
	assert_int_equal(fileio_write_atomic(p, text, strlen(text), mode, (uid_t)-1, (gid_t)-1), 0);
}

static void test_run(void **state)
{
	_cleanup_free_ char *conf = NULL, *path = NULL;
	char *cause = NULL;
	size_t len;
	struct stat st;

	assert_non_null(mkdtemp(root));
	put("/etc/redis/redis.conf", PRIMARY "dir /var/lib/redis\nappendonly yes\n", 0640);
	put("/etc/redis/sentinel.conf", SENTINEL_SELF, 0640);
	assert_int_equal(fileio_mkdir_p(root, 0755), 0);

	/* No data: refused. */
	assert_int_equal(guard_run(root, &cause), 1);
	assert_non_null(strstr(cause, "lost its data"));
	free(cause);
	/* An append-only directory with its manifest is data. */
	put("/var/lib/redis/appendonlydir/appendonly.aof.manifest", "file appendonly.aof.1.base.rdb seq 1 type b\n", 0600);
	assert_int_equal(guard_run(root, &cause), 0);
	free(cause);
	assert_true(asprintf(&path, "%s/var/lib/redis/appendonlydir/appendonly.aof.manifest", root) > 0);
	unlink(path);
	free(path);
	/* So is a non-empty dump.rdb; an empty one is not. */
	put("/var/lib/redis/dump.rdb", "", 0600);
	assert_int_equal(guard_run(root, &cause), 1);
	free(cause);
	put("/var/lib/redis/dump.rdb", "REDIS0010", 0600);
	assert_int_equal(guard_run(root, &cause), 0);
	free(cause);
	assert_true(asprintf(&path, "%s/var/lib/redis/dump.rdb", root) > 0);
	unlink(path);
	free(path);

	/* Sentinel moved on: the replicaof line is added, mode kept, and the next run starts. */
	put("/etc/redis/sentinel.conf", SENTINEL_OTHER, 0640);
	assert_int_equal(guard_run(root, &cause), 0);
	assert_non_null(strstr(cause, "starting as its replica"));
	free(cause);
	assert_true(asprintf(&path, "%s/etc/redis/redis.conf", root) > 0);
	assert_int_equal(fileio_read_file(path, 65536, &conf, &len), 0);
	assert_non_null(strstr(conf, "\nreplicaof 10.0.0.6 6380\n"));
	assert_non_null(strstr(conf, "appendonly yes\n"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(guard_run(root, &cause), 0);
	assert_non_null(strstr(cause, "a replica of 10.0.0.6:6380"));
	free(cause);

	/* A file that is missing is an error. */
	unlink(path);
	assert_int_equal(guard_run(root, &cause), 1);
	assert_non_null(strstr(cause, "redis.conf"));
	free(cause);
	{
		char cmd[sizeof(root) + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_directive),
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Live health: INFO as Redis 7 writes it (tests/fixtures/info, captured from
 * redis-server 7.0), the verdict and its thresholds, redis.conf's port, socket and
 * password, and health_check against a real redis-server over TCP and a Unix socket. */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fileio.h"
#include "health.h"
#include "macro.h"
#include "test-redis.h"
#include "resp.h"
#include "strv.h"

/* Quotes, a backslash and a space: redis.conf's escapes must be undone right. */
#define PASSWORD "he\"alth pw\\1"
#define PASSWORD_CONF "\"he\\\"alth pw\\\\1\""

static char *fixture(const char *name)
{
	const char *top = getenv("top_srcdir");
	_cleanup_free_ char *path = NULL;
	char *text = NULL;
	size_t len;

	assert_true(asprintf(&path, "%s/tests/fixtures/info/%s", top && *top ? top : ".", name) > 0);
	if (fileio_read_file(path, 1 << 20, &text, &len) < 0)
		fail_msg("cannot read %s", path);
	return text;
}

/* text with the value of the line "name:..." replaced (the line must be there). */
static char *with(const char *text, const char *name, const char *value)
{
	_cleanup_free_ char *key = NULL;
	const char *at, *end;
	char *s;

	assert_true(asprintf(&key, "\n%s:", name) > 0);
	at = strstr(text, key);
	if (!at)
		fail_msg("no line %s to change", name);
	at += strlen(key);
	end = strstr(at, "\r\n");
	assert_non_null(end);
	assert_true(asprintf(&s, "%.*s%s%s", (int)(at - text), text, value, end) > 0);
	return s;
}

/* Several changes: pairs of name, value, then NULL. */
static char *withv(const char *text, ...)
{
	char *s = strdup(text);
	const char *name;
	va_list ap;

	assert_non_null(s);
	va_start(ap, text);
	while ((name = va_arg(ap, const char *))) {
		const char *value = va_arg(ap, const char *);
		char *t = with(s, name, value);

		free(s);
		s = t;
	}
	va_end(ap);
	return s;
}

struct judged {
	struct health_info info;
	enum health_verdict verdict;
	char **reasons;
};

static void judge_text(const char *text, struct judged *j)
{
	_cleanup_free_ char *cause = NULL;

	*j = (struct judged){ 0 };
	if (health_parse_info(text, &j->info, &cause) < 0)
		fail_msg("INFO does not parse: %s", cause ? cause : "?");
	assert_int_equal(health_judge(&j->info, &j->verdict, &j->reasons), 0);
}

static void judged_done(struct judged *j)
{
	health_info_done(&j->info);
	strv_free(j->reasons);
}

static bool reason_has(const struct judged *j, const char *s)
{
	for (char **l = j->reasons; l && *l; l++)
		if (strstr(*l, s))
			return true;
	return false;
}

#define EXPECT(text, verdict_, substring)                                                            \
	do {                                                                                         \
		struct judged j_;                                                                    \
		judge_text(text, &j_);                                                               \
		if (j_.verdict != (verdict_) || ((substring) && !reason_has(&j_, (substring))))     \
			fail_msg("verdict %s (%s), want %s with \"%s\"", health_verdict_name(j_.verdict), \
				 j_.reasons ? j_.reasons[0] : "no reason", health_verdict_name(verdict_),   \
				 (substring) ? (substring) : "");                                    \
		if ((verdict_) == HEALTH_OK)                                                         \
			assert_null(j_.reasons);                                                     \
		judged_done(&j_);                                                                    \
	} while (0)

static void test_parse_primary(void **state)
{
	_cleanup_free_ char *text = fixture("primary-one-replica.txt");
	struct judged j;

	judge_text(text, &j);
	assert_string_equal(j.info.redis_version, "7.0.15");
	assert_string_equal(j.info.role, "master");
	assert_int_equal(j.info.maxmemory, 4194304);
	assert_true(j.info.used_memory > 500000 && j.info.used_memory < 4194304);
	assert_string_equal(j.info.maxmemory_policy, "noeviction");
	assert_int_equal(j.info.maxclients, 10000);
	assert_int_equal(j.info.keys, 2);
	assert_int_equal(j.info.keys_with_ttl, 1);
	assert_string_equal(j.info.rdb_last_bgsave_status, "ok");
	assert_false(j.info.aof_enabled);
	assert_false(j.info.loading);
	assert_int_equal(j.info.n_replicas, 1);
	assert_string_equal(j.info.replicas[0].ip, "127.0.0.1");
	assert_int_equal(j.info.replicas[0].port, 17402);
	assert_string_equal(j.info.replicas[0].state, "online");
	assert_int_equal(j.info.replicas[0].offset, 107);
	assert_int_equal(j.info.replicas[0].lag, 1);
	assert_int_equal(j.info.master_repl_offset, 107);
	assert_int_equal(j.verdict, HEALTH_OK);
	assert_null(j.reasons);
	judged_done(&j);
}

static void test_parse_replica(void **state)
{
	_cleanup_free_ char *up = fixture("replica-up.txt"), *down = fixture("replica-down.txt");
	struct judged j;

	judge_text(up, &j);
	assert_string_equal(j.info.role, "slave");
	assert_string_equal(j.info.master_host, "127.0.0.1");
	assert_int_equal(j.info.master_port, 17401);
	assert_string_equal(j.info.master_link_status, "up");
	assert_int_equal(j.info.master_last_io_seconds_ago, 2);
	assert_int_equal(j.info.master_link_down_since_seconds, -1);
	assert_int_equal(j.verdict, HEALTH_OK);
	judged_done(&j);

	judge_text(down, &j);
	assert_string_equal(j.info.master_link_status, "down");
	assert_int_equal(j.info.master_last_io_seconds_ago, -1);
	assert_int_equal(j.info.master_link_down_since_seconds, 3);
	assert_int_equal(j.verdict, HEALTH_WARNING);
	assert_int_equal(strv_length(j.reasons), 1);
	assert_string_equal(j.reasons[0], "the link to the primary 127.0.0.1:17401 is down, for 3 s");
	judged_done(&j);
}

/* Memory: 90% warns under a policy that refuses writes; over the limit fails. */
static void test_memory_thresholds(void **state)
{
	_cleanup_free_ char *base = fixture("primary-one-replica.txt");
	/* 4194304 * 0.9 = 3774873.6 */
	_cleanup_free_ char *below = with(base, "used_memory", "3774873");
	_cleanup_free_ char *at90 = with(base, "used_memory", "3774874");
	_cleanup_free_ char *full = with(base, "used_memory", "4194304");
	_cleanup_free_ char *over = with(base, "used_memory", "4198400");
	/* Over, but the replication buffers do not count for eviction: not refused. */
	_cleanup_free_ char *over_buffers = withv(base, "used_memory", "4198400", "mem_not_counted_for_evict", "8192", NULL);
	_cleanup_free_ char *lru_over = withv(base, "used_memory", "4198400", "maxmemory_policy", "allkeys-lru",
					      "evicted_keys", "123456", NULL);
	_cleanup_free_ char *random95 = withv(base, "used_memory", "4000000", "maxmemory_policy", "allkeys-random", NULL);
	_cleanup_free_ char *nolimit = withv(base, "used_memory", "999999999", "maxmemory", "0", NULL);
	_cleanup_free_ char *volatile_over = withv(base, "used_memory", "4198400", "maxmemory_policy", "volatile-lru", NULL);
	_cleanup_free_ char *volatile_90 = withv(base, "used_memory", "3800000", "maxmemory_policy", "volatile-ttl", NULL);

	EXPECT(below, HEALTH_OK, NULL);
	EXPECT(at90, HEALTH_WARNING, "memory at 90.0% of maxmemory (3.60 MiB of 4.00 MiB): with noeviction, writes fail once it is full");
	EXPECT(full, HEALTH_WARNING, "memory at 100.0% of maxmemory");
	EXPECT(over, HEALTH_FAILING, "writes are refused (OOM): 4198400 bytes used, over maxmemory (4194304 bytes, 4.00 MiB), and noeviction evicts nothing");
	EXPECT(over_buffers, HEALTH_WARNING, "memory at 100.1%");
	EXPECT(lru_over, HEALTH_OK, NULL);
	EXPECT(random95, HEALTH_OK, NULL);
	EXPECT(nolimit, HEALTH_OK, NULL);
	EXPECT(volatile_over, HEALTH_FAILING, "no key with a TTL is left to evict");
	EXPECT(volatile_90, HEALTH_WARNING, "with volatile-ttl, writes fail once it is full");
	{
		struct judged j;

		judge_text(at90, &j);
		assert_true(health_memory_percent(&j.info) >= 90.0);
		judged_done(&j);
		judge_text(nolimit, &j);
		assert_true(health_memory_percent(&j.info) == 0.0);
		judged_done(&j);
	}
}

static void test_volatile_without_ttls(void **state)
{
	_cleanup_free_ char *base = fixture("primary-one-replica.txt");
	_cleanup_free_ char *no_ttl = withv(base, "maxmemory_policy", "volatile-lru", "db0", "keys=5,expires=0,avg_ttl=0", NULL);
	_cleanup_free_ char *some_ttl = withv(base, "maxmemory_policy", "volatile-lru", NULL);
	_cleanup_free_ char *empty = withv(base, "maxmemory_policy", "volatile-lfu", "db0", "keys=0,expires=0,avg_ttl=0", NULL);
	_cleanup_free_ char *lru_no_ttl = withv(base, "maxmemory_policy", "allkeys-lru", "db0", "keys=5,expires=0,avg_ttl=0", NULL);

	EXPECT(no_ttl, HEALTH_WARNING, "no key has a TTL: volatile-lru can evict nothing");
	EXPECT(some_ttl, HEALTH_OK, NULL);
	EXPECT(empty, HEALTH_OK, NULL);
	EXPECT(lru_no_ttl, HEALTH_OK, NULL);
}

static void test_persistence(void **state)
{
	_cleanup_free_ char *base = fixture("primary-one-replica.txt");
	_cleanup_free_ char *rdb = with(base, "rdb_last_bgsave_status", "err");
	_cleanup_free_ char *aof_write = withv(base, "aof_enabled", "1", "aof_last_write_status", "err", NULL);
	_cleanup_free_ char *aof_off = with(base, "aof_last_write_status", "err");
	_cleanup_free_ char *rewrite = withv(base, "aof_enabled", "1", "aof_last_bgrewrite_status", "err", NULL);

	EXPECT(rdb, HEALTH_FAILING, "the last RDB save failed (rdb_last_bgsave_status:err)");
	EXPECT(aof_write, HEALTH_FAILING, "the last write to the append-only file failed");
	EXPECT(aof_off, HEALTH_OK, NULL);
	EXPECT(rewrite, HEALTH_WARNING, "the last rewrite of the append-only file failed");
}

static void test_clients_and_loading(void **state)
{
	_cleanup_free_ char *base = fixture("primary-one-replica.txt");
	_cleanup_free_ char *c89 = with(base, "connected_clients", "8999");
	_cleanup_free_ char *c90 = with(base, "connected_clients", "9000");
	_cleanup_free_ char *rejected = with(base, "rejected_connections", "77");
	_cleanup_free_ char *loading = with(base, "loading", "1");

	EXPECT(c89, HEALTH_OK, NULL);
	EXPECT(c90, HEALTH_WARNING, "9000 clients connected of maxclients 10000");
	/* Counted since start: shown, not judged. */
	EXPECT(rejected, HEALTH_OK, NULL);
	EXPECT(loading, HEALTH_WARNING, "loading its data from disk");
}

static void test_replication(void **state)
{
	_cleanup_free_ char *base = fixture("primary-one-replica.txt"), *rep = fixture("replica-up.txt");
	_cleanup_free_ char *lag10 = with(base, "slave0", "ip=127.0.0.1,port=17402,state=online,offset=107,lag=10");
	_cleanup_free_ char *lag11 = with(base, "slave0", "ip=127.0.0.1,port=17402,state=online,offset=107,lag=11");
	_cleanup_free_ char *syncing = with(base, "slave0", "ip=10.0.0.3,port=6379,state=wait_bgsave,offset=0,lag=0");
	_cleanup_free_ char *v6 = with(base, "slave0", "ip=fd00::3,port=6379,state=online,offset=5,lag=0");
	_cleanup_free_ char *silent30 = with(rep, "master_last_io_seconds_ago", "30");
	_cleanup_free_ char *silent31 = with(rep, "master_last_io_seconds_ago", "31");
	_cleanup_free_ char *full_sync = with(rep, "master_sync_in_progress", "1");
	/* A replica does not evict: past 90% it warns, never fails for memory. */
	_cleanup_free_ char *rep_full = with(rep, "used_memory", "4198400");

	EXPECT(lag10, HEALTH_OK, NULL);
	EXPECT(lag11, HEALTH_WARNING, "replica 127.0.0.1:17402 lags: last acknowledged 11 s ago");
	EXPECT(syncing, HEALTH_WARNING, "replica 10.0.0.3:6379 is not online (wait_bgsave)");
	EXPECT(v6, HEALTH_OK, NULL);
	EXPECT(silent30, HEALTH_OK, NULL);
	EXPECT(silent31, HEALTH_WARNING, "nothing heard from the primary 127.0.0.1:17401 for 31 s");
	EXPECT(full_sync, HEALTH_WARNING, "a full sync");
	EXPECT(rep_full, HEALTH_WARNING, "on a replica");
}

/* A primary of a group takes writes only with min-replicas-to-write good replicas. */
static void test_min_replicas(void **state)
{
	_cleanup_free_ char *base = fixture("primary-one-replica.txt");
	_cleanup_free_ char *good0 = NULL, *good1 = NULL;
	const char *at = strstr(base, "connected_slaves:1\r\n");
	struct judged j;

	assert_non_null(at);
	at += strlen("connected_slaves:1\r\n");
	assert_true(asprintf(&good0, "%.*smin_slaves_good_slaves:0\r\n%s", (int)(at - base), base, at) > 0);
	assert_true(asprintf(&good1, "%.*smin_slaves_good_slaves:1\r\n%s", (int)(at - base), base, at) > 0);

	judge_text(good0, &j);
	assert_int_equal(j.info.min_slaves_good_slaves, 0);
	/* Without redis.conf's number, nothing to judge. */
	assert_int_equal(j.verdict, HEALTH_OK);
	j.info.min_replicas_to_write = 1;
	strv_free(j.reasons);
	assert_int_equal(health_judge(&j.info, &j.verdict, &j.reasons), 0);
	assert_int_equal(j.verdict, HEALTH_FAILING);
	assert_string_equal(j.reasons[0], "writes are refused (NOREPLICAS): min-replicas-to-write asks for 1 replica "
					  "within min-replicas-max-lag, and 0 are");
	judged_done(&j);

	judge_text(good1, &j);
	j.info.min_replicas_to_write = 1;
	strv_free(j.reasons);
	assert_int_equal(health_judge(&j.info, &j.verdict, &j.reasons), 0);
	assert_int_equal(j.verdict, HEALTH_OK);
	judged_done(&j);
}

/* The verdict is the worst reason, and failing reasons come first. */
static void test_reasons_order(void **state)
{
	_cleanup_free_ char *base = fixture("primary-one-replica.txt");
	_cleanup_free_ char *text = withv(base, "loading", "1", "connected_clients", "9999", "rdb_last_bgsave_status", "err",
					  "used_memory", "4198400", NULL);
	struct judged j;

	judge_text(text, &j);
	assert_int_equal(j.verdict, HEALTH_FAILING);
	assert_int_equal(strv_length(j.reasons), 4);
	assert_non_null(strstr(j.reasons[0], "RDB save failed"));
	assert_non_null(strstr(j.reasons[1], "writes are refused (OOM)"));
	assert_non_null(strstr(j.reasons[2], "loading"));
	assert_non_null(strstr(j.reasons[3], "clients connected"));
	judged_done(&j);
}

/* health_judge_report counts the failing reasons; health_fail puts its reason after
 * them, before the warnings. */
static void test_report_failing(void **state)
{
	_cleanup_free_ char *base = fixture("primary-one-replica.txt");
	_cleanup_free_ char *text = withv(base, "loading", "1", "rdb_last_bgsave_status", "err", NULL);
	_cleanup_free_ char *cause = NULL;
	struct health_report r = { .checked = true, .answered = true };

	assert_int_equal(health_parse_info(text, &r.info, &cause), 0);
	assert_int_equal(health_judge_report(&r), 0);
	assert_int_equal(r.verdict, HEALTH_FAILING);
	assert_int_equal(r.n_failing, 1);
	assert_int_equal(strv_length(r.reasons), 2);
	assert_non_null(strstr(r.reasons[0], "RDB save failed"));
	assert_non_null(strstr(r.reasons[1], "loading"));
	assert_int_equal(health_fail(&r, "Redis does not answer", "no answer (timed out)"), 0);
	assert_int_equal(r.n_failing, 2);
	assert_int_equal(strv_length(r.reasons), 3);
	assert_string_equal(r.reasons[1], "Redis does not answer: no answer (timed out)");
	assert_non_null(strstr(r.reasons[2], "loading"));
	/* judged again: the reasons replaced, not added to */
	assert_int_equal(health_judge_report(&r), 0);
	assert_int_equal(r.n_failing, 1);
	assert_int_equal(strv_length(r.reasons), 2);
	health_report_done(&r);

	/* a warning alone */
	text = (free(text), withv(base, "loading", "1", NULL));
	assert_int_equal(health_parse_info(text, &r.info, &cause), 0);
	assert_int_equal(health_judge_report(&r), 0);
	assert_int_equal(r.verdict, HEALTH_WARNING);
	assert_int_equal(r.n_failing, 0);
	/* from nothing */
	assert_int_equal(health_fail(&r, "gone", NULL), 0);
	assert_int_equal(r.verdict, HEALTH_FAILING);
	assert_string_equal(r.reasons[0], "gone");
	assert_non_null(strstr(r.reasons[1], "loading"));
	assert_null(r.reasons[2]);
	health_report_done(&r);
	assert_int_equal(health_fail(&r, "alone", NULL), 0);
	assert_string_equal(r.reasons[0], "alone");
	assert_null(r.reasons[1]);
	health_report_done(&r);
}

static void expect_bad(const char *text, const char *in_cause, const char *not_in_cause)
{
	_cleanup_free_ char *cause = NULL;
	struct health_info h = { 0 };

	assert_int_equal(health_parse_info(text, &h, &cause), -EBADMSG);
	assert_non_null(cause);
	if (!strstr(cause, in_cause))
		fail_msg("cause \"%s\" does not say \"%s\"", cause, in_cause);
	if (not_in_cause)
		assert_null(strstr(cause, not_in_cause));
	/* Untouched on failure. */
	assert_null(h.role);
	assert_null(h.replicas);
}

static void test_bad_info(void **state)
{
	_cleanup_free_ char *base = fixture("primary-one-replica.txt");
	_cleanup_free_ char *no_used = with(base, "used_memory", "x");
	_cleanup_free_ char *neg = with(base, "evicted_keys", "-5");
	_cleanup_free_ char *huge = with(base, "used_memory", "18446744073709551616");
	_cleanup_free_ char *lead0 = with(base, "maxmemory", "0042");
	_cleanup_free_ char *role = with(base, "role", "sentinel");
	_cleanup_free_ char *bool2 = with(base, "loading", "2");
	_cleanup_free_ char *ctrl = with(base, "maxmemory_policy", "noevic\x01tion");
	_cleanup_free_ char *replica = with(base, "slave0", "port=1,state=online,offset=1,lag=0");
	_cleanup_free_ char *replica_port = with(base, "slave0", "ip=1.2.3.4,port=70000,state=online,offset=1,lag=0");
	_cleanup_free_ char *db = with(base, "db0", "keys=many,expires=0");
	_cleanup_free_ char *oom = strdup(base);
	_cleanup_free_ char *rep = fixture("replica-up.txt");
	_cleanup_free_ char *rep_port = with(rep, "master_port", "0");
	_cleanup_free_ char *missing = NULL;
	char *p;

	expect_bad(no_used, "line", "x\r");
	expect_bad(no_used, "used_memory", NULL);
	expect_bad(neg, "evicted_keys", NULL);
	expect_bad(huge, "used_memory", "18446744073709551616");
	expect_bad(lead0, "maxmemory", NULL);
	expect_bad(role, "role is neither master nor slave", "sentinel");
	expect_bad(bool2, "loading", NULL);
	expect_bad(ctrl, "maxmemory_policy", NULL);
	expect_bad(replica, "slave0", NULL);
	expect_bad(replica_port, "slave0", NULL);
	expect_bad(db, "db0", NULL);
	expect_bad(rep_port, "master_port", NULL);
	expect_bad("", "INFO has no redis_version", NULL);
	expect_bad("# Server\r\nno colon here\r\n", "INFO line 2 is not", NULL);
	expect_bad(":value\r\n", "INFO line 1 is not", NULL);
	/* A required field missing altogether. */
	p = strstr(base, "\r\nmaxmemory_policy:");
	assert_non_null(p);
	assert_true(asprintf(&missing, "%.*s%s", (int)(p - base), base, strstr(p + 2, "\r\n")) > 0);
	expect_bad(missing, "INFO has no maxmemory_policy", NULL);
	/* A replica must say who its primary is. */
	{
		_cleanup_free_ char *t = strdup(rep);

		p = strstr(t, "master_host:");
		assert_non_null(p);
		memcpy(p, "xaster_host:", 12);
		expect_bad(t, "a replica without master_host", NULL);
	}
	/* errorstat_OOM counts writes refused for memory. */
	p = strstr(oom, "# Errorstats\r\n");
	if (p) {
		_cleanup_free_ char *t = NULL;
		struct health_info h;
		_cleanup_free_ char *cause = NULL;

		assert_true(asprintf(&t, "%.*s# Errorstats\r\nerrorstat_OOM:count=42\r\n%s", (int)(p - oom), oom,
				     p + strlen("# Errorstats\r\n")) > 0);
		assert_int_equal(health_parse_info(t, &h, &cause), 0);
		assert_int_equal(h.oom_errors, 42);
		health_info_done(&h);
	} else
		fail_msg("the fixture has no Errorstats section");
}

/* LF-only text and unknown fields are fine. */
static void test_lf_and_unknown(void **state)
{
	_cleanup_free_ char *base = fixture("primary-one-replica.txt");
	_cleanup_free_ char *cause = NULL, *lf = NULL;
	struct health_info h;
	size_t i, k = 0;

	lf = malloc(strlen(base) + 64);
	assert_non_null(lf);
	for (i = 0; base[i]; i++)
		if (base[i] != '\r')
			lf[k++] = base[i];
	strcpy(lf + k, "some_future_field:who knows: what\n");
	assert_int_equal(health_parse_info(lf, &h, &cause), 0);
	assert_string_equal(h.maxmemory_policy, "noeviction");
	health_info_done(&h);
}

static void test_conf(void **state)
{
	struct health_conf c;
	_cleanup_free_ char *cause = NULL, *c2 = NULL, *c3 = NULL;

	assert_int_equal(health_parse_conf("# a comment\nport 6390\nrequirepass " PASSWORD_CONF "\n", &c, &cause), 0);
	assert_int_equal(c.port, 6390);
	assert_string_equal(c.password, PASSWORD);
	assert_null(c.unixsocket);
	health_conf_done(&c);

	/* Redis' defaults; the last of a directive wins, as in Redis; case-insensitive. */
	assert_int_equal(health_parse_conf("bind 127.0.0.1\n", &c, NULL), 0);
	assert_int_equal(c.port, 6379);
	assert_null(c.password);
	health_conf_done(&c);
	assert_int_equal(health_parse_conf("PORT 1\nport 0\nunixsocket /run/redis/redis-server.sock\n"
					   "requirepass a\nrequirepass \"\"\n", &c, NULL), 0);
	assert_int_equal(c.port, 0);
	assert_string_equal(c.unixsocket, "/run/redis/redis-server.sock");
	assert_null(c.password);
	health_conf_done(&c);
	assert_int_equal(health_parse_conf("min-replicas-to-write 1\nmin-replicas-max-lag 10\n", &c, NULL), 0);
	assert_int_equal(c.min_replicas_to_write, 1);
	health_conf_done(&c);
	assert_int_equal(health_parse_conf("requirepass 'single \\' quoted'\r\n", &c, NULL), 0);
	assert_string_equal(c.password, "single ' quoted");
	health_conf_done(&c);

	/* Unbalanced quotes and a bad port: the line is named, its text is not. */
	assert_int_equal(health_parse_conf("port 6379\nrequirepass \"secret-canary\n", &c, &c2), -EBADMSG);
	assert_string_equal(c2, "line 2: unbalanced quotes");
	assert_int_equal(health_parse_conf("port 70000\n", &c, &c3), -EBADMSG);
	assert_non_null(strstr(c3, "line 1: port"));
	assert_null(strstr(c3, "70000"));
}

/* The text and the JSON of a report. */
static void test_print(void **state)
{
	_cleanup_free_ char *base = fixture("primary-one-replica.txt");
	_cleanup_free_ char *text = withv(base, "used_memory", "4198400", "evicted_keys", "0", NULL);
	_cleanup_free_ char *out = NULL, *out2 = NULL, *out3 = NULL, *cause = NULL;
	_cleanup_json_ json_object *j = NULL, *j2 = NULL;
	struct health_report r = { .checked = true, .answered = true };
	struct health_report u;
	json_object *v, *v2;
	size_t len;
	FILE *f;

	r.address = strdup("127.0.0.1:6379");
	assert_int_equal(health_parse_info(text, &r.info, &cause), 0);
	assert_int_equal(health_judge(&r.info, &r.verdict, &r.reasons), 0);
	f = open_memstream(&out, &len);
	health_print(&r, NULL, f);
	fclose(f);
	assert_non_null(strstr(out, "health:     failing: writes are refused (OOM): 4198400 bytes used, over maxmemory (4194304 bytes, 4.00 MiB), and noeviction evicts nothing\n"));
	assert_non_null(strstr(out, "redis:      7.0.15 at 127.0.0.1:6379, up "));
	assert_non_null(strstr(out, "role:       primary, 1 replica\n"));
	assert_non_null(strstr(out, "replica:    127.0.0.1:17402 online, offset 107, lag 1 s\n"));
	assert_non_null(strstr(out, "memory:     4.00 MiB of 4.00 MiB maxmemory (100.1%: 4198400 of 4194304 bytes), noeviction\n"));
	assert_non_null(strstr(out, "            Nothing is evicted"));
	assert_non_null(strstr(out, "keys:       2 (1 with a TTL); since start: 0 evicted, 0 expired\n"));
	assert_non_null(strstr(out, "clients:    1 connected of at most 10000; 0 connections rejected since start\n"));
	assert_non_null(strstr(out, "saving:     last RDB save ok; AOF off\n"));
	j = health_to_json(&r);
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "verdict", &v));
	assert_string_equal(json_object_get_string(v), "failing");
	assert_true(json_object_object_get_ex(j, "used_memory", &v));
	assert_int_equal(json_object_get_uint64(v), 4198400);
	assert_true(json_object_object_get_ex(j, "used_memory_percent", &v));
	assert_true(json_object_get_double(v) > 100.0);
	assert_true(json_object_object_get_ex(j, "reasons", &v));
	assert_int_equal(json_object_array_length(v), 1);
	assert_true(json_object_object_get_ex(j, "replication", &v));
	assert_true(json_object_object_get_ex(v, "master_repl_offset", &v2));
	assert_int_equal(json_object_get_int64(v2), 107);
	assert_true(json_object_object_get_ex(v, "replicas", &v));
	assert_int_equal(json_object_array_length(v), 1);

	/* indented (doagent-launch status): every line, a reason's continuation too */
	health_info_done(&r.info);
	text = (free(text), withv(base, "used_memory", "4198400", "loading", "1", NULL));
	assert_int_equal(health_parse_info(text, &r.info, &cause), 0);
	assert_int_equal(health_judge_report(&r), 0);
	f = open_memstream(&out3, &len);
	health_print(&r, "    ", f);
	fclose(f);
	assert_non_null(strstr(out3, "    health:     failing: writes are refused (OOM)"));
	assert_non_null(strstr(out3, "evicts nothing\n                loading its data from disk"));
	assert_non_null(strstr(out3, "\n    redis:      7.0.15 at 127.0.0.1:6379, up "));
	assert_non_null(strstr(out3, "\n                Nothing is evicted"));
	assert_non_null(strstr(out3, "\n    saving:     last RDB save ok; AOF off\n"));
	for (const char *l = out3; *l; l = strchr(l, '\n') + 1)
		assert_int_equal(strncmp(l, "    ", 4), 0);
	health_report_done(&r);

	assert_int_equal(health_unchecked("live health: run as root", &u), 0);
	f = open_memstream(&out2, &len);
	health_print(&u, NULL, f);
	fclose(f);
	assert_string_equal(out2, "health:     not checked: live health: run as root\n");
	j2 = health_to_json(&u);
	assert_true(json_object_object_get_ex(j2, "checked", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(j2, "reason", &v));
	assert_string_equal(json_object_get_string(v), "live health: run as root");
	health_report_done(&u);
}

/* ---- against a real redis-server ---- */

static char dir[] = "/tmp/doagent-health.XXXXXX";
static pid_t redis_pid = -1;
static unsigned redis_port;
static char sock_path[100];

static unsigned free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

static bool can_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}


static bool socket_answers(const void *path)
{
	return can_connect(path);
}

/* Redis on loopback and on a Unix socket, with PASSWORD; the socket answering means
 * both listen. */
static int setup(void **state)
{
	char port[16], log[sizeof(dir) + 16];
	const char *argv[] = { test_redis_server(), "--port", port, "--bind", "127.0.0.1", "--unixsocket", sock_path,
			       "--requirepass", PASSWORD, "--save", "", "--appendonly", "no",
			       "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lfu",
			       "--daemonize", "no", "--dir", dir, "--logfile", log, NULL };

	if (!mkdtemp(dir))
		return -1;
	if (access(test_redis_server(), X_OK) < 0) {
		fprintf(stderr, "# %s: not found; the tests against Redis are skipped\n", test_redis_server());
		return 0;
	}
	redis_port = free_port();
	snprintf(port, sizeof(port), "%u", redis_port);
	snprintf(log, sizeof(log), "%s/redis.log", dir);
	snprintf(sock_path, sizeof(sock_path), "%s/redis.sock", dir);
	redis_pid = test_redis_start(argv, socket_answers, sock_path, log);
	return redis_pid < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	test_redis_stop(redis_pid);
	redis_pid = -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void need_redis(void)
{
	if (redis_pid <= 0)
		skip();
}

/* A root whose etc/redis/redis.conf is conf. */
static char *make_root(const char *name, const char *conf)
{
	_cleanup_free_ char *etc = NULL, *path = NULL;
	char *root;

	assert_true(asprintf(&root, "%s/%s", dir, name) > 0);
	assert_true(asprintf(&etc, "%s/etc/redis", root) > 0);
	assert_int_equal(fileio_mkdir_p(etc, 0755), 0);
	assert_true(asprintf(&path, "%s/redis.conf", etc) > 0);
	assert_int_equal(fileio_write_atomic(path, conf, strlen(conf), 0640, (uid_t)-1, (gid_t)-1), 0);
	return root;
}

static void report_text(const struct health_report *r, char **ret)
{
	_cleanup_json_ json_object *j = health_to_json(r);
	size_t len;
	FILE *f = open_memstream(ret, &len);

	assert_non_null(f);
	health_print(r, NULL, f);
	fputs(json_object_to_json_string(j), f);
	fclose(f);
}

static void test_check_tcp(void **state)
{
	_cleanup_free_ char *conf = NULL, *root = NULL, *out = NULL;
	struct health_report r;

	need_redis();
	assert_true(asprintf(&conf, "port %u\nrequirepass %s\n", redis_port, PASSWORD_CONF) > 0);
	root = make_root("tcp", conf);
	assert_int_equal(health_check(root, 3000, &r), 0);
	report_text(&r, &out);
	assert_true(r.checked);
	if (!r.answered)
		fail_msg("no answer: %s", out);
	assert_int_equal(r.verdict, HEALTH_OK);
	assert_string_equal(r.info.role, "master");
	assert_string_equal(r.info.maxmemory_policy, "allkeys-lfu");
	assert_int_equal(r.info.maxmemory, 64 * 1024 * 1024);
	assert_true(r.info.connected_clients >= 1);
	assert_null(strstr(out, PASSWORD));
	assert_null(strstr(out, "alth pw"));
	health_report_done(&r);
}

static void test_check_unix(void **state)
{
	_cleanup_free_ char *conf = NULL, *root = NULL, *out = NULL;
	struct health_report r;

	need_redis();
	assert_true(asprintf(&conf, "port 0\nunixsocket %s\nunixsocketperm 700\nrequirepass %s\n", sock_path,
			     PASSWORD_CONF) > 0);
	root = make_root("unix", conf);
	assert_int_equal(health_check(root, 3000, &r), 0);
	report_text(&r, &out);
	if (!r.answered)
		fail_msg("no answer: %s", out);
	assert_string_equal(r.address, sock_path);
	assert_int_equal(r.verdict, HEALTH_OK);
	assert_non_null(strstr(out, sock_path));
	assert_null(strstr(out, PASSWORD));
	health_report_done(&r);
}

static void test_check_failing(void **state)
{
	_cleanup_free_ char *conf = NULL, *root = NULL, *conf2 = NULL, *root2 = NULL, *out = NULL, *out2 = NULL;
	_cleanup_free_ char *root3 = NULL, *root4 = NULL, *root5 = NULL;
	struct health_report r;

	need_redis();
	/* A password Redis does not take: failing, and neither password shown. */
	assert_true(asprintf(&conf, "port %u\nrequirepass wrong-canary-pw\n", redis_port) > 0);
	root = make_root("wrong", conf);
	assert_int_equal(health_check(root, 3000, &r), 0);
	report_text(&r, &out);
	assert_true(r.checked);
	assert_false(r.answered);
	assert_int_equal(r.verdict, HEALTH_FAILING);
	assert_non_null(strstr(r.reasons[0], "Redis refuses the password of redis.conf"));
	assert_null(strstr(out, "wrong-canary-pw"));
	assert_null(strstr(out, PASSWORD));
	health_report_done(&r);

	/* No password where one is needed. */
	free(conf);
	assert_true(asprintf(&conf, "port %u\n", redis_port) > 0);
	root5 = make_root("nopass", conf);
	assert_int_equal(health_check(root5, 3000, &r), 0);
	assert_int_equal(r.verdict, HEALTH_FAILING);
	assert_non_null(strstr(r.reasons[0], "NOAUTH"));
	health_report_done(&r);

	/* Nobody listening. */
	assert_true(asprintf(&conf2, "port %u\nrequirepass x\n", free_port()) > 0);
	root2 = make_root("nobody", conf2);
	assert_int_equal(health_check(root2, 3000, &r), 0);
	report_text(&r, &out2);
	assert_int_equal(r.verdict, HEALTH_FAILING);
	assert_non_null(strstr(r.reasons[0], "Redis does not answer: 127.0.0.1:"));
	assert_non_null(strstr(out2, "health:     failing: Redis does not answer"));
	health_report_done(&r);

	/* No redis.conf: not checked. */
	assert_true(asprintf(&root3, "%s/empty", dir) > 0);
	assert_int_equal(health_check(root3, 3000, &r), 0);
	assert_false(r.checked);
	assert_non_null(strstr(r.unchecked, "doagent has not configured Redis here"));
	health_report_done(&r);

	/* Neither a port nor a socket. */
	root4 = make_root("noport", "port 0\n");
	assert_int_equal(health_check(root4, 3000, &r), 0);
	assert_false(r.checked);
	assert_non_null(strstr(r.unchecked, "neither a TCP port"));
	health_report_done(&r);
}

/* resp_info directly: sections, and what it refuses to send. */
static void test_resp_info(void **state)
{
	const struct resp_target t = { .host = "127.0.0.1", .port = redis_port };
	_cleanup_free_ char *info = NULL, *c1 = NULL, *c2 = NULL, *c3 = NULL;

	need_redis();
	assert_int_equal(resp_info(&t, PASSWORD, "memory", 3000, &info, &c1), 0);
	assert_non_null(strstr(info, "# Memory\r\n"));
	assert_null(strstr(info, "# Server\r\n"));
	assert_int_equal(resp_info(&t, PASSWORD, "memory\r\nFLUSHALL", 3000, &info, &c2), -EINVAL);
	assert_int_equal(resp_info(&t, NULL, "memory", 3000, &info, &c3), -EACCES);
	assert_non_null(strstr(c3, "NOAUTH"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_primary),
		cmocka_unit_test(test_parse_replica),
		cmocka_unit_test(test_memory_thresholds),
		cmocka_unit_test(test_volatile_without_ttls),
		cmocka_unit_test(test_persistence),
		cmocka_unit_test(test_clients_and_loading),
		cmocka_unit_test(test_replication),
		cmocka_unit_test(test_min_replicas),
		cmocka_unit_test(test_reasons_order),
		cmocka_unit_test(test_report_failing),
		cmocka_unit_test(test_bad_info),
		cmocka_unit_test(test_lf_and_unknown),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_check_tcp),
		cmocka_unit_test(test_check_unix),
		cmocka_unit_test(test_check_failing),
		cmocka_unit_test(test_resp_info),
	};

	signal(SIGPIPE, SIG_DFL);
	return cmocka_run_group_tests(tests, setup, teardown);
}

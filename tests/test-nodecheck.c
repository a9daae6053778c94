/* nodecheck: the verdict on a group from its nodes (doagent-launch status), each node's
 * INFO read and judged by health.c as doagent --status judges it, and a node that does
 * not answer. The checks over TLS run in tests/launch-group.sh against real
 * redis-servers. */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "health.h"
#include "macro.h"
#include "nodecheck.h"
#include "strv.h"

/* What every node's INFO has, trimmed from Redis 7.0's (CRLF as sent); used_memory,
 * maxmemory and maxmemory_policy come after it. */
#define INFO_COMMON                                   \
	"# Server\r\n"                                \
	"redis_version:7.0.15\r\n"                    \
	"uptime_in_seconds:3725\r\n"                  \
	"# Clients\r\n"                               \
	"connected_clients:3\r\n"                     \
	"maxclients:10000\r\n"                        \
	"# Persistence\r\n"                           \
	"loading:0\r\n"                               \
	"rdb_last_bgsave_status:ok\r\n"               \
	"aof_enabled:0\r\n"                           \
	"aof_last_bgrewrite_status:ok\r\n"            \
	"aof_last_write_status:ok\r\n"                \
	"# Stats\r\n"                                 \
	"rejected_connections:0\r\n"                  \
	"expired_keys:7\r\n"                          \
	"evicted_keys:0\r\n"                          \
	"# Keyspace\r\n"                              \
	"db0:keys=12,expires=3,avg_ttl=0\r\n"         \
	"# Memory\r\n"                                \
	"mem_not_counted_for_evict:0\r\n"

static const char primary_info[] =
	INFO_COMMON
	"used_memory:1048576\r\n"
	"maxmemory:67108864\r\n"
	"maxmemory_policy:noeviction\r\n"
	"# Replication\r\n"
	"role:master\r\n"
	"connected_slaves:2\r\n"
	"min_slaves_good_slaves:2\r\n"
	"slave0:ip=10.10.0.4,port=6380,state=online,offset=5000,lag=0\r\n"
	"slave1:ip=10.10.0.6,port=6380,state=online,offset=4200,lag=1\r\n"
	"master_failover_state:no-failover\r\n"
	"master_replid:6c2c4b5a2e2f6a0cbf7d03e5b7bd0d5d1e9a5f11\r\n"
	"master_repl_offset:5000\r\n"
	"second_repl_offset:-1\r\n";

static const char replica_info[] =
	INFO_COMMON
	"used_memory:1000000\r\n"
	"maxmemory:67108864\r\n"
	"maxmemory_policy:noeviction\r\n"
	"# Replication\r\n"
	"role:slave\r\n"
	"master_host:10.10.0.2\r\n"
	"master_port:6380\r\n"
	"master_link_status:up\r\n"
	"master_last_io_seconds_ago:0\r\n"
	"master_sync_in_progress:0\r\n"
	"slave_repl_offset:5000\r\n"
	"connected_slaves:0\r\n"
	"master_repl_offset:5000\r\n";

/* A group of three as status sees it: g-1 primary at 10.10.0.2, g-2 and g-3 replicas. */
struct group {
	struct nodecheck_member m[3];
	char **problems, **warnings;
};

static void node_init(struct nodecheck_member *m, const char *name, const char *ip, const char *info, int i)
{
	struct nodecheck_node *n = &m->node;
	_cleanup_free_ char *cause = NULL;

	m->name = name;
	m->private_ipv4 = ip;
	m->checked = true;
	n->step = NODECHECK_DONE;
	snprintf(n->address, sizeof n->address, "203.0.113.%d", 2 + 2 * i);
	if (health_parse_info(info, &n->health.info, &cause) < 0)
		fail_msg("INFO does not parse: %s", cause ? cause : "?");
	n->health.checked = n->health.answered = true;
	n->health.info.min_replicas_to_write = 1;
}

static void group_init(struct group *g)
{
	static const char *const names[] = { "g-1", "g-2", "g-3" }, *const ips[] = { "10.10.0.2", "10.10.0.4", "10.10.0.6" };

	*g = (struct group){ 0 };
	for (int i = 0; i < 3; i++)
		node_init(&g->m[i], names[i], ips[i], i == 0 ? primary_info : replica_info, i);
}

static void group_done(struct group *g)
{
	for (int i = 0; i < 3; i++) {
		nodecheck_node_done(&g->m[i].node);
		free(g->m[i].state);
	}
	strv_free(g->problems);
	strv_free(g->warnings);
}

/* Each node's health judged (as nodecheck_run judges what it read), then the group. */
static void judge(struct group *g, size_t n, size_t expected)
{
	strv_free(g->problems);
	strv_free(g->warnings);
	g->problems = g->warnings = NULL;
	for (size_t i = 0; i < n; i++)
		if (g->m[i].node.health.answered)
			assert_int_equal(health_judge_report(&g->m[i].node.health), 0);
	assert_int_equal(nodecheck_judge(g->m, n, expected, &g->problems, &g->warnings), 0);
}

/* A list joined by "|"; none: "" */
#define ASSERT_LIST(l, want)                                   \
	do {                                                   \
		_cleanup_free_ char *_p = strv_join(l, "|");   \
		assert_string_equal(_p, want);                 \
	} while (0)

static void set_text(char **field, const char *value)
{
	free(*field);
	*field = strdup(value);
	assert_non_null(*field);
}

static void test_healthy(void **state)
{
	struct group g;

	group_init(&g);
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "");
	ASSERT_LIST(g.warnings, "");
	for (int i = 0; i < 3; i++) {
		assert_string_equal(g.m[i].state, "ok");
		assert_int_equal(g.m[i].node.health.verdict, HEALTH_OK);
		assert_null(g.m[i].node.health.reasons);
	}
	assert_int_equal(g.m[0].node.health.info.master_repl_offset, 5000);
	assert_int_equal(g.m[0].node.health.info.uptime_in_seconds, 3725);
	assert_int_equal(g.m[0].node.health.info.expired_keys, 7);
	assert_int_equal(g.m[0].lag_bytes, -1);
	assert_int_equal(g.m[1].lag_bytes, 0);
	assert_int_equal(g.m[1].lag_s, 0);
	assert_int_equal(g.m[2].lag_bytes, 800);
	assert_int_equal(g.m[2].lag_s, 1);
	group_done(&g);
}

static void test_lagging_and_syncing(void **state)
{
	struct group g;

	group_init(&g);
	g.m[0].node.health.info.replicas[1].lag = 11;
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "g-3: 11 s since its last acknowledgement (more than 10 s)");
	/* the primary's own health says so too, as a warning, as doagent --status would */
	ASSERT_LIST(g.warnings, "g-1: replica 10.10.0.6:6380 lags: last acknowledged 11 s ago");
	assert_string_equal(g.m[2].state, "11 s since its last acknowledgement (more than 10 s)");
	assert_string_equal(g.m[1].state, "ok");
	assert_int_equal(g.m[0].node.health.verdict, HEALTH_WARNING);
	/* at the threshold: fine */
	g.m[0].node.health.info.replicas[1].lag = 10;
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "");
	ASSERT_LIST(g.warnings, "");
	set_text(&g.m[0].node.health.info.replicas[0].state, "wait_bgsave");
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "g-2: not in sync yet (wait_bgsave)");
	ASSERT_LIST(g.warnings, "g-1: replica 10.10.0.4:6380 is not online (wait_bgsave)");
	group_done(&g);
}

static void test_link_and_listing(void **state)
{
	struct group g;

	group_init(&g);
	set_text(&g.m[1].node.health.info.master_link_status, "down");
	g.m[0].node.health.info.n_replicas = 1;	/* g-3 no longer listed */
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "g-2: its link to its primary (10.10.0.2:6380) is down|"
				"g-3: the primary g-1 does not list it among its replicas");
	ASSERT_LIST(g.warnings, "g-2: the link to the primary 10.10.0.2:6380 is down");
	g.m[0].node.health.info.n_replicas = 2;
	group_done(&g);

	/* a replica of a replica */
	group_init(&g);
	set_text(&g.m[2].node.health.info.master_host, "10.10.0.4");
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "g-3: replicates from 10.10.0.4:6380, not from the primary g-1");
	group_done(&g);
}

static void test_primaries(void **state)
{
	struct group g;

	group_init(&g);
	set_text(&g.m[2].node.health.info.role, "master");
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "2 primaries (g-1, g-3): each takes writes the other does not see");
	group_done(&g);

	group_init(&g);
	g.m[0].node.step = NODECHECK_TCP;
	g.m[0].node.error = strdup("unreachable: public 203.0.113.2:6380: Connection refused");
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "g-1: unreachable: public 203.0.113.2:6380: Connection refused|"
				"no primary: no node's INFO says role:master");
	assert_string_equal(g.m[0].state, "unreachable: public 203.0.113.2:6380: Connection refused");
	group_done(&g);
}

static void test_missing_and_unchecked(void **state)
{
	struct group g;

	group_init(&g);
	judge(&g, 2, 3);
	ASSERT_LIST(g.problems, "2 of the group's 3 nodes found");
	g.m[1].checked = false;
	g.m[1].why_not = "no record of launch x here";
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "g-2: not checked: no record of launch x here");
	group_done(&g);
}

/* Memory is judged by health.c alone: its thresholds, its words. */
static void test_memory(void **state)
{
	struct group g;
	struct health_info *h;

	group_init(&g);
	h = &g.m[0].node.health.info;
	/* 95% under noeviction: a warning, the group still healthy */
	h->used_memory = 67108864 / 100 * 95;
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "");
	ASSERT_LIST(g.warnings, "g-1: memory at 95.0% of maxmemory (60.80 MiB of 64.00 MiB): with noeviction, "
				"writes fail once it is full");
	assert_int_equal(g.m[0].node.health.verdict, HEALTH_WARNING);
	assert_int_equal(g.m[0].node.health.n_failing, 0);
	/* past maxmemory: writes refused, failing, the group unhealthy */
	h->used_memory = 67108864 + 4096;
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "g-1: writes are refused (OOM): 67112960 bytes used, over maxmemory (67108864 "
				"bytes, 64.00 MiB), and noeviction evicts nothing");
	ASSERT_LIST(g.warnings, "");
	assert_int_equal(g.m[0].node.health.verdict, HEALTH_FAILING);
	assert_int_equal(g.m[0].node.health.n_failing, 1);
	assert_string_equal(g.m[0].state, "writes are refused (OOM): 67112960 bytes used, over maxmemory (67108864 "
					  "bytes, 64.00 MiB), and noeviction evicts nothing");
	/* replication buffers do not count */
	h->mem_not_counted_for_evict = 67108864 / 2;
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "");
	/* allkeys-lru evicts: not judged */
	h->mem_not_counted_for_evict = 0;
	set_text(&h->maxmemory_policy, "allkeys-lru");
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "");
	ASSERT_LIST(g.warnings, "");
	set_text(&h->maxmemory_policy, "volatile-ttl");
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "g-1: writes are refused (OOM): 67112960 bytes used, over maxmemory (67108864 "
				"bytes, 64.00 MiB), and no key with a TTL is left to evict");
	group_done(&g);
}

/* A failing reason and a warning on one node: the first a problem, the second a warning. */
static void test_failing_and_warning(void **state)
{
	struct group g;

	group_init(&g);
	set_text(&g.m[1].node.health.info.rdb_last_bgsave_status, "err");
	g.m[1].node.health.info.loading = true;
	/* the primary: no replica follows closely enough for min-replicas-to-write 1 */
	g.m[0].node.health.info.min_slaves_good_slaves = 0;
	judge(&g, 3, 3);
	ASSERT_LIST(g.problems, "g-1: writes are refused (NOREPLICAS): min-replicas-to-write asks for 1 replica "
				"within min-replicas-max-lag, and 0 are|"
				"g-2: the last RDB save failed (rdb_last_bgsave_status:err): with save points set, "
				"Redis refuses writes until a save succeeds (stop-writes-on-bgsave-error)");
	ASSERT_LIST(g.warnings, "g-2: loading its data from disk: until it is done, most commands are answered LOADING");
	assert_int_equal(g.m[1].node.health.verdict, HEALTH_FAILING);
	assert_int_equal(g.m[1].node.health.n_failing, 1);
	/* a droplet on its own: no min-replicas-to-write in its redis.conf */
	g.m[0].node.health.info.min_replicas_to_write = 0;
	g.m[0].node.health.info.n_replicas = 0;
	judge(&g, 1, 1);
	ASSERT_LIST(g.problems, "");
	ASSERT_LIST(g.warnings, "");
	g.m[0].node.health.info.n_replicas = 2;
	group_done(&g);
}

/* nodecheck_run against a port nothing listens on: failing, the reason the error;
 * without a password against a listener: not asked, unchecked. */
static void test_run_unanswered(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	struct nodecheck_node n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	assert_int_equal(listen(fd, 1), 0);

	/* listening: no password, so not asked */
	{
		const struct nodecheck_target t = { .public_ipv4 = "127.0.0.1", .port = port, .timeout_ms = 2000 };

		assert_int_equal(nodecheck_run(&t, &n), NODECHECK_AUTH);
		assert_false(n.health.checked);
		assert_string_equal(n.health.unchecked, "not asked: no password");
		nodecheck_node_done(&n);
	}
	close(fd);
	/* closed: unreachable, failing */
	{
		const struct nodecheck_target t = { .public_ipv4 = "127.0.0.1", .port = port, .password = "pw",
						    .timeout_ms = 2000 };
		_cleanup_free_ char *want = NULL;

		assert_int_equal(nodecheck_run(&t, &n), NODECHECK_TCP);
		assert_true(n.health.checked);
		assert_false(n.health.answered);
		assert_int_equal(n.health.verdict, HEALTH_FAILING);
		assert_int_equal(n.health.n_failing, 1);
		assert_true(asprintf(&want, "unreachable: public 127.0.0.1:%u: Connection refused", port) > 0);
		assert_string_equal(n.health.reasons[0], want);
		assert_null(n.health.reasons[1]);
		nodecheck_node_done(&n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_lagging_and_syncing),
		cmocka_unit_test(test_link_and_listing),
		cmocka_unit_test(test_primaries),
		cmocka_unit_test(test_missing_and_unchecked),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_failing_and_warning),
		cmocka_unit_test(test_run_unanswered),
	};

	return cmocka_run_group_tests_name("nodecheck", tests, NULL, NULL);
}

/* nodecheck: INFO as Redis 7 writes it, and the verdict on a group from its nodes
 * (doagent-launch status). The checks over the network run in tests/launch-group.sh
 * against real redis-servers. */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "macro.h"
#include "nodecheck.h"
#include "strv.h"

/* Trimmed from a Redis 7.0 primary's INFO replication and INFO memory, CRLF as sent. */
static const char primary_info[] =
	"# Replication\r\n"
	"role:master\r\n"
	"connected_slaves:2\r\n"
	"slave0:ip=10.10.0.4,port=6380,state=online,offset=5000,lag=0\r\n"
	"slave1:ip=10.10.0.6,port=6380,state=online,offset=4200,lag=1\r\n"
	"master_failover_state:no-failover\r\n"
	"master_replid:6c2c4b5a2e2f6a0cbf7d03e5b7bd0d5d1e9a5f11\r\n"
	"master_repl_offset:5000\r\n"
	"second_repl_offset:-1\r\n"
	"repl_backlog_active:1\r\n"
	"\r\n"
	"# Memory\r\n"
	"used_memory:1048576\r\n"
	"used_memory_human:1.00M\r\n"
	"maxmemory:67108864\r\n"
	"maxmemory_human:64.00M\r\n"
	"maxmemory_policy:noeviction\r\n"
	"mem_not_counted_for_evict:0\r\n";

static const char replica_info[] =
	"# Replication\r\n"
	"role:slave\r\n"
	"master_host:10.10.0.2\r\n"
	"master_port:6380\r\n"
	"master_link_status:up\r\n"
	"master_last_io_seconds_ago:0\r\n"
	"master_sync_in_progress:0\r\n"
	"slave_read_repl_offset:5000\r\n"
	"slave_repl_offset:5000\r\n"
	"slave_priority:100\r\n"
	"slave_read_only:1\r\n"
	"connected_slaves:0\r\n"
	"master_repl_offset:5000\r\n"
	"# Memory\r\n"
	"used_memory:1000000\r\n"
	"maxmemory:0\r\n"
	"maxmemory_policy:noeviction\r\n";

static void test_parse_primary(void **state)
{
	struct nodecheck_node n = { .repl_offset = -1 };

	assert_int_equal(nodecheck_parse_info(primary_info, &n), 0);
	assert_string_equal(n.role, "master");
	assert_int_equal(n.repl_offset, 5000);
	assert_int_equal(n.n_replicas, 2);
	assert_string_equal(n.replicas[0].ip, "10.10.0.4");
	assert_int_equal(n.replicas[0].port, 6380);
	assert_string_equal(n.replicas[0].state, "online");
	assert_int_equal(n.replicas[1].offset, 4200);
	assert_int_equal(n.replicas[1].lag, 1);
	assert_int_equal(n.used_memory, 1048576);
	assert_int_equal(n.maxmemory, 67108864);
	assert_string_equal(n.policy, "noeviction");
	nodecheck_node_done(&n);
}

static void test_parse_replica(void **state)
{
	struct nodecheck_node n = { .repl_offset = -1 };

	assert_int_equal(nodecheck_parse_info(replica_info, &n), 0);
	assert_string_equal(n.role, "slave");
	assert_string_equal(n.master_host, "10.10.0.2");
	assert_int_equal(n.master_port, 6380);
	assert_string_equal(n.link, "up");
	/* its own offset, not master_repl_offset */
	assert_int_equal(n.repl_offset, 5000);
	assert_int_equal(n.n_replicas, 0);
	nodecheck_node_done(&n);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"role:master\r\nused_memory:lots\r\n",
		"role:master\r\nslave0:port=6380,state=online\r\n",
		"role:master\r\nslave0:ip=10.0.0.1,port=99999\r\n",
		"role:master\r\nmaster_repl_offset:\r\n",
		"role:mas ter\r\n",
		"role:master\r\nslave0:ip=10.0.0.1,port=6380,offset=x\r\n",
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct nodecheck_node n = { 0 };

		if (nodecheck_parse_info(bad[i], &n) != -EBADMSG)
			fail_msg("accepted: %s", bad[i]);
		nodecheck_node_done(&n);
	}
}

/* A group of three as status sees it: g-1 primary at 10.10.0.2, g-2 and g-3 replicas. */
struct group {
	struct nodecheck_member m[3];
	char **problems, **warnings;
};

static void group_init(struct group *g)
{
	static const char *const names[] = { "g-1", "g-2", "g-3" }, *const ips[] = { "10.10.0.2", "10.10.0.4", "10.10.0.6" };

	*g = (struct group){ 0 };
	for (int i = 0; i < 3; i++) {
		struct nodecheck_node *n = &g->m[i].node;

		g->m[i].name = names[i];
		g->m[i].private_ipv4 = ips[i];
		g->m[i].checked = true;
		n->step = NODECHECK_DONE;
		n->repl_offset = -1;
		snprintf(n->address, sizeof n->address, "203.0.113.%d", 2 + 2 * i);
		assert_int_equal(nodecheck_parse_info(i == 0 ? primary_info : replica_info, n), 0);
	}
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

static void judge(struct group *g, size_t n, size_t expected)
{
	strv_free(g->problems);
	strv_free(g->warnings);
	g->problems = g->warnings = NULL;
	assert_int_equal(nodecheck_judge(g->m, n, expected, &g->problems, &g->warnings), 0);
}

/* The problems, joined by "|", with no problem "" */
static char *problems(const struct group *g)
{
	return strv_join(g->problems, "|");
}

#define ASSERT_PROBLEMS(g, want)                                   \
	do {                                                       \
		_cleanup_free_ char *_p = problems(g);             \
		assert_string_equal(_p, want);                     \
	} while (0)

static void test_healthy(void **state)
{
	struct group g;

	group_init(&g);
	judge(&g, 3, 3);
	ASSERT_PROBLEMS(&g, "");
	assert_null(g.warnings);
	assert_string_equal(g.m[0].state, "ok");
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
	g.m[0].node.replicas[1].lag = 11;
	judge(&g, 3, 3);
	ASSERT_PROBLEMS(&g, "g-3: 11 s since its last acknowledgement (more than 10 s)");
	assert_string_equal(g.m[2].state, "11 s since its last acknowledgement (more than 10 s)");
	assert_string_equal(g.m[1].state, "ok");
	/* at the threshold: fine */
	g.m[0].node.replicas[1].lag = 10;
	judge(&g, 3, 3);
	ASSERT_PROBLEMS(&g, "");
	strcpy(g.m[0].node.replicas[0].state, "wait_bgsave");
	judge(&g, 3, 3);
	ASSERT_PROBLEMS(&g, "g-2: not in sync yet (wait_bgsave)");
	group_done(&g);
}

static void test_link_and_listing(void **state)
{
	struct group g;

	group_init(&g);
	strcpy(g.m[1].node.link, "down");
	g.m[0].node.n_replicas = 1;	/* g-3 no longer listed */
	judge(&g, 3, 3);
	ASSERT_PROBLEMS(&g, "g-2: its link to its primary (10.10.0.2:6380) is down|"
			    "g-3: the primary g-1 does not list it among its replicas");
	group_done(&g);

	/* a replica of a replica */
	group_init(&g);
	strcpy(g.m[2].node.master_host, "10.10.0.4");
	judge(&g, 3, 3);
	ASSERT_PROBLEMS(&g, "g-3: replicates from 10.10.0.4:6380, not from the primary g-1");
	group_done(&g);
}

static void test_primaries(void **state)
{
	struct group g;

	group_init(&g);
	strcpy(g.m[2].node.role, "master");
	judge(&g, 3, 3);
	ASSERT_PROBLEMS(&g, "2 primaries (g-1, g-3): each takes writes the other does not see");
	group_done(&g);

	group_init(&g);
	g.m[0].node.step = NODECHECK_TCP;
	g.m[0].node.error = strdup("unreachable: public 203.0.113.2:6380: Connection refused");
	judge(&g, 3, 3);
	ASSERT_PROBLEMS(&g, "g-1: unreachable: public 203.0.113.2:6380: Connection refused|"
			    "no primary: no node answered ROLE with master");
	assert_string_equal(g.m[0].state, "unreachable: public 203.0.113.2:6380: Connection refused");
	group_done(&g);
}

static void test_missing_and_unchecked(void **state)
{
	struct group g;

	group_init(&g);
	judge(&g, 2, 3);
	ASSERT_PROBLEMS(&g, "2 of the group's 3 nodes found");
	g.m[1].checked = false;
	g.m[1].why_not = "no record of launch x here";
	judge(&g, 3, 3);
	ASSERT_PROBLEMS(&g, "g-2: not checked: no record of launch x here");
	group_done(&g);
}

static void test_memory(void **state)
{
	struct group g;

	group_init(&g);
	/* 95% under noeviction: a warning */
	g.m[0].node.used_memory = 67108864 / 100 * 95;
	judge(&g, 3, 3);
	ASSERT_PROBLEMS(&g, "");
	assert_non_null(g.warnings);
	assert_string_equal(g.warnings[0], "g-1: memory at 95% of maxmemory (noeviction: writes will be refused when full)");
	/* full: writes refused */
	g.m[0].node.used_memory = 67108864;
	judge(&g, 3, 3);
	ASSERT_PROBLEMS(&g, "g-1: memory full (100% of maxmemory, noeviction): writes are refused");
	/* replication buffers do not count */
	g.m[0].node.not_counted = 67108864 / 2;
	judge(&g, 3, 3);
	ASSERT_PROBLEMS(&g, "");
	/* allkeys-lru evicts: not judged */
	g.m[0].node.not_counted = 0;
	strcpy(g.m[0].node.policy, "allkeys-lru");
	judge(&g, 3, 3);
	ASSERT_PROBLEMS(&g, "");
	assert_null(g.warnings);
	strcpy(g.m[0].node.policy, "volatile-ttl");
	judge(&g, 3, 3);
	ASSERT_PROBLEMS(&g, "g-1: memory full (100% of maxmemory, volatile-ttl): writes are refused");
	group_done(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_primary),
		cmocka_unit_test(test_parse_replica),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_lagging_and_syncing),
		cmocka_unit_test(test_link_and_listing),
		cmocka_unit_test(test_primaries),
		cmocka_unit_test(test_missing_and_unchecked),
		cmocka_unit_test(test_memory),
	};

	return cmocka_run_group_tests_name("nodecheck", tests, NULL, NULL);
}

/* Live health for doagent --status: Redis' INFO, read over the readiness check's
 * authenticated path, its numbers, and a verdict (ok, warning, failing) with the
 * reasons. The thresholds are here and in doagent(8). */
#ifndef DOAGENT_HEALTH_H
#define DOAGENT_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "macro.h"

/* warning: used memory at this share of maxmemory or more, under a policy that
 * refuses writes once memory is full (noeviction, volatile-*), or on a replica */
#define HEALTH_MEMORY_WARN_PERCENT 90
/* warning: this share of maxclients connected or more */
#define HEALTH_CLIENTS_WARN_PERCENT 90
/* warning, on a primary: a replica whose last acknowledgement is older (seconds) */
#define HEALTH_REPLICA_LAG_WARN_S 10
/* warning, on a replica: nothing heard from the primary for longer (seconds; the
 * primary pings every 10 s, and drops the link after 60) */
#define HEALTH_PRIMARY_SILENT_WARN_S 30
/* How long INFO may take, connect to answer. */
#define HEALTH_TIMEOUT_MS 3000
/* The sections asked for. */
#define HEALTH_INFO_SECTIONS "server clients memory persistence stats replication errorstats keyspace"

enum health_verdict { HEALTH_OK, HEALTH_WARNING, HEALTH_FAILING };

/* A replica as its primary sees it (INFO replication's slaveN line). */
struct health_replica {
	char *ip;
	unsigned port;
	char *state;		/* "online", "wait_bgsave", "send_bulk", ... */
	long long offset;
	long long lag;		/* seconds since its last acknowledgement; -1 unknown */
};

/* What health reads from INFO: the fields keep INFO's names. */
struct health_info {
	char *redis_version;
	char *role;			/* "master" or "slave" */
	unsigned long long uptime_in_seconds;
	unsigned long long connected_clients;
	unsigned long long maxclients;	/* 0: INFO did not say */
	unsigned long long used_memory;
	unsigned long long maxmemory;	/* 0: no limit */
	unsigned long long mem_not_counted_for_evict;
	char *maxmemory_policy;
	bool loading;
	char *rdb_last_bgsave_status;	/* "ok" or "err" */
	unsigned long long rdb_changes_since_last_save;
	bool aof_enabled;
	char *aof_last_write_status;
	char *aof_last_bgrewrite_status;
	unsigned long long rejected_connections;
	unsigned long long evicted_keys;
	unsigned long long expired_keys;
	unsigned long long oom_errors;	/* errorstat_OOM: writes refused for memory since start */
	unsigned long long keys;	/* the keyspace, every database */
	unsigned long long keys_with_ttl;
	/* a replica's view of its primary */
	char *master_host;
	unsigned master_port;
	char *master_link_status;	/* "up" or "down" */
	long long master_last_io_seconds_ago;	/* -1 when the link is down */
	long long master_link_down_since_seconds;	/* -1 when up or unknown */
	bool master_sync_in_progress;
	/* a primary's replicas */
	struct health_replica *replicas;
	size_t n_replicas;
	long long min_slaves_good_slaves;	/* -1: INFO did not say (min-replicas-* unset) */
	unsigned long long noreplicas_errors;	/* errorstat_NOREPLICAS: writes refused for want of replicas */
	long long master_repl_offset;	/* the replication stream's offset; -1: INFO did not say */
	/* not from INFO: redis.conf's min-replicas-to-write (health_check sets it) */
	unsigned min_replicas_to_write;
};

/*
 * Parse INFO's text (Redis 7: "# Section" headers, "name:value" lines, CRLF or LF).
 * Fields health does not use are skipped; those it needs must be there, numbers must
 * be numbers and text printable. Returns 0, -EBADMSG with *ret_cause naming the
 * line and the field (never a value), or -ENOMEM. *ret is untouched on failure.
 */
int health_parse_info(const char *text, struct health_info *ret, char **ret_cause);

void health_info_done(struct health_info *h);

/* Used memory as a percentage of maxmemory (0 when there is no limit). */
double health_memory_percent(const struct health_info *h);

/*
 * The verdict on h, and a sentence for each reason that is not ok (a new
 * NULL-terminated list, or NULL for ok):
 * failing: writes are refused for memory (noeviction or volatile-* on a primary,
 *   used memory that counts for eviction over maxmemory); writes are refused for
 *   want of replicas (a primary with fewer good replicas than min-replicas-to-write);
 *   the last RDB save failed; the last append-only write failed (AOF on);
 * warning: memory at HEALTH_MEMORY_WARN_PERCENT or more of maxmemory (noeviction,
 *   volatile-*, or a replica); volatile-* with keys and none with a TTL; loading its
 *   data; the last AOF rewrite failed; clients at HEALTH_CLIENTS_WARN_PERCENT of
 *   maxclients; a replica's link to its primary down, syncing or silent; a primary's
 *   replica not online or lagging.
 * Evictions, expirations and rejected connections are counted, never judged: they
 * count since Redis started, and evicting is what allkeys-* policies are for.
 * Returns 0 or -ENOMEM.
 */
int health_judge(const struct health_info *h, enum health_verdict *ret, char ***ret_reasons);

const char *health_verdict_name(enum health_verdict v);

struct health_report;

/* health_judge on r->info, into r->verdict, r->reasons and r->n_failing (replacing any
 * reasons r had). Returns 0 or -ENOMEM. */
int health_judge_report(struct health_report *r);

/* Where and how to reach Redis, from its redis.conf. */
struct health_conf {
	unsigned port;		/* "port" (Redis' default 6379 when absent); 0: no TCP */
	char *unixsocket;	/* NULL when none */
	char *password;		/* requirepass; NULL when none; erased when done */
	unsigned min_replicas_to_write;	/* 0 when unset */
};

/* The last port, unixsocket, requirepass and min-replicas-to-write of a redis.conf
 * text, as Redis reads them. Returns 0, -EBADMSG (a line that does not split, or a port that is not one;
 * *ret_cause names the line, never its text), or -ENOMEM. */
int health_parse_conf(const char *text, struct health_conf *ret, char **ret_cause);

void health_conf_done(struct health_conf *c);

struct health_report {
	bool checked;		/* false: Redis was not asked; unchecked says why */
	char *unchecked;
	char *address;		/* where Redis was asked: "127.0.0.1:6379" or a socket */
	bool answered;		/* Redis answered INFO: info is filled */
	struct health_info info;
	enum health_verdict verdict;
	char **reasons;		/* NULL-terminated; NULL when ok */
	size_t n_failing;	/* the first n_failing reasons are failing ones, the rest warnings */
};

/*
 * Ask the Redis that <root>/etc/redis/redis.conf describes (root NULL for /) for
 * INFO: over TCP at 127.0.0.1 on its port, which every doagent redis.conf binds, or
 * on its Unix socket when it has no TCP port; with its requirepass. Redis not
 * answering, refusing the password or answering something that is not INFO is a
 * failing verdict; a redis.conf that cannot be read leaves the report unchecked.
 * Returns 0 with *ret filled, or -ENOMEM.
 */
int health_check(const char *root, uint64_t timeout_ms, struct health_report *ret);

/* A report that says why Redis was not asked. Returns 0 or -ENOMEM. */
int health_unchecked(const char *why, struct health_report *ret);

/* Make r failing, with the reason "what: cause" (cause NULL: "what"), after its other
 * failing reasons and before its warnings: Redis did not answer, refused the password
 * or answered no INFO. 0 or -ENOMEM. */
int health_fail(struct health_report *r, const char *what, const char *cause);

/* For doagent --status and doagent-launch status: lines "health:     VERDICT: reason"
 * and the numbers, each line after indent (NULL: none). */
void health_print(const struct health_report *r, const char *indent, FILE *f);

/* The report as JSON (INFO's field names), or NULL on ENOMEM. */
json_object *health_to_json(const struct health_report *r);

void health_report_done(struct health_report *r);

#endif

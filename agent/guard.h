/* The replication guard: before redis-server starts on a node of a replication group,
 * decide whether it may start as it is configured. A primary that comes back without
 * its data must not serve as primary: its replicas would copy the empty dataset. */
#ifndef DOAGENT_GUARD_H
#define DOAGENT_GUARD_H

enum guard_decision {
	GUARD_START,		/* start as configured */
	GUARD_START_AS_REPLICA,	/* add replicaof <ret_ip> <ret_port> first, then start */
	GUARD_REFUSE,		/* do not start yet: Sentinel is to promote a replica first */
};

struct guard_result {
	enum guard_decision decision;
	char ip[64];		/* GUARD_START_AS_REPLICA: the group's primary */
	unsigned port;
	char *cause;		/* malloc'd: why, for the journal */
};

/*
 * Decide from the texts of redis.conf and sentinel.conf (as Redis and Sentinel last
 * rewrote them) and whether Redis' data files are there (data_present):
 * - redis.conf has replicaof: start (a replica never wipes anyone);
 * - its data is there: start;
 * - sentinel.conf knows no replica of the group: start (a new group);
 * - Sentinel's primary is another node: start as its replica;
 * - else (Sentinel still names this node, which has replicas and no data): refuse.
 * Returns 0 with *ret filled (free ret->cause), -EBADMSG when a file cannot be
 * understood (*ret->cause says why), -ENOMEM.
 */
int guard_decide(const char *redis_conf, const char *sentinel_conf, int data_present, struct guard_result *ret);

/* Split one configuration line the way Redis does (sdssplitargs): words, "double
 * quoted" with \n \r \t \b \a \\ \" \xHH escapes, 'single quoted'. Returns a new
 * NULL-terminated list (an empty list for a blank line or a comment), or NULL for
 * unbalanced quotes or ENOMEM (errno says which: EINVAL or ENOMEM). */
char **guard_split_line(const char *line);

/* The value of the first directive name (case-insensitive) in a configuration text,
 * as its words after the name (a new list), or NULL when absent or unparsable. */
char **guard_directive(const char *text, const char *name);

/* Whether Redis' data files are in the data directory redis_conf names (under root,
 * NULL for /): a non-empty RDB file, or an append-only directory with its manifest. */
int guard_data_present(const char *redis_conf, const char *root);

/*
 * doagent --guard: decide for this node (under root, NULL for /) and act: for
 * GUARD_START_AS_REPLICA, add the replicaof line to redis.conf (atomically, with its
 * mode and owner). Returns the exit status (0: start; 1: do not start, or an error),
 * with *ret_cause saying what was decided or what failed.
 */
int guard_run(const char *root, char **ret_cause);

#endif

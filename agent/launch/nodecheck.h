/*
 * doagent-launch status: check a node of a group (or a droplet) from here, as a client
 * reaches it, and judge a group from its nodes.
 *
 * MUST rules:
 * - The password goes only into AUTH, as a RESP bulk string; the buffer that held it is
 *   erased once sent; no message holds it (Redis' error text is never copied).
 * - Only the addresses the API gave, on the port the user data names, are contacted; a
 *   documentation address (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) never is.
 * - Everything read is bounded (NODECHECK_REPLY_MAX) and every step has a deadline.
 */
#ifndef DOAGENT_NODECHECK_H
#define DOAGENT_NODECHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "health.h"

/* Each connect, handshake and request; a node that is down costs two of them (its
 * public address, then its private one). */
#define NODECHECK_TIMEOUT_MS 3000
/* Unhealthy: a replica that has not acknowledged the replication stream for longer, in
 * seconds: past min-replicas-max-lag (10 s in a group's redis.conf) its primary no
 * longer counts it, and it is no standby a failover can trust to be current. */
#define NODECHECK_LAG_MAX_S 10
#define NODECHECK_REPLY_MAX (1024 * 1024)

/* What to check and how to reach it. */
struct nodecheck_target {
	const char *public_ipv4, *private_ipv4;	/* NULL: none */
	unsigned port;
	bool tls;
	const char *ca_pem;		/* the certificate(s) to trust; NULL: not verified */
	const char *password;		/* NULL: unknown, the check stops after the handshake */
	unsigned min_replicas_to_write;	/* what its redis.conf says (0: unset), for health_judge */
	int timeout_ms;
};

enum nodecheck_step { NODECHECK_TCP, NODECHECK_TLS, NODECHECK_AUTH, NODECHECK_PING, NODECHECK_INFO,
		      NODECHECK_DONE };

struct nodecheck_node {
	char address[46];		/* the address checked: "" when none took a connection */
	bool via_private;
	enum nodecheck_step step;	/* the step that failed, or NODECHECK_DONE */
	char *error;			/* why it failed (malloc'd) */
	bool verified;			/* the certificate was verified against ca_pem */
	char fingerprint[96];		/* the certificate it showed: SHA-256, "AB:CD:..." */
	/* INFO (HEALTH_INFO_SECTIONS), judged as doagent --status judges it: answered when
	 * all steps passed; failing, with error as its reason, when a step failed (as
	 * --status says of a Redis that does not answer); unchecked without a password. */
	struct health_report health;
};

/* Check t: a TCP connection to its public address, else to its private one; the TLS
 * handshake (verified when t->ca_pem); AUTH default, PING, and INFO with
 * HEALTH_INFO_SECTIONS, read by health_parse_info and judged by health_judge_report.
 * Fills *ret (nodecheck_node_done it in every case) and returns the step reached:
 * NODECHECK_DONE when all passed. */
enum nodecheck_step nodecheck_run(const struct nodecheck_target *t, struct nodecheck_node *ret);

void nodecheck_node_done(struct nodecheck_node *n);

/* A node of a group as status shows it. */
struct nodecheck_member {
	const char *name;
	const char *private_ipv4;	/* what its primary lists it by (replica-announce-ip) */
	struct nodecheck_node node;
	bool checked;			/* node holds nodecheck_run's result; else why_not */
	const char *why_not;
	long long lag_bytes, lag_s;	/* a replica's, against its primary; -1: unknown */
	char *state;			/* "ok", or what is wrong with it (nodecheck_judge) */
};

/* Judge a group of n members (expected: how many there should be; 0 when unknown):
 * unhealthy when a member was not checked or failed a step, there is no primary or more
 * than one, fewer members than expected, a replica whose link is down, that follows
 * another node than the primary, that the primary does not list online, or that lags
 * more than NODECHECK_LAG_MAX_S, or a node whose health is failing (each failing reason
 * is a problem); each reason of a node's health that is a warning is a warning. Sets
 * each member's lag and state; *ret_problems and *ret_warnings ("NAME: reason",
 * NULL-terminated, or NULL when none). Returns 0 or -ENOMEM. */
int nodecheck_judge(struct nodecheck_member *m, size_t n, size_t expected, char ***ret_problems,
		    char ***ret_warnings);

#endif

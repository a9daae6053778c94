/*
 * A replication group as doagent-launch makes it (create --standby, doagent-userdata(5)
 * "[replication]"): a primary and its standbys, droplets named NAME-1 (the first
 * primary), NAME-2, ..., each tagged GROUP_TAG_PREFIX NAME so that anything finds the
 * group's nodes by tag; one password and one certificate for all of them.
 */
#ifndef DOAGENT_GROUP_H
#define DOAGENT_GROUP_H

#include <stdbool.h>
#include <stddef.h>

#include "doapi.h"
#include "launch.h"

#define GROUP_TAG_PREFIX "doagent-group:"
/* Three Sentinels are the fewest of which a majority survives the loss of one box. */
#define GROUP_STANDBY_MIN 2
#define GROUP_STANDBY_MAX 4

/* Can name be a group's name: Sentinel's master name, the certificate's DNS name, the
 * prefix of its droplets' names? a-z first, then a-z, 0-9 and '-', not ending in '-',
 * at most 60 characters (so that the nodes' names stay within the agent's 64). */
bool group_name_valid(const char *name);

/* GROUP_TAG_PREFIX name, or NAME-i: malloc'd, NULL on ENOMEM. */
char *group_tag(const char *name);
char *group_node_name(const char *name, size_t i);

/* A majority of n Sentinels: n / 2 + 1 (2 of 3, 3 of 4, 3 of 5). */
unsigned group_quorum(size_t n);

/* The group d belongs to (a pointer into its tags), or NULL. */
const char *group_of(const struct doapi_droplet *d);

/* The group's one certificate and its key (tls_make_group_certificate): 0 with *ret_cert
 * and *ret_key (malloc'd; erase the key), or an exit status after reporting why. */
int group_make_pair(const char *name, char **ret_cert, char **ret_key);

/* What create prints of a group. */
struct group_shown {
	const char *name;
	unsigned quorum;
	struct doapi_droplet *const *nodes;	/* the first primary first */
	size_t n_nodes;
	const char *fw_id;		/* NULL: no cloud firewall */
	const char *conn;		/* the first primary's connection string (NULL: none) */
	const char *cert_path;		/* where the group's certificate was written (NULL: not) */
	const char *fingerprint;	/* its SHA-256 fingerprint (NULL: unknown) */
};

/* g as text or, with o->json, one JSON object. */
void group_print(const struct launch_options *o, const struct group_shown *g);

#endif

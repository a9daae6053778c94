/* Redis 7's eviction policies in plain words, one row each, and what the chosen
 * policy means for the data the user data describes. doagent --check,
 * doagent-launch validate, doagent --status and doagent-userdata(5) all say the
 * same sentences: this table is where they live. */
#ifndef DOAGENT_EVICTION_H
#define DOAGENT_EVICTION_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "macro.h"

struct eviction_policy {
	const char *name;	/* as maxmemory-policy spells it */
	const char *full;	/* one sentence: what happens once memory is full */
	const char *choose;	/* when to choose it */
	bool volatile_only;	/* evicts only keys with a TTL */
	bool evicts_any;	/* may evict any key (allkeys-*) */
};

/* Every policy Redis 7 accepts, in config_policies[] order; EVICTION_POLICIES rows. */
#define EVICTION_POLICIES 8
extern const struct eviction_policy eviction_policies[EVICTION_POLICIES];

/* The row for name (exact spelling), or NULL. */
const struct eviction_policy *eviction_find(const char *name);

/*
 * Why c's policy may not do what its data needs, one sentence each, in a new
 * NULL-terminated list (*ret NULL when there is nothing to say):
 * - volatile-*: only keys with a TTL are evicted; doagent cannot see TTLs, so this
 *   is said always;
 * - noeviction with neither appendonly nor snapshots: a cache that refuses writes;
 * - allkeys-* on a store (appendonly, or a [storage] volume): keys meant to be kept
 *   are evicted;
 * - maxmemory = 0: no limit, so no policy ever acts (and nothing else is said).
 * Returns 0 or -ENOMEM.
 */
int eviction_warnings(const struct config *c, char ***ret);

/* "eviction: NAME: SENTENCE" and a "warning: ..." line for each warning, for
 * --check and validate. Returns 0 or -ENOMEM. */
int eviction_print(const struct config *c, FILE *f);

/* {"policy", "when_full", "choose", "warnings": [...]}, or NULL on ENOMEM. */
json_object *eviction_to_json(const struct config *c);

#endif

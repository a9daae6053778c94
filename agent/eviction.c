/* The eviction policies in plain words, and the warnings for the data described. */
#include "autoconfig.h"

#include <errno.h>
#include <string.h>

#include "eviction.h"
#include "strv.h"

#define NOT_WITHOUT_TTL "without TTLs writes fail like noeviction."

const struct eviction_policy eviction_policies[EVICTION_POLICIES] = {
	{
		"volatile-lru",
		"Only keys with a TTL are evicted, the least recently used first; " NOT_WITHOUT_TTL,
		"Cache entries with a TTL beside data without one that must stay; the entries read lately stay longest.",
		true, false,
	},
	{
		"volatile-lfu",
		"Only keys with a TTL are evicted, the least frequently used first; " NOT_WITHOUT_TTL,
		"Cache entries with a TTL beside data without one that must stay; the popular entries stay.",
		true, false,
	},
	{
		"volatile-random",
		"Only keys with a TTL are evicted, chosen at random; " NOT_WITHOUT_TTL,
		"Cache entries with a TTL beside data without one that must stay; any entry is as good as another.",
		true, false,
	},
	{
		"volatile-ttl",
		"Only keys with a TTL are evicted, those nearest to expiring first; " NOT_WITHOUT_TTL,
		"Cache entries whose TTL says how long they are worth keeping, beside data without one that must stay.",
		true, false,
	},
	{
		"allkeys-lru",
		"Any key may be evicted: Redis deletes the least recently used keys to make room, and writes go on.",
		"A cache where a key read lately is likely to be read again: the usual cache, and the default.",
		false, true,
	},
	{
		"allkeys-lfu",
		"Any key may be evicted: Redis deletes the least frequently used keys to make room, and writes go on.",
		"A cache with a lasting set of popular keys that a burst of one-off reads must not push out.",
		false, true,
	},
	{
		"allkeys-random",
		"Any key may be evicted: Redis deletes keys chosen at random to make room, and writes go on.",
		"A cache whose keys are all about as likely to be read.",
		false, true,
	},
	{
		"noeviction",
		"Nothing is evicted: once memory is full, writes that need more memory fail with an OOM error; reads and deletes still work.",
		"A store whose data must not vanish: watch the memory (doagent --status) and resize before it fills.",
		false, false,
	},
};

const struct eviction_policy *eviction_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < EVICTION_POLICIES; i++)
		if (strcmp(eviction_policies[i].name, name) == 0)
			return &eviction_policies[i];
	return NULL;
}

static const struct eviction_policy *policy_of(const struct config *c)
{
	return c->redis_maxmemory_policy >= 0 && c->redis_maxmemory_policy < EVICTION_POLICIES
		       ? eviction_find(config_policies[c->redis_maxmemory_policy])
		       : NULL;
}

int eviction_warnings(const struct config *c, char ***ret)
{
	const struct eviction_policy *p = policy_of(c);
	_cleanup_strv_ char **l = NULL;
	bool appendonly = config_appendonly(c);
	int r = 0;

	if (!p)
		return -EINVAL;
	/* No limit: nothing else to say, the policy never acts. */
	if (c->redis_maxmemory.kind == CONFIG_MEMORY_UNLIMITED) {
		r = strv_extendf(&l,
				 "maxmemory = 0 sets no limit, so %s never acts: Redis grows until the kernel's "
				 "out-of-memory killer ends it",
				 p->name);
		if (r < 0)
			return r;
		*ret = TAKE_PTR(l);
		return 0;
	}
	if (p->volatile_only)
		r = strv_extendf(&l,
				 "%s evicts only keys with a TTL, and doagent cannot see whether yours have one: "
				 "without TTLs, writes fail once memory is full, as with noeviction",
				 p->name);
	if (r >= 0 && !p->volatile_only && !p->evicts_any && !appendonly && !c->redis_snapshots)
		r = strv_extend(&l,
				"noeviction with appendonly = no and snapshots = no is a cache that refuses writes: "
				"once memory is full writes fail, and a restart loses the data anyway; a cache "
				"should evict (allkeys-lru), a store should persist (appendonly = yes)");
	if (r >= 0 && p->evicts_any && (appendonly || c->storage_volume))
		r = strv_extendf(&l,
				 "%s on a store (%s): once memory is full Redis deletes keys you meant to keep, "
				 "and the deletion is saved like any write; a store should not evict: choose "
				 "noeviction and watch the memory, or a volatile-* policy with a TTL on what may go",
				 p->name,
				 appendonly && c->storage_volume ? "appendonly and a [storage] volume"
				 : appendonly			 ? "appendonly = yes"
								 : "a [storage] volume");
	if (r < 0)
		return r;
	*ret = TAKE_PTR(l);
	return 0;
}

int eviction_print(const struct config *c, FILE *f)
{
	const struct eviction_policy *p = policy_of(c);
	_cleanup_strv_ char **warnings = NULL;
	int r;

	if (!p)
		return -EINVAL;
	r = eviction_warnings(c, &warnings);
	if (r < 0)
		return r;
	fprintf(f, "eviction: %s: %s\n", p->name, p->full);
	for (char **w = warnings; w && *w; w++)
		fprintf(f, "warning: %s\n", *w);
	return 0;
}

json_object *eviction_to_json(const struct config *c)
{
	const struct eviction_policy *p = policy_of(c);
	_cleanup_strv_ char **warnings = NULL;
	json_object *o, *a;

	if (!p || eviction_warnings(c, &warnings) < 0)
		return NULL;
	o = json_object_new_object();
	a = json_object_new_array();
	if (!o || !a) {
		json_object_put(o);
		json_object_put(a);
		return NULL;
	}
	json_object_object_add(o, "policy", json_object_new_string(p->name));
	json_object_object_add(o, "when_full", json_object_new_string(p->full));
	json_object_object_add(o, "choose", json_object_new_string(p->choose));
	for (char **w = warnings; w && *w; w++)
		json_object_array_add(a, json_object_new_string(*w));
	json_object_object_add(o, "warnings", a);
	return o;
}

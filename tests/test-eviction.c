/* The eviction policies in plain words: the table against the key table's choices,
 * the sentences, and the warnings for each kind of data. */
#include "autoconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "eviction.h"
#include "macro.h"
#include "strv.h"

static void setkey(struct config *c, const char *section, const char *name, const char *value)
{
	const struct config_key *k = config_find(section, name);
	_cleanup_free_ char *cause = NULL;

	assert_non_null(k);
	assert_int_equal(config_set(c, k, value, &cause), 0);
	c->line[k - config_keys] = 1;	/* as if the user data said it */
}

/* A configuration from "section.key=value" pairs over the defaults. */
static void make(struct config *c, const char *const *pairs)
{
	assert_int_equal(config_init(c), 0);
	for (; pairs && *pairs; pairs++) {
		char buf[128], *dot, *eq;

		assert_true(strlen(*pairs) < sizeof(buf));
		strcpy(buf, *pairs);
		dot = strchr(buf, '.');
		eq = strchr(buf, '=');
		assert_non_null(dot);
		assert_non_null(eq);
		*dot = *eq = '\0';
		setkey(c, buf, dot + 1, eq + 1);
	}
}

static char **warnings(const char *const *pairs)
{
	struct config c;
	char **l = NULL;

	make(&c, pairs);
	assert_int_equal(eviction_warnings(&c, &l), 0);
	config_done(&c);
	return l;
}

static bool any_has(char **l, const char *s)
{
	for (; l && *l; l++)
		if (strstr(*l, s))
			return true;
	return false;
}

/* The same 8 policies as the user data accepts, in the same order. */
static void test_table_matches_config(void **state)
{
	size_t i;

	for (i = 0; config_policies[i]; i++) {
		assert_true(i < EVICTION_POLICIES);
		assert_string_equal(eviction_policies[i].name, config_policies[i]);
	}
	assert_int_equal(i, EVICTION_POLICIES);
	assert_int_equal(i, 8);
}

static void test_sentences(void **state)
{
	size_t i;

	for (i = 0; i < EVICTION_POLICIES; i++) {
		const struct eviction_policy *p = &eviction_policies[i];
		bool is_volatile = strncmp(p->name, "volatile-", 9) == 0;
		bool is_allkeys = strncmp(p->name, "allkeys-", 8) == 0;

		assert_ptr_equal(eviction_find(p->name), p);
		/* One sentence each: a capital, a full stop, no line break. */
		assert_true(p->full[0] >= 'A' && p->full[0] <= 'Z');
		assert_int_equal(p->full[strlen(p->full) - 1], '.');
		assert_null(strchr(p->full, '\n'));
		assert_int_equal(p->choose[strlen(p->choose) - 1], '.');
		assert_int_equal(p->volatile_only, is_volatile);
		assert_int_equal(p->evicts_any, is_allkeys);
		if (is_volatile) {
			assert_non_null(strstr(p->full, "Only keys with a TTL are evicted"));
			assert_non_null(strstr(p->full, "without TTLs writes fail like noeviction"));
		}
		if (is_allkeys)
			assert_non_null(strstr(p->full, "Any key may be evicted"));
	}
	assert_non_null(strstr(eviction_find("noeviction")->full, "OOM"));
	assert_non_null(strstr(eviction_find("allkeys-lru")->full, "least recently used"));
	assert_non_null(strstr(eviction_find("allkeys-lfu")->full, "least frequently used"));
	assert_non_null(strstr(eviction_find("allkeys-random")->full, "random"));
	assert_non_null(strstr(eviction_find("volatile-ttl")->full, "nearest to expiring"));
	assert_null(eviction_find("allkeys-ttl"));
	assert_null(eviction_find("NOEVICTION"));
	assert_null(eviction_find(NULL));
}

static void test_default_says_nothing(void **state)
{
	_cleanup_strv_ char **l = warnings(NULL);

	/* allkeys-lru, 75%, snapshots, no appendonly: a cache, as it should be. */
	assert_null(l);
}

static void test_volatile_always_warns(void **state)
{
	size_t i;

	for (i = 0; i < 4; i++) {
		char pair[64];
		const char *pairs[] = { pair, NULL };
		_cleanup_strv_ char **l = NULL;

		snprintf(pair, sizeof(pair), "redis.maxmemory-policy=%s", config_policies[i]);
		l = warnings(pairs);
		assert_int_equal(strv_length(l), 1);
		assert_non_null(strstr(l[0], config_policies[i]));
		assert_non_null(strstr(l[0], "only keys with a TTL"));
		assert_non_null(strstr(l[0], "cannot see"));
		assert_non_null(strstr(l[0], "as with noeviction"));
	}
}

static void test_noeviction_without_persistence(void **state)
{
	const char *cache[] = { "redis.maxmemory-policy=noeviction", "redis.snapshots=no", NULL };
	const char *snap[] = { "redis.maxmemory-policy=noeviction", NULL };
	const char *aof[] = { "redis.maxmemory-policy=noeviction", "redis.snapshots=no", "redis.appendonly=yes", NULL };
	_cleanup_strv_ char **l1 = warnings(cache), **l2 = warnings(snap), **l3 = warnings(aof);

	assert_int_equal(strv_length(l1), 1);
	assert_non_null(strstr(l1[0], "a cache that refuses writes"));
	assert_null(l2);
	assert_null(l3);
}

static void test_allkeys_on_a_store(void **state)
{
	const char *aof[] = { "redis.appendonly=yes", NULL };
	const char *vol[] = { "storage.volume=redis-data", "redis.maxmemory-policy=allkeys-lfu", NULL };
	const char *vol_no_aof[] = { "storage.volume=redis-data", "redis.appendonly=no", NULL };
	const char *both[] = { "storage.volume=redis-data", "redis.maxmemory-policy=allkeys-random", NULL };
	const char *store_ok[] = { "storage.volume=redis-data", "redis.maxmemory-policy=noeviction", NULL };
	_cleanup_strv_ char **l1 = warnings(aof), **l2 = warnings(vol), **l3 = warnings(vol_no_aof),
			    **l4 = warnings(both), **l5 = warnings(store_ok);

	assert_int_equal(strv_length(l1), 1);
	assert_non_null(strstr(l1[0], "allkeys-lru on a store (appendonly = yes)"));
	assert_non_null(strstr(l1[0], "a store should not evict"));
	/* A volume turns appendonly on: both are named. */
	assert_int_equal(strv_length(l2), 1);
	assert_non_null(strstr(l2[0], "allkeys-lfu on a store (appendonly and a [storage] volume)"));
	assert_int_equal(strv_length(l3), 1);
	assert_non_null(strstr(l3[0], "(a [storage] volume)"));
	assert_true(any_has(l4, "allkeys-random on a store"));
	assert_null(l5);
}

static void test_unlimited(void **state)
{
	const char *pairs[] = { "redis.maxmemory=0", "redis.maxmemory-policy=volatile-lru", "redis.appendonly=yes", NULL };
	_cleanup_strv_ char **l = warnings(pairs);

	assert_int_equal(strv_length(l), 1);
	assert_non_null(strstr(l[0], "maxmemory = 0 sets no limit, so volatile-lru never acts"));
}

static void test_print_and_json(void **state)
{
	const char *pairs[] = { "redis.maxmemory-policy=noeviction", "redis.snapshots=no", NULL };
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ json_object *j = NULL;
	json_object *v;
	struct config c;
	size_t len = 0;
	FILE *f;

	make(&c, pairs);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(eviction_print(&c, f), 0);
	fclose(f);
	assert_string_equal(text, "eviction: noeviction: Nothing is evicted: once memory is full, writes that need "
				  "more memory fail with an OOM error; reads and deletes still work.\n"
				  "warning: noeviction with appendonly = no and snapshots = no is a cache that "
				  "refuses writes: once memory is full writes fail, and a restart loses the data "
				  "anyway; a cache should evict (allkeys-lru), a store should persist (appendonly = yes)\n");
	j = eviction_to_json(&c);
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "policy", &v));
	assert_string_equal(json_object_get_string(v), "noeviction");
	assert_true(json_object_object_get_ex(j, "when_full", &v));
	assert_string_equal(json_object_get_string(v), eviction_find("noeviction")->full);
	assert_true(json_object_object_get_ex(j, "choose", &v));
	assert_string_equal(json_object_get_string(v), eviction_find("noeviction")->choose);
	assert_true(json_object_object_get_ex(j, "warnings", &v));
	assert_int_equal(json_object_array_length(v), 1);
	config_done(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_matches_config),
		cmocka_unit_test(test_sentences),
		cmocka_unit_test(test_default_says_nothing),
		cmocka_unit_test(test_volatile_always_warns),
		cmocka_unit_test(test_noeviction_without_persistence),
		cmocka_unit_test(test_allkeys_on_a_store),
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_print_and_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

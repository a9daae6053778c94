/* The key table: every type's parser, bounds, suggestions and cross-key checks. */
#include "autoconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "macro.h"

static int set(struct config *c, const char *section, const char *name, const char *value)
{
	const struct config_key *k = config_find(section, name);
	_cleanup_free_ char *cause = NULL;
	int r;

	assert_non_null(k);
	r = config_set(c, k, value, &cause);
	if (r < 0) {
		assert_non_null(cause);
		/* No message quotes a secret or a whole value. */
		if (k->flags & CONFIG_SENSITIVE)
			assert_null(strstr(cause, value));
	}
	return r;
}

static void test_defaults(void **state)
{
	struct config c;

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(c.redis_port, 6379);
	assert_null(c.redis_password);
	assert_int_equal(c.redis_maxmemory.kind, CONFIG_MEMORY_PERCENT);
	assert_int_equal(c.redis_maxmemory.value, 75);
	assert_string_equal(config_policies[c.redis_maxmemory_policy], "allkeys-lru");
	assert_int_equal(c.redis_bind, CONFIG_SCOPE_PRIVATE);
	assert_false(c.redis_appendonly);
	assert_true(c.redis_snapshots);
	assert_true(c.tls_enabled);
	assert_int_equal(c.tls_port, 6380);
	assert_null(c.tls_certificate);
	assert_int_equal(c.tls_plaintext, CONFIG_SCOPE_LOOPBACK);
	assert_int_equal(c.firewall_backend, CONFIG_FW_AUTO);
	assert_true(c.firewall_allow.vpc);
	assert_int_equal(c.firewall_allow.n, 0);
	assert_false(c.firewall_ssh_allow.vpc);
	assert_int_equal(c.firewall_ssh_allow.n, 2);
	assert_int_equal(c.firewall_ssh_port, 22);
	assert_int_equal(c.firewall_metadata, CONFIG_METADATA_OPEN);
	assert_null(c.storage_volume);
	assert_int_equal(c.storage_filesystem, CONFIG_FS_EXT4);
	config_done(&c);
}

static void test_table_is_complete(void **state)
{
	size_t i;

	for (i = 0; i < _CONFIG_KEY_MAX; i++) {
		const struct config_key *k = &config_keys[i];
		_cleanup_free_ char *syn = config_key_synopsis(k);

		assert_non_null(k->section);
		assert_non_null(k->name);
		assert_non_null(k->summary);
		assert_ptr_equal(config_find(k->section, k->name), k);
		assert_non_null(syn);
		if (k->type == CONFIG_ENUM)
			assert_non_null(k->choices);
	}
}

static void test_no_dangerous_keys(void **state)
{
	static const char *const forbidden[] = {
		"dir", "dbfilename", "include", "loadmodule", "rename-command", "replicaof", "slaveof",
		"tls-cert-file", "tls-key-file", "tls-ca-cert-file", "requirepass", "logfile", "pidfile",
		"aclfile", "unixsocket", NULL,
	};
	static const char *const sections[] = { "redis", "tls", "firewall", NULL };
	size_t i, j;

	for (i = 0; forbidden[i]; i++)
		for (j = 0; sections[j]; j++)
			assert_null(config_find(sections[j], forbidden[i]));
}

static void test_port(void **state)
{
	struct config c;

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(set(&c, "redis", "port", "1"), 0);
	assert_int_equal(c.redis_port, 1);
	assert_int_equal(set(&c, "redis", "port", "65535"), 0);
	assert_int_equal(c.redis_port, 65535);
	assert_int_equal(set(&c, "redis", "port", "0"), -ERANGE);
	assert_int_equal(set(&c, "redis", "port", "65536"), -ERANGE);
	assert_int_equal(set(&c, "redis", "port", "99999999999999999999999"), -ERANGE);
	assert_int_equal(set(&c, "redis", "port", "6379x"), -EINVAL);
	assert_int_equal(set(&c, "redis", "port", "+6379"), -EINVAL);
	assert_int_equal(set(&c, "redis", "port", "-1"), -EINVAL);
	assert_int_equal(set(&c, "redis", "port", "06379"), -EINVAL);
	assert_int_equal(set(&c, "redis", "port", ""), -EINVAL);
	assert_int_equal(set(&c, "redis", "port", "6 379"), -EINVAL);
	assert_int_equal(c.redis_port, 65535);	/* a refused value changes nothing */
	config_done(&c);
}

static void test_bool(void **state)
{
	static const char *const yes[] = { "yes", "true", "on", "YES", "True", NULL };
	static const char *const no[] = { "no", "false", "off", "NO", "Off", NULL };
	struct config c;
	size_t i;

	assert_int_equal(config_init(&c), 0);
	for (i = 0; yes[i]; i++) {
		c.redis_appendonly = false;
		assert_int_equal(set(&c, "redis", "appendonly", yes[i]), 0);
		assert_true(c.redis_appendonly);
	}
	for (i = 0; no[i]; i++) {
		c.redis_appendonly = true;
		assert_int_equal(set(&c, "redis", "appendonly", no[i]), 0);
		assert_false(c.redis_appendonly);
	}
	assert_int_equal(set(&c, "redis", "appendonly", "1"), -EINVAL);
	assert_int_equal(set(&c, "redis", "appendonly", "yess"), -EINVAL);
	assert_int_equal(set(&c, "redis", "appendonly", ""), -EINVAL);
	config_done(&c);
}

static void test_enum(void **state)
{
	struct config c;
	size_t i;

	assert_int_equal(config_init(&c), 0);
	for (i = 0; config_policies[i]; i++) {
		assert_int_equal(set(&c, "redis", "maxmemory-policy", config_policies[i]), 0);
		assert_int_equal(c.redis_maxmemory_policy, (int)i);
	}
	assert_int_equal(i, 8);
	assert_int_equal(set(&c, "redis", "maxmemory-policy", "allkeys-lru "), -EINVAL);
	assert_int_equal(set(&c, "redis", "maxmemory-policy", "lru"), -EINVAL);
	assert_int_equal(set(&c, "redis", "maxmemory-policy", "volatile-lru\ndir /root"), -EINVAL);
	assert_int_equal(set(&c, "redis", "bind", "public"), 0);
	assert_int_equal(c.redis_bind, CONFIG_SCOPE_PUBLIC);
	assert_int_equal(set(&c, "redis", "bind", "0.0.0.0"), -EINVAL);
	assert_int_equal(set(&c, "firewall", "metadata", "root-only"), 0);
	assert_int_equal(c.firewall_metadata, CONFIG_METADATA_ROOT_ONLY);
	assert_int_equal(set(&c, "firewall", "backend", "iptables"), -EINVAL);
	/* The message lists what is allowed. */
	{
		_cleanup_free_ char *cause = NULL;

		assert_int_equal(config_set(&c, config_find("firewall", "backend"), "iptables", &cause), -EINVAL);
		assert_string_equal(cause, "not one of auto, nftables, ufw, none");
	}
	config_done(&c);
}

static void test_memory(void **state)
{
	static const struct {
		const char *text;
		int r;
		int kind;
		unsigned long long value;
	} cases[] = {
		{ "75%", 0, CONFIG_MEMORY_PERCENT, 75 },
		{ "1%", 0, CONFIG_MEMORY_PERCENT, 1 },
		{ "100%", 0, CONFIG_MEMORY_PERCENT, 100 },
		{ "0", 0, CONFIG_MEMORY_UNLIMITED, 0 },
		{ "0mb", 0, CONFIG_MEMORY_UNLIMITED, 0 },
		{ "512mb", 0, CONFIG_MEMORY_BYTES, 512ULL << 20 },
		{ "2gb", 0, CONFIG_MEMORY_BYTES, 2ULL << 30 },
		{ "2GB", 0, CONFIG_MEMORY_BYTES, 2ULL << 30 },
		{ "1024kb", 0, CONFIG_MEMORY_BYTES, 1ULL << 20 },
		{ "1048576", 0, CONFIG_MEMORY_BYTES, 1ULL << 20 },
		{ "64tb", 0, CONFIG_MEMORY_BYTES, 64ULL << 40 },
		{ "0%", -ERANGE, 0, 0 },
		{ "101%", -ERANGE, 0, 0 },
		{ "1kb", -ERANGE, 0, 0 },
		{ "1048575", -ERANGE, 0, 0 },
		{ "65tb", -ERANGE, 0, 0 },
		{ "99999999999999999999tb", -EINVAL, 0, 0 },
		{ "2 gb", -EINVAL, 0, 0 },
		{ "2g", -EINVAL, 0, 0 },
		{ "gb", -EINVAL, 0, 0 },
		{ "-1", -EINVAL, 0, 0 },
		{ "", -EINVAL, 0, 0 },
		{ "50%%", -EINVAL, 0, 0 },
	};
	struct config c;
	size_t i;

	assert_int_equal(config_init(&c), 0);
	for (i = 0; i < ELEMENTSOF(cases); i++) {
		int r = set(&c, "redis", "maxmemory", cases[i].text);

		if (r != cases[i].r)
			fail_msg("maxmemory '%s': %d, expected %d", cases[i].text, r, cases[i].r);
		if (r == 0) {
			assert_int_equal(c.redis_maxmemory.kind, cases[i].kind);
			assert_int_equal(c.redis_maxmemory.value, cases[i].value);
		}
	}
	config_done(&c);
}

static void test_secret(void **state)
{
	struct config c;

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(set(&c, "redis", "password", "correct horse battery staple"), 0);
	assert_string_equal(c.redis_password, "correct horse battery staple");
	assert_int_equal(set(&c, "redis", "password", "\"'\\$`;#{}|&<>!*?~ [x]%=:@/"), 0);
	assert_string_equal(c.redis_password, "\"'\\$`;#{}|&<>!*?~ [x]%=:@/");
	assert_int_equal(set(&c, "redis", "password", "short-password!"), -ERANGE);
	assert_int_equal(set(&c, "redis", "password", "abcdefghijklmnop\ndir /root/.ssh"), -EINVAL);
	assert_int_equal(set(&c, "redis", "password", "abcdefghijklmnop\rx"), -EINVAL);
	assert_int_equal(set(&c, "redis", "password", "abcdefghijklmnop\tx"), -EINVAL);
	assert_int_equal(set(&c, "redis", "password", "abcdefghijklmnop\x7f"), -EINVAL);
	assert_int_equal(set(&c, "redis", "password", "abcdefghijklmnop\xc3\xa9"), -EINVAL);
	/* 129 characters */
	assert_int_equal(set(&c, "redis", "password",
			     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
			 -ERANGE);
	assert_string_equal(c.redis_password, "\"'\\$`;#{}|&<>!*?~ [x]%=:@/");
	config_done(&c);
	assert_null(c.redis_password);
}

static void test_addrlist(void **state)
{
	struct config c;
	char text[NETADDR_STRLEN];
	_cleanup_free_ char *cause = NULL;

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(set(&c, "firewall", "allow", "vpc, 203.0.113.7/32,198.51.100.0/24 , 2001:db8::/32, 192.0.2.1"), 0);
	assert_true(c.firewall_allow.vpc);
	assert_int_equal(c.firewall_allow.n, 4);
	netaddr_format(&c.firewall_allow.items[0].addr, text);
	assert_string_equal(text, "203.0.113.7/32");
	netaddr_format(&c.firewall_allow.items[2].addr, text);
	assert_string_equal(text, "2001:db8::/32");
	netaddr_format(&c.firewall_allow.items[3].addr, text);
	assert_string_equal(text, "192.0.2.1/32");
	assert_false(c.firewall_allow.items[0].normalized);

	/* Host bits under the prefix are cleared, and the list says so. */
	assert_int_equal(set(&c, "firewall", "allow", "10.1.2.3/8, 2001:db8::1/64"), 0);
	assert_false(c.firewall_allow.vpc);
	netaddr_format(&c.firewall_allow.items[0].addr, text);
	assert_string_equal(text, "10.0.0.0/8");
	assert_true(c.firewall_allow.items[0].normalized);
	netaddr_format(&c.firewall_allow.items[1].addr, text);
	assert_string_equal(text, "2001:db8::/64");

	/* Duplicates collapse; an empty list allows nobody. */
	assert_int_equal(set(&c, "firewall", "allow", "192.0.2.0/24, 192.0.2.0/24"), 0);
	assert_int_equal(c.firewall_allow.n, 1);
	assert_false(c.firewall_allow.items[0].normalized);
	/* ... and a duplicate that needed normalizing still says so. */
	assert_int_equal(set(&c, "firewall", "allow", "192.0.2.0/24, 192.0.2.9/24"), 0);
	assert_int_equal(c.firewall_allow.n, 1);
	assert_true(c.firewall_allow.items[0].normalized);
	assert_int_equal(set(&c, "firewall", "allow", ""), 0);
	assert_int_equal(c.firewall_allow.n, 0);
	assert_false(c.firewall_allow.vpc);

	assert_int_equal(set(&c, "firewall", "allow", "10.0.0.0/33"), -ERANGE);
	assert_int_equal(set(&c, "firewall", "allow", "2001:db8::/129"), -ERANGE);
	assert_int_equal(set(&c, "firewall", "allow", "redis.example.com"), -EINVAL);
	assert_int_equal(set(&c, "firewall", "allow", "10.0.0.0/8,,10.1.0.0/16"), -EINVAL);
	assert_int_equal(set(&c, "firewall", "allow", "10.0.0.0/"), -EINVAL);
	assert_int_equal(set(&c, "firewall", "allow", "10.0.0.0/-1"), -EINVAL);
	assert_int_equal(set(&c, "firewall", "allow", "10.0.0.256"), -EINVAL);
	assert_int_equal(set(&c, "firewall", "allow", "010.0.0.1"), -EINVAL);
	assert_int_equal(set(&c, "firewall", "allow", "VPC"), -EINVAL);

	/* The message names the entry at fault. */
	assert_int_equal(config_set(&c, config_find("firewall", "allow"), "vpc, db.example.com", &cause), -EINVAL);
	assert_non_null(strstr(cause, "'db.example.com'"));
	config_done(&c);
}

static void test_pem(void **state)
{
	static const char cert[] =
		"-----BEGIN CERTIFICATE-----\n"
		"MIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGVGb3JUZXN0aW5nMAoGCCqGSM49BAMC\n"
		"AbCd==\n"
		"-----END CERTIFICATE-----";
	static const char key[] =
		"-----BEGIN PRIVATE KEY-----\n"
		"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n"
		"-----END PRIVATE KEY-----";
	struct config c;

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(set(&c, "tls", "certificate", cert), 0);
	assert_string_equal(c.tls_certificate, cert);
	assert_int_equal(set(&c, "tls", "certificate", "self-signed"), 0);
	assert_null(c.tls_certificate);
	assert_int_equal(set(&c, "tls", "key", key), 0);
	assert_string_equal(c.tls_key, key);
	assert_int_equal(set(&c, "tls", "certificate", "/etc/ssl/cert.pem"), -EINVAL);
	assert_int_equal(set(&c, "tls", "certificate", "-----BEGIN CERTIFICATE-----\nab$cd\n-----END CERTIFICATE-----"), -EINVAL);
	assert_int_equal(set(&c, "tls", "certificate", "-----BEGIN CERTIFICATE-----\nabcd\n"), -EINVAL);
	assert_int_equal(set(&c, "tls", "key", "-----BEGIN CERTIFICATE-----\nabcd\n-----END CERTIFICATE-----"), -EINVAL);
	assert_int_equal(set(&c, "tls", "key", "-----BEGIN PRIVATE KEY-----\nabcd\n-----END PRIVATE KEY-----\ntrailing"), -EINVAL);
	config_done(&c);
}

static void test_suggestions(void **state)
{
	_cleanup_free_ char *a = config_suggest_key("redis", "maxmemory-polcy");
	_cleanup_free_ char *b = config_suggest_key("redis", "enabled");
	_cleanup_free_ char *d = config_suggest_key("redis", "prot");
	_cleanup_free_ char *e = config_suggest_key("redis", "something-else-entirely");
	_cleanup_free_ char *f = config_suggest_key("firewall", "ssh_allow");
	_cleanup_free_ char *g = config_suggest_key("redis", "requirepass");
	_cleanup_free_ char *h = config_suggest_key("redis", "tls-port");

	assert_string_equal(a, "maxmemory-policy");
	assert_string_equal(b, "[tls] enabled");
	assert_string_equal(d, "port");
	assert_null(e);
	assert_string_equal(f, "ssh-allow");
	assert_string_equal(g, "password");
	assert_string_equal(h, "[tls] port");
	assert_string_equal(config_suggest_section("redsi"), "redis");
	assert_string_equal(config_suggest_section("firewal"), "firewall");
	assert_null(config_suggest_section("database"));
}

struct violations {
	unsigned n;
	enum config_key_id ids[8];
};

static void collect(enum config_key_id id, const char *message, void *userdata)
{
	struct violations *v = userdata;

	assert_non_null(message);
	v->ids[v->n++] = id;
}

static void test_check(void **state)
{
	struct config c;
	struct violations v = { 0 };

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_check(&c, collect, &v), 0);

	c.tls_port = c.redis_port;
	c.line[CONFIG_TLS_PORT] = 7;
	assert_int_equal(config_check(&c, collect, &v), 1);
	assert_int_equal(v.ids[0], CONFIG_TLS_PORT);
	c.tls_enabled = false;	/* no TLS: no clash */
	v.n = 0;
	assert_int_equal(config_check(&c, collect, &v), 0);

	c.firewall_ssh_port = c.redis_port;
	v.n = 0;
	assert_int_equal(config_check(&c, collect, &v), 1);
	assert_int_equal(v.ids[0], CONFIG_REDIS_PORT);
	c.firewall_ssh_port = 22;

	c.tls_enabled = true;
	c.tls_port = 6380;
	c.tls_plaintext = CONFIG_SCOPE_PUBLIC;	/* wider than bind = private */
	v.n = 0;
	assert_int_equal(config_check(&c, collect, &v), 1);
	assert_int_equal(v.ids[0], CONFIG_REDIS_BIND);
	c.line[CONFIG_TLS_PLAINTEXT] = 9;
	v.n = 0;
	assert_int_equal(config_check(&c, collect, &v), 1);
	assert_int_equal(v.ids[0], CONFIG_TLS_PLAINTEXT);
	c.tls_plaintext = CONFIG_SCOPE_LOOPBACK;

	c.tls_key = strdup("-----BEGIN PRIVATE KEY-----\nabcd\n-----END PRIVATE KEY-----");
	v.n = 0;
	assert_int_equal(config_check(&c, collect, &v), 1);
	assert_int_equal(v.ids[0], CONFIG_TLS_KEY);
	config_done(&c);
}

/* [storage] volume: DigitalOcean's rule for volume names, and nothing else. */
static void test_volume_name(void **state)
{
	static const char *const good[] = {
		"a", "redis-1-data", "x-", "vol--2", "abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz0",
	};
	static const char *const bad[] = {
		"", "1-data", "-data", "Redis", "redis_1", "redis.1", "redis 1", "redis/1", "../etc", "redis\n1",
		"r\xc3\xa9" "dis", "abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz01",
	};
	struct config c;
	size_t i;

	assert_int_equal(config_init(&c), 0);
	for (i = 0; i < ELEMENTSOF(good); i++) {
		assert_int_equal(set(&c, "storage", "volume", good[i]), 0);
		assert_string_equal(c.storage_volume, good[i]);
	}
	for (i = 0; i < ELEMENTSOF(bad); i++) {
		const struct config_key *k = config_find("storage", "volume");
		_cleanup_free_ char *cause = NULL;

		assert_int_not_equal(config_set(&c, k, bad[i], &cause), 0);
		assert_non_null(cause);
		/* The last good value stays. */
		assert_string_equal(c.storage_volume, good[ELEMENTSOF(good) - 1]);
	}
	assert_int_equal(set(&c, "storage", "filesystem", "xfs"), 0);
	assert_int_equal(c.storage_filesystem, CONFIG_FS_XFS);
	assert_int_equal(set(&c, "storage", "filesystem", "btrfs"), -EINVAL);
	assert_int_equal(set(&c, "storage", "filesystem", "XFS"), -EINVAL);
	config_done(&c);
}

/* appendonly: yes by default with a volume; what the user data says wins. */
static void test_appendonly_default(void **state)
{
	struct config c;

	assert_int_equal(config_init(&c), 0);
	assert_false(config_appendonly(&c));
	assert_int_equal(set(&c, "storage", "volume", "redis-1-data"), 0);
	assert_true(config_appendonly(&c));
	assert_int_equal(set(&c, "redis", "appendonly", "no"), 0);
	c.line[CONFIG_REDIS_APPENDONLY] = 3;
	assert_false(config_appendonly(&c));
	config_done(&c);

	assert_int_equal(config_init(&c), 0);
	assert_int_equal(set(&c, "redis", "appendonly", "yes"), 0);
	c.line[CONFIG_REDIS_APPENDONLY] = 3;
	assert_true(config_appendonly(&c));
	config_done(&c);
}

/* [tls] engine = redis: Redis' plaintext port is where its TLS port is, or not on TCP. */
static void test_check_engine(void **state)
{
	struct config c;
	struct violations v = { 0 };
	const struct config_key *engine = config_find("tls", "engine");
	_cleanup_free_ char *cause = NULL;
	static const struct {
		int bind, plaintext;
		unsigned violations;
	} cases[] = {
		{ CONFIG_SCOPE_PRIVATE, CONFIG_SCOPE_LOOPBACK, 0 },	/* no plaintext TCP port */
		{ CONFIG_SCOPE_PRIVATE, CONFIG_SCOPE_PRIVATE, 0 },	/* both on the same addresses */
		{ CONFIG_SCOPE_LOOPBACK, CONFIG_SCOPE_LOOPBACK, 0 },
		{ CONFIG_SCOPE_ALL, CONFIG_SCOPE_ALL, 0 },
		{ CONFIG_SCOPE_PUBLIC, CONFIG_SCOPE_PRIVATE, 1 },	/* Redis cannot do that */
		{ CONFIG_SCOPE_ALL, CONFIG_SCOPE_PUBLIC, 1 },
	};
	size_t i;

	assert_non_null(engine);
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(c.tls_engine, CONFIG_TLS_STUNNEL);
	assert_int_equal(config_set(&c, engine, "redis", &cause), 0);
	assert_int_equal(c.tls_engine, CONFIG_TLS_REDIS);
	assert_int_equal(config_set(&c, engine, "Redis", &cause), -EINVAL);
	assert_string_equal(cause, "not one of stunnel, redis");
	assert_int_equal(c.tls_engine, CONFIG_TLS_REDIS);
	for (i = 0; i < ELEMENTSOF(cases); i++) {
		c.redis_bind = cases[i].bind;
		c.tls_plaintext = cases[i].plaintext;
		c.line[CONFIG_TLS_PLAINTEXT] = 0;
		v.n = 0;
		assert_int_equal(config_check(&c, collect, &v), cases[i].violations);
		if (cases[i].violations)
			assert_int_equal(v.ids[0], CONFIG_TLS_ENGINE);
		c.line[CONFIG_TLS_PLAINTEXT] = 4;
		v.n = 0;
		assert_int_equal(config_check(&c, collect, &v), cases[i].violations);
		if (cases[i].violations)
			assert_int_equal(v.ids[0], CONFIG_TLS_PLAINTEXT);
		/* stunnel, or no TLS at all, serves any of these. */
		c.tls_engine = CONFIG_TLS_STUNNEL;
		v.n = 0;
		assert_int_equal(config_check(&c, collect, &v), 0);
		c.tls_engine = CONFIG_TLS_REDIS;
		c.tls_enabled = false;
		v.n = 0;
		assert_int_equal(config_check(&c, collect, &v), 0);
		c.tls_enabled = true;
	}
	config_done(&c);
}

static void test_synopsis(void **state)
{
	_cleanup_free_ char *port = config_key_synopsis(config_find("redis", "port"));
	_cleanup_free_ char *policy = config_key_synopsis(config_find("redis", "maxmemory-policy"));
	_cleanup_free_ char *password = config_key_synopsis(config_find("redis", "password"));

	assert_string_equal(port, "port, 1 to 65535; default 6379");
	assert_string_equal(policy, "volatile-lru | volatile-lfu | volatile-random | volatile-ttl | allkeys-lru | "
				    "allkeys-lfu | allkeys-random | noeviction; default allkeys-lru");
	assert_string_equal(password, "printable ASCII, 16 to 128 characters; default none");
}

static void test_synopsis_storage(void **state)
{
	_cleanup_free_ char *volume = config_key_synopsis(config_find("storage", "volume"));
	_cleanup_free_ char *fs = config_key_synopsis(config_find("storage", "filesystem"));
	_cleanup_free_ char *aof = config_key_synopsis(config_find("redis", "appendonly"));

	assert_string_equal(volume, "a-z, then a-z, 0-9 and -, 1 to 64 characters; default none");
	assert_string_equal(fs, "ext4 | xfs; default ext4");
	assert_string_equal(aof, "yes or no; default no (yes with [storage] volume or [replication] group)");
}

/* [replication]: the values, and what a group needs of the other keys. */
static void test_replication(void **state)
{
	static const char *const bad_primary[] = {
		"Self", "10.0.0", "10.0.0.256", "127.0.0.1", "0.0.0.0", "169.254.169.254", "224.0.0.1",
		"255.255.255.255", "fd00::1", "10.0.0.1 ", "redis-1",
	};
	struct config c;
	struct violations v = { 0 };
	size_t i;

	assert_int_equal(config_init(&c), 0);
	assert_null(c.replication_group);
	assert_int_equal(c.replication_quorum, 2);
	assert_int_equal(set(&c, "replication", "primary", "self"), 0);
	assert_string_equal(c.replication_primary, "self");
	assert_int_equal(set(&c, "replication", "primary", "10.132.0.5"), 0);
	assert_string_equal(c.replication_primary, "10.132.0.5");
	for (i = 0; i < ELEMENTSOF(bad_primary); i++)
		assert_int_equal(set(&c, "replication", "primary", bad_primary[i]), -EINVAL);
	assert_string_equal(c.replication_primary, "10.132.0.5");
	assert_int_equal(set(&c, "replication", "quorum", "0"), -ERANGE);
	assert_int_equal(set(&c, "replication", "quorum", "8"), -ERANGE);
	assert_int_equal(set(&c, "replication", "quorum", "two"), -EINVAL);
	assert_int_equal(set(&c, "replication", "quorum", "3"), 0);
	assert_int_equal(c.replication_quorum, 3);
	assert_int_equal(set(&c, "replication", "group", "Redis_1"), -EINVAL);
	c.line[CONFIG_REPLICATION_PRIMARY] = 3;
	c.line[CONFIG_REPLICATION_QUORUM] = 4;

	/* primary and quorum without a group. */
	assert_int_equal(config_check(&c, collect, &v), 2);
	assert_int_equal(v.ids[0], CONFIG_REPLICATION_PRIMARY);
	assert_int_equal(v.ids[1], CONFIG_REPLICATION_QUORUM);
	/* A group with the defaults: TLS on, but no shared certificate. */
	assert_int_equal(set(&c, "replication", "group", "redis-1"), 0);
	c.line[CONFIG_REPLICATION_GROUP] = 2;
	v.n = 0;
	assert_int_equal(config_check(&c, collect, &v), 1);
	assert_int_equal(v.ids[0], CONFIG_REPLICATION_GROUP);
	/* With a PEM pair: valid; Redis then reads the key itself, and appends. */
	c.tls_certificate = strdup("PEM");
	c.tls_key = strdup("KEY");
	v.n = 0;
	assert_int_equal(config_check(&c, collect, &v), 0);
	assert_true(config_redis_uses_tls(&c));
	assert_true(config_appendonly(&c));
	assert_true(config_replication_self(&c, "10.132.0.5"));
	assert_false(config_replication_self(&c, "10.132.0.6"));
	assert_false(config_replication_self(&c, NULL));
	/* TLS off, or Redis on loopback only: the nodes could not reach each other. */
	c.tls_enabled = false;
	c.line[CONFIG_TLS_ENABLED] = 9;
	v.n = 0;
	assert_int_equal(config_check(&c, collect, &v), 1);
	assert_int_equal(v.ids[0], CONFIG_TLS_ENABLED);
	c.tls_enabled = true;
	c.redis_bind = CONFIG_SCOPE_LOOPBACK;
	v.n = 0;
	assert_int_equal(config_check(&c, collect, &v), 1);
	assert_int_equal(v.ids[0], CONFIG_REPLICATION_GROUP);
	/* A group without primary. */
	c.redis_bind = CONFIG_SCOPE_PRIVATE;
	free(c.replication_primary);
	c.replication_primary = NULL;
	v.n = 0;
	assert_int_equal(config_check(&c, collect, &v), 1);
	assert_int_equal(v.ids[0], CONFIG_REPLICATION_GROUP);
	config_done(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_table_is_complete),
		cmocka_unit_test(test_no_dangerous_keys),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_enum),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_addrlist),
		cmocka_unit_test(test_pem),
		cmocka_unit_test(test_suggestions),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_volume_name),
		cmocka_unit_test(test_appendonly_default),
		cmocka_unit_test(test_check_engine),
		cmocka_unit_test(test_synopsis),
		cmocka_unit_test(test_synopsis_storage),
		cmocka_unit_test(test_replication),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

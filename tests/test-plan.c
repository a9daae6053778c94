/* The plan: decisions from configuration and metadata, rendered files, outputs. */
#include "autoconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "fileio.h"
#include "macro.h"
#include "metadata.h"
#include "plan.h"
#include "strv.h"

#define PASSWORD "sekrit-Passw0rd-for-plan-tests"
#define GIB (1024ULL * 1024 * 1024)

static char *fixture(const char *rel)
{
	const char *top = getenv("top_srcdir");
	char *p;

	assert_true(asprintf(&p, "%s/%s", top ? top : ".", rel) > 0);
	return p;
}

static struct metadata *load(const char *name)
{
	_cleanup_free_ char *rel = NULL, *path = NULL, *cause = NULL;
	struct metadata *md = NULL;

	assert_true(asprintf(&rel, "tests/fixtures/metadata/%s", name) > 0);
	path = fixture(rel);
	assert_int_equal(metadata_load_file(path, &md, &cause), 0);
	return md;
}

struct ctx {
	struct config c;
	struct metadata *md;
	struct plan_input in;
	char *shipped;
	struct plan *plan;
	char *cause;
};

static void ctx_init(struct ctx *x, const char *metadata)
{
	memset(x, 0, sizeof(*x));
	assert_int_equal(config_init(&x->c), 0);
	x->md = load(metadata);
	x->shipped = fixture("agent/templates");
	x->in = (struct plan_input){
		.config = &x->c,
		.metadata = x->md,
		.mem_total = 2 * GIB,
		.password = PASSWORD,
		.templates_dir = "/nonexistent",
		.shipped_dir = x->shipped,
	};
}

static int ctx_build(struct ctx *x)
{
	plan_free(x->plan);
	x->plan = NULL;
	free(x->cause);
	x->cause = NULL;
	return plan_build(&x->in, &x->plan, &x->cause);
}

static void ctx_done(struct ctx *x)
{
	plan_free(x->plan);
	free(x->cause);
	free(x->shipped);
	metadata_free(x->md);
	config_done(&x->c);
}

static const struct plan_file *file(const struct plan *p, const char *path)
{
	size_t i;

	for (i = 0; i < p->n_files; i++)
		if (strcmp(p->files[i].path, path) == 0)
			return &p->files[i];
	return NULL;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

static bool any_contains(char **l, const char *s)
{
	for (; l && *l; l++)
		if (strstr(*l, s))
			return true;
	return false;
}

static void test_defaults_full(void **state)
{
	struct ctx x;
	const struct plan_file *redis, *stunnel, *nft, *conn, *motd;

	ctx_init(&x, "full.json");
	assert_int_equal(ctx_build(&x), 0);
	assert_string_equal(x.plan->droplet_id, "2756294");
	redis = file(x.plan, "/etc/redis/redis.conf");
	stunnel = file(x.plan, "/etc/stunnel/doagent-redis.conf");
	nft = file(x.plan, "/etc/doagent/firewall.nft");
	conn = file(x.plan, "/root/doagent-connection.txt");
	motd = file(x.plan, "/etc/motd.d/doagent");
	assert_non_null(redis);
	assert_non_null(stunnel);
	assert_non_null(nft);
	assert_non_null(conn);
	assert_non_null(motd);
	assert_int_equal(redis->mode, 0640);
	assert_string_equal(redis->group, "redis");
	assert_int_equal(conn->mode, 0600);

	/* TLS is on by default: Redis' own port stays on loopback, stunnel takes private. */
	assert_true(has_line(redis->content, "bind 127.0.0.1 -::1"));
	assert_true(has_line(redis->content, "port 6379"));
	assert_true(has_line(redis->content, "requirepass " PASSWORD));
	assert_true(has_line(redis->content, "maxmemory-policy allkeys-lru"));
	/* 75% of 2 GiB, in whole MiB */
	assert_true(has_line(redis->content, "maxmemory 1610612736"));
	assert_true(x.plan->maxmemory == 1610612736ULL);
	assert_true(has_line(stunnel->content, "accept = 127.0.0.1:6380"));
	assert_true(has_line(stunnel->content, "accept = 10.132.255.113:6380"));
	assert_true(has_line(stunnel->content, "connect = 127.0.0.1:6379"));
	assert_true(has_line(nft->content, "\t\tip saddr { 10.132.0.0/16 } tcp dport 6380 accept"));
	assert_null(strstr(nft->content, "dport 6379"));
	assert_true(strv_contains(x.plan->units, "redis-server.service"));
	assert_true(strv_contains(x.plan->units, "stunnel@doagent-redis.service"));
	assert_true(any_contains(x.plan->rules, "accept tcp port 6380 (tls) from 10.132.0.0/16 (vpc)"));

	/* What is shown never holds the password; what is written does. */
	assert_null(strstr(redis->shown, PASSWORD));
	assert_null(strstr(conn->shown, PASSWORD));
	assert_non_null(strstr(conn->content, "rediss://default:" PASSWORD "@10.132.255.113:6380"));
	assert_null(strstr(motd->content, PASSWORD));
	ctx_done(&x);
}

static void test_scopes(void **state)
{
	struct ctx x;
	const struct plan_file *redis;

	ctx_init(&x, "full.json");
	x.c.tls_enabled = false;
	x.c.redis_bind = CONFIG_SCOPE_PUBLIC;
	assert_int_equal(ctx_build(&x), 0);
	redis = file(x.plan, "/etc/redis/redis.conf");
	assert_true(has_line(redis->content,
			     "bind 127.0.0.1 -::1 10.132.255.113 203.0.113.10 10.17.0.5 2001:db8:0:10::17d:2001"));
	assert_null(file(x.plan, "/etc/stunnel/doagent-redis.conf"));
	assert_false(strv_contains(x.plan->units, "stunnel@doagent-redis.service"));

	x.c.redis_bind = CONFIG_SCOPE_ALL;
	assert_int_equal(ctx_build(&x), 0);
	assert_true(has_line(file(x.plan, "/etc/redis/redis.conf")->content, "bind * -::*"));

	x.c.redis_bind = CONFIG_SCOPE_LOOPBACK;
	assert_int_equal(ctx_build(&x), 0);
	assert_true(has_line(file(x.plan, "/etc/redis/redis.conf")->content, "bind 127.0.0.1 -::1"));
	/* Nothing listens outside: the firewall opens no Redis port. */
	assert_null(strstr(file(x.plan, "/etc/doagent/firewall.nft")->content, "dport 6379"));
	ctx_done(&x);
}

static void expect_endpoint(const struct plan *p, size_t i, const char *host, unsigned port, bool tls)
{
	assert_true(i < p->n_endpoints);
	assert_string_equal(p->endpoints[i].host, host);
	assert_int_equal(p->endpoints[i].port, port);
	assert_int_equal(p->endpoints[i].tls, tls);
}

/* The readiness check's endpoints: every address the connection details or a listener
 * give, and the addresses the first boot waits for. */
static void test_endpoints(void **state)
{
	struct ctx x;

	ctx_init(&x, "full.json");
	assert_int_equal(ctx_build(&x), 0);
	assert_int_equal(x.plan->n_endpoints, 3);
	expect_endpoint(x.plan, 0, "127.0.0.1", 6380, true);
	expect_endpoint(x.plan, 1, "10.132.255.113", 6380, true);
	expect_endpoint(x.plan, 2, "127.0.0.1", 6379, false);
	assert_int_equal(strv_length(x.plan->addresses), 1);
	assert_string_equal(x.plan->addresses[0], "10.132.255.113");
	assert_true(any_contains(x.plan->actions, "wait until 10.132.255.113 is on an interface"));
	assert_true(any_contains(x.plan->actions, "PING at 10.132.255.113:6380 through TLS"));

	x.c.tls_enabled = false;
	x.c.redis_bind = CONFIG_SCOPE_PUBLIC;
	assert_int_equal(ctx_build(&x), 0);
	assert_int_equal(x.plan->n_endpoints, 5);
	expect_endpoint(x.plan, 0, "127.0.0.1", 6379, false);
	expect_endpoint(x.plan, 4, "2001:db8:0:10::17d:2001", 6379, false);
	assert_int_equal(strv_length(x.plan->addresses), 4);
	assert_true(any_contains(x.plan->actions, "PING at [2001:db8:0:10::17d:2001]:6379"));

	/* bind = all listens on the wildcard, and is checked at each of this droplet's
	 * addresses; plaintext on the private address only. */
	x.c.tls_enabled = true;
	x.c.redis_bind = CONFIG_SCOPE_ALL;
	x.c.tls_plaintext = CONFIG_SCOPE_PRIVATE;
	assert_int_equal(ctx_build(&x), 0);
	assert_int_equal(x.plan->n_endpoints, 7);
	expect_endpoint(x.plan, 0, "127.0.0.1", 6380, true);
	expect_endpoint(x.plan, 2, "203.0.113.10", 6380, true);
	expect_endpoint(x.plan, 5, "127.0.0.1", 6379, false);
	expect_endpoint(x.plan, 6, "10.132.255.113", 6379, false);
	assert_int_equal(strv_length(x.plan->addresses), 4);
	ctx_done(&x);

	/* No private interface: loopback only, nothing to wait for. */
	ctx_init(&x, "no-private.json");
	assert_int_equal(ctx_build(&x), 0);
	assert_int_equal(x.plan->n_endpoints, 2);
	assert_null(x.plan->addresses);
	assert_false(any_contains(x.plan->actions, "wait until"));
	ctx_done(&x);
}

/* [tls] engine = redis: Redis serves TLS itself on the same port and addresses; its
 * plaintext port is where bind is, or (plaintext = loopback) not on TCP at all. */
static void test_engine_redis(void **state)
{
	struct ctx x;
	const char *conf;

	ctx_init(&x, "full.json");
	x.c.tls_engine = CONFIG_TLS_REDIS;
	assert_int_equal(ctx_build(&x), 0);
	conf = file(x.plan, "/etc/redis/redis.conf")->content;
	assert_true(has_line(conf, "bind 127.0.0.1 -::1 10.132.255.113"));
	assert_true(has_line(conf, "port 0"));
	assert_true(has_line(conf, "unixsocket /run/redis/redis-server.sock"));
	assert_true(has_line(conf, "tls-port 6380"));
	assert_true(has_line(conf, "tls-cert-file /etc/doagent/tls/redis.crt"));
	assert_true(has_line(conf, "tls-key-file /etc/doagent/tls/redis.key"));
	assert_true(has_line(conf, "tls-auth-clients no"));
	assert_null(file(x.plan, "/etc/stunnel/doagent-redis.conf"));
	assert_false(strv_contains(x.plan->units, "stunnel@doagent-redis.service"));
	assert_true(strv_contains(x.plan->units_off, "stunnel@doagent-redis.service"));
	assert_true(strv_contains(x.plan->remove, "/etc/stunnel/doagent-redis.conf"));
	assert_false(strv_contains(x.plan->remove, "/etc/doagent/tls/redis.key"));
	/* The same TLS endpoints as stunnel's, and no plaintext one. */
	assert_int_equal(x.plan->n_endpoints, 2);
	expect_endpoint(x.plan, 0, "127.0.0.1", 6380, true);
	expect_endpoint(x.plan, 1, "10.132.255.113", 6380, true);
	assert_true(any_contains(x.plan->actions, "PING at 10.132.255.113:6380 through TLS (Redis' own)"));
	assert_int_equal(x.plan->open_ports[0], 0);
	assert_int_equal(x.plan->open_ports[1], 6380);
	assert_int_equal(plan_plaintext_port(&x.c), 0);

	/* plaintext = bind: both ports on the same addresses, both checked and opened. */
	x.c.tls_plaintext = CONFIG_SCOPE_PRIVATE;
	assert_int_equal(ctx_build(&x), 0);
	conf = file(x.plan, "/etc/redis/redis.conf")->content;
	assert_true(has_line(conf, "port 6379"));
	assert_null(strstr(conf, "unixsocket"));
	assert_int_equal(x.plan->n_endpoints, 4);
	expect_endpoint(x.plan, 3, "10.132.255.113", 6379, false);
	assert_int_equal(x.plan->open_ports[0], 6379);
	assert_int_equal(x.plan->open_ports[1], 6380);

	/* stunnel: no Redis TLS, and the redis engine's key copy goes. */
	x.c.tls_engine = CONFIG_TLS_STUNNEL;
	x.c.tls_plaintext = CONFIG_SCOPE_LOOPBACK;
	assert_int_equal(ctx_build(&x), 0);
	assert_null(strstr(file(x.plan, "/etc/redis/redis.conf")->content, "tls-"));
	assert_non_null(file(x.plan, "/etc/stunnel/doagent-redis.conf"));
	assert_true(strv_contains(x.plan->remove, "/etc/doagent/tls/redis.key"));
	/* Only the Sentinel a snapshot of a group's node may have left. */
	assert_int_equal(strv_length(x.plan->units_off), 1);
	assert_string_equal(x.plan->units_off[0], "redis-sentinel.service");
	ctx_done(&x);
}

static void test_no_private_interface(void **state)
{
	struct ctx x;

	ctx_init(&x, "no-private.json");
	assert_int_equal(ctx_build(&x), 0);
	assert_true(has_line(file(x.plan, "/etc/stunnel/doagent-redis.conf")->content,
			     "accept = 127.0.0.1:6380"));
	assert_null(strstr(file(x.plan, "/etc/stunnel/doagent-redis.conf")->content, "203.0.113"));
	assert_true(any_contains(x.plan->notices, "no private interface"));
	assert_true(any_contains(x.plan->notices, "vpc stands for nothing"));
	ctx_done(&x);
}

static void test_maxmemory(void **state)
{
	struct ctx x;

	ctx_init(&x, "full.json");
	x.c.redis_maxmemory = (struct config_memory){ CONFIG_MEMORY_UNLIMITED, 0 };
	assert_int_equal(ctx_build(&x), 0);
	assert_true(has_line(file(x.plan, "/etc/redis/redis.conf")->content, "maxmemory 0"));
	x.c.redis_maxmemory = (struct config_memory){ CONFIG_MEMORY_BYTES, 3 * GIB };
	assert_int_equal(ctx_build(&x), 0);
	assert_true(has_line(file(x.plan, "/etc/redis/redis.conf")->content, "maxmemory 3221225472"));
	assert_true(any_contains(x.plan->notices, "more than this droplet's RAM"));
	x.c.redis_maxmemory = (struct config_memory){ CONFIG_MEMORY_PERCENT, 50 };
	x.in.mem_total = 1000 * 1024 * 1024 + 123;
	assert_int_equal(ctx_build(&x), 0);
	assert_true(has_line(file(x.plan, "/etc/redis/redis.conf")->content, "maxmemory 524288061"));
	x.in.mem_total = 0;
	assert_int_equal(ctx_build(&x), -EINVAL);
	assert_non_null(strstr(x.cause, "RAM size is unknown"));
	ctx_done(&x);
}

static void test_firewall(void **state)
{
	struct ctx x;
	_cleanup_free_ char *cause = NULL;
	const char *nft;

	ctx_init(&x, "full.json");
	assert_int_equal(config_set(&x.c, config_find("firewall", "allow"), "vpc, 203.0.113.9/24, 2001:db8::/32", &cause), 0);
	assert_int_equal(config_set(&x.c, config_find("firewall", "ssh-allow"), "198.51.100.7", &cause), 0);
	assert_int_equal(config_set(&x.c, config_find("firewall", "metadata"), "root-only", &cause), 0);
	x.c.tls_plaintext = CONFIG_SCOPE_PRIVATE;
	assert_int_equal(ctx_build(&x), 0);
	nft = file(x.plan, "/etc/doagent/firewall.nft")->content;
	assert_true(has_line(nft, "\t\tip saddr { 10.132.0.0/16, 203.0.113.0/24 } tcp dport 6379 accept"));
	assert_true(has_line(nft, "\t\tip6 saddr { 2001:db8::/32 } tcp dport 6380 accept"));
	assert_true(has_line(nft, "\t\tip saddr { 198.51.100.7/32 } tcp dport 22 accept"));
	assert_null(strstr(nft, "ip6 saddr { ::/0 }"));
	assert_true(has_line(nft, "\t\tip daddr 169.254.169.254 meta skuid != 0 drop"));
	assert_true(any_contains(x.plan->notices, "normalized to 203.0.113.0/24"));

	assert_true(any_contains(x.plan->rules, "accept tcp port 6379 (redis) from 203.0.113.0/24"));
	assert_true(any_contains(x.plan->rules, "accept tcp port 22 (ssh) from 198.51.100.7/32"));

	/* vpc in ssh-allow shows in the rules as in the ruleset; an empty list is noticed. */
	assert_int_equal(config_set(&x.c, config_find("firewall", "ssh-allow"), "vpc", &cause), 0);
	assert_int_equal(config_set(&x.c, config_find("firewall", "allow"), "", &cause), 0);
	assert_int_equal(ctx_build(&x), 0);
	assert_true(has_line(file(x.plan, "/etc/doagent/firewall.nft")->content,
			     "\t\tip saddr { 10.132.0.0/16 } tcp dport 22 accept"));
	assert_true(any_contains(x.plan->rules, "accept tcp port 22 (ssh) from 10.132.0.0/16 (vpc)"));
	assert_true(any_contains(x.plan->notices, "[firewall] allow lets nobody in"));
	assert_null(strstr(file(x.plan, "/etc/doagent/firewall.nft")->content, "dport 6379"));

	x.c.firewall_backend = CONFIG_FW_NONE;
	assert_int_equal(ctx_build(&x), 0);
	assert_null(file(x.plan, "/etc/doagent/firewall.nft"));
	assert_true(any_contains(x.plan->notices, "root-only has no effect"));
	ctx_done(&x);
}

static void test_template_override(void **state)
{
	char dir[] = "/tmp/doagent-plan.XXXXXX";
	_cleanup_free_ char *path = NULL;
	struct ctx x;

	assert_non_null(mkdtemp(dir));
	assert_true(asprintf(&path, "%s/motd", dir) > 0);
	ctx_init(&x, "full.json");
	x.in.templates_dir = dir;

	assert_int_equal(fileio_write_atomic(path, "custom {{hostname}}\n", 20, 0644, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(ctx_build(&x), 0);
	assert_string_equal(file(x.plan, "/etc/motd.d/doagent")->content, "custom redis-full-01\n");
	assert_string_equal(file(x.plan, "/etc/motd.d/doagent")->template, path);
	/* Only the overridden template changes. */
	assert_non_null(strstr(file(x.plan, "/etc/redis/redis.conf")->template, x.shipped));

	assert_int_equal(fileio_write_atomic(path, "x\n{{hostnme}}\n", 14, 0644, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(ctx_build(&x), -EINVAL);
	assert_non_null(strstr(x.cause, ":2: unknown variable 'hostnme'"));

	assert_int_equal(fileio_write_atomic(path, "ok\n", 3, 0664, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(ctx_build(&x), -EPERM);
	assert_non_null(strstr(x.cause, "writable by group or others"));

	unlink(path);
	x.in.shipped_dir = "/nonexistent-too";
	assert_int_equal(ctx_build(&x), -ENOENT);
	assert_non_null(strstr(x.cause, "redis.conf: not found"));
	rmdir(dir);
	ctx_done(&x);
}

static void test_write_tree_and_json(void **state)
{
	char dir[] = "/tmp/doagent-tree.XXXXXX";
	_cleanup_free_ char *conf = NULL, *data = NULL, *cause = NULL;
	_cleanup_json_ json_object *j = NULL;
	json_object *files, *f0;
	struct stat st;
	struct ctx x;
	size_t len;

	assert_non_null(mkdtemp(dir));
	ctx_init(&x, "full.json");
	assert_int_equal(ctx_build(&x), 0);
	assert_int_equal(plan_write_tree(x.plan, dir, &cause), 0);
	assert_true(asprintf(&conf, "%s/etc/redis/redis.conf", dir) > 0);
	assert_int_equal(stat(conf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(fileio_read_file(conf, 1 << 20, &data, &len), 0);
	assert_string_equal(data, file(x.plan, "/etc/redis/redis.conf")->content);

	j = plan_to_json(x.plan);
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "files", &files));
	assert_int_equal(json_object_array_length(files), x.plan->n_files);
	f0 = json_object_array_get_idx(files, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(f0, "mode")), "0640");
	assert_null(strstr(json_object_to_json_string(j), PASSWORD));
	ctx_done(&x);
	assert_int_equal(system("rm -rf /tmp/doagent-tree.*"), 0);
}

static void test_meminfo(void **state)
{
	unsigned long long v = 0;

	assert_int_equal(plan_parse_meminfo("MemTotal:        2030060 kB\nMemFree: 1 kB\n", &v), 0);
	assert_true(v == 2030060ULL * 1024);
	assert_int_equal(plan_parse_meminfo("MemFree: 1 kB\nMemTotal: 4 kB\n", &v), 0);
	assert_true(v == 4096);
	assert_int_equal(plan_parse_meminfo("XMemTotal: 4 kB\n", &v), -EINVAL);
	assert_int_equal(plan_parse_meminfo("MemTotal: 4 MB\n", &v), -EINVAL);
	assert_int_equal(plan_parse_meminfo("MemTotal: 0 kB\n", &v), -EINVAL);
	assert_int_equal(plan_parse_meminfo("", &v), -EINVAL);
}

/* [storage] volume: Redis' dir on it, append-only, the four units rendered, Redis
 * started rather than enabled; none of that, and the old units removed, without. */
/* A [replication] group: a replica of 10.132.0.5 and the first primary, with stunnel,
 * and a replica with Redis' own TLS. */
static void test_group(void **state)
{
	struct ctx x;
	const struct plan_file *redis, *sentinel, *dropin, *fw, *conn;

	ctx_init(&x, "full.json");
	x.c.replication_group = strdup("redis-1");
	x.c.replication_primary = strdup("10.132.0.5");
	x.c.tls_certificate = strdup("(a PEM certificate)");
	x.c.tls_key = strdup("(a PEM key)");
	assert_int_equal(ctx_build(&x), 0);
	redis = file(x.plan, "/etc/redis/redis.conf");
	sentinel = file(x.plan, "/etc/redis/sentinel.conf");
	dropin = file(x.plan, "/etc/systemd/system/redis-server.service.d/doagent-group.conf");
	fw = file(x.plan, "/etc/doagent/firewall.nft");
	conn = file(x.plan, "/root/doagent-connection.txt");
	assert_non_null(sentinel);
	assert_non_null(dropin);
	/* Redis and Sentinel rewrite their files. */
	assert_string_equal(redis->owner, "redis");
	assert_string_equal(sentinel->owner, "redis");
	assert_int_equal(sentinel->mode, 0640);
	assert_true(sentinel->sensitive);
	assert_true(has_line(redis->content, "replicaof 10.132.0.5 6380"));
	assert_true(has_line(redis->content, "masterauth " PASSWORD));
	assert_true(has_line(redis->content, "replica-announce-ip 10.132.255.113"));
	assert_true(has_line(redis->content, "replica-announce-port 6380"));
	assert_true(has_line(redis->content, "tls-replication yes"));
	assert_true(has_line(redis->content, "tls-ca-cert-file /etc/doagent/tls/redis.crt"));
	assert_true(has_line(redis->content, "tls-key-file /etc/doagent/tls/redis.key"));
	assert_true(has_line(redis->content, "min-replicas-to-write 1"));
	assert_true(has_line(redis->content, "min-replicas-max-lag 10"));
	assert_true(has_line(redis->content, "appendonly yes"));
	/* stunnel still serves the TLS port: Redis has none of its own. */
	assert_null(strstr(redis->content, "tls-port"));
	assert_non_null(file(x.plan, "/etc/stunnel/doagent-redis.conf"));
	assert_true(has_line(sentinel->content, "port 0"));
	assert_true(has_line(sentinel->content, "tls-port 26379"));
	assert_true(has_line(sentinel->content, "bind 10.132.255.113 127.0.0.1"));
	assert_true(has_line(sentinel->content, "sentinel monitor redis-1 10.132.0.5 6380 2"));
	assert_true(has_line(sentinel->content, "sentinel auth-pass redis-1 " PASSWORD));
	assert_true(has_line(sentinel->content, "sentinel down-after-milliseconds redis-1 5000"));
	assert_true(has_line(sentinel->content, "sentinel announce-ip 10.132.255.113"));
	assert_true(has_line(sentinel->content, "requirepass " PASSWORD));
	assert_true(has_line(sentinel->content, "logfile \"\""));
	assert_null(strstr(sentinel->shown, PASSWORD));
	assert_true(has_line(dropin->content, "ExecStartPre=+" SBINDIR "/doagent --guard"));
	assert_true(has_line(fw->content, "\t\tip saddr { 10.132.0.0/16 } tcp dport { 6380, 26379 } accept"));
	assert_int_equal(x.plan->group_ports[0], 6380);
	assert_int_equal(x.plan->group_ports[1], 26379);
	assert_string_equal(x.plan->group4[0], "10.132.0.0/16");
	assert_true(strv_contains(x.plan->units, "redis-sentinel.service"));
	assert_false(strv_contains(x.plan->units_off, "redis-sentinel.service"));
	assert_false(strv_contains(x.plan->remove, "/etc/doagent/tls/redis.key"));
	assert_non_null(strstr(conn->content, "Master name: redis-1"));
	assert_non_null(strstr(conn->content, "10.132.255.113:26379 10.132.0.5:26379"));
	/* Sentinel's endpoints are checked too, over TLS. */
	expect_endpoint(x.plan, x.plan->n_endpoints - 1, "10.132.255.113", 26379, true);
	assert_true(x.plan->endpoints[x.plan->n_endpoints - 1].sentinel);

	/* The first primary: no replicaof; Sentinel monitors this node. */
	free(x.c.replication_primary);
	x.c.replication_primary = strdup("self");
	assert_int_equal(ctx_build(&x), 0);
	assert_null(strstr(file(x.plan, "/etc/redis/redis.conf")->content, "\nreplicaof "));
	assert_true(has_line(file(x.plan, "/etc/redis/sentinel.conf")->content,
			     "sentinel monitor redis-1 10.132.255.113 6380 2"));
	/* Its own address counts as self. */
	free(x.c.replication_primary);
	x.c.replication_primary = strdup("10.132.255.113");
	assert_int_equal(ctx_build(&x), 0);
	assert_null(strstr(file(x.plan, "/etc/redis/redis.conf")->content, "\nreplicaof "));

	/* Redis' own TLS: one tls-port, the same replication settings. */
	x.c.tls_engine = CONFIG_TLS_REDIS;
	assert_int_equal(ctx_build(&x), 0);
	redis = file(x.plan, "/etc/redis/redis.conf");
	assert_true(has_line(redis->content, "tls-port 6380"));
	assert_true(has_line(redis->content, "tls-replication yes"));
	assert_null(file(x.plan, "/etc/stunnel/doagent-redis.conf"));
	ctx_done(&x);

	/* No private interface: a group cannot work. */
	ctx_init(&x, "no-private.json");
	x.c.replication_group = strdup("redis-1");
	x.c.replication_primary = strdup("self");
	assert_int_equal(ctx_build(&x), -EBADMSG);
	assert_non_null(strstr(x.cause, "no private interface"));
	ctx_done(&x);
}

static void test_storage(void **state)
{
	_cleanup_free_ char *cause = NULL;
	const struct plan_file *redis, *mount, *path, *service, *dropin;
	struct ctx x;
	size_t i;

	ctx_init(&x, "full.json");
	assert_int_equal(config_set(&x.c, config_find("storage", "volume"), "redis-1-data", &cause), 0);
	assert_int_equal(ctx_build(&x), 0);
	assert_non_null(x.plan->storage);
	assert_string_equal(x.plan->storage->device, "/dev/disk/by-id/scsi-0DO_Volume_redis-1-data");
	redis = file(x.plan, "/etc/redis/redis.conf");
	assert_true(has_line(redis->content, "dir /mnt/redis_1_data/redis"));
	assert_true(has_line(redis->content, "appendonly yes"));
	mount = file(x.plan, "/etc/systemd/system/mnt-redis_1_data.mount");
	path = file(x.plan, "/etc/systemd/system/doagent-volume.path");
	service = file(x.plan, "/etc/systemd/system/doagent-volume.service");
	dropin = file(x.plan, "/etc/systemd/system/redis-server.service.d/doagent-volume.conf");
	assert_non_null(mount);
	assert_non_null(path);
	assert_non_null(service);
	assert_non_null(dropin);
	assert_int_equal(mount->mode, 0644);
	assert_true(has_line(mount->content, "What=/dev/disk/by-id/scsi-0DO_Volume_redis-1-data"));
	assert_true(has_line(mount->content, "Where=/mnt/redis_1_data"));
	assert_true(has_line(mount->content, "Options=nofail,discard,noatime"));
	assert_null(strstr(mount->content, "\nType="));
	assert_true(has_line(path->content, "PathExists=/dev/disk/by-id/scsi-0DO_Volume_redis-1-data"));
	assert_true(has_line(path->content, "Unit=doagent-volume.service"));
	assert_true(has_line(service->content, "After=doagent.service"));
	assert_true(has_line(service->content, "ConditionPathExists=/dev/disk/by-id/scsi-0DO_Volume_redis-1-data"));
	assert_true(has_line(service->content, "ExecStart=" SBINDIR "/doagent --attach-volume redis-1-data --filesystem ext4"));
	assert_true(has_line(dropin->content, "RequiresMountsFor=/mnt/redis_1_data/redis"));
	assert_true(has_line(dropin->content, "ConditionPathIsMountPoint=/mnt/redis_1_data"));
	assert_true(has_line(dropin->content, "ReadWritePaths=/mnt/redis_1_data/redis"));
	/* Started by doagent once the volume is mounted, never enabled. */
	assert_false(strv_contains(x.plan->units, "redis-server.service"));
	assert_true(strv_contains(x.plan->units, "doagent-volume.path"));
	assert_true(strv_contains(x.plan->units, "stunnel@doagent-redis.service"));
	/* Nothing of the volume's is removed; only the key's copy of Redis' own TLS. */
	assert_int_equal(strv_length(x.plan->remove), 2);
	assert_string_equal(x.plan->remove[0], "/etc/systemd/system/redis-server.service.d/doagent-group.conf");
	assert_string_equal(x.plan->remove[1], "/etc/doagent/tls/redis.key");
	assert_false(any_contains(x.plan->notices, "labelled"));

	/* What the user data says about appendonly wins, with a notice. */
	assert_int_equal(config_set(&x.c, config_find("redis", "appendonly"), "no", &cause), 0);
	x.c.line[CONFIG_REDIS_APPENDONLY] = 4;
	assert_int_equal(config_set(&x.c, config_find("storage", "filesystem"), "xfs", &cause), 0);
	assert_int_equal(config_set(&x.c, config_find("storage", "volume"), "redis-1-data-volume", &cause), 0);
	assert_int_equal(ctx_build(&x), 0);
	assert_true(has_line(file(x.plan, "/etc/redis/redis.conf")->content, "appendonly no"));
	assert_true(any_contains(x.plan->notices, "appendonly = no with a volume"));
	assert_true(any_contains(x.plan->notices, "xfs labels hold 12 characters: a blank volume is labelled 'redis-1-data'"));
	assert_true(has_line(file(x.plan, "/etc/systemd/system/doagent-volume.service")->content,
			     "ExecStart=" SBINDIR "/doagent --attach-volume redis-1-data-volume --filesystem xfs"));
	ctx_done(&x);

	/* Without a volume. */
	ctx_init(&x, "full.json");
	assert_int_equal(ctx_build(&x), 0);
	assert_null(x.plan->storage);
	assert_true(has_line(file(x.plan, "/etc/redis/redis.conf")->content, "dir /var/lib/redis"));
	assert_true(has_line(file(x.plan, "/etc/redis/redis.conf")->content, "appendonly no"));
	for (i = 0; i < x.plan->n_files; i++)
		assert_null(strstr(x.plan->files[i].path, "/etc/systemd/"));
	assert_true(strv_contains(x.plan->remove, "/etc/systemd/system/redis-server.service.d/doagent-volume.conf"));
	assert_true(strv_contains(x.plan->remove, "/etc/systemd/system/paths.target.wants/doagent-volume.path"));
	assert_true(strv_contains(x.plan->units, "redis-server.service"));
	ctx_done(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_full),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_engine_redis),
		cmocka_unit_test(test_no_private_interface),
		cmocka_unit_test(test_maxmemory),
		cmocka_unit_test(test_firewall),
		cmocka_unit_test(test_template_override),
		cmocka_unit_test(test_write_tree_and_json),
		cmocka_unit_test(test_meminfo),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_storage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

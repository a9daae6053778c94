#include "autoconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "metadata.h"

/* The bad-*.json fixtures made from a whole document carry this in their user data: no
 * message may show it. */
#define SECRET "hunter2"

/* A minimal valid document; the %s are the droplet_id, the hostname, the public netmask
 * and the ipv6 cidr, in that order. */
#define TEMPLATE                                                                         \
	"{\"droplet_id\":%s,\"hostname\":\"%s\",\"region\":\"nyc3\",\"interfaces\":"     \
	"{\"public\":[{\"ipv4\":{\"ip_address\":\"203.0.113.9\",\"netmask\":\"%s\"},"   \
	"\"ipv6\":{\"ip_address\":\"2001:db8::9\",\"cidr\":%s}}]}}"

static _printf_(1, 2) char *xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static char *fixture_path(const char *name)
{
	const char *top = getenv("top_srcdir");

	return xprintf("%s/tests/fixtures/metadata/%s", top ? top : ".", name);
}

static int load(const char *name, struct metadata **ret, char **ret_cause)
{
	_cleanup_free_ char *path = fixture_path(name);

	return metadata_load_file(path, ret, ret_cause);
}

static struct metadata *load_ok(const char *name)
{
	_cleanup_free_ char *cause = NULL;
	struct metadata *md = NULL;
	int r = load(name, &md, &cause);

	if (r < 0)
		print_error("%s: %s\n", name, cause ? cause : strerror(-r));
	assert_int_equal(r, 0);
	assert_null(cause);
	assert_non_null(md);
	return md;
}

/* Parses TEMPLATE filled in with the given values. */
static int parse_template(const char *id, const char *hostname, const char *netmask,
			  const char *cidr, struct metadata **ret, char **ret_cause)
{
	_cleanup_free_ char *doc = xprintf(TEMPLATE, id, hostname, netmask, cidr);

	return metadata_parse(doc, strlen(doc), ret, ret_cause);
}

static void assert_strv_equal(char **l, const char *const *expected)
{
	size_t i;

	assert_non_null(l);
	for (i = 0; expected[i]; i++) {
		assert_non_null(l[i]);
		assert_string_equal(l[i], expected[i]);
	}
	assert_null(l[i]);
}

static void assert_ipv4(const struct metadata_ipv4 *a, const char *address, const char *netmask,
			const char *gateway, unsigned prefix)
{
	assert_true(a->present);
	assert_string_equal(a->address, address);
	assert_string_equal(a->netmask, netmask);
	assert_string_equal(a->gateway, gateway);
	assert_int_equal(a->prefix, prefix);
}

static void assert_no_ipv4(const struct metadata_ipv4 *a)
{
	assert_false(a->present);
	assert_string_equal(a->address, "");
}

static void assert_no_ipv6(const struct metadata_ipv6 *a)
{
	assert_false(a->present);
	assert_string_equal(a->address, "");
}

static void assert_empty_strv(char **l)
{
	assert_non_null(l);
	assert_null(l[0]);
}

static void test_full(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_ok("full.json");
	const char *user_data = "#doagent\n[redis]\nport = 6379\nmaxmemory-policy = allkeys-lru\n";
	const struct metadata_interface *pub, *priv;

	assert_string_equal(md->droplet_id, "2756294");
	assert_string_equal(md->hostname, "redis-full-01");
	assert_string_equal(md->region, "nyc3");
	assert_string_equal(md->user_data, user_data);
	assert_int_equal(md->user_data_len, strlen(user_data));
	assert_string_equal(md->vendor_data,
			    "#cloud-config\ndisable_root: false\nmanage_etc_hosts: true\n");
	assert_strv_equal(md->public_keys, (const char *const[]){
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOne alice@example",
		"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQExampleKeyTwo bob@example", NULL });
	assert_strv_equal(md->tags, (const char *const[]){ "redis", "prod", NULL });
	assert_strv_equal(md->nameservers,
			  (const char *const[]){ "2001:4860:4860::8844", "8.8.8.8", NULL });
	assert_string_equal(md->floating_ipv4, "");

	assert_int_equal(md->n_public_if, 1);
	pub = metadata_public_if(md);
	assert_ptr_equal(pub, &md->public_if[0]);
	assert_ipv4(&pub->ipv4, "203.0.113.10", "255.255.255.0", "203.0.113.1", 24);
	assert_ipv4(&pub->anchor_ipv4, "10.17.0.5", "255.255.0.0", "10.17.0.1", 16);
	assert_true(pub->ipv6.present);
	assert_string_equal(pub->ipv6.address, "2001:db8:0:10::17d:2001");
	assert_string_equal(pub->ipv6.gateway, "2001:db8:0:10::1");
	assert_int_equal(pub->ipv6.prefix, 64);
	assert_string_equal(pub->mac, "04:01:2a:0f:2a:01");
	assert_string_equal(pub->type, "public");

	assert_int_equal(md->n_private_if, 1);
	priv = &md->private_if[0];
	assert_ipv4(&priv->ipv4, "10.132.255.113", "255.255.0.0", "10.132.0.1", 16);
	assert_ptr_equal(metadata_private_ipv4(md), &priv->ipv4);
	assert_no_ipv4(&priv->anchor_ipv4);
	assert_no_ipv6(&priv->ipv6);
	assert_string_equal(priv->mac, "04:01:2a:0f:2a:02");
	assert_string_equal(priv->type, "private");
}

static void test_id_string(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_ok("id-string.json");

	assert_string_equal(md->droplet_id, "2756295");
	assert_string_equal(md->hostname, "redis-id-string");
	assert_string_equal(md->region, "sfo3");
	assert_null(md->user_data);
	assert_int_equal(md->user_data_len, 0);
	assert_string_equal(md->vendor_data, "#cloud-config\n");
	assert_empty_strv(md->public_keys);
	assert_empty_strv(md->tags);
	assert_strv_equal(md->nameservers, (const char *const[]){ "8.8.8.8", NULL });
	assert_int_equal(md->n_private_if, 0);
	assert_null(metadata_private_ipv4(md));
	assert_int_equal(md->n_public_if, 1);
	assert_ipv4(&md->public_if[0].ipv4, "198.51.100.20", "255.255.192.0", "198.51.100.1", 18);
	assert_no_ipv6(&md->public_if[0].ipv6);
}

static void test_no_private(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_ok("no-private.json");
	const struct metadata_interface *pub;

	assert_string_equal(md->droplet_id, "3000001");
	assert_null(md->user_data);
	assert_null(md->vendor_data);
	assert_empty_strv(md->public_keys);
	assert_empty_strv(md->tags);
	assert_empty_strv(md->nameservers);
	assert_int_equal(md->n_private_if, 0);
	assert_null(md->private_if);
	assert_null(metadata_private_ipv4(md));
	pub = metadata_public_if(md);
	assert_non_null(pub);
	assert_ipv4(&pub->ipv4, "203.0.113.77", "255.255.240.0", "203.0.112.1", 20);
	assert_no_ipv4(&pub->anchor_ipv4);
	assert_no_ipv6(&pub->ipv6);
	assert_string_equal(md->floating_ipv4, "");
}

static void test_private_empty(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_ok("private-empty.json");

	assert_string_equal(md->droplet_id, "3000002");
	assert_int_equal(md->n_private_if, 0);
	assert_null(metadata_private_ipv4(md));
	assert_empty_strv(md->public_keys);
	assert_string_equal(md->user_data, "#doagent\n");
	assert_int_equal(md->n_public_if, 1);
	/* An empty gateway reads as absent; /32 is a valid netmask. */
	assert_ipv4(&md->public_if[0].ipv4, "203.0.113.78", "255.255.255.255", "", 32);
	assert_string_equal(md->public_if[0].mac, "");
	assert_string_equal(md->public_if[0].type, "");
}

static void test_reserved_ip(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_ok("reserved-ip.json");

	assert_string_equal(md->floating_ipv4, "198.51.100.47");
	assert_strv_equal(md->tags, (const char *const[]){ "redis", NULL });
	assert_strv_equal(md->public_keys, (const char *const[]){
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOne alice@example", NULL });
	assert_ipv4(metadata_private_ipv4(md), "10.114.0.2", "255.255.240.0", "10.114.0.1", 20);
}

static void test_floating_only(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_ok("floating-only.json");

	assert_string_equal(md->floating_ipv4, "198.51.100.48");
}

static void test_loopback(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_ok("loopback.json");

	assert_string_equal(md->droplet_id, "4000001");
	assert_ipv4(metadata_private_ipv4(md), "127.0.0.2", "255.0.0.0", "127.0.0.1", 8);
	assert_ipv4(&metadata_public_if(md)->ipv4, "127.0.0.3", "255.0.0.0", "127.0.0.1", 8);
	assert_string_equal(md->user_data,
			    "#doagent\n[redis]\nport = 6379\nmaxmemory-policy = allkeys-lru\n");
}

static void test_user_data_nul(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_ok("user-data-nul.json");
	static const char expected[] = "#doagent\n\0[redis]\n";

	assert_int_equal(md->user_data_len, sizeof expected - 1);
	assert_memory_equal(md->user_data, expected, sizeof expected);
	assert_int_equal(strlen(md->user_data), 9);
}

/* The buffer is exactly the document: no NUL after it (ASan catches an overread). */
static void test_parse_unterminated(void **state)
{
	_cleanup_free_ char *path = fixture_path("full.json"), *doc = NULL, *cause = NULL;
	_cleanup_metadata_ struct metadata *md = NULL;
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	size_t len;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = (size_t)ftell(f);
	rewind(f);
	doc = malloc(len);
	assert_non_null(doc);
	assert_int_equal(fread(doc, 1, len, f), len);
	assert_int_equal(metadata_parse(doc, len, &md, &cause), 0);
	assert_string_equal(md->droplet_id, "2756294");
}

static void test_droplet_id_bounds(void **state)
{
	static const char *const accepted[][2] = {
		{ "1", "1" },
		{ "\"1\"", "1" },
		{ "9223372036854775808", "9223372036854775808" },
		{ "18446744073709551614", "18446744073709551614" },
		{ "\"99999999999999999999\"", "99999999999999999999" },
	};

	for (size_t i = 0; i < ELEMENTSOF(accepted); i++) {
		_cleanup_metadata_ struct metadata *md = NULL;
		_cleanup_free_ char *cause = NULL;

		assert_int_equal(parse_template(accepted[i][0], "h", "255.255.255.0", "64", &md,
						&cause), 0);
		assert_string_equal(md->droplet_id, accepted[i][1]);
	}
}

static void test_droplet_id_rejected(void **state)
{
	static const char *const rejected[] = {
		"0", "-1", "1.5", "1e3", "\"\"", "\"007\"", "\" 1\"", "\"1 \"", "\"+1\"",
		"\"123456789012345678901\"", "18446744073709551615", "99999999999999999999999",
		"[]", "{}", "false", "null",
	};

	for (size_t i = 0; i < ELEMENTSOF(rejected); i++) {
		struct metadata *md = NULL;
		_cleanup_free_ char *cause = NULL;

		assert_int_equal(parse_template(rejected[i], "h", "255.255.255.0", "64", &md,
						&cause), -EBADMSG);
		assert_null(md);
		assert_non_null(cause);
		assert_true(strncmp(cause, "droplet_id: ", 12) == 0);
	}
}

static void test_netmask_prefix(void **state)
{
	static const struct {
		const char *netmask;
		unsigned prefix;
	} masks[] = {
		{ "0.0.0.0", 0 },	    { "128.0.0.0", 1 },	       { "255.0.0.0", 8 },
		{ "255.255.128.0", 17 }, { "255.255.255.252", 30 }, { "255.255.255.254", 31 },
		{ "255.255.255.255", 32 },
	};

	for (size_t i = 0; i < ELEMENTSOF(masks); i++) {
		_cleanup_metadata_ struct metadata *md = NULL;
		_cleanup_free_ char *cause = NULL;

		assert_int_equal(parse_template("7", "h", masks[i].netmask, "64", &md, &cause), 0);
		assert_int_equal(md->public_if[0].ipv4.prefix, masks[i].prefix);
		assert_string_equal(md->public_if[0].ipv4.netmask, masks[i].netmask);
	}
}

static void test_netmask_rejected(void **state)
{
	static const char *const masks[] = { "0.255.255.255", "255.255.255.253", "255.128.255.0",
					      "1.0.0.0", "255.255.255", "255.255.255.0 ", "" };

	for (size_t i = 0; i < ELEMENTSOF(masks); i++) {
		struct metadata *md = NULL;
		_cleanup_free_ char *cause = NULL;

		assert_int_equal(parse_template("7", "h", masks[i], "64", &md, &cause), -EBADMSG);
		assert_null(md);
		assert_true(strncmp(cause, "interfaces.public[0].ipv4.netmask: ", 35) == 0);
	}
}

static void test_ipv6_cidr_bounds(void **state)
{
	static const char *const ok[] = { "0", "128" };
	static const char *const bad[] = { "129", "-1", "64.0", "1e2" };

	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		_cleanup_metadata_ struct metadata *md = NULL;
		_cleanup_free_ char *cause = NULL;

		assert_int_equal(parse_template("7", "h", "255.255.255.0", ok[i], &md, &cause), 0);
		assert_int_equal(md->public_if[0].ipv6.prefix, (unsigned)atoi(ok[i]));
		assert_string_equal(md->public_if[0].ipv6.address, "2001:db8::9");
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct metadata *md = NULL;
		_cleanup_free_ char *cause = NULL;

		assert_int_equal(parse_template("7", "h", "255.255.255.0", bad[i], &md, &cause),
				 -EBADMSG);
		assert_true(strncmp(cause, "interfaces.public[0].ipv6.cidr: ", 32) == 0);
	}
}

static void test_hostname_length(void **state)
{
	char hostname[255];

	memset(hostname, 'a', sizeof hostname - 1);
	hostname[sizeof hostname - 1] = '\0';
	for (size_t len = 254; len >= 253; len--) {
		_cleanup_metadata_ struct metadata *md = NULL;
		_cleanup_free_ char *cause = NULL;
		int r;

		hostname[len] = '\0';
		r = parse_template("7", hostname, "255.255.255.0", "64", &md, &cause);
		if (len == 253) {
			assert_int_equal(r, 0);
			assert_int_equal(strlen(md->hostname), 253);
		} else {
			assert_int_equal(r, -EBADMSG);
			assert_true(strncmp(cause, "hostname: not a valid hostname: ", 32) == 0);
		}
	}
}

/* Quoted values are cut at 64 bytes and escaped. */
static void test_cause_quoting(void **state)
{
	char hostname[200];
	struct metadata *md = NULL;
	_cleanup_free_ char *cause = NULL;

	memset(hostname, 'x', sizeof hostname - 1);
	hostname[sizeof hostname - 1] = '\0';
	memcpy(hostname, "ab\\u0001\\\"cd ", 13);
	assert_int_equal(parse_template("7", hostname, "255.255.255.0", "64", &md, &cause),
			 -EBADMSG);
	assert_null(md);
	assert_non_null(cause);
	/* 64 bytes of the value: a, b, \x01, ", c, d, space and 57 x's. */
	assert_string_equal(cause, "hostname: not a valid hostname: \"ab\\x01\\\"cd "
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"...");
}

static void test_size_cap(void **state)
{
	size_t len = METADATA_MAX_SIZE + 1;
	_cleanup_free_ char *doc = malloc(len), *cause = NULL;
	struct metadata *md = NULL;

	assert_non_null(doc);
	memset(doc, ' ', len);
	assert_int_equal(metadata_parse(doc, len, &md, &cause), -E2BIG);
	assert_null(md);
	assert_non_null(cause);
	assert_true(strncmp(cause, "document: ", 10) == 0);
}

/* A document of exactly METADATA_MAX_SIZE bytes is still read. */
static void test_size_at_cap(void **state)
{
	static const char body[] = "{\"droplet_id\":1,\"hostname\":\"h\",\"region\":\"r\","
				   "\"interfaces\":{}}";
	_cleanup_free_ char *doc = malloc(METADATA_MAX_SIZE), *cause = NULL;
	_cleanup_metadata_ struct metadata *md = NULL;

	assert_non_null(doc);
	memset(doc, '\n', METADATA_MAX_SIZE);
	memcpy(doc, body, sizeof body - 1);
	assert_int_equal(metadata_parse(doc, METADATA_MAX_SIZE, &md, &cause), 0);
	assert_int_equal(md->n_public_if, 0);
	assert_null(metadata_public_if(md));
}

static void test_load_file_too_big(void **state)
{
	char path[] = "/tmp/test-metadata-XXXXXX";
	_cleanup_free_ char *chunk = calloc(1, METADATA_MAX_SIZE / 4), *cause = NULL;
	_cleanup_close_ int fd = mkstemp(path);
	struct metadata *md = NULL;

	assert_true(fd >= 0);
	assert_non_null(chunk);
	memset(chunk, ' ', METADATA_MAX_SIZE / 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(write(fd, chunk, METADATA_MAX_SIZE / 4), METADATA_MAX_SIZE / 4);
	assert_int_equal(write(fd, "{}", 2), 2);
	assert_int_equal(metadata_load_file(path, &md, &cause), -E2BIG);
	unlink(path);
	assert_null(md);
	assert_non_null(strstr(cause, path));
}

static void test_trailing_garbage(void **state)
{
	static const char *const docs[] = {
		"{\"droplet_id\":1,\"hostname\":\"h\",\"region\":\"r\",\"interfaces\":{}} x",
		"{\"droplet_id\":1,\"hostname\":\"h\",\"region\":\"r\",\"interfaces\":{}}{}",
		"{\"droplet_id\":1,\"hostname\":\"h\",\"region\":\"r\",\"interfaces\":{}}\n\0",
	};

	for (size_t i = 0; i < ELEMENTSOF(docs); i++) {
		struct metadata *md = NULL;
		_cleanup_free_ char *cause = NULL;
		size_t len = strlen(docs[i]) + (i == 2);

		assert_int_equal(metadata_parse(docs[i], len, &md, &cause), -EBADMSG);
		assert_null(md);
		assert_true(strncmp(cause, "document: ", 10) == 0);
	}
}

static void test_surrounding_whitespace(void **state)
{
	static const char doc[] = " \r\n\t{\"droplet_id\":1,\"hostname\":\"h\",\"region\":\"r\","
				  "\"interfaces\":{}} \r\n\t";
	_cleanup_metadata_ struct metadata *md = NULL;
	_cleanup_free_ char *cause = NULL;

	assert_int_equal(metadata_parse(doc, sizeof doc - 1, &md, &cause), 0);
	assert_string_equal(md->droplet_id, "1");
}

static void test_missing_file(void **state)
{
	_cleanup_free_ char *path = fixture_path("does-not-exist.json"), *cause = NULL;
	struct metadata *md = NULL;

	assert_int_equal(metadata_load_file(path, &md, &cause), -ENOENT);
	assert_null(md);
	assert_non_null(cause);
	assert_non_null(strstr(cause, path));
}

static void test_directory(void **state)
{
	_cleanup_free_ char *path = fixture_path(""), *cause = NULL;
	struct metadata *md = NULL;

	assert_int_equal(metadata_load_file(path, &md, &cause), -EISDIR);
	assert_null(md);
	assert_non_null(strstr(cause, path));
}

/* Outputs are left alone on failure; the cause may be left out. */
static void test_failure_outputs(void **state)
{
	struct metadata sentinel, *md = &sentinel;
	char *cause = NULL;

	assert_int_equal(metadata_parse("[]", 2, &md, NULL), -EBADMSG);
	assert_ptr_equal(md, &sentinel);
	assert_int_equal(metadata_parse("{}", 2, &md, &cause), -EBADMSG);
	assert_ptr_equal(md, &sentinel);
	assert_string_equal(cause, "droplet_id: missing");
	free(cause);
}

static void test_free_null(void **state)
{
	metadata_free(NULL);
}

struct bad_case {
	const char *fixture;
	int error;
	const char *cause;	/* how the message starts */
};

static const struct bad_case bad_cases[] = {
	{ "bad-empty.json", -EBADMSG, "document: empty" },
	{ "bad-truncated.json", -EBADMSG, "document: truncated" },
	{ "bad-syntax.json", -EBADMSG, "document: not valid JSON at byte " },
	{ "bad-utf8.json", -EBADMSG, "document: not valid JSON at byte " },
	{ "bad-trailing.json", -EBADMSG, "document: unexpected data after the JSON value" },
	{ "bad-not-object.json", -EBADMSG, "document: expected an object, got an array" },
	{ "bad-droplet-id-missing.json", -EBADMSG, "droplet_id: missing" },
	{ "bad-droplet-id-null.json", -EBADMSG,
	  "droplet_id: expected an integer or a string of digits, got null" },
	{ "bad-droplet-id-bool.json", -EBADMSG,
	  "droplet_id: expected an integer or a string of digits, got a boolean" },
	{ "bad-droplet-id-float.json", -EBADMSG,
	  "droplet_id: expected an integer or a string of digits, got a number" },
	{ "bad-droplet-id-zero.json", -EBADMSG, "droplet_id: not a positive integer: \"0\"" },
	{ "bad-droplet-id-negative.json", -EBADMSG, "droplet_id: not a positive integer: \"-5\"" },
	{ "bad-droplet-id-huge.json", -EBADMSG, "droplet_id: out of range" },
	{ "bad-droplet-id-string.json", -EBADMSG,
	  "droplet_id: not a positive decimal integer: \"27a6\"" },
	{ "bad-droplet-id-string-zero.json", -EBADMSG,
	  "droplet_id: not a positive decimal integer: \"0\"" },
	{ "bad-droplet-id-string-negative.json", -EBADMSG,
	  "droplet_id: not a positive decimal integer" },
	{ "bad-droplet-id-too-long.json", -EBADMSG, "droplet_id: not a positive decimal integer" },
	{ "bad-hostname-missing.json", -EBADMSG, "hostname: missing" },
	{ "bad-hostname-number.json", -EBADMSG, "hostname: expected a string, got an integer" },
	{ "bad-hostname-chars.json", -EBADMSG,
	  "hostname: not a valid hostname: \"redis host;rm\"" },
	{ "bad-hostname-nul.json", -EBADMSG,
	  "hostname: contains a NUL byte: \"redis\\x00host\"" },
	{ "bad-region-missing.json", -EBADMSG, "region: missing" },
	{ "bad-region-type.json", -EBADMSG, "region: expected a string, got an array" },
	{ "bad-user-data-type.json", -EBADMSG,
	  "user_data: expected a string or null, got an integer" },
	{ "bad-vendor-data-type.json", -EBADMSG,
	  "vendor_data: expected a string or null, got an object" },
	{ "bad-public-keys-type.json", -EBADMSG,
	  "public_keys: expected a list of strings, \"\" or null, got an integer" },
	{ "bad-public-keys-string.json", -EBADMSG,
	  "public_keys: expected a list of strings, \"\" or null, got a string" },
	{ "bad-public-keys-element.json", -EBADMSG,
	  "public_keys[0]: expected a string, got an integer" },
	{ "bad-tags-string.json", -EBADMSG,
	  "tags: expected a list of strings or null, got a string" },
	{ "bad-tags-element.json", -EBADMSG, "tags[1]: expected a string, got null" },
	{ "bad-dns-type.json", -EBADMSG, "dns: expected an object or null, got an array" },
	{ "bad-nameservers.json", -EBADMSG,
	  "dns.nameservers: expected a list of strings or null, got a string" },
	{ "bad-interfaces-missing.json", -EBADMSG, "interfaces: missing" },
	{ "bad-interfaces-list.json", -EBADMSG, "interfaces: expected an object, got an array" },
	{ "bad-public-not-list.json", -EBADMSG,
	  "interfaces.public: expected an array or null, got an object" },
	{ "bad-private-element.json", -EBADMSG,
	  "interfaces.private[0]: expected an object, got null" },
	{ "bad-ipv4-type.json", -EBADMSG,
	  "interfaces.public[0].ipv4: expected an object or null, got a string" },
	{ "bad-ipv4-address.json", -EBADMSG,
	  "interfaces.public[0].ipv4.ip_address: not an IPv4 address: \"203.0.113.300\"" },
	{ "bad-ipv4-address-v6.json", -EBADMSG,
	  "interfaces.private[0].ipv4.ip_address: not an IPv4 address: \"2001:db8::1\"" },
	{ "bad-ipv4-address-missing.json", -EBADMSG,
	  "interfaces.public[0].ipv4.ip_address: missing" },
	{ "bad-netmask.json", -EBADMSG,
	  "interfaces.public[0].ipv4.netmask: not a contiguous netmask: \"255.0.255.0\"" },
	{ "bad-gateway.json", -EBADMSG,
	  "interfaces.public[0].ipv4.gateway: not an IPv4 address: \"nope\"" },
	{ "bad-anchor-netmask.json", -EBADMSG,
	  "interfaces.public[0].anchor_ipv4.netmask: not a contiguous netmask" },
	{ "bad-ipv6-address.json", -EBADMSG,
	  "interfaces.public[0].ipv6.ip_address: not an IPv6 address: \"2001:db8::g\"" },
	{ "bad-cidr-range.json", -EBADMSG,
	  "interfaces.public[0].ipv6.cidr: 129 is not a prefix length (0..128)" },
	{ "bad-cidr-negative.json", -EBADMSG,
	  "interfaces.public[0].ipv6.cidr: -1 is not a prefix length (0..128)" },
	{ "bad-cidr-type.json", -EBADMSG,
	  "interfaces.public[0].ipv6.cidr: expected an integer, got a string" },
	{ "bad-mac.json", -EBADMSG,
	  "interfaces.public[0].mac: not a MAC address: \"04:01:2a:0f:3a\"" },
	{ "bad-interface-type.json", -EBADMSG,
	  "interfaces.public[0].type: does not match the list it is in: \"private\"" },
	{ "bad-reserved-ip-address.json", -EBADMSG,
	  "reserved_ip.ipv4.ip_address: not an IPv4 address: \"198.51.100\"" },
	{ "bad-reserved-ip-missing.json", -EBADMSG, "reserved_ip.ipv4.ip_address: missing" },
	{ "bad-floating-active-type.json", -EBADMSG,
	  "floating_ip.ipv4.active: expected a boolean or null, got a string" },
	{ "bad-reserved-conflict.json", -EBADMSG,
	  "reserved_ip.ipv4.ip_address: differs from floating_ip.ipv4.ip_address" },
};

static void test_bad_fixture(void **state)
{
	const struct bad_case *c = *state;
	struct metadata sentinel, *md = &sentinel;
	_cleanup_free_ char *cause = NULL;

	assert_int_equal(load(c->fixture, &md, &cause), c->error);
	assert_ptr_equal(md, &sentinel);
	assert_non_null(cause);
	if (strncmp(cause, c->cause, strlen(c->cause)) != 0)
		fail_msg("%s: got \"%s\", want \"%s...\"", c->fixture, cause, c->cause);
	assert_null(strstr(cause, SECRET));
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_id_string),
		cmocka_unit_test(test_no_private),
		cmocka_unit_test(test_private_empty),
		cmocka_unit_test(test_reserved_ip),
		cmocka_unit_test(test_floating_only),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_user_data_nul),
		cmocka_unit_test(test_parse_unterminated),
		cmocka_unit_test(test_droplet_id_bounds),
		cmocka_unit_test(test_droplet_id_rejected),
		cmocka_unit_test(test_netmask_prefix),
		cmocka_unit_test(test_netmask_rejected),
		cmocka_unit_test(test_ipv6_cidr_bounds),
		cmocka_unit_test(test_hostname_length),
		cmocka_unit_test(test_cause_quoting),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_size_at_cap),
		cmocka_unit_test(test_load_file_too_big),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_surrounding_whitespace),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_failure_outputs),
		cmocka_unit_test(test_free_null),
	};
	struct CMUnitTest tests[ELEMENTSOF(fixed) + ELEMENTSOF(bad_cases)];

	memcpy(tests, fixed, sizeof fixed);
	for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++)
		tests[ELEMENTSOF(fixed) + i] = (struct CMUnitTest){
			.name = bad_cases[i].fixture,
			.test_func = test_bad_fixture,
			.initial_state = (void *)(uintptr_t)&bad_cases[i],
		};
	return cmocka_run_group_tests_name("metadata", tests, NULL, NULL);
}

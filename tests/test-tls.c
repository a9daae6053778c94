/* Certificates: self-signed ones checked with libcrypto and the openssl CLI, user pairs
 * checked against the fixtures in tests/fixtures/tls (see its README), and one real TLS
 * handshake between openssl s_server and s_client. */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fileio.h"
#include "macro.h"
#include "metadata.h"
#include "tls.h"

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

static char *fixture_path(const char *dir, const char *name)
{
	const char *top = getenv("top_srcdir");

	return xprintf("%s/tests/fixtures/%s/%s", top ? top : ".", dir, name);
}

/* A PEM fixture from tests/fixtures/tls. */
static char *pem(const char *name)
{
	_cleanup_free_ char *path = fixture_path("tls", name);
	char *s = NULL;
	size_t len;
	int r = fileio_read_file(path, 1 << 20, &s, &len);

	if (r < 0)
		fail_msg("%s: %s", path, strerror(-r));
	return s;
}

static struct metadata *load_md(const char *name)
{
	_cleanup_free_ char *path = fixture_path("metadata", name), *cause = NULL;
	struct metadata *md = NULL;
	int r = metadata_load_file(path, &md, &cause);

	if (r < 0)
		fail_msg("%s: %s", name, cause ? cause : strerror(-r));
	return md;
}

/* A private temporary directory for files the openssl CLI reads. */
struct tmp {
	char dir[4096];
	char *files[8];
	size_t n;
};

static void tmp_init(struct tmp *t)
{
	const char *base = getenv("TMPDIR");

	snprintf(t->dir, sizeof(t->dir), "%s/test-tls.XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(t->dir));
	t->n = 0;
}

/* Write data to DIR/name (0600); returns the path, owned by t. */
static const char *tmp_write(struct tmp *t, const char *name, const char *data)
{
	char *path = xprintf("%s/%s", t->dir, name);
	int r;

	assert_true(t->n < ELEMENTSOF(t->files));
	r = fileio_write_atomic(path, data, strlen(data), 0600, (uid_t)-1, (gid_t)-1);
	assert_int_equal(r, 0);
	t->files[t->n++] = path;
	return path;
}

static void tmp_done(struct tmp *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		unlink(t->files[i]);
		free(t->files[i]);
	}
	rmdir(t->dir);
}

/* The whole output (stdout and stderr) of a shell command, for the openssl CLI only;
 * *ret_status is its exit status. */
static char *run(const char *cmd, int *ret_status)
{
	_cleanup_free_ char *full = xprintf("%s 2>&1 </dev/null", cmd);
	char *out = NULL;
	size_t len = 0;
	FILE *f = popen(full, "r");
	int status;

	assert_non_null(f);
	{
		FILE *m = open_memstream(&out, &len);
		char chunk[4096];
		size_t n;

		assert_non_null(m);
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, n, m);
		fclose(m);
	}
	status = pclose(f);
	if (ret_status)
		*ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return out;
}

static X509 *parse_cert(const char *cert_pem)
{
	BIO *in = BIO_new_mem_buf(cert_pem, -1);
	X509 *x;

	assert_non_null(in);
	x = PEM_read_bio_X509(in, NULL, NULL, NULL);
	BIO_free(in);
	assert_non_null(x);
	return x;
}

static EVP_PKEY *parse_key(const char *key_pem)
{
	BIO *in = BIO_new_mem_buf(key_pem, -1);
	EVP_PKEY *k;

	assert_non_null(in);
	k = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
	BIO_free(in);
	assert_non_null(k);
	return k;
}

/* The certificate's subjectAltName entries as "DNS:name" and "IP:address" (inet_ntop). */
static size_t cert_sans(X509 *x, char out[][300], size_t max)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t n = 0;
	int i;

	assert_non_null(gens);
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
		char addr[INET6_ADDRSTRLEN];
		int type;
		ASN1_STRING *s = GENERAL_NAME_get0_value(gn, &type);

		assert_true(n < max);
		if (type == GEN_DNS) {
			snprintf(out[n++], 300, "DNS:%.*s", ASN1_STRING_length(s),
				 (const char *)ASN1_STRING_get0_data(s));
		} else {
			assert_int_equal(type, GEN_IPADD);
			assert_true(ASN1_STRING_length(s) == 4 || ASN1_STRING_length(s) == 16);
			assert_non_null(inet_ntop(ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6,
						  ASN1_STRING_get0_data(s), addr, sizeof(addr)));
			snprintf(out[n++], 300, "IP:%s", addr);
		}
	}
	GENERAL_NAMES_free(gens);
	return n;
}

/* The SANs are exactly want (NULL-terminated), in any order, with no repeats. */
static void assert_sans(const char *cert_pem, const char *const *want)
{
	char have[32][300];
	X509 *x = parse_cert(cert_pem);
	size_t n = cert_sans(x, have, ELEMENTSOF(have)), i, j, n_want = 0;

	X509_free(x);
	for (i = 0; want[i]; i++) {
		bool found = false;

		for (j = 0; j < n; j++)
			found = found || strcmp(have[j], want[i]) == 0;
		if (!found)
			fail_msg("SAN %s missing", want[i]);
		n_want++;
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(have[i], have[j]) == 0)
				fail_msg("SAN %s twice", have[i]);
	if (n != n_want) {
		for (i = 0; i < n; i++)
			print_error("have %s\n", have[i]);
		fail_msg("%zu SANs, want %zu", n, n_want);
	}
}

/* No 12 consecutive characters of the key's base64 body appear in the message. */
static void assert_no_key_material(const char *cause, const char *key_pem)
{
	char body[16384];
	size_t n = 0, i;
	const char *p = key_pem;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (strncmp(p, "-----", 5) != 0 && !memchr(p, ':', len)) {
			assert_true(n + len < sizeof(body));
			memcpy(body + n, p, len);
			n += len;
		}
		p += len + (eol ? 1 : 0);
	}
	for (i = 0; i + 12 <= n; i++) {
		char window[13];

		memcpy(window, body + i, 12);
		window[12] = '\0';
		if (strstr(cause, window))
			fail_msg("the message quotes the key: %s", cause);
	}
	assert_null(strstr(cause, "-----BEGIN"));
}

static char *make_key(void)
{
	_cleanup_free_ char *cause = NULL;
	char *key = NULL;

	assert_int_equal(tls_make_key(&key, &cause), 0);
	assert_null(cause);
	return key;
}

static char *make_cert(const char *key, const struct metadata *md)
{
	_cleanup_free_ char *cause = NULL;
	char *cert = NULL;
	int r = tls_make_self_signed(key, md, &cert, &cause);

	if (r < 0)
		fail_msg("tls_make_self_signed: %d %s", r, cause ? cause : "");
	assert_null(cause);
	assert_int_equal(ERR_peek_error(), 0);
	return cert;
}

static void test_make_key(void **state)
{
	_cleanup_erase_ char *a = make_key(), *b = make_key();
	EVP_PKEY *k;
	char group[64];
	size_t len;

	assert_true(strncmp(a, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
	assert_non_null(strstr(a, "-----END PRIVATE KEY-----\n"));
	assert_string_not_equal(a, b);
	k = parse_key(a);
	assert_true(EVP_PKEY_is_a(k, "EC"));
	assert_int_equal(EVP_PKEY_get_group_name(k, group, sizeof(group), &len), 1);
	assert_string_equal(group, "prime256v1");
	assert_int_equal(EVP_PKEY_get_bits(k), 256);
	EVP_PKEY_free(k);
}

/* tls_make_key keeps the key it made for the next certificate: that certificate, and
 * any other, must be for the key it is given, whichever was made last. */
static void test_self_signed_for_the_key_given(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_md("full.json");
	_cleanup_erase_ char *a = make_key(), *b = make_key();
	_cleanup_free_ char *for_a = make_cert(a, md), *for_b = make_cert(b, md), *again = make_cert(b, md);
	_cleanup_free_ char *c1 = NULL, *c2 = NULL, *c3 = NULL, *c4 = NULL;

	assert_int_equal(tls_check_pair(for_a, a, &c1), 0);
	assert_int_equal(tls_check_pair(for_b, b, &c2), 0);
	assert_int_equal(tls_check_pair(again, b, &c3), 0);
	assert_int_not_equal(tls_check_pair(for_b, a, &c4), 0);
}

static void test_self_signed_full(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_md("full.json");
	_cleanup_erase_ char *key = make_key();
	_cleanup_free_ char *cert = make_cert(key, md), *cause = NULL, *out = NULL, *cmd = NULL;
	static const char *const want[] = {
		"DNS:redis-full-01", "IP:127.0.0.1",	  "IP:203.0.113.10",
		"IP:2001:db8:0:10::17d:2001", "IP:10.17.0.5", "IP:10.132.255.113",
		NULL,
	};
	static const char *const cli[] = {
		"DNS:redis-full-01",
		"IP Address:127.0.0.1",
		"IP Address:203.0.113.10",
		"IP Address:10.132.255.113",
		"IP Address:10.17.0.5",
		"IP Address:2001:DB8:0:10:0:0:17D:2001",
		"X509v3 Basic Constraints: critical",
		"CA:FALSE",
		"X509v3 Key Usage: critical",
		"Digital Signature",
		"TLS Web Server Authentication",
	};
	X509 *x = parse_cert(cert);
	EVP_PKEY *k = parse_key(key);
	X509_NAME *subject = X509_get_subject_name(x);
	BIGNUM *serial;
	char cn[80];
	int days, secs, status;
	time_t now = time(NULL);
	struct tmp t;
	const char *path;
	size_t i;
	char *p;

	assert_sans(cert, want);

	/* libcrypto: signed by its own key, for a server, no CA, about ten years. */
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(X509_check_private_key(x, k), 1);
	assert_int_equal(X509_verify(x, k), 1);
	assert_int_equal(X509_NAME_cmp(subject, X509_get_issuer_name(x)), 0);
	assert_true(X509_NAME_get_text_by_NID(subject, NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "redis-full-01");
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(X509_get_extension_flags(x) & EXFLAG_BCONS);
	assert_false(X509_get_extension_flags(x) & EXFLAG_CA);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);
	assert_non_null(X509_get0_subject_key_id(x));
	serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_non_null(serial);
	assert_int_equal(BN_num_bits(serial), 159);
	BN_free(serial);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
					X509_get0_notAfter(x)),
			 1);
	assert_int_equal(days, TLS_SELF_SIGNED_DAYS);
	assert_int_equal(secs, 3600);
	assert_int_equal(X509_cmp_time(X509_get0_notBefore(x), &now), -1);
	assert_int_equal(X509_cmp_current_time(X509_get0_notAfter(x)), 1);
	EVP_PKEY_free(k);
	X509_free(x);

	/* The openssl CLI reads the same. */
	tmp_init(&t);
	path = tmp_write(&t, "cert.pem", cert);
	cmd = xprintf("openssl x509 -noout -ext subjectAltName,basicConstraints,keyUsage,"
		      "extendedKeyUsage -in %s",
		      path);
	out = run(cmd, &status);
	assert_int_equal(status, 0);
	for (i = 0; i < ELEMENTSOF(cli); i++)
		if (!strstr(out, cli[i]))
			fail_msg("openssl x509 does not show %s:\n%s", cli[i], out);
	for (i = 0, p = out; (p = strstr(p, "IP Address:")); p++)
		i++;
	assert_int_equal(i, 5);
	for (i = 0, p = out; (p = strstr(p, "DNS:")); p++)
		i++;
	assert_int_equal(i, 1);
	free(out);
	free(cmd);
	cmd = xprintf("openssl x509 -noout -checkend %d -in %s", 3649 * 86400, path);
	out = run(cmd, &status);
	assert_int_equal(status, 0);
	tmp_done(&t);

	/* What the user may bring passes the same check. */
	assert_int_equal(tls_check_pair(cert, key, &cause), 0);
	assert_null(cause);
}

static void test_self_signed_reserved(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_md("reserved-ip.json");
	_cleanup_erase_ char *key = make_key();
	_cleanup_free_ char *cert = make_cert(key, md);
	static const char *const want[] = {
		"DNS:redis-reserved", "IP:127.0.0.1", "IP:198.51.100.30", "IP:198.51.100.47",
		"IP:10.114.0.2",      NULL,
	};

	assert_sans(cert, want);
}

static void test_self_signed_no_private(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_md("no-private.json");
	_cleanup_erase_ char *key = make_key();
	_cleanup_free_ char *cert = make_cert(key, md);
	static const char *const want[] = { "DNS:redis-no-private", "IP:127.0.0.1",
					    "IP:203.0.113.77", NULL };

	assert_sans(cert, want);
}

/* A document with the given hostname whose addresses repeat: the reserved IPv4 is the
 * public one, the private IPv4 is the anchor. */
#define REPEATS                                                                           \
	"{\"droplet_id\":7,\"hostname\":\"%s\",\"region\":\"nyc3\",\"interfaces\":{"        \
	"\"public\":[{\"ipv4\":{\"ip_address\":\"203.0.113.9\",\"netmask\":\"255.255.255.0\"}," \
	"\"ipv6\":{\"ip_address\":\"2001:0db8:0000::0009\",\"cidr\":64},"                  \
	"\"anchor_ipv4\":{\"ip_address\":\"10.0.0.5\",\"netmask\":\"255.255.0.0\"}}],"     \
	"\"private\":[{\"ipv4\":{\"ip_address\":\"10.0.0.5\",\"netmask\":\"255.255.0.0\"}}]},"  \
	"\"reserved_ip\":{\"ipv4\":{\"active\":true,\"ip_address\":\"203.0.113.9\"}}}"

static void test_self_signed_hostnames_and_repeats(void **state)
{
	static const char long_name[] =
		"a123456789012345678901234567890123456789012345678901234567890.b123456789"
		"012345678901234567890123456789.example";
	static const struct {
		const char *hostname;
		bool dns;
	} cases[] = {
		{ "redis-01", true },	 { "redis.example.com", true }, { "Redis-01", true },
		{ long_name, true },	 { "redis_01", false },		{ "-redis", false },
		{ "redis-", false },	 { "redis..example", false },	{ ".redis", false },
		{ "10.1.2.3", false },
	};
	_cleanup_erase_ char *key = make_key();
	size_t i;

	for (i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *doc = xprintf(REPEATS, cases[i].hostname), *cause = NULL;
		_cleanup_free_ char *cert = NULL, *dns = xprintf("DNS:%s", cases[i].hostname);
		_cleanup_metadata_ struct metadata *md = NULL;
		const char *want[] = { "IP:127.0.0.1", "IP:203.0.113.9", "IP:2001:db8::9",
				       "IP:10.0.0.5", NULL, NULL };
		X509 *x;
		char cn[80];

		if (metadata_parse(doc, strlen(doc), &md, &cause) < 0)
			fail_msg("%s: %s", cases[i].hostname, cause);
		cert = make_cert(key, md);
		if (cases[i].dns)
			want[4] = dns;
		assert_sans(cert, want);
		assert_true(tls_cert_matches(cert, md));
		/* The commonName is the hostname, cut to the 64 bytes X.509 allows. */
		x = parse_cert(cert);
		assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
						      sizeof(cn)) > 0);
		assert_true(strncmp(cn, cases[i].hostname, 64) == 0);
		assert_int_equal(strlen(cn), strlen(cases[i].hostname) > 64 ?
						     64 : strlen(cases[i].hostname));
		X509_free(x);
	}
}

static void test_self_signed_bad_key(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_md("full.json");
	_cleanup_free_ char *garbage = pem("garbage.pem"), *encrypted = pem("encrypted-key.pem");
	_cleanup_free_ char *cause = NULL;
	char *cert = NULL;

	assert_int_equal(tls_make_self_signed(garbage, md, &cert, &cause), -EINVAL);
	assert_null(cert);
	assert_non_null(strstr(cause, "not a PEM private key"));
	free(cause);
	cause = NULL;
	assert_int_equal(tls_make_self_signed(encrypted, md, &cert, &cause), -EINVAL);
	assert_null(cert);
	assert_non_null(strstr(cause, "passphrase"));
	assert_no_key_material(cause, encrypted);
	free(cause);
	cause = NULL;
	assert_int_equal(tls_make_self_signed("", md, &cert, &cause), -EINVAL);
	assert_null(cert);
}

static void test_matches(void **state)
{
	_cleanup_metadata_ struct metadata *full = load_md("full.json");
	_cleanup_metadata_ struct metadata *reserved = load_md("reserved-ip.json");
	_cleanup_metadata_ struct metadata *no_private = load_md("no-private.json");
	_cleanup_erase_ char *key = make_key();
	_cleanup_free_ char *cert = make_cert(key, full), *small = make_cert(key, no_private);
	_cleanup_free_ char *fixture = pem("valid-cert.pem"), *garbage = pem("garbage.pem");

	assert_true(tls_cert_matches(cert, full));
	assert_false(tls_cert_matches(cert, reserved));
	assert_false(tls_cert_matches(cert, no_private));
	assert_true(tls_cert_matches(small, no_private));
	assert_false(tls_cert_matches(small, full));
	/* The same droplet with a reserved IP assigned since: a new certificate is due. */
	strcpy(full->floating_ipv4, "198.51.100.99");
	assert_false(tls_cert_matches(cert, full));
	full->floating_ipv4[0] = '\0';
	assert_true(tls_cert_matches(cert, full));
	assert_false(tls_cert_matches(fixture, full));
	assert_false(tls_cert_matches(garbage, full));
	assert_false(tls_cert_matches("", full));
	assert_false(tls_cert_matches(NULL, full));
	assert_int_equal(ERR_peek_error(), 0);
}

static void assert_fingerprint(const char *cert)
{
	_cleanup_free_ char *fp = NULL, *cause = NULL, *cmd = NULL, *out = NULL;
	static const char prefix[] = "sha256 Fingerprint=";
	struct tmp t;
	int status;

	assert_int_equal(tls_fingerprint(cert, &fp, &cause), 0);
	assert_null(cause);
	assert_int_equal(strlen(fp), 32 * 3 - 1);
	tmp_init(&t);
	cmd = xprintf("openssl x509 -noout -fingerprint -sha256 -in %s",
		      tmp_write(&t, "cert.pem", cert));
	out = run(cmd, &status);
	tmp_done(&t);
	assert_int_equal(status, 0);
	assert_true(strncmp(out, prefix, strlen(prefix)) == 0);
	out[strcspn(out, "\n")] = '\0';
	assert_string_equal(fp, out + strlen(prefix));
}

static void test_fingerprint(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_md("full.json");
	_cleanup_erase_ char *key = make_key();
	_cleanup_free_ char *cert = make_cert(key, md), *fixture = pem("valid-cert.pem");
	_cleanup_free_ char *chain = pem("chain.pem"), *garbage = pem("garbage.pem");
	_cleanup_free_ char *fp = NULL, *cause = NULL;

	assert_fingerprint(cert);
	assert_fingerprint(fixture);
	assert_fingerprint(chain);	/* the leaf's: openssl x509 reads the first */
	assert_int_equal(tls_fingerprint(garbage, &fp, &cause), -EBADMSG);
	assert_null(fp);
	assert_non_null(cause);
}

static void test_check_pair_ok(void **state)
{
	static const char *const pairs[][2] = {
		{ "valid-cert.pem", "valid-key.pem" },
		{ "chain.pem", "chain-leaf-key.pem" },
		{ "rsa-cert.pem", "rsa-key.pem" },
	};
	size_t i;

	for (i = 0; i < ELEMENTSOF(pairs); i++) {
		_cleanup_free_ char *cert = pem(pairs[i][0]), *cause = NULL;
		_cleanup_erase_ char *key = pem(pairs[i][1]);
		int r = tls_check_pair(cert, key, &cause);

		if (r < 0)
			fail_msg("%s: %s", pairs[i][0], cause);
		assert_null(cause);
		assert_int_equal(ERR_peek_error(), 0);
	}
}

/* Each of these is refused with -EBADMSG and a message holding want. */
struct bad_pair {
	const char *name;
	const char *cert;	/* a fixture, or "=text" */
	const char *key;
	const char *want;
};

static const struct bad_pair bad_pairs[] = {
	{ "mismatched key", "valid-cert.pem", "other-key.pem",
	  "key: does not belong to the certificate" },
	{ "RSA key, EC certificate", "valid-cert.pem", "rsa-key.pem", "does not belong" },
	{ "expired", "expired-cert.pem", "expired-key.pem",
	  "certificate: expired on 2021-01-01 00:00:00 UTC" },
	{ "not yet valid", "notyet-cert.pem", "notyet-key.pem",
	  "certificate: not valid before 2099-01-01 00:00:00 UTC" },
	{ "CA", "ca-cert.pem", "ca-key.pem", "certificate: is a CA certificate" },
	{ "garbage certificate", "garbage.pem", "valid-key.pem",
	  "certificate: no PEM certificate found" },
	{ "empty certificate", "=", "valid-key.pem", "certificate: empty" },
	{ "garbage key", "valid-cert.pem", "garbage.pem", "key: not a PEM private key" },
	{ "empty key", "valid-cert.pem", "=", "key: empty" },
	{ "certificate as key", "valid-cert.pem", "valid-cert.pem", "key: not a PEM private key" },
	{ "encrypted key", "valid-cert.pem", "encrypted-key.pem",
	  "key: encrypted with a passphrase" },
	{ "weak RSA", "rsa1024-cert.pem", "rsa1024-key.pem", "key: too weak (80-bit security" },
	{ "key as certificate", "valid-key.pem", "valid-key.pem",
	  "certificate: block 1 is a private key" },
	{ "chain in the wrong order", "=reversed", "chain-leaf-key.pem",
	  "key: does not belong to the first (the server's) certificate" },
	{ "CA key with the chain's intermediate first", "=intermediate", "chain-leaf-key.pem",
	  "does not belong" },
	{ "truncated certificate", "=truncated", "valid-key.pem",
	  "certificate: no PEM certificate found" },
	{ "truncated second certificate", "=truncated-chain", "chain-leaf-key.pem",
	  "certificate: block 2 is not valid PEM" },
	{ "key after the certificate", "=with-key", "valid-key.pem",
	  "certificate: block 2 is a private key" },
	{ "not DER inside", "=bad-der", "valid-key.pem",
	  "certificate: block 1 is not an X.509 certificate" },
};

/* The certificate text of a case: a fixture, or one made from fixtures. */
static char *bad_cert(const char *spec)
{
	_cleanup_free_ char *valid = pem("valid-cert.pem"), *chain = pem("chain.pem");
	char *second;

	if (spec[0] != '=')
		return pem(spec);
	if (strcmp(spec, "=") == 0)
		return strdup("");
	second = strstr(chain + 1, "-----BEGIN CERTIFICATE-----");
	assert_non_null(second);
	if (strcmp(spec, "=reversed") == 0)
		return xprintf("%s%.*s", second, (int)(second - chain), chain);
	if (strcmp(spec, "=intermediate") == 0)
		return strdup(second);
	if (strcmp(spec, "=truncated") == 0)
		return xprintf("%.*s", (int)strlen(valid) / 2, valid);
	if (strcmp(spec, "=truncated-chain") == 0)
		return xprintf("%.*s", (int)(second - chain) + 100, chain);
	if (strcmp(spec, "=with-key") == 0) {
		_cleanup_free_ char *key = pem("valid-key.pem");

		return xprintf("%s%s", valid, key);
	}
	if (strcmp(spec, "=bad-der") == 0)
		return strdup("-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n"
			      "-----END CERTIFICATE-----\n");
	fail_msg("no case %s", spec);
	return NULL;
}

static void test_check_pair_bad(void **state)
{
	const struct bad_pair *c = *state;
	_cleanup_free_ char *cert = bad_cert(c->cert), *cause = NULL;
	_cleanup_erase_ char *key = strcmp(c->key, "=") == 0 ? strdup("") : pem(c->key);
	_cleanup_free_ char *valid_key = pem("valid-key.pem");

	assert_int_equal(tls_check_pair(cert, key, &cause), -EBADMSG);
	assert_non_null(cause);
	if (!strstr(cause, c->want))
		fail_msg("%s: got \"%s\", want \"%s\"", c->name, cause, c->want);
	assert_no_key_material(cause, key);
	assert_no_key_material(cause, valid_key);
	assert_int_equal(ERR_peek_error(), 0);
}

/* A TCP port on 127.0.0.1 that nothing listens on just now. */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* openssl s_server with the certificate; returns its pid once it accepts. */
static pid_t start_server(int port, const char *cert, const char *key, int n)
{
	_cleanup_free_ char *accept = xprintf("127.0.0.1:%d", port), *naccept = xprintf("%d", n);
	char line[4096];
	size_t len = 0;
	int p[2], devnull;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execlp("openssl", "openssl", "s_server", "-accept", accept, "-cert", cert, "-key",
		       key, "-naccept", naccept, "-www", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* It prints ACCEPT when it listens. */
	while (!memmem(line, len, "ACCEPT", 6)) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		ssize_t k;

		if (poll(&pfd, 1, 10000) != 1)
			fail_msg("openssl s_server did not start");
		k = read(p[0], line + len, sizeof(line) - len - 1);
		if (k <= 0)
			fail_msg("openssl s_server: %.*s", (int)len, line);
		len += (size_t)k;
		assert_true(len < sizeof(line) - 1);
	}
	/* Keep the pipe's read end open so the server's writes never fail. */
	return pid;
}

static void test_interop(void **state)
{
	_cleanup_metadata_ struct metadata *md = load_md("full.json");
	_cleanup_erase_ char *key = make_key();
	_cleanup_free_ char *cert = make_cert(key, md);
	static const struct {
		const char *check;
		const char *want;
	} clients[] = {
		{ "-verify_ip 127.0.0.1", "Verify return code: 0 (ok)" },
		{ "-verify_hostname redis-full-01", "Verify return code: 0 (ok)" },
		{ "-verify_ip 192.0.2.1", "IP address mismatch" },
	};
	struct tmp t;
	const char *c, *k;
	int port, status;
	pid_t server;
	size_t i;

	tmp_init(&t);
	c = tmp_write(&t, "cert.pem", cert);
	k = tmp_write(&t, "key.pem", key);
	port = free_port();
	server = start_server(port, c, k, (int)ELEMENTSOF(clients));
	for (i = 0; i < ELEMENTSOF(clients); i++) {
		_cleanup_free_ char *cmd = NULL, *out = NULL;

		cmd = xprintf("openssl s_client -connect 127.0.0.1:%d -CAfile %s "
			      "-verify_return_error %s",
			      port, c, clients[i].check);
		out = run(cmd, &status);
		if (!strstr(out, clients[i].want))
			fail_msg("%s: want \"%s\":\n%s", clients[i].check, clients[i].want, out);
		assert_int_equal(status, i < 2 ? 0 : 1);
	}
	kill(server, SIGTERM);
	assert_int_equal(waitpid(server, NULL, 0), server);
	tmp_done(&t);
}

/* The group's certificate: DNS:NAME only, for servers and clients, no CA; the
 * openssl CLI verifies a handshake against the certificate itself as the only trust
 * anchor, as every node of a group and doagent-launch status do. */
static void test_group_certificate(void **state)
{
	_cleanup_erase_ char *key = make_key();
	_cleanup_free_ char *cert = NULL, *cause = NULL, *out = NULL, *cmd = NULL;
	static const char *const want[] = { "DNS:redis-1", NULL };
	X509 *x;
	EVP_PKEY *k;
	char cn[80];
	int days, secs, status, port;
	struct tmp t;
	const char *c, *kp;
	pid_t server;

	assert_int_equal(tls_make_group_certificate(key, "redis-1", &cert, &cause), 0);
	assert_null(cause);
	assert_sans(cert, want);
	x = parse_cert(cert);
	k = parse_key(key);
	assert_int_equal(X509_check_private_key(x, k), 1);
	assert_int_equal(X509_verify(x, k), 1);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "redis-1");
	assert_int_equal(X509_check_ca(x), 0);
	assert_false(X509_get_extension_flags(x) & EXFLAG_CA);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_CLIENT, 0), 1);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	assert_int_equal(days, TLS_SELF_SIGNED_DAYS);
	EVP_PKEY_free(k);
	X509_free(x);
	/* What every node checks of its user data. */
	assert_int_equal(tls_check_pair(cert, key, &cause), 0);

	tmp_init(&t);
	c = tmp_write(&t, "group.crt", cert);
	kp = tmp_write(&t, "group.key", key);
	port = free_port();
	server = start_server(port, c, kp, 1);
	cmd = xprintf("openssl s_client -connect 127.0.0.1:%d -CAfile %s -verify_return_error", port, c);
	out = run(cmd, &status);
	if (!strstr(out, "Verify return code: 0 (ok)"))
		fail_msg("the group's certificate does not verify against itself:\n%s", out);
	assert_int_equal(status, 0);
	kill(server, SIGTERM);
	assert_int_equal(waitpid(server, NULL, 0), server);
	tmp_done(&t);

	/* A name that is no DNS name, or a bad key. */
	free(cert);
	cert = NULL;
	free(cause);
	cause = NULL;
	assert_int_equal(tls_make_group_certificate(key, "bad name", &cert, &cause), -EINVAL);
	assert_non_null(cause);
	assert_null(cert);
	free(cause);
	cause = NULL;
	assert_int_equal(tls_make_group_certificate("garbage", "redis-1", &cert, &cause), -EINVAL);
	assert_null(cert);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_make_key),
		cmocka_unit_test(test_self_signed_for_the_key_given),
		cmocka_unit_test(test_self_signed_full),
		cmocka_unit_test(test_self_signed_reserved),
		cmocka_unit_test(test_group_certificate),
		cmocka_unit_test(test_self_signed_no_private),
		cmocka_unit_test(test_self_signed_hostnames_and_repeats),
		cmocka_unit_test(test_self_signed_bad_key),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_check_pair_ok),
		cmocka_unit_test(test_interop),
	};
	struct CMUnitTest tests[ELEMENTSOF(fixed) + ELEMENTSOF(bad_pairs)];
	size_t i;

	memcpy(tests, fixed, sizeof(fixed));
	for (i = 0; i < ELEMENTSOF(bad_pairs); i++)
		tests[ELEMENTSOF(fixed) + i] = (struct CMUnitTest){
			.name = bad_pairs[i].name,
			.test_func = test_check_pair_bad,
			.initial_state = (void *)(uintptr_t)&bad_pairs[i],
		};
	return cmocka_run_group_tests_name("tls", tests, NULL, NULL);
}

/* User data: finding doagent's document, parsing it, and every way it can be wrong. */
#include "autoconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "doagent.h"
#include "macro.h"
#include "userdata.h"

/* Every password and private key in these tests holds SECRET: no diagnostic may show it. */
#define SECRET "Hunter2"
#define PASSWORD SECRET "Secret=\"q'\\#{}$x;y"

#define CERT_LINE1 "MIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGVGb3JUZXN0aW5nMAoGCCqGSM49BAMC"
#define CERT_LINE2 "AbCd=="
#define KEY_LINE1 "MIGHAgEAMBMGByqGSM49AgEGCCqG" SECRET "SecretSM49AwEHBG0wawIBAQQg"

#define CERT_PEM                                                                 \
	"-----BEGIN CERTIFICATE-----\n" CERT_LINE1 "\n" CERT_LINE2 "\n"          \
	"-----END CERTIFICATE-----"
#define KEY_PEM "-----BEGIN PRIVATE KEY-----\n" KEY_LINE1 "\n-----END PRIVATE KEY-----"

/* The certificate and key as user data writes them: indented continuation lines. */
#define CERT_INI                                                                 \
	"certificate = -----BEGIN CERTIFICATE-----\n"                            \
	"    " CERT_LINE1 "\n"                                                   \
	"    " CERT_LINE2 "\n"                                                   \
	"    -----END CERTIFICATE-----\n"
#define KEY_INI                                                                  \
	"key = -----BEGIN PRIVATE KEY-----\n"                                    \
	"\t" KEY_LINE1 "\n"                                                      \
	"\t-----END PRIVATE KEY-----\n"

#define X10 "xxxxxxxxxx"
#define X50 X10 X10 X10 X10 X10
#define X200 X50 X50 X50 X50

#define HDR "#doagent\n[redis]\n"

static _printf_(1, 2) char *xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	return s;
}

/*
 * Parse a copy of data that ends exactly where a page without access begins: reading
 * even one byte past len (the data is not NUL-terminated) crashes the test.
 */
static int parse_exact(const char *data, size_t len, struct config *c, struct userdata_report *rep)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = (len / page + 2) * page;
	char *map, *copy;
	int r;

	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + size - page, page, PROT_NONE), 0);
	copy = map + size - page - len;
	memcpy(copy, data, len);
	r = userdata_parse(copy, len, c, rep);
	assert_int_equal(munmap(map, size), 0);
	return r;
}

struct result {
	int r;
	struct config c;
	struct userdata_report rep;
};

static void parse(const char *data, size_t len, struct result *res)
{
	assert_int_equal(config_init(&res->c), 0);
	res->r = parse_exact(data, len, &res->c, &res->rep);
}

static void parse_str(const char *data, struct result *res)
{
	parse(data, strlen(data), res);
}

static void result_done(struct result *res)
{
	userdata_report_done(&res->rep);
	config_done(&res->c);
}

static void print_report(const struct userdata_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n_diags; i++) {
		_cleanup_free_ char *text = userdata_diag_format(rep, &rep->diags[i]);

		print_error("  diag %zu: %s\n", i, text ? text : "(null)");
	}
}

static void assert_string_or_null_equal(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_addrlist_equal(const struct config_addrlist *a, const struct config_addrlist *b)
{
	size_t i;

	assert_int_equal(a->vpc, b->vpc);
	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_true(netaddr_equal(&a->items[i].addr, &b->items[i].addr));
		assert_int_equal(a->items[i].normalized, b->items[i].normalized);
	}
}

static void assert_config_equal(const struct config *a, const struct config *b)
{
	size_t i;

	assert_int_equal(a->redis_port, b->redis_port);
	assert_string_or_null_equal(a->redis_password, b->redis_password);
	assert_int_equal(a->redis_maxmemory.kind, b->redis_maxmemory.kind);
	assert_int_equal(a->redis_maxmemory.value, b->redis_maxmemory.value);
	assert_int_equal(a->redis_maxmemory_policy, b->redis_maxmemory_policy);
	assert_int_equal(a->redis_bind, b->redis_bind);
	assert_int_equal(a->redis_appendonly, b->redis_appendonly);
	assert_int_equal(a->redis_snapshots, b->redis_snapshots);
	assert_int_equal(a->tls_enabled, b->tls_enabled);
	assert_int_equal(a->tls_port, b->tls_port);
	assert_string_or_null_equal(a->tls_certificate, b->tls_certificate);
	assert_string_or_null_equal(a->tls_key, b->tls_key);
	assert_int_equal(a->tls_plaintext, b->tls_plaintext);
	assert_int_equal(a->firewall_backend, b->firewall_backend);
	assert_addrlist_equal(&a->firewall_allow, &b->firewall_allow);
	assert_addrlist_equal(&a->firewall_ssh_allow, &b->firewall_ssh_allow);
	assert_int_equal(a->firewall_ssh_port, b->firewall_ssh_port);
	assert_int_equal(a->firewall_metadata, b->firewall_metadata);
	for (i = 0; i < _CONFIG_KEY_MAX; i++)
		if (a->line[i] != b->line[i])
			fail_msg("line[%s %s]: %u, expected %u", config_keys[i].section,
				 config_keys[i].name, a->line[i], b->line[i]);
}

static void assert_defaults(const struct config *c)
{
	struct config def;

	assert_int_equal(config_init(&def), 0);
	assert_config_equal(c, &def);
	config_done(&def);
}

static void assert_addr(const struct config_addrlist *l, size_t i, const char *text)
{
	char buf[NETADDR_STRLEN];

	assert_true(i < l->n);
	netaddr_format(&l->items[i].addr, buf);
	assert_string_equal(buf, text);
}

static bool contains(const char *s, const char *needle)
{
	return s && strstr(s, needle);
}

/* No diagnostic field, nor the formatted text, shows any part of SECRET. */
static void assert_no_secret(const struct userdata_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n_diags; i++) {
		const struct userdata_diag *d = &rep->diags[i];
		_cleanup_free_ char *text = userdata_diag_format(rep, d);

		assert_non_null(text);
		if (contains(d->message, SECRET) || contains(d->key, SECRET) ||
		    contains(d->section, SECRET) || contains(d->suggestion, SECRET) ||
		    contains(text, SECRET) || contains(rep->format, SECRET))
			fail_msg("diagnostic %zu shows the secret: %s", i, text);
	}
}

/* Errors come in line order. */
static void assert_line_order(const struct userdata_report *rep)
{
	size_t i;

	for (i = 1; i < rep->n_diags; i++)
		if (rep->diags[i].line < rep->diags[i - 1].line) {
			print_report(rep);
			fail_msg("diagnostic %zu (line %u) comes after line %u", i, rep->diags[i].line,
				 rep->diags[i - 1].line);
		}
}

/* "line 3: [redis] port: " from what a case expects, then the message and the suggestion. */
static char *expected_text(unsigned line, const char *section, const char *key, const char *message,
			   const char *suggestion, bool in_part)
{
	_cleanup_free_ char *where = NULL, *subject = NULL, *hint = NULL;

	where = line ? xprintf("line %u%s: ", line, in_part ? " of the doagent part" : "") : strdup("");
	if (section && key)
		subject = xprintf("[%s] %s: ", section, key);
	else if (section)
		subject = xprintf("[%s]: ", section);
	else if (key)
		subject = xprintf("%s: ", key);
	else
		subject = strdup("");
	if (suggestion && key)
		hint = xprintf("; did you mean '%s'?", suggestion);
	else if (suggestion)
		hint = xprintf("; did you mean [%s]?", suggestion);
	else
		hint = strdup("");
	assert_non_null(where);
	assert_non_null(subject);
	assert_non_null(hint);
	return xprintf("%s%s%s%s", where, subject, message, hint);
}

static void assert_diag_text(const struct userdata_report *rep, const struct userdata_diag *d,
			     const char *expected)
{
	_cleanup_free_ char *text = userdata_diag_format(rep, d);

	assert_non_null(text);
	assert_string_equal(text, expected);
}

/* ---- valid documents ---- */

static const char full_doc[] =
	"#doagent\n"						/* 1 */
	"; a comment\n"						/* 2 */
	"# another comment\n"					/* 3 */
	"\n"							/* 4 */
	"[redis]\n"						/* 5 */
	"port = 7000                 ; an inline comment\n"	/* 6 */
	"password = " PASSWORD "\n"				/* 7 */
	"maxmemory = 512mb\n"					/* 8 */
	"maxmemory-policy = volatile-ttl ; evict by TTL\n"	/* 9 */
	"bind = public\n"					/* 10 */
	"appendonly = yes\n"					/* 11 */
	"snapshots = off\n"					/* 12 */
	"\n"							/* 13 */
	"  ; an indented comment\n"				/* 14 */
	"[tls]\n"						/* 15 */
	"enabled = on\n"					/* 16 */
	"port = 7443\n"						/* 17 */
	CERT_INI						/* 18-21 */
	KEY_INI							/* 22-24 */
	"plaintext = private\n"					/* 25 */
	"engine = stunnel\n"					/* 26 */
	"[firewall]\n"						/* 27 */
	"backend = nftables\n"					/* 28 */
	"allow = vpc, 203.0.113.7/32, 2001:db8::/32\n"		/* 29 */
	"ssh-allow = 198.51.100.0/24 ; the office\n"		/* 30 */
	"ssh-port = 2222\n"					/* 31 */
	"metadata = root-only\n"				/* 32 */
	"[storage]\n"						/* 33 */
	"volume = redis-1-data\n"				/* 34 */
	"filesystem = xfs\n"					/* 35 */
	"[replication]\n"					/* 36 */
	"group = redis-1\n"					/* 37 */
	"primary = 10.132.0.5\n"				/* 38 */
	"quorum = 3\n";						/* 39 */

static void assert_full(const struct result *res)
{
	static const unsigned lines[_CONFIG_KEY_MAX] = {
		[CONFIG_REDIS_PORT] = 6,
		[CONFIG_REDIS_PASSWORD] = 7,
		[CONFIG_REDIS_MAXMEMORY] = 8,
		[CONFIG_REDIS_MAXMEMORY_POLICY] = 9,
		[CONFIG_REDIS_BIND] = 10,
		[CONFIG_REDIS_APPENDONLY] = 11,
		[CONFIG_REDIS_SNAPSHOTS] = 12,
		[CONFIG_TLS_ENABLED] = 16,
		[CONFIG_TLS_PORT] = 17,
		[CONFIG_TLS_CERTIFICATE] = 18,
		[CONFIG_TLS_KEY] = 22,
		[CONFIG_TLS_PLAINTEXT] = 25,
		[CONFIG_TLS_ENGINE] = 26,
		[CONFIG_FIREWALL_BACKEND] = 28,
		[CONFIG_FIREWALL_ALLOW] = 29,
		[CONFIG_FIREWALL_SSH_ALLOW] = 30,
		[CONFIG_FIREWALL_SSH_PORT] = 31,
		[CONFIG_FIREWALL_METADATA] = 32,
		[CONFIG_STORAGE_VOLUME] = 34,
		[CONFIG_STORAGE_FILESYSTEM] = 35,
		[CONFIG_REPLICATION_GROUP] = 37,
		[CONFIG_REPLICATION_PRIMARY] = 38,
		[CONFIG_REPLICATION_QUORUM] = 39,
	};
	const struct config *c = &res->c;
	size_t i;

	if (res->r != 0)
		print_report(&res->rep);
	assert_int_equal(res->r, 0);
	assert_int_equal(res->rep.kind, USERDATA_DOAGENT);
	assert_int_equal(res->rep.n_diags, 0);
	assert_int_equal(res->rep.n_errors, 0);
	assert_false(res->rep.in_part);

	assert_int_equal(c->redis_port, 7000);
	assert_string_equal(c->redis_password, PASSWORD);
	assert_int_equal(c->redis_maxmemory.kind, CONFIG_MEMORY_BYTES);
	assert_int_equal(c->redis_maxmemory.value, 512ULL << 20);
	assert_string_equal(config_policies[c->redis_maxmemory_policy], "volatile-ttl");
	assert_int_equal(c->redis_bind, CONFIG_SCOPE_PUBLIC);
	assert_true(c->redis_appendonly);
	assert_false(c->redis_snapshots);
	assert_true(c->tls_enabled);
	assert_int_equal(c->tls_port, 7443);
	assert_string_equal(c->tls_certificate, CERT_PEM);
	assert_string_equal(c->tls_key, KEY_PEM);
	assert_int_equal(c->tls_plaintext, CONFIG_SCOPE_PRIVATE);
	assert_int_equal(c->tls_engine, CONFIG_TLS_STUNNEL);
	assert_int_equal(c->firewall_backend, CONFIG_FW_NFTABLES);
	assert_true(c->firewall_allow.vpc);
	assert_int_equal(c->firewall_allow.n, 2);
	assert_addr(&c->firewall_allow, 0, "203.0.113.7/32");
	assert_addr(&c->firewall_allow, 1, "2001:db8::/32");
	assert_false(c->firewall_ssh_allow.vpc);
	assert_int_equal(c->firewall_ssh_allow.n, 1);
	assert_addr(&c->firewall_ssh_allow, 0, "198.51.100.0/24");
	assert_int_equal(c->firewall_ssh_port, 2222);
	assert_int_equal(c->firewall_metadata, CONFIG_METADATA_ROOT_ONLY);
	assert_string_equal(c->storage_volume, "redis-1-data");
	assert_int_equal(c->storage_filesystem, CONFIG_FS_XFS);
	assert_string_equal(c->replication_group, "redis-1");
	assert_string_equal(c->replication_primary, "10.132.0.5");
	assert_int_equal(c->replication_quorum, 3);
	for (i = 0; i < _CONFIG_KEY_MAX; i++) {
		assert_int_not_equal(lines[i], 0);	/* the document sets every key */
		if (c->line[i] != lines[i])
			fail_msg("line[%s %s]: %u, expected %u", config_keys[i].section,
				 config_keys[i].name, c->line[i], lines[i]);
	}
}

/* s with every "\n" turned into "\r\n", after prefix. */
static char *crlf(const char *prefix, const char *s)
{
	size_t n = strlen(prefix) + 2 * strlen(s) + 1;
	char *out = malloc(n), *o;

	assert_non_null(out);
	o = stpcpy(out, prefix);
	for (; *s; s++) {
		if (*s == '\n')
			*o++ = '\r';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static void test_full_document(void **state)
{
	struct result res;

	parse_str(full_doc, &res);
	assert_full(&res);
	result_done(&res);
}

static void test_full_document_crlf_bom(void **state)
{
	_cleanup_free_ char *with_crlf = crlf("", full_doc);
	_cleanup_free_ char *with_bom = xprintf("\xef\xbb\xbf%s", full_doc);
	_cleanup_free_ char *with_both = crlf("\xef\xbb\xbf", full_doc);
	const char *docs[] = { with_crlf, with_bom, with_both };
	size_t i;

	assert_non_null(strstr(with_crlf, "\r\n    " CERT_LINE2 "\r\n"));
	for (i = 0; i < ELEMENTSOF(docs); i++) {
		struct result res;

		parse_str(docs[i], &res);
		assert_full(&res);	/* no '\r' in any value, the same line numbers */
		result_done(&res);
	}
}

static void test_minimal_documents(void **state)
{
	static const char *const docs[] = {
		"#doagent",
		"#doagent\n",
		"#doagent   \t\r\n",
		"#doagent\n\n; nothing else\n",
		"#doagent\n[redis]\n[tls]\n[firewall]\n",
		"\xef\xbb\xbf#doagent\r\n",
	};
	size_t i;

	for (i = 0; i < ELEMENTSOF(docs); i++) {
		struct result res;

		parse_str(docs[i], &res);
		assert_int_equal(res.r, 0);
		assert_int_equal(res.rep.kind, USERDATA_DOAGENT);
		assert_int_equal(res.rep.n_diags, 0);
		assert_null(res.rep.format);
		assert_defaults(&res.c);
		result_done(&res);
	}
}

static void test_values_and_comments(void **state)
{
	/* ';' starts a comment only after a blank; '#' never inside a value; ':' also
	 * separates a key from its value. */
	struct result res;

	parse_str(HDR "password = " SECRET "Secret;#not-a-comment\n"
		      "maxmemory:2gb\n"
		      "maxmemory-policy = noeviction ; keep every key\n"
		      "bind   =   loopback   \n", &res);
	if (res.r != 0)
		print_report(&res.rep);
	assert_int_equal(res.r, 0);
	assert_string_equal(res.c.redis_password, SECRET "Secret;#not-a-comment");
	assert_int_equal(res.c.redis_maxmemory.value, 2ULL << 30);
	assert_int_equal(res.c.redis_bind, CONFIG_SCOPE_LOOPBACK);
	assert_string_equal(config_policies[res.c.redis_maxmemory_policy], "noeviction");
	assert_int_equal(res.c.line[CONFIG_REDIS_PASSWORD], 3);
	assert_int_equal(res.c.line[CONFIG_REDIS_MAXMEMORY], 4);
	assert_int_equal(res.c.line[CONFIG_REDIS_BIND], 6);
	result_done(&res);
}

static void test_pem_chain(void **state)
{
	static const char doc[] =
		"#doagent\n"
		"[tls]\n"
		"certificate = -----BEGIN CERTIFICATE-----\n"
		"  AAAA\n"
		"\t-----END CERTIFICATE-----\n"
		"  -----BEGIN CERTIFICATE-----\n"
		"  BBBB\n"
		"  CCCC==\n"
		"  -----END CERTIFICATE-----\n"
		KEY_INI
		"port = 7443\n";
	_cleanup_free_ char *doc_crlf = crlf("", doc);
	const char *docs[] = { doc, doc_crlf };
	size_t i;

	for (i = 0; i < ELEMENTSOF(docs); i++) {
		struct result res;

		parse_str(docs[i], &res);
		if (res.r != 0)
			print_report(&res.rep);
		assert_int_equal(res.r, 0);
		assert_string_equal(res.c.tls_certificate,
				    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
				    "-----BEGIN CERTIFICATE-----\nBBBB\nCCCC==\n-----END CERTIFICATE-----");
		assert_string_equal(res.c.tls_key, KEY_PEM);
		assert_int_equal(res.c.line[CONFIG_TLS_CERTIFICATE], 3);
		assert_int_equal(res.c.line[CONFIG_TLS_KEY], 10);
		assert_int_equal(res.c.line[CONFIG_TLS_PORT], 13);
		assert_int_equal(res.c.tls_port, 7443);
		result_done(&res);
	}
}

static void test_multi_line_values(void **state)
{
	/* A PEM value may start on the line below its key; an address list may go on
	 * over several lines. */
	static const char doc[] =
		"#doagent\n"
		"[tls]\n"
		"certificate =\n"
		"    -----BEGIN CERTIFICATE-----\n"
		"    AAAA\n"
		"    -----END CERTIFICATE-----\n"
		KEY_INI
		"[firewall]\n"
		"allow = vpc,\n"
		"    192.0.2.0/24, 198.51.100.7,\n"
		"\t2001:db8::/32\n"
		"ssh-allow = 203.0.113.0/24\n";
	char text[NETADDR_STRLEN];
	struct result res;

	parse_str(doc, &res);
	if (res.r != 0)
		print_report(&res.rep);
	assert_int_equal(res.r, 0);
	assert_string_equal(res.c.tls_certificate, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----");
	assert_true(res.c.firewall_allow.vpc);
	assert_int_equal(res.c.firewall_allow.n, 3);
	netaddr_format(&res.c.firewall_allow.items[1].addr, text);
	assert_string_equal(text, "198.51.100.7/32");
	netaddr_format(&res.c.firewall_allow.items[2].addr, text);
	assert_string_equal(text, "2001:db8::/32");
	assert_int_equal(res.c.line[CONFIG_FIREWALL_ALLOW], 11);
	result_done(&res);

	/* A line break does not stand for a comma. */
	parse_str("#doagent\n[firewall]\nallow = 192.0.2.0/24\n  198.51.100.7\n", &res);
	assert_int_equal(res.r, -EBADMSG);
	assert_int_equal(res.rep.diags[0].line, 3);
	assert_non_null(strstr(res.rep.diags[0].message, "not an IPv4 or IPv6 address"));
	result_done(&res);
}

/* ---- not ours ---- */

static void test_not_ours(void **state)
{
	static const struct {
		const char *name;
		const char *data;
		size_t len;
		enum userdata_kind kind;
		const char *format;	/* in rep.format and the notice; NULL for absent */
	} cases[] = {
#define NOT_OURS(n, s, k, f) { n, s, sizeof(s) - 1, k, f }
		NOT_OURS("empty", "", USERDATA_ABSENT, NULL),
		NOT_OURS("whitespace", " \n\t\r\n  \n", USERDATA_ABSENT, NULL),
		NOT_OURS("one space", " ", USERDATA_ABSENT, NULL),
		NOT_OURS("bom and a line break", "\xef\xbb\xbf\r\n", USERDATA_ABSENT, NULL),
		NOT_OURS("cloud-config", "#cloud-config\npackages:\n  - redis-server\n", USERDATA_FOREIGN,
			 "#cloud-config"),
		NOT_OURS("script", "#!/bin/sh\necho '[redis]'\n", USERDATA_FOREIGN, "a script"),
		NOT_OURS("boothook", "#cloud-boothook\n#!/bin/sh\n", USERDATA_FOREIGN, "boothook"),
		NOT_OURS("gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48", USERDATA_FOREIGN,
			 "gzip-compressed data"),
		NOT_OURS("doagentx", "#doagentx\n[redis]\nport = 1\n", USERDATA_FOREIGN,
			 "its first line is not #doagent"),
		NOT_OURS("doagent-v2", "#doagent-v2\n", USERDATA_FOREIGN, "its first line is not #doagent"),
		NOT_OURS("upper case", "#DOAGENT\n[redis]\nport = 1\n", USERDATA_FOREIGN, "its first line is not #doagent"),
		NOT_OURS("indented header", " #doagent\n[redis]\nport = 1\n", USERDATA_FOREIGN,
			 "its first line is not #doagent"),
		NOT_OURS("ini without the header", "[redis]\nport = 1\n", USERDATA_FOREIGN,
			 "its first line is not #doagent"),
		NOT_OURS("header on the second line", "\n#doagent\n[redis]\nport = 1\n", USERDATA_FOREIGN,
			 "its first line is not #doagent"),
		NOT_OURS("short", "Content", USERDATA_FOREIGN, "its first line is not #doagent"),
		NOT_OURS("nul", "\0#doagent\n", USERDATA_FOREIGN, "its first line is not #doagent"),
#undef NOT_OURS
	};
	size_t i;

	for (i = 0; i < ELEMENTSOF(cases); i++) {
		struct result res;
		const struct userdata_diag *d;
		struct config changed;
		struct userdata_report rep;
		int r;

		print_message("not ours: %s\n", cases[i].name);
		parse(cases[i].data, cases[i].len, &res);
		assert_int_equal(res.r, 0);
		assert_int_equal(res.rep.kind, cases[i].kind);
		assert_int_equal(res.rep.n_diags, 1);
		assert_int_equal(res.rep.n_errors, 0);
		d = &res.rep.diags[0];
		assert_int_equal(d->severity, USERDATA_NOTICE);
		assert_int_equal(d->line, 0);
		assert_null(d->section);
		assert_null(d->key);
		assert_null(d->suggestion);
		assert_non_null(strstr(d->message, "the defaults apply"));
		if (cases[i].format) {
			assert_non_null(res.rep.format);
			assert_non_null(strstr(res.rep.format, cases[i].format));
			assert_non_null(strstr(d->message, cases[i].format));
		} else {
			assert_null(res.rep.format);
			assert_string_equal(d->message, "no user data; the defaults apply");
		}
		assert_diag_text(&res.rep, d, d->message);
		assert_defaults(&res.c);
		result_done(&res);

		/* What is not ours leaves the configuration passed in alone. */
		assert_int_equal(config_init(&changed), 0);
		assert_int_equal(config_set(&changed, config_find("redis", "port"), "1234", NULL), 0);
		r = parse_exact(cases[i].data, cases[i].len, &changed, &rep);
		assert_int_equal(r, 0);
		assert_int_equal(changed.redis_port, 1234);
		userdata_report_done(&rep);
		config_done(&changed);
	}
}

/* ---- MIME multipart ---- */

static char *base64(const char *s, size_t len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + (len + 2) / 3 / 19 + 2), *o = out;
	size_t i;

	assert_non_null(out);
	for (i = 0; i < len; i += 3) {
		unsigned long v = (unsigned long)(unsigned char)s[i] << 16;

		if (i + 1 < len)
			v |= (unsigned long)(unsigned char)s[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)s[i + 2];
		*o++ = alphabet[(v >> 18) & 63];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? alphabet[v & 63] : '=';
		if ((i / 3 + 1) % 19 == 0)
			*o++ = '\n';	/* 76 characters a line */
	}
	*o = '\0';
	return out;
}

#define MIME_HEAD                                                                     \
	"Content-Type: multipart/mixed; boundary=\"==XYZ==\"\n"	/* 1 */               \
	"MIME-Version: 1.0\n"					/* 2 */               \
	"\n"							/* 3 */               \
	"--==XYZ==\n"						/* 4 */               \
	"Content-Type: text/cloud-config; charset=\"us-ascii\"\n"	/* 5 */       \
	"Content-Transfer-Encoding: 7bit\n"			/* 6 */               \
	"\n"							/* 7 */               \
	"#cloud-config\n"					/* 8 */               \
	"package_update: false\n"				/* 9 */               \
	"\n"							/* 10 */              \
	"--==XYZ==\n"						/* 11 */

/* A doagent part after MIME_HEAD: its body starts on line 15 of the message. */
#define MIME_PART(type, body)                                                          \
	"Content-Type: " type "\n"				/* 12 */               \
	"Content-Transfer-Encoding: 7bit\n"			/* 13 */               \
	"\n"							/* 14 */               \
	body "--==XYZ==--\n"

#define MIME_BODY                                                                      \
	"#doagent\n"						/* 15 */               \
	"[redis]\n"						/* 16 */               \
	"maxmemory = 60%\n"					/* 17 */               \
	"maxmemory-policy = allkeys-lfu\n"			/* 18 */

static void assert_mime_body(const struct result *res)
{
	if (res->r != 0)
		print_report(&res->rep);
	assert_int_equal(res->r, 0);
	assert_int_equal(res->rep.kind, USERDATA_DOAGENT);
	assert_int_equal(res->rep.n_diags, 0);
	assert_false(res->rep.in_part);
	assert_int_equal(res->c.redis_maxmemory.kind, CONFIG_MEMORY_PERCENT);
	assert_int_equal(res->c.redis_maxmemory.value, 60);
	assert_string_equal(config_policies[res->c.redis_maxmemory_policy], "allkeys-lfu");
	/* Lines count from the start of the whole message. */
	assert_int_equal(res->c.line[CONFIG_REDIS_MAXMEMORY], 17);
	assert_int_equal(res->c.line[CONFIG_REDIS_MAXMEMORY_POLICY], 18);
	assert_int_equal(res->c.line[CONFIG_REDIS_PORT], 0);
}

static void test_mime_doagent_part(void **state)
{
	static const char *const docs[] = {
		MIME_HEAD MIME_PART("text/x-doagent; charset=\"us-ascii\"", MIME_BODY),
		MIME_HEAD MIME_PART("TEXT/X-DOAGENT", MIME_BODY),
		/* found by its first line */
		MIME_HEAD MIME_PART("text/plain", MIME_BODY),
		MIME_HEAD MIME_PART("application/octet-stream", MIME_BODY),
	};
	size_t i;

	for (i = 0; i < ELEMENTSOF(docs); i++) {
		_cleanup_free_ char *with_crlf = crlf("", docs[i]);
		struct result res;

		parse_str(docs[i], &res);
		assert_mime_body(&res);
		result_done(&res);
		parse_str(with_crlf, &res);
		assert_mime_body(&res);
		result_done(&res);
	}
}

static void test_mime_doagent_part_first_and_unterminated(void **state)
{
	/* The doagent part comes first, the message lacks its closing delimiter, and the
	 * part has no Content-Transfer-Encoding and no #doagent line. */
	static const char doc[] =
		"MIME-Version: 1.0\n"				/* 1 */
		"Content-Type: multipart/mixed;\n"		/* 2 */
		"\tboundary=abc\n"				/* 3: a folded header */
		"\n"						/* 4 */
		"preamble text\n"				/* 5 */
		"--abc\n"					/* 6 */
		"Content-Type: text/x-doagent\n"		/* 7 */
		"\n"						/* 8 */
		"[redis]\n"					/* 9 */
		"port = 7001\n"					/* 10 */
		"--abc\n"					/* 11 */
		"Content-Type: text/x-shellscript\n"		/* 12 */
		"\n"						/* 13 */
		"#!/bin/sh\n"					/* 14 */
		"echo hi\n";					/* 15 */
	struct result res;

	parse_str(doc, &res);
	if (res.r != 0)
		print_report(&res.rep);
	assert_int_equal(res.r, 0);
	assert_int_equal(res.rep.kind, USERDATA_DOAGENT);
	assert_int_equal(res.c.redis_port, 7001);
	assert_int_equal(res.c.line[CONFIG_REDIS_PORT], 10);
	result_done(&res);
}

static void test_mime_base64(void **state)
{
	static const char body[] = "#doagent\n[redis]\nport = 7001\nmaxmemory = 1gb\npassword = " PASSWORD "\n";
	static const char bad_body[] = "#doagent\n[redis]\nmaxmemory = 1gb\nport = 0\npassword = " SECRET "\x1b\n";
	_cleanup_free_ char *encoded = base64(body, sizeof(body) - 1);
	_cleanup_free_ char *bad_encoded = base64(bad_body, sizeof(bad_body) - 1);
	_cleanup_free_ char *doc = NULL, *bad_doc = NULL, *expected = NULL, *expected2 = NULL;
	struct result res;
	_cleanup_free_ char *check = base64("#doagent", 8);

	assert_string_equal(check, "I2RvYWdlbnQ=");	/* the encoder itself */
	assert_null(strstr(encoded, SECRET));
	doc = xprintf(MIME_HEAD "Content-Type: text/x-doagent\n"
			       "Content-Transfer-Encoding: base64\n\n%s\n--==XYZ==--\n", encoded);
	parse_str(doc, &res);
	if (res.r != 0)
		print_report(&res.rep);
	assert_int_equal(res.r, 0);
	assert_int_equal(res.rep.kind, USERDATA_DOAGENT);
	assert_int_equal(res.c.redis_port, 7001);
	assert_int_equal(res.c.redis_maxmemory.value, 1ULL << 30);
	assert_string_equal(res.c.redis_password, PASSWORD);
	/* Lines of an encoded part count from the part's own first line. */
	assert_int_equal(res.c.line[CONFIG_REDIS_PORT], 3);
	assert_int_equal(res.c.line[CONFIG_REDIS_MAXMEMORY], 4);
	result_done(&res);

	bad_doc = xprintf(MIME_HEAD "Content-Type: text/x-doagent\n"
				   "Content-Transfer-Encoding: BASE64\n\n%s\n--==XYZ==--\n", bad_encoded);
	parse_str(bad_doc, &res);
	assert_int_equal(res.r, -EBADMSG);
	assert_int_equal(res.rep.kind, USERDATA_DOAGENT);
	assert_true(res.rep.in_part);
	assert_int_equal(res.rep.n_errors, 2);
	assert_int_equal(res.rep.diags[0].line, 4);
	assert_string_equal(res.rep.diags[0].key, "port");
	expected = expected_text(4, "redis", "port", "port out of range (1 to 65535)", NULL, true);
	assert_diag_text(&res.rep, &res.rep.diags[0], expected);
	assert_int_equal(res.rep.diags[1].line, 5);
	assert_string_equal(res.rep.diags[1].key, "password");
	expected2 = expected_text(5, "redis", "password", res.rep.diags[1].message, NULL, true);
	assert_diag_text(&res.rep, &res.rep.diags[1], expected2);
	assert_no_secret(&res.rep);
	assert_defaults(&res.c);
	result_done(&res);
}

static void test_mime_errors(void **state)
{
	static const struct {
		const char *name;
		const char *data;
		unsigned line;
		const char *message;
	} cases[] = {
		{ "two doagent parts",
		  MIME_HEAD
		  "Content-Type: text/x-doagent\n"		/* 12 */
		  "\n"						/* 13 */
		  "#doagent\n"					/* 14 */
		  "--==XYZ==\n"					/* 15 */
		  "Content-Type: text/plain\n"			/* 16 */
		  "\n"						/* 17 */
		  "#doagent\n"					/* 18 */
		  "[redis]\n"
		  "--==XYZ==--\n",
		  18, "a second doagent part" },
		{ "no boundary",
		  "Content-Type: multipart/mixed\n"
		  "\n"
		  "--==XYZ==\n"
		  "Content-Type: text/x-doagent\n"
		  "\n"
		  "#doagent\n",
		  1, "without a boundary" },
		{ "an error in a 7bit part names the line of the message",
		  MIME_HEAD MIME_PART("text/x-doagent", "#doagent\n[redis]\nmaxmemory = 101%\n"),
		  17, "percentage out of range (1% to 100%)" },
		{ "a duplicate in a 7bit part names both lines of the message",
		  MIME_HEAD MIME_PART("text/x-doagent", "#doagent\n[redis]\nport = 7001\nport = 7002\n"),
		  18, "set twice (first on line 17)" },
		{ "not base64",
		  MIME_HEAD
		  "Content-Type: text/x-doagent\n"		/* 12 */
		  "Content-Transfer-Encoding: base64\n"		/* 13 */
		  "\n"						/* 14 */
		  "I2RvYWdlbnQ*\n"				/* 15 */
		  "--==XYZ==--\n",
		  15, "not valid base64" },
		{ "quoted-printable",
		  MIME_HEAD
		  "Content-Type: text/x-doagent\n"		/* 12 */
		  "Content-Transfer-Encoding: quoted-printable\n"	/* 13 */
		  "\n"						/* 14 */
		  "#doagent\n"					/* 15 */
		  "--==XYZ==--\n",
		  15, "not 7bit, 8bit or base64" },
	};
	size_t i;

	for (i = 0; i < ELEMENTSOF(cases); i++) {
		struct result res;

		print_message("mime: %s\n", cases[i].name);
		parse_str(cases[i].data, &res);
		assert_int_equal(res.r, -EBADMSG);
		assert_int_equal(res.rep.n_errors, 1);
		assert_int_equal(res.rep.n_diags, 1);
		assert_int_equal(res.rep.diags[0].severity, USERDATA_ERROR);
		assert_int_equal(res.rep.diags[0].line, cases[i].line);
		assert_false(res.rep.in_part);
		if (!strstr(res.rep.diags[0].message, cases[i].message))
			fail_msg("'%s' does not say '%s'", res.rep.diags[0].message, cases[i].message);
		assert_defaults(&res.c);
		result_done(&res);
	}
}

static void test_mime_foreign(void **state)
{
	static const char doc[] = MIME_HEAD
		"Content-Type: text/x-shellscript\n"
		"\n"
		"#!/bin/sh\n"
		"echo '#doagent'\n"
		"--==XYZ==--\n";
	struct result res;

	parse_str(doc, &res);
	assert_int_equal(res.r, 0);
	assert_int_equal(res.rep.kind, USERDATA_FOREIGN);
	assert_non_null(res.rep.format);
	assert_string_equal(res.rep.format, "a MIME multipart message without a doagent part");
	assert_int_equal(res.rep.n_diags, 1);
	assert_int_equal(res.rep.n_errors, 0);
	assert_int_equal(res.rep.diags[0].severity, USERDATA_NOTICE);
	assert_defaults(&res.c);
	result_done(&res);
}

/* ---- invalid user data ---- */

struct bad_case {
	const char *name;
	const char *data;
	size_t len;
	int r;
	unsigned n_errors;
	/* the first error */
	unsigned line;
	const char *section;
	const char *key;
	const char *message;		/* a part of the message */
	const char *suggestion;
};

#define DOC(s) .data = (s), .len = sizeof(s) - 1
#define BAD(n, s, l, sec, k, m, sug) \
	{ .name = (n), DOC(s), .r = -EBADMSG, .n_errors = 1, .line = (l), .section = (sec), .key = (k), .message = (m), .suggestion = (sug) }

static const struct bad_case bad_cases[] = {
	/* unknown keys and sections */
	BAD("typo", HDR "maxmemory-polcy = allkeys-lru\n", 3, "redis", "maxmemory-polcy", "unknown key", "maxmemory-policy"),
	BAD("typo in a later line", HDR "port = 6379\n\nbnid = public\n", 5, "redis", "bnid", "unknown key", "bind"),
	BAD("port in the firewall section", "#doagent\n[firewall]\nport = 6379\n", 3, "firewall", "port", "unknown key", "[redis] port"),
	BAD("a tls key in the redis section", HDR "enabled = yes\n", 3, "redis", "enabled", "unknown key", "[tls] enabled"),
	BAD("password in the tls section", "#doagent\n[tls]\npassword = " PASSWORD "\n", 3, "tls", "password", "unknown key", "[redis] password"),
	BAD("capitalized", HDR "Port = 6379\n", 3, "redis", "Port", "unknown key", "port"),
	BAD("no suggestion", HDR "something-else-entirely = 1\n", 3, "redis", "something-else-entirely", "unknown key", NULL),
	BAD("section typo", "#doagent\n[redsi]\nport = 6379\nbind = all\n", 2, "redsi", NULL, "unknown section", "redis"),
	BAD("unknown section", "#doagent\n[database]\nname = x\n", 2, "database", NULL, "unknown section", NULL),
	BAD("key before any section", "#doagent\nport = 6379\n[redis]\n", 2, NULL, "port", "outside any section", NULL),
	BAD("duplicate", HDR "port = 6379\nbind = public\nport = 6380\n", 5, "redis", "port", "set twice (first on line 3)", NULL),
	BAD("duplicate password", HDR "password = " PASSWORD "\npassword = " PASSWORD "2\n", 4, "redis", "password", "set twice (first on line 3)", NULL),
	/* values */
	BAD("port 65536", HDR "port = 65536\n", 3, "redis", "port", "port out of range (1 to 65535)", NULL),
	BAD("port 0", HDR "port = 0\n", 3, "redis", "port", "port out of range", NULL),
	BAD("port with a space", HDR "port = 63 79\n", 3, "redis", "port", "not a port number", NULL),
	BAD("port empty", HDR "port =\n", 3, "redis", "port", "not a port number", NULL),
	BAD("tls port 70000", "#doagent\n[tls]\nport = 70000\n", 3, "tls", "port", "port out of range", NULL),
	BAD("bool", HDR "appendonly = maybe\n", 3, "redis", "appendonly", "not a boolean (use yes or no)", NULL),
	BAD("bool 1", "#doagent\n[tls]\nenabled = 1\n", 3, "tls", "enabled", "not a boolean", NULL),
	BAD("policy", HDR "maxmemory-policy = lru\n", 3, "redis", "maxmemory-policy", "not one of ", NULL),
	BAD("policy of redis 3", HDR "maxmemory-policy = volatile-lru-x\n", 3, "redis", "maxmemory-policy", "not one of ", NULL),
	BAD("bind", HDR "bind = 0.0.0.0\n", 3, "redis", "bind", "not one of ", NULL),
	BAD("backend", "#doagent\n[firewall]\nbackend = iptables\n", 3, "firewall", "backend", "not one of ", NULL),
	BAD("memory 101%", HDR "maxmemory = 101%\n", 3, "redis", "maxmemory", "percentage out of range (1% to 100%)", NULL),
	BAD("memory 65tb", HDR "maxmemory = 65tb\n", 3, "redis", "maxmemory", "size out of range", NULL),
	BAD("memory 512kb", HDR "maxmemory = 512kb\n", 3, "redis", "maxmemory", "size out of range", NULL),
	BAD("memory unit", HDR "maxmemory = 2g\n", 3, "redis", "maxmemory", "unknown size unit", NULL),
	/* passwords */
	BAD("password too short", HDR "password = " SECRET "short\n", 3, "redis", "password", "must be 16 to 128 characters long", NULL),
	BAD("password too long", HDR "password = " SECRET X50 X50 "xxxxxxxxxxxxxxxxxxxxxx\n", 3, "redis", "password", "must be 16 to 128 characters long", NULL),
	BAD("password empty", HDR "password =\n", 3, "redis", "password", "must be 16 to 128 characters long", NULL),
	BAD("password with a tab", HDR "password = " SECRET "Secret\tmore-text\n", 3, "redis", "password", "printable ASCII", NULL),
	BAD("password with a CR inside", HDR "password = " SECRET "Secret\rdir /root/.ssh\n", 3, "redis", "password", "printable ASCII", NULL),
	BAD("password with a CR inside, CRLF lines", HDR "password = " SECRET "Secret\rdir /root/.ssh\r\n", 3, "redis", "password", "printable ASCII", NULL),
	BAD("password with ESC", HDR "password = " SECRET "Secret\x1b[31mred\n", 3, "redis", "password", "printable ASCII", NULL),
	BAD("password with DEL", HDR "password = " SECRET "Secret-long\x7f\n", 3, "redis", "password", "printable ASCII", NULL),
	BAD("password not ASCII", HDR "password = " SECRET "Secr\xc3\xa9t-long\n", 3, "redis", "password", "printable ASCII", NULL),
	BAD("password continued (the newline injection)", HDR "password = " SECRET "Secret-long\n  dir /root/.ssh\n  dbfilename authorized_keys\n",
	    3, "redis", "password", "an indented line below continues this value", NULL),
	{ .name = "password then redis directives (the newline injection)",
	  DOC(HDR "password = " SECRET "Secret-long\ndir /root/.ssh\ndbfilename authorized_keys\n"), .r = -EBADMSG,
	  .n_errors = 2, .line = 4, .message = "expected 'key = value', a [section] header or a comment" },
	/* lines */
	BAD("continued port", HDR "port = 6379\n  6380\n", 3, "redis", "port", "only PEM values and address lists span lines", NULL),
	BAD("continued policy after a comment", HDR "maxmemory-policy = allkeys-lru\n; why\n\tnoeviction\n", 3, "redis", "maxmemory-policy", "only PEM values and address lists span lines", NULL),
	BAD("no '='", HDR "maxmemory 2gb\n", 3, NULL, NULL, "expected 'key = value', a [section] header or a comment", NULL),
	BAD("redis syntax", HDR "port = 6379\nrequirepass " SECRET "Secret-long\n", 4, NULL, NULL, "expected 'key = value'", NULL),
	BAD("indented, no key yet", HDR "  stray\n", 3, NULL, NULL, "expected 'key = value'", NULL),
	BAD("unterminated section", "#doagent\n[tls\n", 2, NULL, NULL, "closing ']'", NULL),
	BAD("NUL byte", HDR "port = 63\0" "79\nbind = public\n", 3, NULL, NULL, "NUL byte", NULL),
	BAD("NUL byte in a password", HDR "bind = public\npassword = " SECRET "Secret\0" SECRET "Secret\n", 4, NULL, NULL, "NUL byte", NULL),
	BAD("NUL byte in a comment", HDR "; \0\n", 3, NULL, NULL, "NUL byte", NULL),
	BAD("header with text after it", "#doagent v2\n[redis]\nport = 1\n", 1, NULL, NULL, "the first line must be #doagent alone", NULL),
	BAD("comment cuts a password", HDR "password = " SECRET "Secret ;tail\n", 3, "redis", "password", "would cut this value short", NULL),
	BAD("plaintext wider than bind", "#doagent\n[redis]\nbind = loopback\n[tls]\nplaintext = private\n", 5, "tls", "plaintext", "reaches further than [redis] bind", NULL),
	BAD("empty key", HDR "= 6379\n", 3, "redis", NULL, "needs a key before its '='", NULL),
	BAD("keys under a broken header are ignored", "#doagent\n[redis]\nport = 1\n[tls\nport = 1\n", 4, NULL, NULL, "keys below it are ignored", NULL),
	BAD("long line", HDR "maxmemory-policy = " X200 "\n", 3, NULL, NULL, "longer than 198 characters", NULL),
	BAD("long password line", HDR "port = 6379\npassword = " SECRET X200 "\n", 4, NULL, NULL, "longer than 198 characters", NULL),
	BAD("long comment", HDR "; " X200 "\n", 3, NULL, NULL, "longer than", NULL),
	/* checks between keys */
	BAD("tls port equals redis port", "#doagent\n[redis]\nport = 7000\n\n[tls]\nport = 7000\n", 6, "tls", "port", "[redis] port and [tls] port are the same port; they must differ", NULL),
	BAD("redis port equals the default tls port", HDR "port = 6380\n", 3, "redis", "port", "[redis] port and [tls] port are the same port; they must differ", NULL),
	BAD("ssh port equals redis port", "#doagent\n[firewall]\nssh-port = 6379\n", 3, "firewall", "ssh-port", "[redis] port and [firewall] ssh-port are the same port; they must differ", NULL),
	BAD("certificate without key", "#doagent\n[tls]\nport = 7443\n" CERT_INI, 4, "tls", "certificate", "needs its private key", NULL),
	BAD("key without certificate", "#doagent\n[tls]\n" KEY_INI, 3, "tls", "key", "only used with a PEM certificate", NULL),
	BAD("key not PEM", "#doagent\n[tls]\n" CERT_INI "key = " SECRET "Secret\n", 7, "tls", "key", "not a PEM private key", NULL),
	BAD("key with a bad line", "#doagent\n[tls]\n" CERT_INI "key = -----BEGIN PRIVATE KEY-----\n  " SECRET "$ecret\n  -----END PRIVATE KEY-----\n",
	    7, "tls", "key", "not a PEM private key", NULL),
	BAD("certificate path", "#doagent\n[tls]\ncertificate = /etc/ssl/certs/redis.pem\n", 3, "tls", "certificate", "not self-signed nor a PEM certificate", NULL),
	/* keys that would reach a dangerous directive do not exist */
	BAD("dir", HDR "dir = /root/.ssh\n", 3, "redis", "dir", "unknown key", NULL),
	BAD("dbfilename", HDR "dbfilename = authorized_keys\n", 3, "redis", "dbfilename", "unknown key", NULL),
	BAD("include", HDR "include = /etc/shadow\n", 3, "redis", "include", "unknown key", NULL),
	BAD("loadmodule", HDR "loadmodule = /tmp/evil.so\n", 3, "redis", "loadmodule", "unknown key", NULL),
	BAD("rename-command", HDR "rename-command = CONFIG \"\"\n", 3, "redis", "rename-command", "unknown key", NULL),
	BAD("replicaof", HDR "replicaof = 198.51.100.1 6379\n", 3, "redis", "replicaof", "unknown key", NULL),
	BAD("requirepass", HDR "requirepass = " PASSWORD "\n", 3, "redis", "requirepass", "unknown key", "password"),
	BAD("tls-cert-file", "#doagent\n[tls]\ntls-cert-file = /root/.ssh/id_rsa\n", 3, "tls", "tls-cert-file", "unknown key", NULL),
	BAD("tls-key-file", "#doagent\n[tls]\ntls-key-file = /root/.ssh/id_rsa\n", 3, "tls", "tls-key-file", "unknown key", NULL),
	/* address lists */
	BAD("hostname in allow", "#doagent\n[firewall]\nallow = vpc, db.example.com\n", 3, "firewall", "allow",
	    "not an IPv4 or IPv6 address, a CIDR block, or vpc: 'db.example.com'", NULL),
	BAD("prefix /33", "#doagent\n[firewall]\nallow = 10.0.0.0/33\n", 3, "firewall", "allow",
	    "prefix length out of range (0 to 32 for IPv4, 0 to 128 for IPv6): '10.0.0.0/33'", NULL),
	BAD("empty entry", "#doagent\n[firewall]\nssh-allow = 10.0.0.0/8,,10.1.0.0/16\n", 3, "firewall", "ssh-allow", "empty entry in the list", NULL),
	/* MIME */
	BAD("a second doagent part", MIME_HEAD MIME_PART("text/x-doagent", MIME_BODY "--==XYZ==\nContent-Type: text/x-doagent\n\n[redis]\n"),
	    22, NULL, NULL, "a second doagent part in the MIME message; keep one", NULL),
};

/* Run one invalid document; returns whether SECRET was in it (and so checked). */
static bool run_bad_case(const struct bad_case *t)
{
	struct result res;
	const struct userdata_diag *d;
	_cleanup_free_ char *expected = NULL;
	struct config changed;
	struct userdata_report rep;
	size_t i;
	int r;

	print_message("bad: %s\n", t->name);
	parse(t->data, t->len, &res);
	if (res.r != t->r || res.rep.n_errors != t->n_errors)
		print_report(&res.rep);
	assert_int_equal(res.r, t->r);
	assert_int_equal(res.rep.n_errors, t->n_errors);
	assert_int_equal(res.rep.n_diags, t->n_errors);
	for (i = 0; i < res.rep.n_diags; i++)
		assert_int_equal(res.rep.diags[i].severity, USERDATA_ERROR);
	d = &res.rep.diags[0];
	assert_int_equal(d->line, t->line);
	assert_string_or_null_equal(d->section, t->section);
	assert_string_or_null_equal(d->key, t->key);
	assert_string_or_null_equal(d->suggestion, t->suggestion);
	assert_non_null(d->message);
	if (!strstr(d->message, t->message))
		fail_msg("'%s' does not say '%s'", d->message, t->message);
	expected = expected_text(t->line, t->section, t->key, d->message, t->suggestion, false);
	assert_diag_text(&res.rep, d, expected);
	assert_line_order(&res.rep);
	assert_no_secret(&res.rep);

	/* Invalid user data changes nothing. */
	assert_defaults(&res.c);
	result_done(&res);
	assert_int_equal(config_init(&changed), 0);
	assert_int_equal(config_set(&changed, config_find("redis", "port"), "1234", NULL), 0);
	r = parse_exact(t->data, t->len, &changed, &rep);
	assert_int_equal(r, t->r);
	assert_int_equal(changed.redis_port, 1234);
	assert_null(changed.redis_password);
	userdata_report_done(&rep);
	config_done(&changed);

	return memmem(t->data, t->len, SECRET, strlen(SECRET)) != NULL;
}

static void test_bad_table(void **state)
{
	size_t i, with_secret = 0;

	for (i = 0; i < ELEMENTSOF(bad_cases); i++)
		if (run_bad_case(&bad_cases[i]))
			with_secret++;
	print_message("%zu invalid documents, %zu of them with a secret\n", ELEMENTSOF(bad_cases), with_secret);
	assert_true(ELEMENTSOF(bad_cases) >= 70);
	assert_true(with_secret >= 18);
}

static void test_too_big(void **state)
{
	const size_t sizes[] = { DOAGENT_USERDATA_MAX + 1, DOAGENT_USERDATA_MAX + 4096, 1 << 20 };
	static const char line[] = "; padding padding padding\n";
	char *doc = malloc(DOAGENT_USERDATA_MAX + 1);
	size_t i, n;
	struct result res;

	assert_non_null(doc);
	/* Exactly the limit is fine... */
	n = (size_t)snprintf(doc, 64, HDR "port = 7001\n");
	while (n + sizeof(line) - 1 <= DOAGENT_USERDATA_MAX) {
		memcpy(doc + n, line, sizeof(line) - 1);
		n += sizeof(line) - 1;
	}
	memset(doc + n, ';', DOAGENT_USERDATA_MAX - n);
	n = DOAGENT_USERDATA_MAX;
	doc[n - 1] = '\n';
	parse(doc, n, &res);
	if (res.r != 0)
		print_report(&res.rep);
	assert_int_equal(res.r, 0);
	assert_int_equal(res.c.redis_port, 7001);
	result_done(&res);
	free(doc);

	/* ... one byte more is refused before anything is parsed. */
	for (i = 0; i < ELEMENTSOF(sizes); i++) {
		_cleanup_free_ char *big = malloc(sizes[i]);
		_cleanup_free_ char *size_text = xprintf("user data is %zu bytes; the limit is 65536 bytes (64 KiB)", sizes[i]);

		assert_non_null(big);
		memset(big, '\n', sizes[i]);
		memcpy(big, HDR "password = " PASSWORD "\n", sizeof(HDR "password = " PASSWORD "\n") - 1);
		parse(big, sizes[i], &res);
		assert_int_equal(res.r, -E2BIG);
		assert_int_equal(res.rep.n_errors, 1);
		assert_int_equal(res.rep.n_diags, 1);
		assert_int_equal(res.rep.diags[0].severity, USERDATA_ERROR);
		assert_int_equal(res.rep.diags[0].line, 0);
		assert_null(res.rep.diags[0].section);
		assert_null(res.rep.diags[0].key);
		assert_null(res.rep.diags[0].suggestion);
		assert_string_equal(res.rep.diags[0].message, size_text);
		assert_diag_text(&res.rep, &res.rep.diags[0], size_text);
		assert_no_secret(&res.rep);
		assert_defaults(&res.c);
		result_done(&res);
	}
}

static void test_line_length_limit(void **state)
{
	/* inih reads lines of up to 200 bytes with the line break and the NUL: 198
	 * characters fit, whatever the line ending; 199 are refused. */
	static const char *const endings[] = { "\n", "\r\n", "" };
	size_t i, n;

	for (i = 0; i < ELEMENTSOF(endings); i++)
		for (n = 196; n <= 201; n++) {
			_cleanup_free_ char *doc = xprintf(HDR "; %s%s", X200, endings[i]);
			size_t cut = strlen(HDR) + n;
			struct result res;

			/* the comment line is n characters long */
			memmove(doc + cut, endings[i], strlen(endings[i]) + 1);
			parse_str(doc, &res);
			if (n <= 198) {
				assert_int_equal(res.r, 0);
				assert_int_equal(res.rep.n_diags, 0);
			} else {
				assert_int_equal(res.r, -EBADMSG);
				assert_int_equal(res.rep.n_errors, 1);
				assert_int_equal(res.rep.diags[0].line, 3);
				assert_string_equal(res.rep.diags[0].message, "the line is longer than 198 characters");
			}
			result_done(&res);
		}
}

static void test_many_errors(void **state)
{
	static const char doc[] =
		"#doagent\n"					/* 1 */
		"[redis]\n"					/* 2 */
		"port = 0\n"					/* 3 */
		"maxmemory-polcy = allkeys-lru\n"		/* 4 */
		"bind = everywhere\n"				/* 5 */
		"just some words\n"				/* 6 */
		"password = " SECRET "\n"			/* 7 */
		"[redsi]\n"					/* 8 */
		"port = 1\n"					/* 9: under an unknown section: not reported again */
		"[tls]\n"					/* 10 */
		"port = 6390\n"					/* 11 */
		"port = 6391\n"					/* 12 */
		"p\0rt = 1\n"					/* 13 */
		"; " X200 "\n"					/* 14 */
		"[firewall\n"					/* 15 */
		"allow = example.com\n"				/* 16: under the broken header: ignored */
		"[firewall]\n"					/* 17 */
		"allow = 10.0.0.0/8, 2001:db8::/200\n"		/* 18 */
		"ssh-port = 22\n";				/* 19: fine */
	static const struct {
		unsigned line;
		const char *key;
		const char *message;
	} expected[] = {
		{ 3, "port", "port out of range" },
		{ 4, "maxmemory-polcy", "unknown key" },
		{ 5, "bind", "not one of " },
		{ 6, NULL, "expected 'key = value'" },
		{ 7, "password", "must be 16 to 128 characters long" },
		{ 8, NULL, "unknown section" },
		{ 12, "port", "set twice (first on line 11)" },
		{ 13, NULL, "NUL byte" },
		{ 14, NULL, "longer than 198 characters" },
		{ 15, NULL, "closing ']'" },
		{ 18, "allow", "prefix length out of range" },
	};
	struct result res;
	size_t i;

	parse(doc, sizeof(doc) - 1, &res);
	assert_int_equal(res.r, -EBADMSG);
	if (res.rep.n_errors != ELEMENTSOF(expected))
		print_report(&res.rep);
	assert_int_equal(res.rep.n_errors, ELEMENTSOF(expected));
	assert_int_equal(res.rep.n_diags, ELEMENTSOF(expected));
	assert_line_order(&res.rep);
	for (i = 0; i < ELEMENTSOF(expected); i++) {
		const struct userdata_diag *d = &res.rep.diags[i];

		if (d->line != expected[i].line || !strstr(d->message, expected[i].message)) {
			print_report(&res.rep);
			fail_msg("diagnostic %zu: line %u '%s', expected line %u '%s'", i, d->line,
				 d->message, expected[i].line, expected[i].message);
		}
		assert_string_or_null_equal(d->key, expected[i].key);
	}
	assert_string_equal(res.rep.diags[1].suggestion, "maxmemory-policy");
	assert_string_equal(res.rep.diags[5].suggestion, "redis");
	assert_no_secret(&res.rep);
	assert_defaults(&res.c);
	result_done(&res);
}

static void test_cross_key_errors_in_line_order(void **state)
{
	/* Redis, TLS and SSH on one port: three violations, blamed on the keys the user
	 * set (the SSH port is the default), reported in line order although the checks
	 * between keys find the one on line 5 first. */
	static const char doc[] =
		"#doagent\n"		/* 1 */
		"[redis]\n"		/* 2 */
		"port = 22\n"		/* 3 */
		"[tls]\n"		/* 4 */
		"port = 22\n";		/* 5 */
	struct result res;

	parse_str(doc, &res);
	assert_int_equal(res.r, -EBADMSG);
	if (res.rep.n_errors != 3)
		print_report(&res.rep);
	assert_int_equal(res.rep.n_errors, 3);
	assert_line_order(&res.rep);
	assert_int_equal(res.rep.diags[0].line, 3);
	assert_string_equal(res.rep.diags[0].section, "redis");
	assert_string_equal(res.rep.diags[0].message, "[redis] port and [firewall] ssh-port are the same port; they must differ");
	assert_int_equal(res.rep.diags[1].line, 5);
	assert_string_equal(res.rep.diags[1].section, "tls");
	assert_string_equal(res.rep.diags[1].message, "[redis] port and [tls] port are the same port; they must differ");
	assert_int_equal(res.rep.diags[2].line, 5);
	assert_string_equal(res.rep.diags[2].section, "tls");
	assert_string_equal(res.rep.diags[2].message, "[tls] port and [firewall] ssh-port are the same port; they must differ");
	assert_defaults(&res.c);
	result_done(&res);
}

static void test_secrets_never_leak(void **state)
{
	/* Every place a password or a key can go wrong, with the secret at the start, in the
	 * middle and at the end of the value. */
	static const char *const passwords[] = {
		SECRET,				/* too short */
		SECRET "\t" SECRET "Secret",	/* control characters */
		"x\x01" SECRET "Secret",
		SECRET "Secret\x1b",
		SECRET "Secret\x7f" SECRET,
		SECRET "S\xe2\x82\xac" "cret",	/* non-ASCII */
		SECRET "Secret\rx",
		SECRET X50 X50 X50,		/* too long */
	};
	static const char *const keys[] = {
		SECRET "Secret",
		"-----BEGIN PRIVATE KEY-----",
		"-----BEGIN CERTIFICATE-----\n  " SECRET "\n  -----END CERTIFICATE-----",
		"-----BEGIN PRIVATE KEY-----\n  " SECRET "Secret!\n  -----END PRIVATE KEY-----",
		"-----BEGIN PRIVATE KEY-----\n  " SECRET "\n  -----END PRIVATE KEY-----\n  trailing" SECRET,
		"-----BEGIN PRIVATE KEY-----\n  " SECRET "\x01\n  -----END PRIVATE KEY-----",
	};
	size_t i;

	for (i = 0; i < ELEMENTSOF(passwords); i++) {
		_cleanup_free_ char *doc = xprintf(HDR "password = %s\n", passwords[i]);
		_cleanup_free_ char *in_tls = xprintf("#doagent\n[tls]\npassword = %s\n", passwords[i]);
		_cleanup_free_ char *misspelt = xprintf(HDR "pasword = %s\n", passwords[i]);
		const char *docs[] = { doc, in_tls, misspelt };
		size_t j;

		for (j = 0; j < ELEMENTSOF(docs); j++) {
			struct result res;

			parse_str(docs[j], &res);
			assert_int_equal(res.r, -EBADMSG);
			assert_true(res.rep.n_errors >= 1);
			assert_int_equal(res.rep.diags[0].line, 3);
			assert_no_secret(&res.rep);
			assert_null(res.c.redis_password);
			result_done(&res);
		}
	}
	for (i = 0; i < ELEMENTSOF(keys); i++) {
		_cleanup_free_ char *doc = xprintf("#doagent\n[tls]\n" CERT_INI "key = %s\n", keys[i]);
		struct result res;

		parse_str(doc, &res);
		assert_int_equal(res.r, -EBADMSG);
		assert_int_equal(res.rep.n_errors, 1);
		assert_int_equal(res.rep.diags[0].line, 7);
		assert_string_equal(res.rep.diags[0].key, "key");
		assert_no_secret(&res.rep);
		assert_null(res.c.tls_key);
		result_done(&res);
	}
}

static void test_diag_format(void **state)
{
	struct result res;
	_cleanup_free_ char *text = NULL;

	parse_str(HDR "maxmemory-polcy = allkeys-lru\n", &res);
	assert_int_equal(res.r, -EBADMSG);
	text = userdata_diag_format(&res.rep, &res.rep.diags[0]);
	assert_string_equal(text, "line 3: [redis] maxmemory-polcy: unknown key; did you mean 'maxmemory-policy'?");
	free(text);
	result_done(&res);

	parse_str("#doagent\n[redsi]\n", &res);
	text = userdata_diag_format(&res.rep, &res.rep.diags[0]);
	assert_string_equal(text, "line 2: [redsi]: unknown section (the sections are [redis], [tls], [firewall], [storage] and [replication]); did you mean [redis]?");
	free(text);
	result_done(&res);

	parse_str("#doagent\nport = 1\n", &res);
	text = userdata_diag_format(&res.rep, &res.rep.diags[0]);
	assert_string_equal(text, "line 2: port: key outside any section; put it under [redis], [tls], [firewall], [storage] or [replication]");
	free(text);
	result_done(&res);

	/* A key with bytes that are not printable is shown escaped. */
	parse_str(HDR "po\x1brt = 1\n", &res);
	assert_int_equal(res.r, -EBADMSG);
	assert_string_equal(res.rep.diags[0].key, "po\\x1brt");
	text = userdata_diag_format(&res.rep, &res.rep.diags[0]);
	assert_string_equal(text, "line 3: [redis] po\\x1brt: unknown key; did you mean 'port'?");
	free(text);
	text = NULL;
	result_done(&res);

	/* userdata_report_done leaves an empty report that may be freed again. */
	assert_null(res.rep.diags);
	assert_int_equal(res.rep.n_diags, 0);
	userdata_report_done(&res.rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_document),
		cmocka_unit_test(test_full_document_crlf_bom),
		cmocka_unit_test(test_minimal_documents),
		cmocka_unit_test(test_values_and_comments),
		cmocka_unit_test(test_pem_chain),
		cmocka_unit_test(test_multi_line_values),
		cmocka_unit_test(test_not_ours),
		cmocka_unit_test(test_mime_doagent_part),
		cmocka_unit_test(test_mime_doagent_part_first_and_unterminated),
		cmocka_unit_test(test_mime_base64),
		cmocka_unit_test(test_mime_errors),
		cmocka_unit_test(test_mime_foreign),
		cmocka_unit_test(test_bad_table),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_line_length_limit),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_cross_key_errors_in_line_order),
		cmocka_unit_test(test_secrets_never_leak),
		cmocka_unit_test(test_diag_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

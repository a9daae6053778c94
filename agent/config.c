/*
 * The user-data key table.
 *
 * MUST rules for this file:
 * - Every key is one row of config_keys[]; parsing, defaults, bounds, the man page
 *   check and the error messages all read that row.
 * - A value is stored only after it has been checked in full against an allowed
 *   set: a number within bounds, one of the listed words, an address, or printable
 *   ASCII for secrets. Nothing is stored raw.
 * - No message built here contains the value it refuses (it may be a secret).
 * - There is no key for dir, dbfilename, include, loadmodule, rename-command,
 *   replicaof or any tls-*-file: the templates fix those. [storage] volume moves
 *   dir only to a path made from a checked name (storage.c).
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "strutil.h"

#define MIB (1024ULL * 1024)
#define TIB (1024ULL * 1024 * 1024 * 1024)

/* The eviction policies Redis 7 accepts. */
const char *const config_policies[] = {
	"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
	"allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction", NULL,
};
const char *const config_scopes[] = { "loopback", "private", "public", "all", NULL };
static const char *const backends[] = { "auto", "nftables", "ufw", "none", NULL };
static const char *const metadata_access[] = { "open", "root-only", NULL };
const char *const config_filesystems[] = { "ext4", "xfs", NULL };
const char *const config_tls_engines[] = { "stunnel", "redis", NULL };

static const char *const true_words[] = { "yes", "true", "on", NULL };
static const char *const false_words[] = { "no", "false", "off", NULL };

static const char *validate_certificate(const char *value);
static const char *validate_key(const char *value);

#define OFF(field) offsetof(struct config, field)

const struct config_key config_keys[_CONFIG_KEY_MAX] = {
	[CONFIG_REDIS_PORT] = {
		"redis", "port", CONFIG_PORT, "6379", 1, 65535, NULL, NULL, 0,
		OFF(redis_port), "TCP port Redis listens on.",
	},
	[CONFIG_REDIS_PASSWORD] = {
		"redis", "password", CONFIG_SECRET, NULL, 16, 128, NULL, NULL, CONFIG_SENSITIVE,
		OFF(redis_password),
		"Password of the default user; 32 random bytes are generated on the droplet when absent.",
	},
	[CONFIG_REDIS_MAXMEMORY] = {
		"redis", "maxmemory", CONFIG_MEMORY, "75%", MIB, 64 * TIB, NULL, NULL, 0,
		OFF(redis_maxmemory), "Memory limit: a percentage of the droplet's RAM, a size, or 0 for none.",
	},
	[CONFIG_REDIS_MAXMEMORY_POLICY] = {
		"redis", "maxmemory-policy", CONFIG_ENUM, "allkeys-lru", 0, 0, config_policies, NULL, 0,
		OFF(redis_maxmemory_policy), "What Redis evicts when maxmemory is reached.",
	},
	[CONFIG_REDIS_BIND] = {
		"redis", "bind", CONFIG_ENUM, "private", 0, 0, config_scopes, NULL, 0,
		OFF(redis_bind), "Where clients may connect from: loopback only, or also the private, public or every address.",
	},
	[CONFIG_REDIS_APPENDONLY] = {
		"redis", "appendonly", CONFIG_BOOL, "no", 0, 0, NULL, NULL, 0,
		OFF(redis_appendonly), "Log every write to the append-only file.",
		"yes with [storage] volume or [replication] group",
	},
	[CONFIG_REDIS_SNAPSHOTS] = {
		"redis", "snapshots", CONFIG_BOOL, "yes", 0, 0, NULL, NULL, 0,
		OFF(redis_snapshots), "Save RDB snapshots on Redis' default schedule; no for a pure cache.",
	},
	[CONFIG_TLS_ENABLED] = {
		"tls", "enabled", CONFIG_BOOL, "yes", 0, 0, NULL, NULL, 0,
		OFF(tls_enabled), "Serve Redis over TLS.",
	},
	[CONFIG_TLS_ENGINE] = {
		"tls", "engine", CONFIG_ENUM, "stunnel", 0, 0, config_tls_engines, NULL, 0,
		OFF(tls_engine), "What serves TLS: stunnel in front of Redis, or redis, Redis' own TLS (tls-port).",
	},
	[CONFIG_TLS_PORT] = {
		"tls", "port", CONFIG_PORT, "6380", 1, 65535, NULL, NULL, 0,
		OFF(tls_port), "TCP port TLS connections are accepted on.",
	},
	[CONFIG_TLS_CERTIFICATE] = {
		"tls", "certificate", CONFIG_PEM, "self-signed", 0, 0, NULL, validate_certificate, 0,
		OFF(tls_certificate), "self-signed, or a PEM certificate (chain) in indented continuation lines.",
	},
	[CONFIG_TLS_KEY] = {
		"tls", "key", CONFIG_PEM, NULL, 0, 0, NULL, validate_key, CONFIG_SENSITIVE,
		OFF(tls_key), "The PEM private key of a PEM certificate.",
	},
	[CONFIG_TLS_PLAINTEXT] = {
		"tls", "plaintext", CONFIG_ENUM, "loopback", 0, 0, config_scopes, NULL, 0,
		OFF(tls_plaintext), "Where Redis' unencrypted port listens while TLS is on.",
	},
	[CONFIG_FIREWALL_BACKEND] = {
		"firewall", "backend", CONFIG_ENUM, "auto", 0, 0, backends, NULL, 0,
		OFF(firewall_backend), "auto picks ufw when it is active, nftables otherwise; none leaves the firewall alone.",
	},
	[CONFIG_FIREWALL_ALLOW] = {
		"firewall", "allow", CONFIG_ADDRLIST, "vpc", 0, 64, NULL, NULL, 0,
		OFF(firewall_allow), "Who may reach the Redis and TLS ports: addresses, CIDR blocks and vpc.",
	},
	[CONFIG_FIREWALL_SSH_ALLOW] = {
		"firewall", "ssh-allow", CONFIG_ADDRLIST, "0.0.0.0/0, ::/0", 0, 64, NULL, NULL, 0,
		OFF(firewall_ssh_allow), "Who may reach SSH.",
	},
	[CONFIG_FIREWALL_SSH_PORT] = {
		"firewall", "ssh-port", CONFIG_PORT, "22", 1, 65535, NULL, NULL, 0,
		OFF(firewall_ssh_port), "The port sshd listens on, kept open to ssh-allow.",
	},
	[CONFIG_FIREWALL_METADATA] = {
		"firewall", "metadata", CONFIG_ENUM, "open", 0, 0, metadata_access, NULL, 0,
		OFF(firewall_metadata), "root-only: only root may reach the metadata service at 169.254.169.254.",
	},
	[CONFIG_STORAGE_VOLUME] = {
		"storage", "volume", CONFIG_NAME, NULL, 1, 64, NULL, NULL, 0,
		OFF(storage_volume), "The DigitalOcean volume that holds Redis' data, mounted at /mnt/<name>.",
	},
	[CONFIG_STORAGE_FILESYSTEM] = {
		"storage", "filesystem", CONFIG_ENUM, "ext4", 0, 0, config_filesystems, NULL, 0,
		OFF(storage_filesystem), "The filesystem made on a volume that holds nothing at all.",
	},
	[CONFIG_REPLICATION_GROUP] = {
		"replication", "group", CONFIG_NAME, NULL, 1, 64, NULL, NULL, 0,
		OFF(replication_group), "The group's name, Sentinel's master name; the same on every node of the group.",
	},
	[CONFIG_REPLICATION_PRIMARY] = {
		"replication", "primary", CONFIG_PEER, NULL, 0, 0, NULL, NULL, 0,
		OFF(replication_primary), "self on the first primary; on the others, its private IPv4 address.",
	},
	[CONFIG_REPLICATION_QUORUM] = {
		"replication", "quorum", CONFIG_COUNT, "2", 1, 7, NULL, NULL, 0,
		OFF(replication_quorum), "How many Sentinels must agree that the primary is down before one fails it over.",
	},
};

#define FIELD(c, k, type) ((type *)((char *)(c) + (k)->offset))

static const char *const sections[] = { "redis", "tls", "firewall", "storage", "replication", NULL };

const struct config_key *config_find(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < _CONFIG_KEY_MAX; i++)
		if (strcmp(config_keys[i].section, section) == 0 && strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

bool config_section_exists(const char *section)
{
	size_t i;

	for (i = 0; sections[i]; i++)
		if (strcmp(sections[i], section) == 0)
			return true;
	return false;
}

const char *config_suggest_section(const char *section)
{
	return strutil_nearest(section, sections);
}

/* Redis' own names for what a key sets. */
static const struct {
	const char *alias;
	enum config_key_id id;
} aliases[] = {
	{ "requirepass", CONFIG_REDIS_PASSWORD },
	{ "masterauth", CONFIG_REDIS_PASSWORD },
	{ "tls-port", CONFIG_TLS_PORT },
	{ "save", CONFIG_REDIS_SNAPSHOTS },
	{ "protected-mode", CONFIG_REDIS_BIND },
};

static char *key_name(const struct config_key *k, const char *section)
{
	char *s;

	if (strcmp(k->section, section) == 0)
		return strdup(k->name);
	if (asprintf(&s, "[%s] %s", k->section, k->name) < 0)
		return NULL;
	return s;
}

char *config_suggest_key(const char *section, const char *name)
{
	const char *names[_CONFIG_KEY_MAX + 1];
	const char *best;
	size_t i, n = 0;

	for (i = 0; i < _CONFIG_KEY_MAX; i++)
		if (strcmp(config_keys[i].section, section) == 0)
			names[n++] = config_keys[i].name;
	names[n] = NULL;
	for (i = 0; i < ELEMENTSOF(aliases); i++)
		if (strcmp(aliases[i].alias, name) == 0)
			return key_name(&config_keys[aliases[i].id], section);
	best = strutil_nearest(name, names);
	if (best)
		return strdup(best);
	/* The right key in the wrong section? */
	for (i = 0; i < _CONFIG_KEY_MAX; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return key_name(&config_keys[i], section);
	return NULL;
}

static int parse_bool(const char *value, bool *ret, const char **ret_cause)
{
	if (strutil_index(value, true_words) >= 0)
		*ret = true;
	else if (strutil_index(value, false_words) >= 0)
		*ret = false;
	else {
		*ret_cause = "not a boolean (use yes or no)";
		return -EINVAL;
	}
	return 0;
}

static int parse_port(const struct config_key *k, const char *value, unsigned *ret,
		      const char **ret_cause)
{
	unsigned long long v;
	int r = strutil_parse_u64(value, k->min, k->max, &v);

	if (r == -ERANGE)
		*ret_cause = "port out of range (1 to 65535)";
	else if (r < 0)
		*ret_cause = "not a port number";
	else
		*ret = (unsigned)v;
	return r;
}

static int parse_enum(const struct config_key *k, const char *value, int *ret,
		      const char **ret_cause, char **ret_detail)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	int i;

	for (i = 0; k->choices[i]; i++)
		if (strcmp(value, k->choices[i]) == 0) {
			*ret = i;
			return 0;
		}
	*ret_cause = "not one of";
	for (i = 0; k->choices[i]; i++)
		if (buf_printf(&b, "%s%s", i ? ", " : "", k->choices[i]) < 0)
			return -ENOMEM;
	*ret_detail = buf_steal(&b, NULL);
	return *ret_detail ? -EINVAL : -ENOMEM;
}

static const struct {
	const char *suffix;
	unsigned long long factor;
} size_units[] = {
	{ "", 1 }, { "b", 1 }, { "kb", 1024 }, { "mb", MIB }, { "gb", 1024 * MIB }, { "tb", TIB },
};

static int parse_memory(const struct config_key *k, const char *value, struct config_memory *ret,
			const char **ret_cause)
{
	char digits[24];
	const char *unit;
	unsigned long long v;
	size_t n, i;

	n = strspn(value, "0123456789");
	if (n == 0 || n >= sizeof(digits)) {
		*ret_cause = "not a size (e.g. 512mb, 2gb), a percentage (75%) or 0";
		return -EINVAL;
	}
	memcpy(digits, value, n);
	digits[n] = '\0';
	unit = value + n;
	if (strutil_parse_u64(digits, 0, ~0ULL, &v) < 0) {
		*ret_cause = "not a size (e.g. 512mb, 2gb), a percentage (75%) or 0";
		return -EINVAL;
	}
	if (strcmp(unit, "%") == 0) {
		if (v < 1 || v > 100) {
			*ret_cause = "percentage out of range (1% to 100%)";
			return -ERANGE;
		}
		*ret = (struct config_memory){ CONFIG_MEMORY_PERCENT, v };
		return 0;
	}
	for (i = 0; i < ELEMENTSOF(size_units); i++)
		if (strcasecmp(unit, size_units[i].suffix) == 0)
			break;
	if (i == ELEMENTSOF(size_units)) {
		*ret_cause = "unknown size unit (use kb, mb, gb, tb or %)";
		return -EINVAL;
	}
	if (v == 0) {
		*ret = (struct config_memory){ CONFIG_MEMORY_UNLIMITED, 0 };
		return 0;
	}
	if (v > k->max / size_units[i].factor || v * size_units[i].factor < k->min) {
		*ret_cause = "size out of range (1mb to 64tb, or 0 for no limit)";
		return -ERANGE;
	}
	*ret = (struct config_memory){ CONFIG_MEMORY_BYTES, v * size_units[i].factor };
	return 0;
}

static int parse_secret(const struct config_key *k, const char *value, char **ret,
			const char **ret_cause)
{
	size_t len = strlen(value);
	char *s;

	if (!strutil_is_printable_ascii(value)) {
		*ret_cause = "may hold only printable ASCII characters (no control characters, no line breaks)";
		return -EINVAL;
	}
	if (len < k->min || len > k->max) {
		*ret_cause = "must be 16 to 128 characters long";
		return -ERANGE;
	}
	s = strdup(value);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* A PEM block: BEGIN line, base64 lines, END line with the same label. */
static bool pem_blocks_valid(const char *value, const char *const *labels, unsigned max_blocks)
{
	const char *p = value;
	unsigned blocks = 0;

	while (*p) {
		const char *nl, *end, *label = NULL;
		char begin[64], finish[64];
		size_t i;

		for (i = 0; labels[i]; i++) {
			snprintf(begin, sizeof(begin), "-----BEGIN %s-----\n", labels[i]);
			if (strncmp(p, begin, strlen(begin)) == 0) {
				label = labels[i];
				break;
			}
		}
		if (!label || ++blocks > max_blocks)
			return false;
		p += strlen(begin);
		snprintf(finish, sizeof(finish), "-----END %s-----", label);
		end = strstr(p, finish);
		if (!end)
			return false;
		for (; p < end; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl || nl == p)
				return false;
			if (strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
			    (size_t)(nl - p))
				return false;
		}
		p = end + strlen(finish);
		if (*p == '\n')
			p++;
		else if (*p)
			return false;
	}
	return blocks > 0;
}

static const char *validate_certificate(const char *value)
{
	static const char *const labels[] = { "CERTIFICATE", NULL };

	if (strcmp(value, "self-signed") == 0)
		return NULL;
	if (!pem_blocks_valid(value, labels, 8))
		return "not self-signed nor a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----, base64 lines indented under the key)";
	return NULL;
}

static const char *validate_key(const char *value)
{
	static const char *const labels[] = { "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", NULL };

	if (!pem_blocks_valid(value, labels, 1))
		return "not a PEM private key (-----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY-----, base64 lines indented under the key)";
	return NULL;
}

static int parse_pem(const struct config_key *k, const char *value, char **ret,
		     const char **ret_cause)
{
	const char *p;
	char *s;

	for (p = value; *p; p++)
		if (*p != '\n' && ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)) {
			*ret_cause = "may hold only printable ASCII characters";
			return -EINVAL;
		}
	*ret_cause = k->validate ? k->validate(value) : NULL;
	if (*ret_cause)
		return -EINVAL;
	if (strcmp(value, "self-signed") == 0) {
		*ret = NULL;
		return 0;
	}
	s = strdup(value);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* DigitalOcean's rule for a volume name: lowercase, letters, digits and '-', starting
 * with a letter, at most 64 characters. */
static int parse_name(const struct config_key *k, const char *value, char **ret,
		      const char **ret_cause)
{
	size_t len = strlen(value);
	char *s;

	if (len < k->min || len > k->max) {
		*ret_cause = "must be 1 to 64 characters long";
		return -ERANGE;
	}
	if (value[0] < 'a' || value[0] > 'z') {
		*ret_cause = "must start with a lowercase letter (a-z)";
		return -EINVAL;
	}
	if (strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-") != len) {
		*ret_cause = "may hold only lowercase letters, digits and '-'";
		return -EINVAL;
	}
	s = strdup(value);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* "self", or a unicast IPv4 address that a private network may use (normalized). */
static int parse_peer(const char *value, char **ret, const char **ret_cause)
{
	struct in_addr a;
	char text[INET_ADDRSTRLEN];
	uint32_t h;
	char *s;

	if (strcmp(value, "self") == 0)
		s = strdup("self");
	else {
		if (inet_pton(AF_INET, value, &a) != 1) {
			*ret_cause = "not self nor an IPv4 address";
			return -EINVAL;
		}
		h = ntohl(a.s_addr);
		if ((h >> 24) == 0 || (h >> 24) == 127 || (h >> 28) >= 14 || (h >> 16) == 0xa9fe) {
			*ret_cause = "not an address another droplet can have (loopback, link-local, multicast or reserved)";
			return -EINVAL;
		}
		inet_ntop(AF_INET, &a, text, sizeof(text));
		s = strdup(text);
	}
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static void addrlist_free(struct config_addrlist *l)
{
	free(l->items);
	*l = (struct config_addrlist){ 0 };
}

/* On failure, *ret_item is the entry at fault (malloc'd, quoted) when there is one. */
static int parse_addrlist(const struct config_key *k, const char *value,
			  struct config_addrlist *ret, const char **ret_cause, char **ret_item)
{
	_cleanup_free_ char *copy = strdup(value);
	struct config_addrlist l = { 0 };
	char *item, *rest;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	l.items = calloc(k->max, sizeof(*l.items));
	if (!l.items)
		return -ENOMEM;
	/* An empty value is an empty list: nobody. */
	for (rest = copy[strspn(copy, " \t\n")] ? copy : NULL; (item = strsep(&rest, ","));) {
		size_t len;
		bool had_host_bits;
		size_t i;

		/* Continuation lines join the list with a line break: a blank here. */
		item += strspn(item, " \t\n");
		len = strlen(item);
		while (len && (item[len - 1] == ' ' || item[len - 1] == '\t' || item[len - 1] == '\n'))
			item[--len] = '\0';
		if (len == 0) {
			*ret_cause = "empty entry in the list";
			r = -EINVAL;
			goto fail;
		}
		if (strcmp(item, "vpc") == 0) {
			l.vpc = true;
			continue;
		}
		if (l.n == k->max) {
			*ret_cause = "too many entries (at most 64)";
			r = -EINVAL;
			goto fail;
		}
		r = netaddr_parse(item, &l.items[l.n].addr, &had_host_bits);
		if (r == -ERANGE) {
			*ret_cause = "prefix length out of range (0 to 32 for IPv4, 0 to 128 for IPv6)";
			*ret_item = strutil_quote(item, 64);
			goto fail;
		} else if (r < 0) {
			*ret_cause = "not an IPv4 or IPv6 address, a CIDR block, or vpc";
			*ret_item = strutil_quote(item, 64);
			r = -EINVAL;
			goto fail;
		}
		for (i = 0; i < l.n; i++)
			if (netaddr_equal(&l.items[i].addr, &l.items[l.n].addr))
				break;
		if (i < l.n) {
			/* A duplicate adds nothing, but the normalization is still worth a word. */
			l.items[i].normalized |= had_host_bits;
			continue;
		}
		l.items[l.n++].normalized = had_host_bits;
	}
	addrlist_free(ret);
	*ret = l;
	return 0;
fail:
	free(l.items);
	return r;
}

int config_set(struct config *c, const struct config_key *k, const char *value,
	       char **ret_cause)
{
	_cleanup_free_ char *item = NULL, *detail = NULL;
	const char *cause = NULL;
	int r;

	switch (k->type) {
	case CONFIG_PORT:
		r = parse_port(k, value, FIELD(c, k, unsigned), &cause);
		break;
	case CONFIG_BOOL:
		r = parse_bool(value, FIELD(c, k, bool), &cause);
		break;
	case CONFIG_ENUM:
		r = parse_enum(k, value, FIELD(c, k, int), &cause, &detail);
		break;
	case CONFIG_MEMORY:
		r = parse_memory(k, value, FIELD(c, k, struct config_memory), &cause);
		break;
	case CONFIG_SECRET:
	case CONFIG_PEM: {
		char **field = FIELD(c, k, char *), *s = NULL;

		r = k->type == CONFIG_SECRET ? parse_secret(k, value, &s, &cause)
					      : parse_pem(k, value, &s, &cause);
		if (r >= 0) {
			erase_and_freep(field);
			*field = s;
		}
		break;
	}
	case CONFIG_ADDRLIST:
		r = parse_addrlist(k, value, FIELD(c, k, struct config_addrlist), &cause, &item);
		break;
	case CONFIG_COUNT: {
		unsigned long long v;

		r = strutil_parse_u64(value, k->min, k->max, &v);
		if (r == -ERANGE)
			cause = "out of range";
		else if (r < 0)
			cause = "not a whole number";
		else
			*FIELD(c, k, unsigned) = (unsigned)v;
		break;
	}
	case CONFIG_PEER:
	case CONFIG_NAME: {
		char **field = FIELD(c, k, char *), *s = NULL;

		r = k->type == CONFIG_PEER ? parse_peer(value, &s, &cause) : parse_name(k, value, &s, &cause);
		if (r >= 0) {
			free(*field);
			*field = s;
		}
		break;
	}
	default:
		r = -EINVAL;
		cause = "internal error: unknown key type";
	}
	if (r < 0 && r != -ENOMEM && ret_cause) {
		if (item)
			r = asprintf(ret_cause, "%s: '%s'", cause, item) < 0 ? -ENOMEM : r;
		else if (detail)
			r = asprintf(ret_cause, "%s %s", cause, detail) < 0 ? -ENOMEM : r;
		else if (!(*ret_cause = strdup(cause ? cause : "invalid value")))
			r = -ENOMEM;
	}
	return r;
}

int config_init(struct config *c)
{
	size_t i;

	*c = (struct config){ 0 };
	for (i = 0; i < _CONFIG_KEY_MAX; i++) {
		int r;

		if (!config_keys[i].default_value)
			continue;
		r = config_set(c, &config_keys[i], config_keys[i].default_value, NULL);
		if (r < 0) {
			config_done(c);
			return r;
		}
	}
	return 0;
}

void config_done(struct config *c)
{
	erase_and_freep(&c->redis_password);
	erase_and_freep(&c->tls_key);
	free(c->tls_certificate);
	addrlist_free(&c->firewall_allow);
	addrlist_free(&c->firewall_ssh_allow);
	free(c->storage_volume);
	free(c->replication_group);
	free(c->replication_primary);
	*c = (struct config){ 0 };
}

unsigned config_check(const struct config *c,
		      void (*report)(enum config_key_id id, const char *message, void *userdata),
		      void *userdata)
{
	unsigned n = 0;

#define VIOLATION(id, msg)                        \
	do {                                      \
		report((id), (msg), userdata);    \
		n++;                              \
	} while (0)

	if (c->tls_enabled && c->tls_port == c->redis_port)
		VIOLATION(c->line[CONFIG_TLS_PORT] ? CONFIG_TLS_PORT : CONFIG_REDIS_PORT,
			  "[redis] port and [tls] port are the same port; they must differ");
	if (c->firewall_ssh_port == c->redis_port)
		VIOLATION(c->line[CONFIG_FIREWALL_SSH_PORT] ? CONFIG_FIREWALL_SSH_PORT : CONFIG_REDIS_PORT,
			  "[redis] port and [firewall] ssh-port are the same port; they must differ");
	if (c->tls_enabled && c->firewall_ssh_port == c->tls_port)
		VIOLATION(c->line[CONFIG_FIREWALL_SSH_PORT] ? CONFIG_FIREWALL_SSH_PORT : CONFIG_TLS_PORT,
			  "[tls] port and [firewall] ssh-port are the same port; they must differ");
	if (c->tls_enabled && c->tls_plaintext > c->redis_bind)
		VIOLATION(c->line[CONFIG_TLS_PLAINTEXT] ? CONFIG_TLS_PLAINTEXT : CONFIG_REDIS_BIND,
			  "[tls] plaintext reaches further than [redis] bind: unencrypted Redis would be open where TLS is not");
	/* Redis binds its plaintext and TLS ports to the same addresses: its plaintext
	 * port is either everywhere its TLS port is, or (plaintext = loopback) not on
	 * TCP at all. */
	if (c->tls_enabled && c->tls_engine == CONFIG_TLS_REDIS && c->tls_plaintext != CONFIG_SCOPE_LOOPBACK &&
	    c->tls_plaintext != c->redis_bind)
		VIOLATION(c->line[CONFIG_TLS_PLAINTEXT] ? CONFIG_TLS_PLAINTEXT : CONFIG_TLS_ENGINE,
			  "with [tls] engine = redis, Redis listens for plaintext wherever it listens for TLS: "
			  "[tls] plaintext must be loopback (no plaintext TCP port) or the same as [redis] bind");
	if (c->replication_group && !c->replication_primary)
		VIOLATION(CONFIG_REPLICATION_GROUP, "a group needs [replication] primary: self on the first primary, its private address on the others");
	if (c->replication_primary && !c->replication_group)
		VIOLATION(CONFIG_REPLICATION_PRIMARY, "[replication] primary needs [replication] group");
	if (c->line[CONFIG_REPLICATION_QUORUM] && !c->replication_group)
		VIOLATION(CONFIG_REPLICATION_QUORUM, "[replication] quorum needs [replication] group");
	if (c->replication_group && !c->tls_enabled)
		VIOLATION(c->line[CONFIG_TLS_ENABLED] ? CONFIG_TLS_ENABLED : CONFIG_REPLICATION_GROUP,
			  "a replication group needs TLS: clients, replicas and Sentinels reach each other over TLS only");
	if (c->replication_group && c->tls_enabled && !c->tls_certificate)
		VIOLATION(c->line[CONFIG_TLS_CERTIFICATE] ? CONFIG_TLS_CERTIFICATE : CONFIG_REPLICATION_GROUP,
			  "a replication group needs one certificate that every node presents and trusts: a PEM pair in "
			  "[tls] certificate and key, the same on every node (doagent-launch create --standby makes one)");
	if (c->replication_group && c->redis_bind == CONFIG_SCOPE_LOOPBACK)
		VIOLATION(c->line[CONFIG_REDIS_BIND] ? CONFIG_REDIS_BIND : CONFIG_REPLICATION_GROUP,
			  "a replication group needs the private network: [redis] bind = loopback keeps the nodes apart");
	if (c->tls_certificate && !c->tls_key)
		VIOLATION(CONFIG_TLS_CERTIFICATE, "a PEM certificate needs its private key in [tls] key");
	if (c->tls_key && !c->tls_certificate)
		VIOLATION(CONFIG_TLS_KEY, "a private key is only used with a PEM certificate in [tls] certificate");
#undef VIOLATION
	return n;
}

bool config_redis_uses_tls(const struct config *c)
{
	return c->tls_enabled && (c->tls_engine == CONFIG_TLS_REDIS || c->replication_group);
}

bool config_replication_self(const struct config *c, const char *own_ip)
{
	return c->replication_primary &&
	       (strcmp(c->replication_primary, "self") == 0 || (own_ip && strcmp(c->replication_primary, own_ip) == 0));
}

bool config_appendonly(const struct config *c)
{
	if (c->line[CONFIG_REDIS_APPENDONLY] == 0 && (c->storage_volume || c->replication_group))
		return true;
	return c->redis_appendonly;
}

static int describe_type(struct buf *b, const struct config_key *k)
{
	size_t i;
	int r = 0;

	switch (k->type) {
	case CONFIG_PORT:
		return buf_printf(b, "port, %llu to %llu", k->min, k->max);
	case CONFIG_BOOL:
		return buf_puts(b, "yes or no");
	case CONFIG_ENUM:
		for (i = 0; k->choices[i] && r >= 0; i++)
			r = buf_printf(b, "%s%s", i ? " | " : "", k->choices[i]);
		return r;
	case CONFIG_MEMORY:
		return buf_puts(b, "0, 1% to 100%, or a size from 1mb to 64tb");
	case CONFIG_SECRET:
		return buf_printf(b, "printable ASCII, %llu to %llu characters", k->min, k->max);
	case CONFIG_PEM:
		return buf_puts(b, strcmp(k->name, "certificate") == 0 ? "self-signed or PEM" : "PEM");
	case CONFIG_ADDRLIST:
		return buf_printf(b, "list of addresses, CIDR blocks and vpc, at most %llu", k->max);
	case CONFIG_NAME:
		return buf_printf(b, "a-z, then a-z, 0-9 and -, %llu to %llu characters", k->min, k->max);
	case CONFIG_PEER:
		return buf_puts(b, "self or an IPv4 address");
	case CONFIG_COUNT:
		return buf_printf(b, "a number, %llu to %llu", k->min, k->max);
	}
	return -EINVAL;
}

char *config_key_synopsis(const struct config_key *k)
{
	_cleanup_buf_ struct buf b = BUF_INIT;

	if (describe_type(&b, k) < 0)
		return NULL;
	if (buf_printf(&b, "; default %s", k->default_value ? k->default_value : "none") < 0)
		return NULL;
	if (k->default_note && buf_printf(&b, " (%s)", k->default_note) < 0)
		return NULL;
	return buf_steal(&b, NULL);
}

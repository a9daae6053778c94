/* The user-data keys: one declared table, their typed values, and the checks
 * between them. Every key is a row of config_keys[]; nothing else defines one. */
#ifndef DOAGENT_CONFIG_H
#define DOAGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "netaddr.h"

/* A group's redis.conf: a primary takes writes only while this many replicas follow it
 * within min-replicas-max-lag (agent/templates/redis.conf; doagent-launch status judges
 * a node's health with it, as doagent --status does with the redis.conf it reads). */
#define CONFIG_GROUP_MIN_REPLICAS_TO_WRITE 1

enum config_type {
	CONFIG_PORT,		/* unsigned, min..max */
	CONFIG_BOOL,		/* yes/no, true/false, on/off */
	CONFIG_ENUM,		/* int index into choices */
	CONFIG_MEMORY,		/* struct config_memory */
	CONFIG_SECRET,		/* char *: printable ASCII, length min..max */
	CONFIG_PEM,		/* char *: a PEM block, or NULL for the default */
	CONFIG_ADDRLIST,	/* struct config_addrlist */
	CONFIG_PEER,		/* char *: "self", or a private IPv4 address (normalized); NULL unset */
	CONFIG_COUNT,		/* unsigned, min..max */
	CONFIG_NAME,		/* char *: a DigitalOcean name (a-z, then a-z 0-9 -), length min..max; NULL unset */
};

enum {
	CONFIG_SENSITIVE = 1 << 0,	/* never printed, logged or quoted in a message */
};

enum config_key_id {
	CONFIG_REDIS_PORT,
	CONFIG_REDIS_PASSWORD,
	CONFIG_REDIS_MAXMEMORY,
	CONFIG_REDIS_MAXMEMORY_POLICY,
	CONFIG_REDIS_BIND,
	CONFIG_REDIS_APPENDONLY,
	CONFIG_REDIS_SNAPSHOTS,
	CONFIG_TLS_ENABLED,
	CONFIG_TLS_ENGINE,
	CONFIG_TLS_PORT,
	CONFIG_TLS_CERTIFICATE,
	CONFIG_TLS_KEY,
	CONFIG_TLS_PLAINTEXT,
	CONFIG_FIREWALL_BACKEND,
	CONFIG_FIREWALL_ALLOW,
	CONFIG_FIREWALL_SSH_ALLOW,
	CONFIG_FIREWALL_SSH_PORT,
	CONFIG_FIREWALL_METADATA,
	CONFIG_STORAGE_VOLUME,
	CONFIG_STORAGE_FILESYSTEM,
	CONFIG_REPLICATION_GROUP,
	CONFIG_REPLICATION_PRIMARY,
	CONFIG_REPLICATION_QUORUM,
	_CONFIG_KEY_MAX,
};

/* Where a listener is reachable from: the values of [redis] bind and [tls] plaintext. */
enum config_scope { CONFIG_SCOPE_LOOPBACK, CONFIG_SCOPE_PRIVATE, CONFIG_SCOPE_PUBLIC, CONFIG_SCOPE_ALL };
enum config_backend { CONFIG_FW_AUTO, CONFIG_FW_NFTABLES, CONFIG_FW_UFW, CONFIG_FW_NONE };
enum config_metadata { CONFIG_METADATA_OPEN, CONFIG_METADATA_ROOT_ONLY };
enum config_filesystem { CONFIG_FS_EXT4, CONFIG_FS_XFS };
/* What serves TLS: stunnel in front of Redis, or Redis itself (tls-port). */
enum config_tls_engine { CONFIG_TLS_STUNNEL, CONFIG_TLS_REDIS };

struct config_memory {
	enum { CONFIG_MEMORY_UNLIMITED, CONFIG_MEMORY_BYTES, CONFIG_MEMORY_PERCENT } kind;
	unsigned long long value;	/* bytes, or percent of RAM */
};

struct config_addr {
	struct netaddr addr;	/* host bits cleared */
	bool normalized;	/* the user data had host bits set under the prefix */
};

struct config_addrlist {
	bool vpc;		/* "vpc": the private interface's network */
	size_t n;
	struct config_addr *items;	/* no two equal */
};

struct config {
	unsigned redis_port;
	char *redis_password;		/* NULL: generated on the droplet */
	struct config_memory redis_maxmemory;
	int redis_maxmemory_policy;	/* index into config_policies */
	int redis_bind;			/* enum config_scope */
	bool redis_appendonly;
	bool redis_snapshots;
	bool tls_enabled;
	int tls_engine;			/* enum config_tls_engine */
	unsigned tls_port;
	char *tls_certificate;		/* NULL: self-signed */
	char *tls_key;
	int tls_plaintext;		/* enum config_scope */
	int firewall_backend;		/* enum config_backend */
	struct config_addrlist firewall_allow;
	struct config_addrlist firewall_ssh_allow;
	unsigned firewall_ssh_port;
	int firewall_metadata;		/* enum config_metadata */
	char *storage_volume;		/* NULL: Redis' data stays on the droplet's own disk */
	int storage_filesystem;		/* enum config_filesystem: for a blank volume only */
	char *replication_group;	/* the Sentinel master name; NULL: a droplet on its own */
	char *replication_primary;	/* "self", or the first primary's private IPv4 address */
	unsigned replication_quorum;	/* Sentinels that must agree the primary is down */

	unsigned line[_CONFIG_KEY_MAX];	/* where user data set each key; 0 = default */
};

struct config_key {
	const char *section;
	const char *name;
	enum config_type type;
	const char *default_value;	/* parsed like user data; NULL = unset */
	unsigned long long min, max;	/* PORT: range; SECRET: length; MEMORY: bytes */
	const char *const *choices;	/* ENUM: NULL-terminated */
	/* Extra check after the type's own; returns NULL or a static message. */
	const char *(*validate)(const char *value);
	unsigned flags;
	size_t offset;			/* of the value in struct config */
	const char *summary;		/* one line for doagent-userdata(5) and --help */
	const char *default_note;	/* NULL, or when another key changes the default */
};

extern const struct config_key config_keys[_CONFIG_KEY_MAX];
extern const char *const config_policies[];
extern const char *const config_scopes[];
extern const char *const config_filesystems[];
extern const char *const config_tls_engines[];

/* Fill c with every key's default. Returns 0 or -ENOMEM. */
int config_init(struct config *c);

/* Erase secrets and free what c holds; c may be config_init'ed again. */
void config_done(struct config *c);

/* The key named name in section, or NULL. */
const struct config_key *config_find(const char *section, const char *name);
bool config_section_exists(const char *section);

/* A likely intended name for an unknown key or section, as text for a message
 * ("maxmemory-policy", or "[tls] port" when the key lives in another section),
 * or NULL. Returns a malloc'd string. */
char *config_suggest_key(const char *section, const char *name);
const char *config_suggest_section(const char *section);

/* Parse value for key k and store it in c, replacing what was there.
 * Returns 0, or -EINVAL/-ERANGE with *ret_cause (malloc'd, when ret_cause is not
 * NULL) saying why; the caller adds where the value came from. The message names
 * the entry at fault in an address list, and never contains any other value.
 * -ENOMEM. */
int config_set(struct config *c, const struct config_key *k, const char *value,
	       char **ret_cause);

/* Checks between keys, after all are set. Calls report(id, message, userdata) for
 * each violation (id = the key to blame) and returns the number of violations. */
unsigned config_check(const struct config *c,
		      void (*report)(enum config_key_id id, const char *message, void *userdata),
		      void *userdata);

/* [redis] appendonly as Redis gets it: what the user data says, else yes with a
 * [storage] volume or a [replication] group, and the table's default otherwise. */
bool config_appendonly(const struct config *c);

/* Whether redis-server itself uses the TLS key: Redis' own TLS ([tls] engine = redis),
 * or a replication group, whose replicas and Sentinels speak TLS to each other. */
bool config_redis_uses_tls(const struct config *c);

/* [replication] primary says this node is the group's first primary: "self", or its
 * own private address (own_ip, NULL when it has none). */
bool config_replication_self(const struct config *c, const char *own_ip);

/* "port, 1 to 65535; default 6379": how doagent-userdata(5) states a key's type,
 * bounds and default. Returns a malloc'd string or NULL on ENOMEM. */
char *config_key_synopsis(const struct config_key *k);

#endif

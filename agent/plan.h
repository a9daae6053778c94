/* The plan: everything a first boot will do, decided from the configuration and the
 * metadata before anything is touched, with every file rendered in memory. */
#ifndef DOAGENT_PLAN_H
#define DOAGENT_PLAN_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "macro.h"
#include "metadata.h"
#include "storage.h"

struct plan_file {
	char *path;		/* absolute, on the droplet */
	mode_t mode;
	const char *owner;
	const char *group;
	char *template;		/* where the template came from; NULL when not rendered */
	char *content;		/* what is written (may hold a secret) */
	size_t len;
	char *shown;		/* what is printed: sensitive values redacted */
	bool sensitive;		/* holds a secret: never printed as is */
};

/* Where the readiness check connects: each address a listener binds, loopback included,
 * on the port it serves there. */
struct plan_endpoint {
	char *host;
	unsigned port;
	bool tls;
	bool sentinel;		/* Sentinel's port, not Redis' */
};

struct plan {
	char *droplet_id;
	struct plan_file *files;
	size_t n_files;
	char **units;		/* to enable and start, NULL-terminated */
	char **units_off;	/* to stop and disable when an earlier run left them; or NULL */
	char **remove;		/* files of an earlier configuration to remove; or NULL */
	char **actions;		/* other steps, as sentences, NULL-terminated */
	char **rules;		/* the firewall policy, one rule a line, NULL-terminated */
	char **notices;		/* things the user should know, NULL-terminated */
	struct storage_volume *storage;	/* the volume for Redis' data; NULL: none */
	const char *firewall_backend;
	unsigned long long maxmemory;	/* resolved, in bytes; 0 = no limit */
	/* The firewall policy, resolved (vpc made a block), for fw.c's backends. */
	char **ssh4, **ssh6;		/* NULL-terminated, or NULL */
	char **allow4, **allow6;
	unsigned ssh_port;
	unsigned open_ports[2];		/* Redis and/or TLS ports open to allow; 0 = none */
	bool metadata_root_only;
	char **group4;			/* a replication group: the VPC's block, NULL otherwise */
	unsigned group_ports[2];	/* open to group4: the TLS port and Sentinel's; 0 = none */
	struct plan_endpoint *endpoints;	/* every one must answer AUTH + PING */
	size_t n_endpoints;
	char **addresses;	/* the metadata's addresses that listeners bind (not loopback):
				 * on an interface before the services start; NULL-terminated or NULL */
};

struct plan_input {
	const struct config *config;
	const struct metadata *metadata;
	unsigned long long mem_total;	/* bytes of RAM, for percentages */
	const char *password;		/* the password to render (from config or generated) */
	bool password_generated;
	const char *tls_fingerprint;	/* the certificate's SHA-256; NULL: not made yet (dry run) */
	const char *templates_dir;	/* overrides /etc/doagent/templates when set */
	const char *shipped_dir;	/* the shipped templates (PKGDATADIR/templates) */
	const char *const *notices;	/* from reading the user data; NULL-terminated or NULL */
};

/* Decide and render. Returns 0 and a new plan (free with plan_free), or -errno with
 * *ret_cause (malloc'd) saying what failed: -ENOENT a template is missing, -EINVAL a
 * template does not render, -EBADMSG the metadata cannot satisfy the configuration. */
int plan_build(const struct plan_input *in, struct plan **ret, char **ret_cause);

/* Print the plan for a person: steps, then every file (redacted). Returns 0 or -EIO. */
int plan_print(const struct plan *p, FILE *f);

/* The plan as JSON (files redacted). Returns a new object or NULL on ENOMEM. */
json_object *plan_to_json(const struct plan *p);

/* Write every file under dir as dir/<absolute path>, atomically, with its mode (owners
 * are not changed). Returns 0 or -errno with *ret_cause naming the file. */
int plan_write_tree(const struct plan *p, const char *dir, char **ret_cause);

/* MemTotal from the text of /proc/meminfo, in bytes. 0 or -EINVAL. */
int plan_parse_meminfo(const char *text, unsigned long long *ret);

/* The ports the firewall opens to [firewall] allow: [0] Redis, [1] TLS; 0 = closed. */
void plan_open_ports(const struct config *c, unsigned ret[static 2]);

/* The TCP port Redis serves plaintext on: [redis] port, or 0 with [tls] engine = redis
 * and plaintext = loopback under a wider bind (plaintext is then on PATH_REDIS_SOCKET). */
unsigned plan_plaintext_port(const struct config *c);

void plan_free(struct plan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct plan *, plan_free)
#define _cleanup_plan_ _cleanup_(plan_freep)

#endif

/*
 * The user data doagent-launch sends: read, checked with the agent's own parser, given a
 * password when it has none, and shown with its secrets redacted.
 *
 * MUST rules:
 * - Nothing is sent that the agent's parser refuses, nor more than 64 KiB.
 * - The password and the user data that holds it are erased when freed, and never
 *   printed but in the connection string.
 */
#ifndef DOAGENT_PAYLOAD_H
#define DOAGENT_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "userdata.h"

struct payload {
	char source[65];	/* the SHA-256 of the file as read, hex */
	char *data;		/* what is sent; erased when freed */
	size_t len;
	char *password;		/* Redis' password, as in data; erased when freed */
	bool tls;
	unsigned port;		/* the port clients use: TLS's when TLS is on */
	struct config config;	/* data, parsed */
};

/* Read path (at most 64 KiB, no NUL bytes): 0 with *ret and *ret_len, or an exit status
 * after reporting why. */
int payload_read(const char *path, char **ret, size_t *ret_len);

/* Check data as the agent will: print its diagnostics on stderr (errors only when quiet),
 * each prefixed with what. 0 with *c initialized (config_done it in every case) and
 * *ret_kind, or an exit status (65 for invalid user data). */
int payload_check(const char *what, const char *data, size_t len, struct config *c,
		  enum userdata_kind *ret_kind, bool quiet);

/* Load path as create sends it: doagent's INI user data (refused otherwise, 65), with
 * "password = <32 random bytes as hex>" added to its [redis] section when it sets no
 * password (MIME user data must set its own). 0, or an exit status after reporting why;
 * payload_done p in every case. */
int payload_load(const char *path, struct payload *p);
void payload_done(struct payload *p);

/* The user data's [storage] volume: NULL when it names none (or when the agent's
 * parser has no such key). */
const char *payload_volume(const struct config *c);

/* Send data (taken; "what" names it in messages) instead: it is checked again. 0, or an
 * exit status after reporting why. */
int payload_replace(struct payload *p, const char *what, char *data);

/* Make p's user data name volume in [storage] volume: add it when it names none; 0, or
 * an exit status after reporting why (65 when it names another). */
int payload_set_volume(struct payload *p, const char *what, const char *volume);

/* Make p the user data of a replication group's first primary (create --standby):
 * append to it [tls] certificate and key, the group's PEM pair (cert_pem and key_pem;
 * both NULL when the user data gives its own pair, which then is the group's), and
 * [replication] group, primary = self and quorum, in sections of their own at the end.
 * User data a group cannot be made of is refused (65, naming the key): MIME, one that
 * sets [replication], TLS off, bind = loopback, certificate = self-signed, a [storage]
 * volume. 0, or an exit status after reporting why. */
int payload_make_group(struct payload *p, const char *what, const char *group, unsigned quorum,
		       const char *cert_pem, const char *key_pem);

/* The standbys' user data: p's (made by payload_make_group) with [replication] primary =
 * primary_ip, checked as the agent will check it when check (without, primary_ip may be
 * a placeholder, for a dry run). 0 with *ret (malloc'd; erase it), or an exit status
 * after reporting why. */
int payload_standby(const struct payload *p, const char *primary_ip, bool check, char **ret);

/* Does the user data look like a MIME multipart document? */
bool payload_is_mime(const char *data);

/* A copy of data with the values of the secret keys ("password", and "key" with the
 * indented continuation lines of its PEM block) replaced by "(redacted)"; NULL on
 * ENOMEM. */
char *payload_redact(const char *data);

#endif

/*
 * What create sent, kept per launch id for replace: the DigitalOcean API never gives a
 * droplet's user data back, and the password the launcher generated lives only in the
 * user data it sent. A JSON file <launch id>.json in $XDG_STATE_HOME/doagent-launch
 * (default ~/.local/state/doagent-launch).
 *
 * MUST rules:
 * - The file holds the Redis password (and the TLS key the user data may carry): it is
 *   written atomically with mode 0600 in a directory made 0700, and read only when it
 *   is a regular file of this user that nobody else can read.
 * - It is never printed; its path is.
 */
#ifndef DOAGENT_RECORD_H
#define DOAGENT_RECORD_H

struct record {
	char *launch_id;
	char *name;		/* the droplet's */
	char *source;		/* SHA-256 of the user-data file as read, hex */
	char *volume;		/* [storage] volume; NULL: none */
	char *user_data;	/* as sent; erased when freed */
	char **ssh_keys;	/* NULL-terminated, never NULL */
	char *group;		/* create --standby: the group's name; NULL: none */
	unsigned nodes;		/* the group's droplets (0: not a group) */
};

/* The SHA-256 of len bytes of data in hex (65 bytes with the NUL). */
void record_digest(const void *data, size_t len, char ret[65]);

/* The record's path for launch_id (malloc'd), or NULL with *ret_cause. */
char *record_path(const char *launch_id, char **ret_cause);

/* Write r. 0 or a negative errno with *ret_cause. */
int record_save(const struct record *r, char **ret_cause);

/* Read the record of launch_id: 0 with *ret, -ENOENT when there is none, or another
 * negative errno with *ret_cause. */
int record_load(const char *launch_id, struct record *ret, char **ret_cause);

void record_done(struct record *r);

/* Write the group's certificate (PEM; not a secret) beside the record of launch_id, as
 * <launch id>.crt, mode 0644, for clients to trust. 0 with *ret_path (malloc'd), or a
 * negative errno with *ret_cause. */
int record_save_certificate(const char *launch_id, const char *pem, char **ret_path, char **ret_cause);

#endif

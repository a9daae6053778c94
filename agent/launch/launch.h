/* What doagent-launch's commands share: the options main.c parsed, messages, the token
 * and the API, finding a droplet, printing one, progress and probing a port. */
#ifndef DOAGENT_LAUNCH_H
#define DOAGENT_LAUNCH_H

#include <stdbool.h>
#include <stdint.h>

#include "doapi.h"
#include "macro.h"

/* Every droplet the launcher makes carries LAUNCH_TAG and LAUNCH_TAG_PREFIX<launch id>. */
#define LAUNCH_TAG "doagent"
#define LAUNCH_TAG_PREFIX "doagent-launch-"

struct launch_options {
	const char *api_url;
	const char *token_file;
	const char *image, *region, *size, *user_data_file, *vpc_uuid, *launch_id;
	char **ssh_keys;
	char **tags;
	char **alerts;				/* --alerts: email addresses */
	const char *volume_name;		/* --volume-name */
	unsigned long long volume_gib;		/* --volume; 0: none */
	unsigned long long standby;		/* --standby: a group's standbys; 0: no group */
	bool no_wait, keep_on_failure, dry_run, force, json, cloud_firewall, delete_volumes;
	unsigned long long wait_timeout;	/* seconds */
};

/* "doagent-launch: " and the message on stderr. */
void launch_err(const char *fmt, ...) _printf_(1, 2);
/* cause, or strerror(-r) when there is none. */
const char *launch_cause_or(const char *cause, int r);
/* The exit status for a doapi error: 69 when the API kept failing, else 1. */
int launch_api_exit(int r);

/* The API client with the token (from --token-file or the environment) and the URL (from
 * --api-url, DIGITALOCEAN_API_URL or the default). NULL after reporting why: the caller
 * exits with DOAGENT_EXIT_USAGE. */
struct doapi *launch_api_open(const struct launch_options *o);

/* The droplet what names: a droplet id, or the name of one droplet tagged LAUNCH_TAG.
 * 0 with *ret (NULL when there is none), or -(exit status) after reporting why. */
int launch_resolve(struct doapi *api, const char *what, struct doapi_droplet **ret);

/* What is shown of a droplet: d, and each of the others when set. */
struct launch_shown {
	const struct doapi_droplet *d;
	const char *conn;			/* the connection string */
	const char *fw_id;			/* its cloud firewall */
	struct doapi_volume *const *volumes;	/* n_volumes of them */
	size_t n_volumes;
	const char *replaced;			/* the id of the droplet it replaced */
	bool downtime_known;
	double downtime;			/* seconds */
};

/* The connection string: redis[s]://default:PASSWORD@ip:port (malloc'd; erase it), or
 * NULL on ENOMEM. */
char *launch_connection(bool tls, const char *password, const char *ip, unsigned port);

/* sh as text or, with o->json, one JSON object. */
void launch_print_droplet(const struct launch_options *o, const struct launch_shown *sh);

/* The launch tag among d's tags (a pointer into d), NULL when it has none. */
const char *launch_tag_of(const struct doapi_droplet *d);

/* Is id a launch id: letters, digits, '-' and '_', 1 to 48 of them? */
bool launch_id_valid(const char *id);

/* Progress on stderr: one line rewritten on a terminal, else a line per new status. */
struct launch_progress {
	uint64_t t_start;	/* backoff_now_ms() when the run started */
	char *last;
};
void launch_progress_show(struct launch_progress *p, const char *what, const char *id,
			  const char *status);
void launch_progress_end(struct launch_progress *p);
void launch_progress_done(struct launch_progress *p);

/* Try a TCP connect to ip:port until one succeeds or timeout_ms pass: 1 answered, 0 not,
 * -1 not tried (not an IPv4 address, a documentation address, or unreachable). */
int launch_probe(const char *ip, unsigned port, int timeout_ms);

#endif

/*
 * The DigitalOcean API client of doagent-launch: droplets, firewalls, volumes and their
 * actions, monitoring alert policies, over http.h.
 *
 * MUST rules:
 * - The token goes only into the Authorization header, built per request and erased
 *   after it; never into a URL, a cause or a log.
 * - POST is never retried: an answer that may have come after the droplet was made
 *   returns -EAGAIN, and the caller lists by its launch tag.
 * - but POST /v2/tags, which is retried as a GET is: making a tag that exists leaves
 *   it as it was.
 * - GET and DELETE are retried on 429, 5xx and transport errors under a deadline,
 *   honouring Retry-After and RateLimit-Remaining 0 / RateLimit-Reset.
 * - A next-page link is followed only when it starts with base_url.
 *
 * Errors (negative errno; *ret_cause set to a message, the caller frees it):
 *   -EAGAIN     create or action (POST): a transport error, timeout or 5xx; what it
 *               asked for may have been done
 *   -ETIMEDOUT  GET/DELETE: still failing (429, 5xx, transport) at the deadline
 *   -ENOENT     GET: 404
 *   -EACCES     401 or 403 (a bad or under-scoped token)
 *   -EBUSY      409 (a conflict: a volume's name is taken, an attached volume deleted)
 *   -EINVAL     any other 4xx (the request was refused, e.g. 422)
 *   -EBADMSG    a 2xx answer that is not JSON or not of the documented shape (the
 *               field is named in the cause); also any other unexpected status
 *   -E2BIG      list: more than max_pages pages
 *   -ENOMEM
 */
#ifndef DOAGENT_DOAPI_H
#define DOAGENT_DOAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOAPI_DEFAULT_URL "https://api.digitalocean.com"

struct doapi {
	const char *base_url;		/* a copy, no trailing slash */
	char *token;			/* a copy, erased on free */
	uint64_t deadline_ms;		/* retries of one GET/DELETE; default 60000 */
	uint64_t backoff_initial_ms;	/* default 500 */
	uint64_t backoff_max_ms;	/* default 8000 */
	long timeout_ms;		/* one request; default 30000 */
	unsigned max_pages;		/* pages of one list; default 50 */
	unsigned long requests;		/* every HTTP request made (for benchmarks) */
	int64_t not_before_ms;		/* wall-clock ms before which no request starts */
};

struct doapi_droplet {
	char *id;			/* decimal digits */
	char *name;
	char *status;			/* "new", "active", "off", "archive" */
	char *public_ipv4;		/* NULL when none (yet) */
	char *private_ipv4;
	char *public_ipv6;
	char **tags;			/* NULL-terminated, never NULL */
	char *region;			/* the region's slug; NULL when not given */
	char *size_slug;		/* NULL when not given */
	char *vpc_uuid;			/* NULL when not given */
	char **volume_ids;		/* attached volumes; NULL-terminated, never NULL */
	unsigned vcpus;			/* 0 when not given */
};

/* How many droplets one create may ask for (DigitalOcean's limit). */
#define DOAPI_MAX_NAMES 10

struct doapi_create {
	const char *name;		/* required, but with names */
	const char *const *names;	/* doapi_droplets_create: a droplet each (1 to 10) */
	const char *region;		/* NULL: any */
	const char *size;		/* required */
	const char *image;		/* required: all digits is an image id, else a slug */
	const char *user_data;		/* NULL: none */
	const char *const *ssh_keys;	/* all digits: an id, else a fingerprint; NULL: none */
	const char *const *tags;	/* NULL: none */
	const char *vpc_uuid;		/* NULL: the default VPC */
	const char *const *volumes;	/* volume ids to attach at create; NULL: none */
	bool monitoring;		/* install DigitalOcean's metrics agent (do-agent) */
};

struct doapi_volume {
	char *id;
	char *name;
	char *region;			/* the region's slug */
	unsigned long long size_gib;
	char **droplet_ids;		/* decimal; NULL-terminated, never NULL (empty: detached) */
	char **tags;			/* NULL-terminated, never NULL */
};

struct doapi_volume_create {
	const char *name;		/* required */
	const char *region;		/* required */
	unsigned long long size_gib;	/* required */
	const char *description;	/* NULL: none */
	const char *const *tags;	/* NULL: none */
};

/* An action (of a droplet or a volume), as far as waiting for it goes. */
struct doapi_action {
	char id[24];			/* decimal */
	char status[16];		/* "in-progress", "completed", "errored" */
};

struct doapi_fw_rule {
	const char *protocol;		/* "tcp", "udp", "icmp" */
	const char *ports;		/* "6379", "8000-9000", "0" (all) */
	const char *const *addresses;	/* sources (inbound) or destinations (outbound) */
	const char *const *tags;
};

struct doapi_firewall_create {
	const char *name;
	const struct doapi_fw_rule *inbound;
	size_t n_inbound;
	const struct doapi_fw_rule *outbound;
	size_t n_outbound;
	const char *const *tags;	/* droplets with these tags get the firewall */
	const char *const *droplet_ids;	/* decimal ids; NULL: none */
};

/* base_url NULL: DOAPI_DEFAULT_URL. Returns NULL on ENOMEM. */
struct doapi *doapi_new(const char *base_url, const char *token);
/* Accepts NULL. */
void doapi_free(struct doapi *api);

void doapi_droplet_free(struct doapi_droplet *d);
/* Frees n droplets and the array; accepts NULL. */
void doapi_droplets_free(struct doapi_droplet **l, size_t n);

/* POST /v2/droplets, once. *ret is the new droplet (usually "new", no address). */
int doapi_droplet_create(struct doapi *api, const struct doapi_create *req,
			 struct doapi_droplet **ret, char **ret_cause);
/* POST /v2/droplets with "names", once (-EAGAIN as for one droplet): a droplet for
 * each of req->names, alike but for its name. *ret: the new droplets, as the answer
 * lists them (one for each name, or -EBADMSG); *n: how many. */
int doapi_droplets_create(struct doapi *api, const struct doapi_create *req,
			  struct doapi_droplet ***ret, size_t *n, char **ret_cause);
/* GET /v2/droplets/{id}. */
int doapi_droplet_get(struct doapi *api, const char *id, struct doapi_droplet **ret,
		      char **ret_cause);
/* GET /v2/droplets?tag_name=T&per_page=200, every page. *ret may be NULL when *n is 0. */
int doapi_droplets_by_tag(struct doapi *api, const char *tag, struct doapi_droplet ***ret,
			  size_t *n, char **ret_cause);
/* DELETE /v2/droplets/{id}; 404 counts as done. */
int doapi_droplet_delete(struct doapi *api, const char *id, char **ret_cause);

/* POST /v2/droplets/{id}/actions {"type": type} ("shutdown", "power_on", ...), once:
 * -EAGAIN as for a create. 422 (e.g. another action is pending) is -EINVAL. */
int doapi_droplet_action(struct doapi *api, const char *id, const char *type,
			 struct doapi_action *ret, char **ret_cause);
/* GET /v2/droplets/{id}/actions/{action_id}. */
int doapi_droplet_action_get(struct doapi *api, const char *id, const char *action_id,
			     struct doapi_action *ret, char **ret_cause);

/* The body POST /v2/droplets sends (for --dry-run); NULL on ENOMEM. */
struct json_object *doapi_droplet_body(const struct doapi_create *req);
/* The body POST /v2/firewalls sends; NULL on ENOMEM. */
struct json_object *doapi_firewall_body(const struct doapi_firewall_create *req);

/* POST /v2/firewalls, once (-EAGAIN as for droplets). *ret_id: its id. */
int doapi_firewall_create(struct doapi *api, const struct doapi_firewall_create *req,
			  char **ret_id, char **ret_cause);
/* GET /v2/firewalls, every page: *ret_id is the id of the firewall named name, NULL
 * when none. Returns 0, or 1 when more than one has that name (*ret_id: the first). */
int doapi_firewall_find(struct doapi *api, const char *name, char **ret_id, char **ret_cause);
/* DELETE /v2/firewalls/{id}; 404 counts as done. */
int doapi_firewall_delete(struct doapi *api, const char *id, char **ret_cause);

/* The body POST /v2/tags sends; NULL on ENOMEM. */
struct json_object *doapi_tag_body(const char *name);
/* POST /v2/tags {"name": name}, retried as a GET is (making a tag twice is harmless).
 * 0 when the tag exists afterwards: answered 201, or refused with a 4xx (not 401 or
 * 429) and then found by GET /v2/tags/{name} (an API that refuses a duplicate). A name
 * that is not 1 to 255 letters, digits, ':', '-' and '_' is -EINVAL, nothing sent. */
int doapi_tag_create(struct doapi *api, const char *name, char **ret_cause);

void doapi_volume_free(struct doapi_volume *v);
/* Frees n volumes and the array; accepts NULL. */
void doapi_volumes_free(struct doapi_volume **l, size_t n);
/* The body POST /v2/volumes sends; NULL on ENOMEM. */
struct json_object *doapi_volume_body(const struct doapi_volume_create *req);
/* POST /v2/volumes, once (-EAGAIN as for droplets; -EBUSY: the name is taken in the
 * region). */
int doapi_volume_create(struct doapi *api, const struct doapi_volume_create *req,
			struct doapi_volume **ret, char **ret_cause);
/* GET /v2/volumes?name=N&region=R (either NULL: any), every page. */
int doapi_volumes_list(struct doapi *api, const char *name, const char *region,
		       struct doapi_volume ***ret, size_t *n, char **ret_cause);
/* GET /v2/volumes/{id}. */
int doapi_volume_get(struct doapi *api, const char *id, struct doapi_volume **ret,
		     char **ret_cause);
/* DELETE /v2/volumes/{id}; 404 counts as done, 409 (still attached) is -EBUSY. */
int doapi_volume_delete(struct doapi *api, const char *id, char **ret_cause);
/* POST /v2/volumes/{id}/actions {"type": type, "droplet_id", "region"}: type "attach"
 * or "detach", once (-EAGAIN as for a create; 422, e.g. already attached, is -EINVAL). */
int doapi_volume_action(struct doapi *api, const char *id, const char *type,
			const char *droplet_id, const char *region, struct doapi_action *ret,
			char **ret_cause);
/* GET /v2/volumes/{id}/actions/{action_id}. */
int doapi_volume_action_get(struct doapi *api, const char *id, const char *action_id,
			    struct doapi_action *ret, char **ret_cause);

/* A monitoring alert policy, as far as the launcher reads it. */
struct doapi_alert {
	char *uuid;
	char *type;			/* "v1/insights/droplet/cpu", ... */
	char *description;
	char *compare;			/* "GreaterThan" or "LessThan" */
	double value;
	char *window;			/* "5m", "10m", "30m", "1h" */
	char **entities;		/* droplet ids; NULL-terminated, never NULL */
	char **tags;			/* NULL-terminated, never NULL */
	char **emails;			/* alerts.email; NULL-terminated, never NULL */
	bool enabled;
};

struct doapi_alert_create {
	const char *type;		/* required */
	const char *description;	/* required */
	const char *compare;		/* required */
	double value;
	const char *window;		/* required */
	const char *const *entities;	/* NULL: none (then tags, or every droplet) */
	const char *const *tags;	/* NULL: none */
	const char *const *emails;	/* NULL: none */
	bool enabled;
};

void doapi_alert_free(struct doapi_alert *a);
/* Frees n policies and the array; accepts NULL. */
void doapi_alerts_free(struct doapi_alert **l, size_t n);
/* The body POST /v2/monitoring/alerts sends (every member the schema requires: Slack
 * as an empty list); NULL on ENOMEM. */
struct json_object *doapi_alert_body(const struct doapi_alert_create *req);
/* POST /v2/monitoring/alerts, once (-EAGAIN as for droplets). */
int doapi_alert_create(struct doapi *api, const struct doapi_alert_create *req,
		       struct doapi_alert **ret, char **ret_cause);
/* GET /v2/monitoring/alerts?per_page=200, every page. *ret may be NULL when *n is 0. */
int doapi_alerts_list(struct doapi *api, struct doapi_alert ***ret, size_t *n, char **ret_cause);
/* DELETE /v2/monitoring/alerts/{uuid}; 404 counts as done. */
int doapi_alert_delete(struct doapi *api, const char *uuid, char **ret_cause);

#endif

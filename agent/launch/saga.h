/*
 * The launcher's saga: a table of steps run in order, each of which first adopts what
 * the run's tag already owns and makes only what is missing, and records what it made.
 * When a step fails, the steps that ran undo, in reverse order, what THIS run made
 * (the failing step too, for what it made before failing); what was adopted or given
 * is never undone. A rerun with the same tag after a crash at any point converges.
 *
 * MUST rules:
 * - A step marks everything it makes as made the moment it knows of it, and nothing
 *   else: undo acts on those marks and on nothing it merely found.
 * - A step that cannot tell whether something was made (a create whose answer was lost
 *   and that cannot be found) sets unsettled: then nothing at all is undone, so that a
 *   rerun adopts it rather than leaving it half undone.
 * - POST is never retried blindly: after an ambiguous answer a step looks by tag (or
 *   name) and adopts what it finds.
 */
#ifndef DOAGENT_SAGA_H
#define DOAGENT_SAGA_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "backoff.h"
#include "config.h"
#include "doapi.h"
#include "launch.h"
#include "payload.h"

struct saga_droplet {
	struct doapi_droplet *d;	/* as last seen */
	bool made;			/* this run created it */
};

enum saga_move { SAGA_ATTACH, SAGA_DETACH };

struct saga_alert {
	char *uuid;
	const char *type;		/* one of alerts_kinds' */
	bool made;			/* this run created it */
};

struct saga_volume {
	struct doapi_volume *v;		/* as last seen */
	bool made;			/* this run created it */
	bool asked[2];			/* this run asked to attach it to the primary droplet
					 * (SAGA_ATTACH), to detach it from the old one (SAGA_DETACH) */
};

struct saga {
	const struct launch_options *opt;
	struct doapi *api;		/* NULL in a dry run */
	const char *launch_id;
	const char *tag;		/* what this run owns carries this tag: adopted by it */
	const char *rerun;		/* how to run again safely, for messages */

	/* The droplets: n_wanted of them, named name, made from image with user_data. */
	const char *name;
	const char *image, *region, *size, *vpc_uuid;	/* region, vpc_uuid: NULL for any */
	char **ssh_keys;
	const char *user_data;
	const struct config *config;	/* user_data, parsed */
	char **tags;			/* every droplet's tags, tag among them */
	size_t n_wanted;
	struct saga_droplet *droplets;	/* the first is the primary */
	size_t n_droplets;
	unsigned port;			/* the port clients use */
	bool probe;			/* wait: try port once the droplet is active */

	/* The volumes: in create the one named volume_name, made volume_gib big when it
	 * does not exist (0: it must exist); in replace those of the old droplet. The
	 * primary droplet gets them at its create with attach_at_create, else through
	 * attach actions. */
	const char *volume_name;
	unsigned long long volume_gib;
	bool attach_at_create;
	struct saga_volume *volumes;
	size_t n_volumes;

	/* A replication group (create --standby): the droplets above are its first primary,
	 * named name (NAME-1), adopted by the tag and that name; step_standbys adds the
	 * standbys, named standby_names, with the primary's user data but for
	 * [replication] primary (payload_standby). */
	const char *group;		/* NULL: not a group */
	const struct payload *payload;	/* the primary's user data, parsed */
	char **standby_names;
	size_t n_standby;

	char *fw_id;			/* the cloud firewall */
	bool fw_made;

	struct saga_alert *alerts;	/* the alert policies (create --alerts) */
	size_t n_alerts;

	/* replace: the droplet being replaced, whether this run shut it down, and when it
	 * went down and the new one's port answered (backoff_now_ms()) */
	struct doapi_droplet *old;
	bool old_shut;
	bool wait_port;
	uint64_t t_down, t_up;

	bool unsettled;			/* a step could not tell what exists: undo nothing */
	struct launch_progress progress;
};

/* run returns 0 to go on, or the exit status to stop with (after reporting why).
 * undo (NULL: nothing to undo) undoes what run made; with keep it only says what it
 * keeps. wanted (NULL: always) says whether the step belongs in this run at all.
 * plan (NULL: it sends nothing) adds to a dry run's array each request run would send,
 * as {"method", "path", "body"}; 0 or -ENOMEM. */
struct saga_step {
	const char *name;
	bool commit;			/* once it has run, a later failure undoes nothing */
	bool (*wanted)(const struct saga *s);
	int (*run)(struct saga *s);
	void (*undo)(struct saga *s, bool keep);
	int (*plan)(const struct saga *s, json_object *requests);
};

extern const struct saga_step step_volume, step_cloud_firewall, step_droplets, step_attach,
	step_alerts, step_wait, step_shutdown, step_detach, step_port, step_retire;
extern const struct saga_step step_standbys;

/* Run steps[0..n) in order (n at most 64); on a failure undo as above, the steps that
 * ran (only reporting, with s->opt->keep_on_failure). Returns 0 or the failing step's
 * exit status. */
int saga_run(struct saga *s, const struct saga_step *const *steps, size_t n);

/* A dry run: print the requests the wanted steps would send ("METHOD PATH" and the
 * pretty body each, or one JSON array with s->opt->json). 0 or -ENOMEM. */
int saga_plan(const struct saga *s, const struct saga_step *const *steps, size_t n);

/* Add {"method", "path", "body"} to requests, taking body (NULL: none). 0 or -ENOMEM. */
int saga_plan_add(json_object *requests, const char *method, const char *path, json_object *body);

/* Add the POST of an action to requests: to path (printf-style), with the body
 * {"type": type} and, when droplet is not NULL, "droplet_id" (a number when all digits,
 * else a placeholder) and "region". 0 or -ENOMEM. */
int saga_plan_action(json_object *requests, const char *type, const char *droplet,
		     const char *region, const char *path_fmt, ...) _printf_(5, 6);

/* Take v into s's volumes (v is s's then, even on ENOMEM, when it is freed). 0 or -ENOMEM. */
int saga_add_volume(struct saga *s, struct doapi_volume *v, bool made);
/* The same for droplet d; and whether s has a droplet of that id. */
int saga_add_droplet(struct saga *s, struct doapi_droplet *d, bool made);
bool saga_has_droplet(const struct saga *s, const char *id);

/* Attach every volume to droplet id (SAGA_ATTACH), or detach each from it (SAGA_DETACH),
 * each waited for within --wait-timeout, marking those it asks for. 0 or an exit
 * status. */
int saga_move_volumes(struct saga *s, enum saga_move m, const char *id);
/* Undo that for the volumes marked (with keep, only say what is left). */
void saga_unmove_volumes(struct saga *s, enum saga_move m, const char *id, bool keep);

/* Wait until droplet id is active with a public IPv4 address (and a private one with
 * need_private), polling at most 1.5 s apart under b's deadline and tolerating 404s for
 * 30 s after the create, with progress. 0 with *ret the droplet as last seen, or an exit
 * status after reporting why. */
int saga_wait_active(struct saga *s, struct backoff *b, const char *id, bool need_private,
		     struct doapi_droplet **ret);

/* Print the primary droplet as launch_print_droplet does, with its volumes, the cloud
 * firewall, conn (NULL: none) and, for a replace, the old droplet and the downtime. */
void saga_print(const struct saga *s, const char *conn);

/* Free what s holds: droplets, volumes, the old droplet, the firewall's id, the alert
 * policies, the progress line. */
void saga_done(struct saga *s);

#endif

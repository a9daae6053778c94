/*
 * replace NAME --image ID: move a droplet and its data to a newer snapshot. The replace
 * saga: a new droplet like the old one (its user data, size, region, VPC and tags, the
 * new image, no volume yet) and the wait until it is active; the old one shut down
 * cleanly; its volumes detached and attached to the new one (whose doagent picks a
 * volume up once it appears); the new droplet's port answering; then the old droplet
 * destroyed. A failure before that last step undoes the rest: the new droplet is
 * destroyed, and the old one gets its volumes back and is powered on.
 *
 * The user data comes from create's record (record.h) or from --user-data-file. The new
 * droplet carries the tag doagent-replace-<old id> too, so that running the same
 * replace again after a crash adopts it.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "cmd.h"
#include "doagent.h"
#include "group.h"
#include "payload.h"
#include "record.h"
#include "saga.h"
#include "strv.h"

#define REPLACE_TAG_PREFIX "doagent-replace-"

static const struct saga_step *const steps[] = {
	&step_droplets,
	&step_wait,
	&step_shutdown,
	&step_detach,
	&step_attach,
	&step_port,
	&step_retire,
};

/* The old droplet's volumes into s. 0 or an exit status. */
static int load_volumes(struct saga *s)
{
	for (char **id = s->old->volume_ids; *id; id++) {
		_cleanup_free_ char *cause = NULL;
		struct doapi_volume *v = NULL;
		int r = doapi_volume_get(s->api, *id, &v, &cause);

		if (r < 0) {
			launch_err("volume %s: %s", *id, launch_cause_or(cause, r));
			return launch_api_exit(r);
		}
		if (saga_add_volume(s, v, false) < 0) {
			launch_err("out of memory");
			return DOAGENT_EXIT_FAILURE;
		}
	}
	return 0;
}

/* A replace that was cut short may have left the volume the user data names detached,
 * or attached to the new droplet (which carries s->tag): take it from there. 0 or an
 * exit status. */
static int find_moved(struct saga *s, const char *named)
{
	_cleanup_free_ char *cause = NULL;
	struct doapi_droplet **dl = NULL;
	struct doapi_volume **vl = NULL;
	size_t dn = 0, vn = 0;
	int r = doapi_volumes_list(s->api, named, s->region, &vl, &vn, &cause), ex = 0;

	if (r == 0)
		r = doapi_droplets_by_tag(s->api, s->tag, &dl, &dn, &cause);
	if (r < 0) {
		launch_err("looking for volume %s: %s", named, launch_cause_or(cause, r));
		ex = launch_api_exit(r);
	}
	for (size_t i = 0; ex == 0 && i < vn; i++) {
		bool ours = strcmp(vl[i]->name, named) == 0;

		for (char **id = vl[i]->droplet_ids; ours && *id; id++) {
			bool found = false;

			for (size_t j = 0; j < dn; j++)
				found = found || strcmp(dl[j]->id, *id) == 0;
			ours = found;
		}
		if (!ours)
			continue;
		fprintf(stderr, "volume %s (%s) is not attached to droplet %s: a replace was cut short; going on with it\n",
			vl[i]->name, vl[i]->id, s->old->id);
		if (saga_add_volume(s, TAKE_PTR(vl[i]), false) < 0) {
			launch_err("out of memory");
			ex = DOAGENT_EXIT_FAILURE;
		}
	}
	doapi_volumes_free(vl, vn);
	doapi_droplets_free(dl, dn);
	return ex;
}

/* The user data to send: --user-data-file, else create's record of the launch. It must
 * name one of the volumes to move (found by that name when a replace was cut short). With ret_record (no --user-data-file) the record's SSH
 * keys are kept there. 0 or an exit status. */
static int load_payload(const struct launch_options *o, struct saga *s, const char *lid,
			struct payload *p, struct record *ret_record)
{
	_cleanup_free_ char *cause = NULL, *path = NULL;
	const char *named;
	int ex, k;

	if (o->user_data_file) {
		ex = payload_load(o->user_data_file, p);
		if (ex == 0 && s->n_volumes == 1)
			ex = payload_set_volume(p, o->user_data_file, s->volumes[0].v->name);
		if (ex)
			return ex;
	} else {
		if (!lid) {
			launch_err("droplet %s has no launch tag, so no record of its user data: give it with --user-data-file",
				   s->old->id);
			return DOAGENT_EXIT_USAGE;
		}
		k = record_load(lid, ret_record, &cause);
		if (k < 0) {
			path = record_path(lid, NULL);
			if (k == -ENOENT)
				launch_err("no record of the user data launch %s sent (%s): give it with --user-data-file",
					   lid, path ? path : "?");
			else
				launch_err("%s", launch_cause_or(cause, k));
			return DOAGENT_EXIT_USAGE;
		}
		path = record_path(lid, NULL);
		*p = (struct payload){ 0 };
		ex = payload_replace(p, path ? path : "the record", TAKE_PTR(ret_record->user_data));
		if (ex)
			return ex;
	}
	named = payload_volume(&p->config);
	if (named && s->n_volumes == 0 && (ex = find_moved(s, named)) != 0)
		return ex;
	if (s->n_volumes == 0) {
		launch_err("droplet %s has no volume: its data would not follow it; replace moves a droplet with a volume (create --volume)",
			   s->old->id);
		return DOAGENT_EXIT_FAILURE;
	}
	for (size_t i = 0; named && i < s->n_volumes; i++)
		if (strcmp(s->volumes[i].v->name, named) == 0)
			return 0;
	launch_err("the user data names %s%s, not one of droplet %s's volumes", named ? "volume " : "no volume",
		   named ? named : "", s->old->id);
	return DOAGENT_EXIT_DATAERR;
}


/* Keep the user data given with --user-data-file as the record of the launch. */
static void update_record(const struct launch_options *o, const struct saga *s, const char *lid,
			  const struct payload *p)
{
	_cleanup_free_ char *cause = NULL;
	const struct record r = {
		.launch_id = (char *)lid,
		.name = (char *)s->name,
		.source = (char *)p->source,
		.volume = (char *)payload_volume(&p->config),
		.user_data = p->data,
		.ssh_keys = s->ssh_keys,
	};
	int k;

	if (!lid || !o->user_data_file)
		return;
	k = record_save(&r, &cause);
	if (k < 0)
		launch_err("warning: the record of launch %s was not updated: %s", lid, launch_cause_or(cause, k));
}

static int replace(const struct launch_options *o, struct saga *s, const char *lid)
{
	_cleanup_free_ char *tag = NULL, *rerun = NULL;
	_cleanup_strv_ char **tags = NULL;
	struct record rec = { 0 };
	struct payload p = { 0 };
	bool oom = false;
	int ex;

	if (asprintf(&tag, REPLACE_TAG_PREFIX "%s", s->old->id) < 0 ||
	    asprintf(&rerun, "run the same replace again, with the old droplet's id %s: it adopts the new droplet by its tag %s%s",
		     s->old->id, REPLACE_TAG_PREFIX, s->old->id) < 0) {
		tag = rerun = NULL;
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	s->tag = tag;
	ex = load_volumes(s);
	if (ex == 0)
		ex = load_payload(o, s, lid, &p, &rec);
	for (char **t = s->old->tags; ex == 0 && *t; t++)
		if (strncmp(*t, REPLACE_TAG_PREFIX, strlen(REPLACE_TAG_PREFIX)) != 0 && strv_extend(&tags, *t) < 0)
			oom = true;
	if (oom || (ex == 0 && strv_extend(&tags, tag) < 0)) {
		launch_err("out of memory");
		ex = DOAGENT_EXIT_FAILURE;
	}
	if (ex == 0) {
		s->rerun = rerun;
		s->tags = tags;
		s->user_data = p.data;
		s->config = &p.config;
		s->port = p.port;
		s->ssh_keys = o->ssh_keys ? o->ssh_keys : rec.ssh_keys;
		if (o->dry_run)
			ex = saga_plan(s, steps, ELEMENTSOF(steps)) < 0 ? DOAGENT_EXIT_FAILURE : 0;
		else if ((ex = saga_run(s, steps, ELEMENTSOF(steps))) == 0) {
			_cleanup_erase_ char *conn =
				launch_connection(p.tls, p.password, s->droplets[0].d->public_ipv4, p.port);

			saga_print(s, conn);
			update_record(o, s, lid, &p);
		}
	}
	payload_done(&p);
	record_done(&rec);
	return ex;
}

static int exec(const struct launch_options *o, char **argv)
{
	_cleanup_free_ char *lid = NULL;
	struct doapi_droplet *old = NULL;
	struct saga s;
	const char *t;
	int r, ex;

	if (!o->image) {
		launch_err("replace: --image is required");
		return DOAGENT_EXIT_USAGE;
	}
	s = (struct saga){ .opt = o, .n_wanted = 1, .wait_port = true };
	s.api = launch_api_open(o);
	if (!s.api)
		return DOAGENT_EXIT_USAGE;
	s.progress.t_start = backoff_now_ms();
	r = launch_resolve(s.api, argv[0], &old);
	if (r < 0 || !old) {
		if (r == 0)
			launch_err("no droplet %s", argv[0]);
		doapi_free(s.api);
		return r < 0 ? -r : DOAGENT_EXIT_FAILURE;
	}
	t = launch_tag_of(old);
	if (t && !(lid = strdup(t + strlen(LAUNCH_TAG_PREFIX)))) {
		launch_err("out of memory");
		doapi_droplet_free(old);
		doapi_free(s.api);
		return DOAGENT_EXIT_FAILURE;
	}
	s.old = old;
	s.launch_id = lid ? lid : "-";
	s.name = old->name;
	s.image = o->image;
	s.region = old->region;
	s.size = old->size_slug;
	s.vpc_uuid = old->vpc_uuid;
	if (group_of(old)) {
		/* create's record holds the first primary's user data: a standby would come back
		 * a second first primary; and Sentinel, not replace, must decide who is primary. */
		launch_err("droplet %s is a node of the replication group %s: replace does not move a group's nodes",
			   old->id, group_of(old));
		ex = DOAGENT_EXIT_FAILURE;
	} else if (!old->region || !old->size_slug) {
		launch_err("droplet %s: the API did not say its region and size", old->id);
		ex = DOAGENT_EXIT_FAILURE;
	} else if (!old->status || (strcmp(old->status, "active") != 0 && strcmp(old->status, "off") != 0)) {
		launch_err("droplet %s is %s: only an active (or off) droplet can be replaced", old->id,
			   old->status ? old->status : "in no known state");
		ex = DOAGENT_EXIT_FAILURE;
	} else {
		ex = replace(o, &s, lid);
	}
	doapi_free(s.api);
	saga_done(&s);
	return ex;
}

const struct cmd_entry cmd_replace_entry = {
	.name = "replace",
	.usage = "ID|NAME --image ID [--user-data-file FILE] [--ssh-key ID]...\n"
		 "         [--wait-timeout SEC] [--keep-on-failure] [--dry-run] [-o text|json]",
	.n_args = 1,
	.exec = exec,
};

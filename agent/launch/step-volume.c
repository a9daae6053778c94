/*
 * The volume, first of all, so that its checks come before anything is paid for:
 * --volume-name VOL must exist in the region and be attached to nothing but a droplet
 * of this run's tag; --volume GIB adopts the volume of that name in the region when it
 * carries the tag (a rerun), refuses one that does not, and otherwise creates it,
 * tagged, once. Undo deletes only a volume this run created, once destroying the
 * droplets has let go of it.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act.h"
#include "backoff.h"
#include "doagent.h"
#include "saga.h"
#include "strv.h"

static bool wanted(const struct saga *s)
{
	return s->volume_name != NULL;
}

/* The droplets v is attached to that do not carry the tag: 0 when none, 1 (with *ret_id)
 * when some, or -(exit status). */
static int foreign_attachment(struct saga *s, const struct doapi_volume *v, char **ret_id)
{
	_cleanup_free_ char *cause = NULL;
	struct doapi_droplet **l = NULL;
	size_t n = 0;
	int r;

	if (!v->droplet_ids[0])
		return 0;
	r = doapi_droplets_by_tag(s->api, s->tag, &l, &n, &cause);
	if (r < 0) {
		launch_err("listing droplets tagged %s: %s", s->tag, launch_cause_or(cause, r));
		return -launch_api_exit(r);
	}
	for (char **id = v->droplet_ids; *id; id++) {
		bool ours = false;

		for (size_t i = 0; i < n; i++)
			ours = ours || strcmp(l[i]->id, *id) == 0;
		if (!ours) {
			*ret_id = strdup(*id);
			doapi_droplets_free(l, n);
			return *ret_id ? 1 : -DOAGENT_EXIT_FAILURE;
		}
	}
	doapi_droplets_free(l, n);
	return 0;
}

/* The volumes named s->volume_name: the one in s->region (NULL when none) in *ret, and
 * where the others are, for a message. 0, or an exit status. */
static int find(struct saga *s, struct doapi_volume **ret, char **ret_elsewhere)
{
	_cleanup_free_ char *cause = NULL;
	struct doapi_volume **l = NULL;
	size_t n = 0;
	int r = doapi_volumes_list(s->api, s->volume_name, NULL, &l, &n, &cause);

	*ret = NULL;
	*ret_elsewhere = NULL;
	if (r < 0) {
		launch_err("looking for volume %s: %s", s->volume_name, launch_cause_or(cause, r));
		return launch_api_exit(r);
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(l[i]->name, s->volume_name) != 0)
			continue;
		if (strcmp(l[i]->region, s->region) == 0 && !*ret)
			*ret = TAKE_PTR(l[i]);
		else if (!*ret_elsewhere)
			*ret_elsewhere = strdup(l[i]->region);
	}
	doapi_volumes_free(l, n);
	return 0;
}

/* The create's request, tagged like the droplets. */
struct request {
	char description[160];
	const char *tags[3];
	struct doapi_volume_create req;
};

static void request_init(struct request *r, const struct saga *s)
{
	snprintf(r->description, sizeof r->description, "Redis data of %s (doagent-launch)", s->name);
	r->tags[0] = LAUNCH_TAG;
	r->tags[1] = s->tag;
	r->tags[2] = NULL;
	r->req = (struct doapi_volume_create){
		.name = s->volume_name,
		.region = s->region,
		.size_gib = s->volume_gib,
		.description = r->description,
		.tags = r->tags,
	};
}

/* Create the volume, once; after an ambiguous answer look for it by name in the region. */
static int create(struct saga *s)
{
	_cleanup_free_ char *cause = NULL;
	struct doapi_volume *v = NULL;
	struct request req;
	struct backoff b;
	int r;

	request_init(&req, s);
	r = doapi_volume_create(s->api, &req.req, &v, &cause);
	if (r == -EAGAIN) {
		fprintf(stderr, "the volume's create answer was lost (%s); looking for volume %s in %s\n",
			launch_cause_or(cause, r), s->volume_name, s->region);
		backoff_init(&b, 1000, 3000, 10000);
		do {
			_cleanup_free_ char *elsewhere = NULL;

			if (find(s, &v, &elsewhere) == 0 && v)
				break;
		} while (backoff_wait(&b, 0));
		if (!v || !strv_contains(v->tags, s->tag)) {
			launch_err("creating volume %s failed (%s) and it cannot be found; %s", s->volume_name,
				   launch_cause_or(cause, r), s->rerun);
			doapi_volume_free(v);
			s->unsettled = true;
			return DOAGENT_EXIT_FAILURE;
		}
	} else if (r < 0) {
		launch_err("%s", launch_cause_or(cause, r));
		return r == -ETIMEDOUT ? DOAGENT_EXIT_UNAVAILABLE : DOAGENT_EXIT_FAILURE;
	}
	fprintf(stderr, "volume %s (%s, %llu GiB, %s) created\n", v->name, v->id, v->size_gib, v->region);
	if (saga_add_volume(s, v, true) < 0) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	return 0;
}

static int run(struct saga *s)
{
	_cleanup_free_ char *elsewhere = NULL, *other = NULL;
	struct doapi_volume *v = NULL;
	int ex = find(s, &v, &elsewhere), r;

	if (ex)
		return ex;
	if (!v && s->volume_gib)
		return create(s);
	if (!v) {
		if (elsewhere)
			launch_err("volume %s is in %s, not in %s: a droplet gets only a volume of its own region; nothing was created",
				   s->volume_name, elsewhere, s->region);
		else
			launch_err("there is no volume named %s; nothing was created", s->volume_name);
		return DOAGENT_EXIT_DATAERR;
	}
	if (s->volume_gib && !strv_contains(v->tags, s->tag)) {
		launch_err("a volume named %s (%s) exists in %s and is not this launch's: use --volume-name %s to use it; nothing was created",
			   v->name, v->id, v->region, v->name);
		doapi_volume_free(v);
		return DOAGENT_EXIT_DATAERR;
	}
	r = foreign_attachment(s, v, &other);
	if (r != 0) {
		if (r > 0)
			launch_err("volume %s (%s) is attached to droplet %s: detach it first; nothing was created",
				   v->name, v->id, other);
		doapi_volume_free(v);
		return r > 0 ? DOAGENT_EXIT_DATAERR : -r;
	}
	fprintf(stderr, "volume %s (%s, %llu GiB, %s) exists: %s it\n", v->name, v->id, v->size_gib,
		v->region, s->volume_gib ? "adopting" : "using");
	if (saga_add_volume(s, v, false) < 0) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	return 0;
}

static void undo(struct saga *s, bool keep)
{
	struct backoff b;

	for (size_t i = s->n_volumes; i-- > 0;) {
		const struct doapi_volume *v = s->volumes[i].v;

		if (!s->volumes[i].made)
			continue;
		if (keep) {
			launch_err("volume %s (%s) kept (--keep-on-failure)", v->name, v->id);
			continue;
		}
		backoff_init(&b, 500, 1500, 60000);
		if (act_volume_delete(s->api, v, &b) == 0)
			launch_err("deleted volume %s (%s)", v->name, v->id);
		else
			launch_err("volume %s (%s) is left: delete it by hand", v->name, v->id);
	}
}

static int plan(const struct saga *s, json_object *requests)
{
	struct request req;
	json_object *body;

	if (!s->volume_gib)
		return 0;
	request_init(&req, s);
	body = doapi_volume_body(&req.req);
	return body ? saga_plan_add(requests, "POST", "/v2/volumes", body) : -ENOMEM;
}

const struct saga_step step_volume = {
	.name = "volume",
	.wanted = wanted,
	.run = run,
	.undo = undo,
	.plan = plan,
};

/*
 * The droplets: adopt those that carry the run's tag, then create the missing ones, each
 * with one POST. A create whose answer is lost (a timeout, a reset, a 5xx) is looked for
 * by the tag; when it cannot be found, the run stops unsettled, undoing nothing, and a
 * rerun with the same tag adopts it. In a group, only the first primary is this step's:
 * it adopts only a droplet of that name (the standbys are step_standbys').
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "doagent.h"
#include "payload.h"
#include "saga.h"
#include "strv.h"

/* Is d one to adopt: in a group, only the droplet named like the first primary. */
static bool ours(const struct saga *s, const struct doapi_droplet *d)
{
	return !s->group || (d->name && strcmp(d->name, s->name) == 0);
}

/* List the droplets that carry the tag and adopt, up to n_wanted, those not adopted yet.
 * Returns how many it adopted, or a negative errno with *cause. */
static int adopt(struct saga *s, bool made, char **cause)
{
	struct doapi_droplet **l = NULL;
	size_t n = 0;
	int r = doapi_droplets_by_tag(s->api, s->tag, &l, &n, cause), k = 0;

	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r >= 0; i++) {
		if (saga_has_droplet(s, l[i]->id) || !ours(s, l[i]))
			continue;
		if (s->n_droplets >= s->n_wanted) {
			launch_err("warning: %zu droplets carry tag %s; using %s", n, s->tag, s->droplets[0].d->id);
			break;
		}
		r = saga_add_droplet(s, TAKE_PTR(l[i]), made);
		k++;
	}
	doapi_droplets_free(l, n);
	return r < 0 ? r : k;
}

/* The create's request; volumes: ids to attach at create, or NULL. Every droplet gets
 * DigitalOcean's metrics agent (monitoring), which the alert policies read. */
static struct doapi_create request(const struct saga *s, char **volumes)
{
	return (struct doapi_create){
		.volumes = (const char *const *)volumes,
		.name = s->name,
		.region = s->region,
		.size = s->size,
		.image = s->image,
		.user_data = s->user_data,
		.ssh_keys = (const char *const *)s->ssh_keys,
		.tags = (const char *const *)s->tags,
		.vpc_uuid = s->vpc_uuid,
		.monitoring = true,
	};
}

/* The volumes the primary droplet gets at its create: those attached to nothing. */
static int create_volumes(const struct saga *s, char ***ret)
{
	if (!s->attach_at_create || s->n_droplets > 0)
		return 0;
	for (size_t i = 0; i < s->n_volumes; i++)
		if (!s->volumes[i].v->droplet_ids[0] && strv_extend(ret, s->volumes[i].v->id) < 0)
			return -ENOMEM;
	return 0;
}

/* One POST; after an ambiguous answer, look for the droplet by the tag. */
static int create(struct saga *s)
{
	_cleanup_strv_ char **volumes = NULL;
	_cleanup_free_ char *cause = NULL;
	struct doapi_droplet *d = NULL;
	struct backoff b;
	int r, lr = 0;

	if (create_volumes(s, &volumes) < 0) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	const struct doapi_create req = request(s, volumes);
	r = doapi_droplet_create(s->api, &req, &d, &cause);

	if (r == 0) {
		if (saga_add_droplet(s, d, true) < 0) {
			launch_err("out of memory");
			return DOAGENT_EXIT_FAILURE;
		}
		fprintf(stderr, "droplet %s created (launch id %s)\n", s->droplets[s->n_droplets - 1].d->id,
			s->launch_id);
		return 0;
	}
	if (r != -EAGAIN) {
		launch_err("create: %s", launch_cause_or(cause, r));
		return r == -ETIMEDOUT ? DOAGENT_EXIT_UNAVAILABLE : DOAGENT_EXIT_FAILURE;
	}
	fprintf(stderr, "the create's answer was lost (%s); looking for the droplet by tag %s\n",
		launch_cause_or(cause, r), s->tag);
	backoff_init(&b, 1000, 3000, 10000);
	do {
		_cleanup_free_ char *c2 = NULL;

		lr = adopt(s, true, &c2);
		if (lr < 0)
			fprintf(stderr, "listing: %s\n", launch_cause_or(c2, lr));
		if (lr > 0)
			break;
	} while (backoff_wait(&b, 0));
	if (lr <= 0) {
		/* The droplet may still appear: keep everything for the re-run. */
		launch_err("the create failed (%s) and no droplet carries tag %s; %s",
			   launch_cause_or(cause, r), s->tag, s->rerun);
		s->unsettled = true;
		return lr == -ETIMEDOUT ? DOAGENT_EXIT_UNAVAILABLE : DOAGENT_EXIT_FAILURE;
	}
	fprintf(stderr, "found droplet %s by its launch tag\n", s->droplets[s->n_droplets - 1].d->id);
	return 0;
}

static int run(struct saga *s)
{
	_cleanup_free_ char *cause = NULL;
	int r = adopt(s, false, &cause), ex = 0;

	if (r < 0) {
		launch_err("listing droplets tagged %s: %s; nothing was created", s->tag, launch_cause_or(cause, r));
		return launch_api_exit(r);
	}
	for (size_t i = 0; i < s->n_droplets; i++)
		fprintf(stderr, "droplet %s already carries tag %s: adopting it (no new droplet)\n",
			s->droplets[i].d->id, s->tag);
	while (ex == 0 && s->n_droplets < s->n_wanted)
		ex = create(s);
	return ex;
}

static void undo(struct saga *s, bool keep)
{
	for (size_t i = s->n_droplets; i-- > 0;) {
		const char *id = s->droplets[i].d->id;
		_cleanup_free_ char *cause = NULL;
		int r;

		if (!s->droplets[i].made)
			continue;
		if (keep) {
			launch_err("droplet %s kept (--keep-on-failure)", id);
			continue;
		}
		r = doapi_droplet_delete(s->api, id, &cause);
		if (r < 0)
			launch_err("destroying droplet %s failed: %s; destroy it by hand", id, launch_cause_or(cause, r));
		else
			launch_err("destroyed droplet %s (use --keep-on-failure to keep it)", id);
	}
}

/* The body with the user data's secrets redacted; MIME user data with a base64 part
 * would show its secrets encoded, so such user data is left out whole. */
static int plan(const struct saga *s, json_object *requests)
{
	_cleanup_strv_ char **volumes = NULL;
	struct doapi_create req = request(s, NULL);
	_cleanup_free_ char *red = payload_redact(s->user_data), *summary = NULL;

	if (!red)
		return -ENOMEM;
	/* The volume's id is known only once it is looked up or made. */
	if (s->attach_at_create && s->volume_name &&
	    strv_extendf(&volumes, "(the id of volume %s)", s->volume_name) < 0)
		return -ENOMEM;
	req.volumes = (const char *const *)volumes;
	req.user_data = red;
	if (payload_is_mime(s->user_data) && strcasestr(s->user_data, "base64")) {
		if (asprintf(&summary, "(redacted: MIME user data with a base64 part, %zu bytes)",
			     strlen(s->user_data)) < 0) {
			summary = NULL;
			return -ENOMEM;
		}
		req.user_data = summary;
	}
	for (size_t i = 0; i < s->n_wanted; i++) {
		json_object *body = doapi_droplet_body(&req);
		int r;

		if (!body)
			return -ENOMEM;
		if ((r = saga_plan_add(requests, "POST", "/v2/droplets", body)) < 0)
			return r;
	}
	return 0;
}

const struct saga_step step_droplets = {
	.name = "droplets",
	.run = run,
	.undo = undo,
	.plan = plan,
};

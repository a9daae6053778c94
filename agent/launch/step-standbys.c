/*
 * The standbys of a replication group (create --standby). They need the first primary's
 * private address in their user data ([replication] primary), so this step first waits
 * until the primary (s->droplets[0], step_droplets') is active with its addresses. Then
 * it adopts the droplets of the run's tag named like the standbys, and creates the
 * missing ones with one POST (DigitalOcean's multi-create: droplets alike but for their
 * names, made in parallel) in the primary's region and VPC, with the primary's user data
 * but for [replication] primary. A create whose answer is lost is looked for by the tag;
 * when not every standby it asked for turns up, the run stops unsettled, so that a rerun
 * adopts them: never more standbys than asked for. Undo destroys the standbys this run
 * made.
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

static bool wanted(const struct saga *s)
{
	return s->group && s->n_standby > 0;
}

/* The droplet named name among s's, or NULL. */
static const struct doapi_droplet *named(const struct saga *s, const char *name)
{
	for (size_t i = 0; i < s->n_droplets; i++)
		if (s->droplets[i].d->name && strcmp(s->droplets[i].d->name, name) == 0)
			return s->droplets[i].d;
	return NULL;
}

/* The standbys' names that s has no droplet of yet. */
static int missing(const struct saga *s, char ***ret)
{
	for (size_t i = 0; i < s->n_standby; i++)
		if (!named(s, s->standby_names[i]) && strv_extend(ret, s->standby_names[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* List the droplets that carry the tag and adopt those named like a standby that s has
 * none of yet. Returns how many it adopted, or a negative errno with *cause. */
static int adopt(struct saga *s, bool made, char **cause)
{
	struct doapi_droplet **l = NULL;
	size_t n = 0;
	int r = doapi_droplets_by_tag(s->api, s->tag, &l, &n, cause), k = 0;

	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r >= 0; i++) {
		if (saga_has_droplet(s, l[i]->id) || !l[i]->name || !strv_contains(s->standby_names, l[i]->name))
			continue;
		if (named(s, l[i]->name)) {
			launch_err("warning: more than one droplet tagged %s is named %s; using %s", s->tag,
				   l[i]->name, named(s, l[i]->name)->id);
			continue;
		}
		r = saga_add_droplet(s, TAKE_PTR(l[i]), made);
		k++;
	}
	doapi_droplets_free(l, n);
	return r < 0 ? r : k;
}

/* Like the primary's (step-droplets.c), with DigitalOcean's metrics agent for the
 * alert policies. */
static struct doapi_create request(const struct saga *s, char **names, const char *region,
				   const char *vpc, const char *user_data)
{
	return (struct doapi_create){
		.names = (const char *const *)names,
		.region = region,
		.size = s->size,
		.image = s->image,
		.user_data = user_data,
		.ssh_keys = (const char *const *)s->ssh_keys,
		.tags = (const char *const *)s->tags,
		.vpc_uuid = vpc,
		.monitoring = true,
	};
}

/* One POST for the standbys named names; after an ambiguous answer, look for them by
 * the tag. */
static int create(struct saga *s, char **names, const char *region, const char *vpc,
		  const char *user_data)
{
	_cleanup_free_ char *cause = NULL, *list = strv_join(names, ", ");
	const struct doapi_create req = request(s, names, region, vpc, user_data);
	struct doapi_droplet **l = NULL;
	struct backoff b;
	size_t n = 0;
	int r = doapi_droplets_create(s->api, &req, &l, &n, &cause), lr = 0;

	if (r == 0) {
		for (size_t i = 0; i < n && r == 0; i++) {
			fprintf(stderr, "droplet %s (%s) created (launch id %s)\n", l[i]->id,
				l[i]->name ? l[i]->name : "?", s->launch_id);
			r = saga_add_droplet(s, TAKE_PTR(l[i]), true);
		}
		doapi_droplets_free(l, n);
		if (r < 0) {
			launch_err("out of memory");
			return DOAGENT_EXIT_FAILURE;
		}
		return 0;
	}
	if (r != -EAGAIN) {
		launch_err("creating the standbys: %s", launch_cause_or(cause, r));
		return r == -ETIMEDOUT ? DOAGENT_EXIT_UNAVAILABLE : DOAGENT_EXIT_FAILURE;
	}
	fprintf(stderr, "the standbys' create answer was lost (%s); looking for them by tag %s\n",
		launch_cause_or(cause, r), s->tag);
	backoff_init(&b, 1000, 3000, 10000);
	do {
		_cleanup_strv_ char **left = NULL;
		_cleanup_free_ char *c2 = NULL;

		lr = adopt(s, true, &c2);
		if (lr < 0)
			fprintf(stderr, "listing: %s\n", launch_cause_or(c2, lr));
		if (missing(s, &left) < 0) {
			launch_err("out of memory");
			return DOAGENT_EXIT_FAILURE;
		}
		if (!left)
			break;
	} while (backoff_wait(&b, 0));
	{
		_cleanup_strv_ char **left = NULL;
		_cleanup_free_ char *still = NULL;

		if (missing(s, &left) < 0 || (left && !(still = strv_join(left, ", ")))) {
			launch_err("out of memory");
			return DOAGENT_EXIT_FAILURE;
		}
		if (left) {
			/* They may still appear: keep everything for the rerun. */
			launch_err("the standbys' create failed (%s) and no droplet tagged %s is named %s; %s",
				   launch_cause_or(cause, r), s->tag, still, s->rerun);
			s->unsettled = true;
			return lr == -ETIMEDOUT ? DOAGENT_EXIT_UNAVAILABLE : DOAGENT_EXIT_FAILURE;
		}
	}
	fprintf(stderr, "found the standbys %s by their launch tag\n", list ? list : "");
	return 0;
}

/* The primary, active with its addresses: 0 or an exit status. */
static int wait_primary(struct saga *s)
{
	struct saga_droplet *p = &s->droplets[0];
	struct doapi_droplet *a = NULL;
	struct backoff b;
	int ex;

	fprintf(stderr, "waiting for the primary %s (%s): the standbys replicate from its private address\n",
		p->d->name ? p->d->name : "?", p->d->id);
	backoff_init(&b, 500, 1500, s->opt->wait_timeout * 1000);
	ex = saga_wait_active(s, &b, p->d->id, true, &a);
	if (ex)
		return ex;
	doapi_droplet_free(p->d);
	p->d = a;
	return 0;
}

/* Every standby in the primary's VPC: a standby elsewhere cannot reach it. */
static int check_vpc(const struct saga *s, const char *vpc)
{
	for (size_t i = 1; vpc && i < s->n_droplets; i++) {
		const struct doapi_droplet *d = s->droplets[i].d;

		if (d->vpc_uuid && strcmp(d->vpc_uuid, vpc) != 0) {
			launch_err("droplet %s (%s) is in VPC %s, not in the primary's %s: it cannot reach the primary",
				   d->id, d->name ? d->name : "?", d->vpc_uuid, vpc);
			return DOAGENT_EXIT_FAILURE;
		}
	}
	return 0;
}

static int run(struct saga *s)
{
	_cleanup_free_ char *cause = NULL;
	_cleanup_erase_ char *user_data = NULL;
	_cleanup_strv_ char **left = NULL;
	const struct doapi_droplet *primary;
	const char *vpc, *region;
	int r, ex;

	if (s->n_droplets != 1) {
		launch_err("the standbys: %zu primaries", s->n_droplets);
		return DOAGENT_EXIT_FAILURE;
	}
	if ((ex = wait_primary(s)) != 0)
		return ex;
	primary = s->droplets[0].d;
	vpc = s->vpc_uuid ? s->vpc_uuid : primary->vpc_uuid;
	region = s->region ? s->region : primary->region;
	if (s->vpc_uuid && primary->vpc_uuid && strcmp(s->vpc_uuid, primary->vpc_uuid) != 0) {
		launch_err("the primary %s is in VPC %s, not %s", primary->id, primary->vpc_uuid, s->vpc_uuid);
		return DOAGENT_EXIT_FAILURE;
	}
	ex = payload_standby(s->payload, primary->private_ipv4, true, &user_data);
	if (ex)
		return ex;
	r = adopt(s, false, &cause);
	if (r < 0) {
		launch_err("listing droplets tagged %s: %s; no standby was created", s->tag, launch_cause_or(cause, r));
		return launch_api_exit(r);
	}
	for (size_t i = 1; i < s->n_droplets; i++)
		fprintf(stderr, "droplet %s (%s) already carries tag %s: adopting it (no new droplet)\n",
			s->droplets[i].d->id, s->droplets[i].d->name, s->tag);
	if ((ex = check_vpc(s, vpc)) != 0)
		return ex;
	if (missing(s, &left) < 0) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	if (!left)
		return 0;
	return create(s, left, region, vpc, user_data);
}

static void undo(struct saga *s, bool keep)
{
	for (size_t i = s->n_droplets; i-- > 1;) {
		struct saga_droplet *sd = &s->droplets[i];
		_cleanup_free_ char *cause = NULL;
		int r;

		if (!sd->made)
			continue;
		if (keep) {
			launch_err("droplet %s kept (--keep-on-failure)", sd->d->id);
			sd->made = false;
			continue;
		}
		r = doapi_droplet_delete(s->api, sd->d->id, &cause);
		if (r < 0)
			launch_err("destroying droplet %s failed: %s; destroy it by hand", sd->d->id,
				   launch_cause_or(cause, r));
		else
			launch_err("destroyed droplet %s (use --keep-on-failure to keep it)", sd->d->id);
		/* done with it: step_droplets' undo is for the primary */
		sd->made = false;
	}
}

/* The body with the user data's secrets redacted and the primary's address, not known
 * before it exists, as a placeholder. */
static int plan(const struct saga *s, json_object *requests)
{
	_cleanup_free_ char *placeholder = NULL, *red = NULL;
	_cleanup_erase_ char *user_data = NULL;
	struct doapi_create req;
	json_object *body;

	if (asprintf(&placeholder, "(the private address of %s)", s->name) < 0) {
		placeholder = NULL;
		return -ENOMEM;
	}
	if (payload_standby(s->payload, placeholder, false, &user_data) != 0)
		return -ENOMEM;
	red = payload_redact(user_data);
	if (!red)
		return -ENOMEM;
	req = request(s, s->standby_names, s->region, s->vpc_uuid ? s->vpc_uuid : "(the primary's VPC)", red);
	body = doapi_droplet_body(&req);
	if (!body)
		return -ENOMEM;
	return saga_plan_add(requests, "POST", "/v2/droplets", body);
}

const struct saga_step step_standbys = {
	.name = "standbys",
	.wanted = wanted,
	.run = run,
	.undo = undo,
	.plan = plan,
};

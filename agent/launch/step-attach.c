/*
 * Every volume attached to the primary droplet: usually so since its create (a volume
 * in the droplet request), else through an attach action (a droplet adopted without
 * it; replace's new droplet). Undo detaches what this run asked to attach.
 */
#include "autoconfig.h"

#include <stdio.h>

#include "act.h"
#include "doagent.h"
#include "saga.h"

static bool wanted(const struct saga *s)
{
	return s->n_volumes > 0;
}

static int run(struct saga *s)
{
	const char *id;
	struct backoff b;

	if (s->n_droplets == 0)
		return 0;
	id = s->droplets[0].d->id;
	backoff_init(&b, 500, 1500, s->opt->wait_timeout * 1000);
	for (size_t i = 0; i < s->n_volumes; i++) {
		struct saga_volume *sv = &s->volumes[i];
		int ex;

		ex = act_volume(s->api, &sv->v, "attach", id, &b, &sv->attach_tried);
		if (ex)
			return ex;
	}
	return 0;
}

static void undo(struct saga *s, bool keep)
{
	struct backoff b;

	for (size_t i = s->n_volumes; i-- > 0;) {
		struct saga_volume *sv = &s->volumes[i];

		if (!sv->attach_tried)
			continue;
		if (keep) {
			launch_err("volume %s left attached to droplet %s (--keep-on-failure)", sv->v->name,
				   s->droplets[0].d->id);
			continue;
		}
		backoff_init(&b, 500, 1500, 120000);
		if (act_volume(s->api, &sv->v, "detach", s->droplets[0].d->id, &b, NULL) != 0)
			launch_err("volume %s (%s) may still be attached to droplet %s: detach it by hand",
				   sv->v->name, sv->v->id, s->droplets[0].d->id);
	}
}

/* In a create the volume comes with the droplet's create: nothing more is sent. */
static int plan(const struct saga *s, json_object *requests)
{
	int r = 0;

	for (size_t i = 0; r == 0 && !s->attach_at_create && i < s->n_volumes; i++)
		r = saga_plan_action(requests, "attach", "(the new droplet's id)", s->volumes[i].v->region,
				     "/v2/volumes/%s/actions", s->volumes[i].v->id);
	return r;
}

const struct saga_step step_attach = {
	.name = "attach",
	.wanted = wanted,
	.run = run,
	.undo = undo,
	.plan = plan,
};

/*
 * replace: detach the old droplet's volumes from it, once it is off. Undo attaches
 * them to it again (replace's attach undo has detached them from the new droplet by
 * then).
 */
#include "autoconfig.h"

#include "act.h"
#include "doagent.h"
#include "saga.h"

static bool wanted(const struct saga *s)
{
	return s->old != NULL && s->n_volumes > 0;
}

static int run(struct saga *s)
{
	struct backoff b;

	backoff_init(&b, 500, 1500, s->opt->wait_timeout * 1000);
	for (size_t i = 0; i < s->n_volumes; i++) {
		int ex = act_volume(s->api, &s->volumes[i].v, "detach", s->old->id, &b,
				    &s->volumes[i].detach_tried);

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

		if (!sv->detach_tried)
			continue;
		if (keep) {
			launch_err("volume %s left detached from droplet %s (--keep-on-failure)", sv->v->name,
				   s->old->id);
			continue;
		}
		backoff_init(&b, 500, 1500, 120000);
		if (act_volume(s->api, &sv->v, "attach", s->old->id, &b, NULL) == 0)
			launch_err("volume %s is attached to droplet %s again", sv->v->name, s->old->id);
		else
			launch_err("volume %s (%s) could not be attached to droplet %s again: attach it by hand",
				   sv->v->name, sv->v->id, s->old->id);
	}
}

static int plan(const struct saga *s, json_object *requests)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < s->n_volumes; i++)
		r = saga_plan_action(requests, "detach", s->old->id, s->volumes[i].v->region,
				     "/v2/volumes/%s/actions", s->volumes[i].v->id);
	return r;
}

const struct saga_step step_detach = {
	.name = "detach",
	.wanted = wanted,
	.run = run,
	.undo = undo,
	.plan = plan,
};

/*
 * replace: detach the old droplet's volumes from it, once it is off. Undo attaches
 * them to it again (replace's attach undo has detached them from the new droplet by
 * then).
 */
#include "autoconfig.h"

#include "saga.h"

static bool wanted(const struct saga *s)
{
	return s->old != NULL && s->n_volumes > 0;
}

static int run(struct saga *s)
{
	return saga_move_volumes(s, SAGA_DETACH, s->old->id);
}

static void undo(struct saga *s, bool keep)
{
	saga_unmove_volumes(s, SAGA_DETACH, s->old->id, keep);
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

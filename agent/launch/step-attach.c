/*
 * Every volume attached to the primary droplet: usually so since its create (a volume
 * in the droplet request), else through an attach action (a droplet adopted without
 * it; replace's new droplet). Undo detaches what this run asked to attach.
 */
#include "autoconfig.h"

#include <stdio.h>

#include "saga.h"

static bool wanted(const struct saga *s)
{
	return s->n_volumes > 0;
}

static int run(struct saga *s)
{
	return s->n_droplets ? saga_move_volumes(s, SAGA_ATTACH, s->droplets[0].d->id) : 0;
}

static void undo(struct saga *s, bool keep)
{
	saga_unmove_volumes(s, SAGA_ATTACH, s->droplets[0].d->id, keep);
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

/*
 * replace: destroy the old droplet, now that the new one has its volumes and answers.
 * The saga is committed by then: a failure here undoes nothing and leaves the old
 * droplet, off, to destroy by hand.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>

#include "doagent.h"
#include "saga.h"

static bool wanted(const struct saga *s)
{
	return s->old != NULL;
}

static int run(struct saga *s)
{
	_cleanup_free_ char *cause = NULL;
	int r;

	s->api->deadline_ms = 60000;
	r = doapi_droplet_delete(s->api, s->old->id, &cause);
	if (r < 0) {
		launch_err("the new droplet %s is serving, but destroying the old droplet %s failed: %s; destroy it with: doagent-launch destroy %s",
			   s->droplets[0].d->id, s->old->id, launch_cause_or(cause, r), s->old->id);
		return launch_api_exit(r);
	}
	fprintf(stderr, "droplet %s destroyed\n", s->old->id);
	return 0;
}

static int plan(const struct saga *s, json_object *requests)
{
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "/v2/droplets/%s", s->old->id) < 0)
		return -ENOMEM;
	return saga_plan_add(requests, "DELETE", path, NULL);
}

const struct saga_step step_retire = {
	.name = "retire",
	.wanted = wanted,
	.run = run,
	.plan = plan,
};

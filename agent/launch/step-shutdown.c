/*
 * replace: shut the old droplet down cleanly (a shutdown action: the system stops
 * Redis, which saves), and wait until it is off. Undo powers it on again, and waits
 * until it is active, when this run shut it down.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "act.h"
#include "doagent.h"
#include "saga.h"

static bool wanted(const struct saga *s)
{
	return s->old != NULL;
}

static int run(struct saga *s)
{
	struct backoff b;

	if (s->old->status && strcmp(s->old->status, "off") == 0) {
		fprintf(stderr, "droplet %s is off already\n", s->old->id);
		return 0;
	}
	backoff_init(&b, 500, 1500, s->opt->wait_timeout * 1000);
	s->old_shut = true;
	s->t_down = backoff_now_ms();
	fprintf(stderr, "shutting droplet %s down\n", s->old->id);
	return act_power(s->api, s->old->id, "shutdown", "off", &b, &s->progress);
}

static void undo(struct saga *s, bool keep)
{
	struct backoff b;

	if (!s->old_shut)
		return;
	if (keep) {
		launch_err("droplet %s left as it is (--keep-on-failure)", s->old->id);
		return;
	}
	backoff_init(&b, 500, 1500, 300000);
	if (act_power(s->api, s->old->id, "power_on", "active", &b, &s->progress) == 0)
		launch_err("droplet %s is on again", s->old->id);
	else
		launch_err("droplet %s could not be powered on again: power it on by hand", s->old->id);
}

static int plan(const struct saga *s, json_object *requests)
{
	return saga_plan_action(requests, "shutdown", NULL, NULL, "/v2/droplets/%s/actions", s->old->id);
}

const struct saga_step step_shutdown = {
	.name = "shutdown",
	.wanted = wanted,
	.run = run,
	.undo = undo,
	.plan = plan,
};

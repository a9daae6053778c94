/*
 * Wait until every droplet is active with a public IPv4 address, polling at most 1.5 s
 * apart (the launcher notices "active" within 2 s: 40 requests a minute, well under the
 * API's 250), tolerating 404s for 30 s after the create; then, with probe, try the
 * port clients use for up to 10 s. Skipped by create --no-wait. Nothing to undo.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backoff.h"
#include "doagent.h"
#include "saga.h"

/* replace always waits: the old droplet is shut down only once the new one is up. */
static bool wanted(const struct saga *s)
{
	return !s->opt->no_wait || s->old;
}

static int run(struct saga *s)
{
	struct backoff b;

	backoff_init(&b, 500, 1500, s->opt->wait_timeout * 1000);
	for (size_t i = 0; i < s->n_droplets; i++) {
		struct saga_droplet *sd = &s->droplets[i];
		struct doapi_droplet *a = NULL;
		int ex = saga_wait_active(s, &b, sd->d->id, false, &a), pr;

		if (ex)
			return ex;
		doapi_droplet_free(sd->d);
		sd->d = a;
		if (!s->probe)
			continue;
		pr = launch_probe(a->public_ipv4, s->port, 10000);
		fprintf(stderr, "port %u on %s: %s\n", s->port, a->public_ipv4,
			pr > 0 ? "answered" : pr == 0 ? "no answer yet (doagent may still be starting)" : "not probed (not reachable from here)");
	}
	return 0;
}

const struct saga_step step_wait = {
	.name = "wait",
	.wanted = wanted,
	.run = run,
};

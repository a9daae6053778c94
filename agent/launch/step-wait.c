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

static bool status_is(const struct doapi_droplet *d, const char *status)
{
	return d->status && strcmp(d->status, status) == 0;
}

/* 0 with *ret the active droplet, or an exit status. */
static int wait_active(struct saga *s, struct backoff *b, const char *id, struct doapi_droplet **ret)
{
	uint64_t t0 = backoff_now_ms();

	for (;;) {
		struct doapi_droplet *d = NULL;
		_cleanup_free_ char *cause = NULL;
		uint64_t left = backoff_remaining_ms(b);
		int r;

		s->api->deadline_ms = left < 1000 ? 1000 : left;
		r = doapi_droplet_get(s->api, id, &d, &cause);
		if (r == -ENOENT && backoff_now_ms() - t0 < 30000) {
			launch_progress_show(&s->progress, "droplet", id, "not visible yet");
		} else if (r < 0) {
			launch_progress_end(&s->progress);
			launch_err("droplet %s: %s", id, launch_cause_or(cause, r));
			return DOAGENT_EXIT_FAILURE;
		} else {
			launch_progress_show(&s->progress, "droplet", id, d->status ? d->status : "?");
			if (status_is(d, "active") && d->public_ipv4) {
				launch_progress_end(&s->progress);
				*ret = d;
				return 0;
			}
			if (status_is(d, "errored") || status_is(d, "archive") || status_is(d, "off")) {
				launch_progress_end(&s->progress);
				launch_err("droplet %s is %s", id, d->status);
				doapi_droplet_free(d);
				return DOAGENT_EXIT_FAILURE;
			}
			doapi_droplet_free(d);
		}
		if (!backoff_wait(b, 0)) {
			launch_progress_end(&s->progress);
			launch_err("droplet %s did not become active with a public address within %llus", id,
				   s->opt->wait_timeout);
			return DOAGENT_EXIT_FAILURE;
		}
	}
}

static int run(struct saga *s)
{
	struct backoff b;

	backoff_init(&b, 500, 1500, s->opt->wait_timeout * 1000);
	for (size_t i = 0; i < s->n_droplets; i++) {
		struct saga_droplet *sd = &s->droplets[i];
		struct doapi_droplet *a = NULL;
		int ex = wait_active(s, &b, sd->d->id, &a), pr;

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

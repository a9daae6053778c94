/*
 * replace: wait until the new droplet's port (TLS's when TLS is on) takes a TCP
 * connection from here, where the old one's clients would go: the last check before
 * the old droplet is destroyed. Once it has passed, the replace is committed.
 */
#include "autoconfig.h"

#include <stdio.h>

#include "backoff.h"
#include "doagent.h"
#include "saga.h"

static bool wanted(const struct saga *s)
{
	return s->wait_port;
}

static int run(struct saga *s)
{
	const struct doapi_droplet *d = s->droplets[0].d;
	int pr;

	fprintf(stderr, "waiting for port %u on %s (droplet %s)\n", s->port,
		d->public_ipv4 ? d->public_ipv4 : "-", d->id);
	pr = launch_probe(d->public_ipv4, s->port, (int)(s->opt->wait_timeout * 1000));
	if (pr > 0) {
		s->t_up = backoff_now_ms();
		fprintf(stderr, "port %u on %s answered\n", s->port, d->public_ipv4);
		return 0;
	}
	if (pr < 0)
		launch_err("port %u on %s cannot be reached from here, so the new droplet cannot be checked",
			   s->port, d->public_ipv4 ? d->public_ipv4 : "(no address)");
	else
		launch_err("port %u on %s did not answer within %llus", s->port, d->public_ipv4,
			   s->opt->wait_timeout);
	return DOAGENT_EXIT_FAILURE;
}

const struct saga_step step_port = {
	.name = "port",
	.commit = true,
	.wanted = wanted,
	.run = run,
};

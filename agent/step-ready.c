/* Step 9: Redis answers an authenticated PING at every endpoint that the connection
 * details and the login message give (plan.c lists them): the TLS port on each address
 * a client is told, plaintext wherever it listens. A daemon that skipped an address
 * (stunnel leaves out an accept line whose address is missing) fails the run. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "doagent.h"
#include "endpoint.h"
#include "paths.h"
#include "strutil.h"

#define REDIS_CLI "/usr/bin/redis-cli"
#define READY_DEADLINE_MS (30 * 1000)

static int run(struct boot *b, char **ret_cause)
{
	_cleanup_free_ char *cacert = boot_path(b, PATH_TLS_CERT);
	const struct endpoint_client client = { .password = b->password, .cacert = cacert, .redis_cli = REDIS_CLI };
	const struct plan *p = b->plan;
	int r;

	if (b->storage_waiting) {
		strutil_cause(ret_cause, 0, "not checked: Redis waits for its volume (doagent --status)");
		return 0;
	}
	if (!cacert)
		return DOAGENT_EXIT_FAILURE;
	r = endpoint_check_all(p->endpoints, p->n_endpoints, &client, READY_DEADLINE_MS, ret_cause);
	if (r < 0)
		return DOAGENT_EXIT_FAILURE;
	strutil_cause(ret_cause, 0, "Redis answers PING at all %zu endpoints%s", p->n_endpoints,
		      b->config.tls_enabled ? ", through TLS where it is on" : "");
	return 0;
}

const struct boot_step step_ready = { "ready", run, true };

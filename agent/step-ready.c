/* Step 7: Redis answers an authenticated PING (on loopback, where it always listens). */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "boot.h"
#include "doagent.h"
#include "resp.h"

#define READY_DEADLINE_MS (30 * 1000)

static int run(struct boot *b, char **ret_cause)
{
	struct backoff bo;
	int r;

	backoff_init(&bo, 100, 2000, READY_DEADLINE_MS);
	do {
		free(*ret_cause);
		*ret_cause = NULL;
		r = resp_ping("127.0.0.1", b->config.redis_port, b->password,
			      backoff_remaining_ms(&bo) < 5000 ? backoff_remaining_ms(&bo) + 1 : 5000, ret_cause);
		if (r == 0 || r == -EACCES)
			break;
	} while (backoff_wait(&bo, 0));
	if (r < 0)
		return DOAGENT_EXIT_FAILURE;
	if (asprintf(ret_cause, "Redis answers PING on 127.0.0.1:%u", b->config.redis_port) < 0)
		*ret_cause = NULL;
	return 0;
}

const struct boot_step step_ready = { "ready", run, true };

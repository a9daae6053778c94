/* Step 7: before the services start, the addresses they bind are on an interface.
 *
 * The metadata says which addresses this droplet has; the network may put them on
 * the interfaces later than doagent starts (network-online.target does not promise
 * every address). stunnel leaves out an accept line whose address is missing and
 * runs on, so starting it early would lose that endpoint for good. The wait is bounded
 * by the deadline (--deadline, counted from doagent's start) and says in the journal
 * what it waits for. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "boot.h"
#include "doagent.h"
#include "ifaddr.h"
#include "log.h"
#include "strutil.h"
#include "strv.h"

static void note(char *const *missing, uint64_t waited_ms, void *userdata)
{
	const struct boot *b = userdata;
	_cleanup_free_ char *list = strv_join(missing, ", ");

	log_step(LOG_NOTICE, "network", b->md->droplet_id, waited_ms,
		 "network: waiting for %s to be on an interface (%llu s so far)", list ? list : "the addresses",
		 (unsigned long long)(waited_ms / 1000));
}

static int run(struct boot *b, char **ret_cause)
{
	const char *const *addrs = (const char *const *)b->plan->addresses;
	uint64_t elapsed = backoff_now_ms() - b->started_ms, t0 = backoff_now_ms(), waited;
	uint64_t left = elapsed < b->opt->deadline_ms ? b->opt->deadline_ms - elapsed : 0;
	_cleanup_free_ char *list = NULL;
	int r;

	if (!addrs) {
		strutil_cause(ret_cause, 0, "no address of the metadata's to wait for");
		return 0;
	}
	r = ifaddr_wait(addrs, left, note, b, ret_cause);
	if (r < 0)
		return DOAGENT_EXIT_FAILURE;
	waited = backoff_now_ms() - t0;
	list = strv_join(b->plan->addresses, ", ");
	strutil_cause(ret_cause, 0, "%s on an interface (waited %llu.%03llu s)", list ? list : "the addresses",
		      (unsigned long long)(waited / 1000), (unsigned long long)(waited % 1000));
	return 0;
}

const struct boot_step step_network = { "network", run, true };

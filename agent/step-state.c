/* Step 2: is this droplet new? The state directory records the droplet it configured:
 * a snapshot of a configured droplet, booted as a new droplet, has another id. */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "doagent.h"
#include "strutil.h"

static int run(struct boot *b, char **ret_cause)
{
	int r;

	r = state_dir(b->opt->root, &b->state_dir, ret_cause);
	if (r < 0)
		return DOAGENT_EXIT_FAILURE;
	r = state_load(b->state_dir, &b->prev, ret_cause);
	if (r < 0)
		return DOAGENT_EXIT_FAILURE;
	b->configured = !b->opt->force && b->prev.configured &&
			strcmp(b->prev.configured, b->md->droplet_id) == 0;
	strutil_cause(ret_cause, 0, "%s",
		     b->configured ? "this droplet is configured already: nothing to render"
		     : b->opt->force && b->prev.configured && strcmp(b->prev.configured, b->md->droplet_id) == 0
			     ? "--force: configuring this droplet again"
		     : b->prev.configured ? "a new droplet (a snapshot of another): configuring it"
					  : "a new droplet: configuring it");
	return 0;
}

const struct boot_step step_state = { "state", run, false };

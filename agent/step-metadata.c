/* Step 1: the metadata document, from the service (retried under the deadline) or a file. */
#include "autoconfig.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "boot.h"
#include "doagent.h"
#include "paths.h"

static bool is_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

static int run(struct boot *b, char **ret_cause)
{
	const char *src = b->opt->metadata ? b->opt->metadata : PATH_METADATA_URL;
	int r;

	if (is_url(src))
		r = metadata_fetch(src, b->opt->deadline_ms, &b->md, ret_cause);
	else
		r = metadata_load_file(src, &b->md, ret_cause);
	if (r == -ETIMEDOUT)
		return DOAGENT_EXIT_UNAVAILABLE;
	if (r == -EINVAL && is_url(src))
		return DOAGENT_EXIT_USAGE;	/* a URL curl cannot use: fix doagent.conf */
	if (r == -EBADMSG || r == -E2BIG)
		return DOAGENT_EXIT_DATAERR;
	if (r < 0)
		return DOAGENT_EXIT_FAILURE;
	free(b->now.droplet_id);
	b->now.droplet_id = strdup(b->md->droplet_id);
	return b->now.droplet_id ? 0 : DOAGENT_EXIT_FAILURE;
}

const struct boot_step step_metadata = { "metadata", run, false };

/* Step 4: the password, from the user data or made once for this droplet. */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "doagent.h"
#include "secret.h"
#include "strutil.h"

static int run(struct boot *b, char **ret_cause)
{
	int r;

	if (b->config.redis_password) {
		b->password = strdup(b->config.redis_password);
		b->password_generated = false;
		return b->password ? 0 : DOAGENT_EXIT_FAILURE;
	}
	r = state_secret(b->state_dir, b->md->droplet_id, "password", secret_generate_password, &b->password,
			 ret_cause);
	if (r < 0)
		return DOAGENT_EXIT_FAILURE;
	b->password_generated = true;
	strutil_cause(ret_cause, 0, "the password is kept in %s/secrets", b->state_dir);
	return 0;
}

const struct boot_step step_secrets = { "secrets", run, false };

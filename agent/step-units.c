/* Step 6: let Redis start, and start it, through systemd's D-Bus API.
 *
 * redis-server.service and stunnel@doagent-redis.service carry a drop-in with
 * ConditionPathExists=/run/doagent/configured: at boot they may not start until this
 * step has made that flag, so a snapshot of a configured droplet never serves the
 * old droplet's configuration. They are not ordered after doagent.service, so waiting
 * for their jobs here cannot deadlock. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "doagent.h"
#include "fileio.h"
#include "paths.h"
#include "storage.h"
#include "systemd.h"
#include "strutil.h"

#define JOB_TIMEOUT_MS (90 * 1000)

static int run(struct boot *b, char **ret_cause)
{
	const char *const *units = (const char *const *)b->plan->units;
	enum systemd_action action = b->changed ? SYSTEMD_RESTART : SYSTEMD_START;
	size_t i;
	int r;

	r = fileio_mkdir_p(PATH_RUN_DIR, 0755);
	if (r >= 0)
		r = fileio_write_atomic(PATH_CONFIGURED_FLAG, b->md->droplet_id, strlen(b->md->droplet_id), 0644,
					(uid_t)-1, (gid_t)-1);
	if (r < 0) {
		strutil_cause(ret_cause, 0, "%s: %s", PATH_CONFIGURED_FLAG, strerror(-r));
		return DOAGENT_EXIT_FAILURE;
	}
	if (!b->bus && systemd_open(&b->bus, ret_cause) < 0)
		return DOAGENT_EXIT_FAILURE;
	if (systemd_reload(b->bus, ret_cause) < 0 || systemd_enable(b->bus, units, ret_cause) < 0)
		return DOAGENT_EXIT_FAILURE;
	for (i = 0; units[i]; i++) {
		_cleanup_free_ char *state = NULL;

		/* Its volume is not there yet: doagent-volume.path starts Redis on it. */
		if (b->storage_waiting && strcmp(units[i], UNIT_REDIS) == 0)
			continue;
		if (systemd_unit_action(b->bus, action, units[i], JOB_TIMEOUT_MS, ret_cause) < 0)
			return DOAGENT_EXIT_FAILURE;
		/* A job is "done" also when a condition kept the unit from starting. */
		if (systemd_active_state(b->bus, units[i], &state, ret_cause) < 0)
			return DOAGENT_EXIT_FAILURE;
		if (strcmp(state, "active") != 0) {
			strutil_cause(ret_cause, 0, "%s is %s after its start job", units[i], state);
			return DOAGENT_EXIT_FAILURE;
		}
	}
	strutil_cause(ret_cause, 0, "%s %s%s%s", action == SYSTEMD_RESTART ? "restarted" : "started (or running already)",
		     b->config.tls_enabled ? UNIT_REDIS " and " UNIT_STUNNEL : UNIT_REDIS,
		     b->config.storage_volume ? ", and " STORAGE_UNIT_PATH : "",
		     b->storage_waiting ? "; Redis waits for its volume" : "");
	return 0;
}

const struct boot_step step_units = { "units", run, true };

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
#include "strv.h"

#define JOB_TIMEOUT_MS (90 * 1000)

static int start(struct boot *b, enum systemd_action action, const char *unit, char **ret_cause)
{
	_cleanup_free_ char *state = NULL;

	if (systemd_unit_action(b->bus, action, unit, JOB_TIMEOUT_MS, ret_cause) < 0)
		return -EIO;
	/* A job is "done" also when a condition kept the unit from starting. */
	if (systemd_active_state(b->bus, unit, &state, ret_cause) < 0)
		return -EIO;
	if (strcmp(state, "active") != 0) {
		strutil_cause(ret_cause, 0, "%s is %s after its start job", unit, state);
		return -EIO;
	}
	return 0;
}

/* Stop and disable what an earlier configuration of this droplet started and this one
 * does not use (stunnel, when TLS is off or Redis serves it): before Redis starts, which
 * may need its port. A unit that is not installed has nothing to stop. Returns how many
 * were stopped or disabled, or -errno with *ret_cause. */
static int stop_unused(struct boot *b, char **ret_cause)
{
	int n = 0;

	for (char **u = b->plan->units_off; u && *u; u++) {
		_cleanup_free_ char *load = NULL, *file_state = NULL, *active = NULL;
		const char *one[] = { *u, NULL };

		if (systemd_unit_property(b->bus, *u, "LoadState", &load, ret_cause) < 0)
			return -EIO;
		if (strcmp(load, "not-found") == 0)
			continue;
		if (systemd_unit_property(b->bus, *u, "UnitFileState", &file_state, ret_cause) < 0)
			return -EIO;
		if (strcmp(file_state, "enabled") == 0) {
			/* Reload after, as systemctl disable does: the manager's view follows. */
			if (systemd_disable(b->bus, one, ret_cause) < 0 || systemd_reload(b->bus, ret_cause) < 0)
				return -EIO;
			n++;
		}
		if (systemd_active_state(b->bus, *u, &active, ret_cause) < 0)
			return -EIO;
		if (strcmp(active, "inactive") != 0) {
			if (systemd_unit_action(b->bus, SYSTEMD_STOP, *u, JOB_TIMEOUT_MS, ret_cause) < 0)
				return -EIO;
			n++;
		}
	}
	return n;
}

static int run(struct boot *b, char **ret_cause)
{
	static const char *const redis[] = { UNIT_REDIS, NULL };
	int stopped;
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
	if (systemd_reload(b->bus, ret_cause) < 0)
		return DOAGENT_EXIT_FAILURE;
	stopped = stop_unused(b, ret_cause);
	if (stopped < 0 || systemd_enable(b->bus, units, ret_cause) < 0)
		return DOAGENT_EXIT_FAILURE;
	/* With a volume, Redis is not in the plan's units: nothing starts it at boot, where
	 * it would pull in a mount whose device may not be there; this step starts it once
	 * the storage step has mounted the volume, and doagent-volume.path when the volume
	 * comes later. It may have been enabled before (a snapshot of a droplet without
	 * one). */
	if (b->plan->storage) {
		if (systemd_disable(b->bus, redis, ret_cause) < 0)
			return DOAGENT_EXIT_FAILURE;
		if (!b->storage_waiting && start(b, action, UNIT_REDIS, ret_cause) < 0)
			return DOAGENT_EXIT_FAILURE;
	}
	for (i = 0; units[i]; i++)
		if (start(b, action, units[i], ret_cause) < 0)
			return DOAGENT_EXIT_FAILURE;
	if (b->storage_waiting)
		strutil_cause(ret_cause, 0, "%s %s" STORAGE_UNIT_PATH "; Redis waits for its volume%s",
			      action == SYSTEMD_RESTART ? "restarted" : "started (or running already)",
			      strv_contains(b->plan->units, UNIT_STUNNEL) ? UNIT_STUNNEL " and " : "",
			      stopped ? "; stopped and disabled " UNIT_STUNNEL ", which this configuration does not use" : "");
	else
		strutil_cause(ret_cause, 0, "%s %s%s%s", action == SYSTEMD_RESTART ? "restarted" : "started (or running already)",
			      strv_contains(b->plan->units, UNIT_STUNNEL) ? UNIT_REDIS " and " UNIT_STUNNEL : UNIT_REDIS,
			      b->plan->storage ? ", and " STORAGE_UNIT_PATH : "",
			      stopped ? "; stopped and disabled " UNIT_STUNNEL ", which this configuration does not use" : "");
	return 0;
}

const struct boot_step step_units = { "units", run, true };

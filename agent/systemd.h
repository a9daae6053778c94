/* The units, through systemd's D-Bus API (sd-bus). */
#ifndef DOAGENT_SYSTEMD_H
#define DOAGENT_SYSTEMD_H

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/* Connect to the system bus. Returns 0 or -errno (*ret_cause says why). */
int systemd_open(sd_bus **ret, char **ret_cause);

/* systemctl daemon-reload, waiting until the manager has reloaded. */
int systemd_reload(sd_bus *bus, char **ret_cause);

/* systemctl enable UNIT... (EnableUnitFiles, runtime = false, force = false).
 * -EOPNOTSUPP when a unit has no [Install] section to be enabled with. */
int systemd_enable(sd_bus *bus, const char *const *units, char **ret_cause);

/* systemctl disable UNIT... */
int systemd_disable(sd_bus *bus, const char *const *units, char **ret_cause);

enum systemd_action { SYSTEMD_START, SYSTEMD_RESTART, SYSTEMD_STOP };

/*
 * Start, restart or stop a unit (mode "replace") and wait up to timeout_ms for its
 * job to finish, reading the job's result back: 0 when it is "done", -EIO with the
 * result in *ret_cause otherwise ("failed", "timeout", "dependency", ...),
 * -ETIMEDOUT when the job did not finish in time. The caller must never use this
 * for a unit ordered after its own unit: that job cannot finish while we wait.
 * A start or restart of a unit ordered After= the caller's own unit is refused with
 * -EDEADLK before any job is enqueued.
 */
int systemd_unit_action(sd_bus *bus, enum systemd_action action, const char *unit,
			uint64_t timeout_ms, char **ret_cause);

/* The unit's ActiveState ("active", "failed", ...), malloc'd. */
int systemd_active_state(sd_bus *bus, const char *unit, char **ret, char **ret_cause);

/* A string property of the unit's org.freedesktop.systemd1.Unit interface (ActiveState,
 * LoadState, UnitFileState, ...), malloc'd; the unit is loaded for it when it is not. */
int systemd_unit_property(sd_bus *bus, const char *unit, const char *property, char **ret, char **ret_cause);

#endif

/*
 * The units, through the service manager's D-Bus API.
 *
 * MUST rules for this file:
 * - A job is waited for only after the JobRemoved match is installed and we are
 *   subscribed, so a job that finishes at once is not missed.
 * - No start or restart job is waited for when its unit is ordered after the unit we
 *   run in: that job waits for us while we wait for it (DESIGN.md, the first boot,
 *   step 6). It is refused with -EDEADLK instead of timing out.
 * - Every cause names the unit and carries the D-Bus error's name and message.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "sdlib.h"
#include "strutil.h"
#include "strv.h"
#include "systemd.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_ERROR_ALREADY_SUBSCRIBED "org.freedesktop.systemd1.AlreadySubscribed"

#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC 1000000ULL
/* A reload re-reads every unit: far longer than the default 25 s on a slow disk. */
#define RELOAD_TIMEOUT_USEC (180 * USEC_PER_SEC)

static const struct {
	const char *method;
	const char *verb;
	bool waits_for_ordering;	/* a start waits for the units it is ordered after */
} actions[] = {
	[SYSTEMD_START] = { "StartUnit", "start", true },
	[SYSTEMD_RESTART] = { "RestartUnit", "restart", true },
	[SYSTEMD_STOP] = { "StopUnit", "stop", false },
};

/* libsystemd, loaded (sdlib_load) first by every exported function: the bus it is
 * given may have been opened without systemd_open(). */
static const struct sdlib *sd;

/* "<what>: <error name>: <error message>", or strerror when the bus set no error. */
static int bus_fail(char **ret_cause, int r, const sd_bus_error *e, const char *what)
{
	if (sd->sd_bus_error_is_set(e))
		return strutil_cause(ret_cause, r, "%s: %s: %s", what, e->name,
			    e->message ? e->message : "(no message)");
	return strutil_cause(ret_cause, r, "%s: %s", what, strerror(-r));
}

int systemd_open(sd_bus **ret, char **ret_cause)
{
	_cleanup_(sdlib_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int r;

	r = sdlib_load(&sd, ret_cause);
	if (r < 0)
		return r;
	r = sd->sd_bus_open_system(&bus);
	if (r < 0)
		return strutil_cause(ret_cause, r, "cannot connect to the system bus: %s", strerror(-r));
	*ret = TAKE_PTR(bus);
	return 0;
}

int systemd_reload(sd_bus *bus, char **ret_cause)
{
	_cleanup_(sdlib_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(sdlib_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sdlib_load(&sd, ret_cause);
	if (r < 0)
		return r;
	r = sd->sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "Reload");
	if (r < 0)
		return bus_fail(ret_cause, r, NULL, "daemon-reload");
	/* The manager answers once it has reloaded. */
	r = sd->sd_bus_call(bus, m, RELOAD_TIMEOUT_USEC, &e, &reply);
	if (r < 0)
		return bus_fail(ret_cause, r, &e, "daemon-reload");
	return 0;
}

/* Skip the a(sss) of changes an [En|Dis]ableUnitFiles reply ends with. */
static int read_changes(sd_bus_message *reply)
{
	const char *type, *path, *source;
	int r;

	r = sd->sd_bus_message_enter_container(reply, 'a', "(sss)");
	if (r < 0)
		return r;
	while ((r = sd->sd_bus_message_read(reply, "(sss)", &type, &path, &source)) > 0)
		;
	if (r < 0)
		return r;
	return sd->sd_bus_message_exit_container(reply);
}

/* EnableUnitFiles or DisableUnitFiles for one unit, so that a cause can name it. */
static int unit_files_one(sd_bus *bus, bool enable, const char *unit, char **ret_cause)
{
	_cleanup_(sdlib_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(sdlib_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *what = NULL;
	int carries_install_info = 1;
	int r;

	if (asprintf(&what, "%s %s", enable ? "enable" : "disable", unit) < 0)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	r = sd->sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
					       enable ? "EnableUnitFiles" : "DisableUnitFiles");
	if (r >= 0)
		r = sd->sd_bus_message_append(m, "as", 1, unit);
	/* runtime = false; and for enable, force = false */
	if (r >= 0)
		r = enable ? sd->sd_bus_message_append(m, "bb", 0, 0) : sd->sd_bus_message_append(m, "b", 0);
	if (r < 0)
		return bus_fail(ret_cause, r, NULL, what);
	r = sd->sd_bus_call(bus, m, 0, &e, &reply);
	if (r < 0)
		return bus_fail(ret_cause, r, &e, what);
	if (enable)
		r = sd->sd_bus_message_read(reply, "b", &carries_install_info);
	if (r >= 0)
		r = read_changes(reply);
	if (r < 0)
		return strutil_cause(ret_cause, r, "%s: the manager's answer cannot be read: %s", what,
			    strerror(-r));
	/* The number of symlinks the unit asks for, whether or not they existed already:
	 * none means there is nothing in [Install] to enable it with. */
	if (!carries_install_info)
		return strutil_cause(ret_cause, -EOPNOTSUPP,
			    "%s: the unit has no installation config in its [Install] section "
			    "(WantedBy=, RequiredBy=, Alias=, Also=): it cannot be enabled",
			    what);
	return 0;
}

static int unit_files(sd_bus *bus, bool enable, const char *const *units, char **ret_cause)
{
	int r;

	if (!units)
		return 0;
	r = sdlib_load(&sd, ret_cause);
	if (r < 0)
		return r;
	for (; *units; units++) {
		r = unit_files_one(bus, enable, *units, ret_cause);
		if (r < 0)
			return r;
	}
	return 0;
}

int systemd_enable(sd_bus *bus, const char *const *units, char **ret_cause)
{
	return unit_files(bus, true, units, ret_cause);
}

int systemd_disable(sd_bus *bus, const char *const *units, char **ret_cause)
{
	return unit_files(bus, false, units, ret_cause);
}

/* The object path of unit, loading it when it is not loaded (LoadUnit). */
static int unit_path(sd_bus *bus, const char *unit, char **ret, sd_bus_error *e)
{
	_cleanup_(sdlib_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *path;
	int r;

	r = sd->sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "LoadUnit", e, &reply, "s", unit);
	if (r < 0)
		return r;
	r = sd->sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		return r;
	*ret = strdup(path);
	return *ret ? 0 : -ENOMEM;
}

/*
 * Whether unit is ordered after the unit this process runs in (After=, read from the
 * manager). 1 yes (with the name of ours in *ret_self), 0 no or not knowable: a
 * process outside any unit the manager knows cannot be waited for.
 */
static int ordered_after_self(sd_bus *bus, const char *unit, char **ret_self)
{
	_cleanup_(sdlib_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sdlib_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *self = NULL, *path = NULL;
	_cleanup_strv_ char **after = NULL;
	const char *self_path;

	if (sd->sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnitByPID", &e, &reply, "u",
				   (uint32_t)getpid()) < 0 ||
	    sd->sd_bus_message_read(reply, "o", &self_path) < 0 ||
	    sd->sd_bus_get_property_string(bus, SD_DEST, self_path, SD_UNIT, "Id", &e, &self) < 0 ||
	    unit_path(bus, unit, &path, &e) < 0 ||
	    sd->sd_bus_get_property_strv(bus, SD_DEST, path, SD_UNIT, "After", &e, &after) < 0)
		return 0;
	if (!strv_contains(after, self))
		return 0;
	*ret_self = TAKE_PTR(self);
	return 1;
}

struct job_wait {
	const char *path;	/* the job we wait for */
	char *result;		/* its result, once JobRemoved came */
	int error;
};

static void job_wait_done(struct job_wait *w)
{
	free(w->result);
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct job_wait *w = userdata;
	const char *path, *unit, *result;
	uint32_t id;

	if (sd->sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (!w->path || w->result || strcmp(path, w->path) != 0)
		return 0;
	w->result = strdup(result);
	if (!w->result)
		w->error = -ENOMEM;
	return 0;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

int systemd_unit_action(sd_bus *bus, enum systemd_action action, const char *unit,
			uint64_t timeout_ms, char **ret_cause)
{
	/* w is declared before the slot that points to it, so it outlives the slot. */
	_cleanup_(job_wait_done) struct job_wait w = { 0 };
	_cleanup_(sdlib_bus_slot_unrefp) sd_bus_slot *slot = NULL;
	_cleanup_(sdlib_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sdlib_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *what = NULL, *self = NULL, *job = NULL;
	const char *path;
	uint64_t deadline;
	int r;

	if ((unsigned)action >= ELEMENTSOF(actions) || !unit || !*unit)
		return strutil_cause(ret_cause, -EINVAL, "no unit or no action");
	if (asprintf(&what, "%s %s", actions[action].verb, unit) < 0)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	r = sdlib_load(&sd, ret_cause);
	if (r < 0)
		return r;

	if (actions[action].waits_for_ordering && ordered_after_self(bus, unit, &self) > 0)
		return strutil_cause(ret_cause, -EDEADLK,
			    "%s: the unit is ordered after %s, which runs this: its job cannot "
			    "finish while we wait for it",
			    what, self);

	/* Listen before asking, or a job that is done at once goes unseen. */
	r = sd->sd_bus_match_signal(bus, &slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved", on_job_removed,
				    &w);
	if (r < 0)
		return bus_fail(ret_cause, r, NULL, what);
	r = sd->sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", &e, NULL, NULL);
	if (r < 0 && !sd->sd_bus_error_has_name(&e, SD_ERROR_ALREADY_SUBSCRIBED))
		return bus_fail(ret_cause, r, &e, what);
	sd->sd_bus_error_free(&e);

	r = sd->sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, actions[action].method, &e, &reply,
				   "ss", unit, "replace");
	if (r < 0)
		return bus_fail(ret_cause, r, &e, what);
	r = sd->sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		return strutil_cause(ret_cause, r, "%s: the manager's answer cannot be read: %s", what,
			    strerror(-r));
	job = strdup(path);
	if (!job)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	/* Signals that came while we waited for the answer are queued, not yet
	 * dispatched: the match sees them below, now that it knows the job. */
	w.path = job;

	deadline = now_usec() + (timeout_ms > UINT64_MAX / 2 / USEC_PER_MSEC
					 ? UINT64_MAX / 2
					 : timeout_ms * USEC_PER_MSEC);
	while (!w.result && !w.error) {
		uint64_t now;

		r = sd->sd_bus_process(bus, NULL);
		if (r < 0)
			return strutil_cause(ret_cause, r, "%s: waiting for job %s: %s", what, job, strerror(-r));
		if (r > 0)
			continue;
		now = now_usec();
		if (now >= deadline)
			return strutil_cause(ret_cause, -ETIMEDOUT, "%s: job %s did not finish within %" PRIu64 " ms",
				    what, job, timeout_ms);
		r = sd->sd_bus_wait(bus, deadline - now);
		if (r < 0 && r != -EINTR)
			return strutil_cause(ret_cause, r, "%s: waiting for job %s: %s", what, job, strerror(-r));
	}
	if (w.error)
		return strutil_cause(ret_cause, w.error, "%s: %s", what, strerror(-w.error));
	if (strcmp(w.result, "done") != 0)
		return strutil_cause(ret_cause, -EIO, "unit %s: %s job result '%s'", unit, actions[action].verb,
			    w.result);
	return 0;
}

int systemd_active_state(sd_bus *bus, const char *unit, char **ret, char **ret_cause)
{
	return systemd_unit_property(bus, unit, "ActiveState", ret, ret_cause);
}

int systemd_unit_property(sd_bus *bus, const char *unit, const char *property, char **ret, char **ret_cause)
{
	_cleanup_(sdlib_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *what = NULL, *path = NULL, *state = NULL;
	int r;

	if (!unit || !*unit)
		return strutil_cause(ret_cause, -EINVAL, "no unit");
	if (asprintf(&what, "%s of %s", property, unit) < 0)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	r = sdlib_load(&sd, ret_cause);
	if (r < 0)
		return r;
	r = unit_path(bus, unit, &path, &e);
	if (r < 0)
		return bus_fail(ret_cause, r, &e, what);
	r = sd->sd_bus_get_property_string(bus, SD_DEST, path, SD_UNIT, property, &e, &state);
	if (r < 0)
		return bus_fail(ret_cause, r, &e, what);
	*ret = TAKE_PTR(state);
	return 0;
}

/*
 * libsystemd, loaded by dynlib_open on first use and never unloaded. A process that
 * is linked with it already (tests/test-systemd) gets the same copy.
 */
#include "autoconfig.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <string.h>

#include "dynlib.h"
#include "sdlib.h"

#define SDLIB_SONAME "libsystemd.so.0"

static const char *soname = SDLIB_SONAME;
static struct sdlib lib;
static bool loaded;

/* Resolve the function named like the field: its type is that of its prototype. */
#define RESOLVE(handle, fn) ((lib.fn = (__typeof__(&fn))dlsym(handle, #fn)) != NULL)

/* Every function or false, at the first one missing (dlerror names it). */
static bool resolve_all(void *handle)
{
	return RESOLVE(handle, sd_bus_open_system) && RESOLVE(handle, sd_bus_flush_close_unref) &&
	       RESOLVE(handle, sd_bus_call) && RESOLVE(handle, sd_bus_call_method) &&
	       RESOLVE(handle, sd_bus_get_property_string) && RESOLVE(handle, sd_bus_get_property_strv) &&
	       RESOLVE(handle, sd_bus_match_signal) && RESOLVE(handle, sd_bus_slot_unref) &&
	       RESOLVE(handle, sd_bus_process) && RESOLVE(handle, sd_bus_wait) &&
	       RESOLVE(handle, sd_bus_message_new_method_call) && RESOLVE(handle, sd_bus_message_append) &&
	       RESOLVE(handle, sd_bus_message_read) && RESOLVE(handle, sd_bus_message_enter_container) &&
	       RESOLVE(handle, sd_bus_message_exit_container) && RESOLVE(handle, sd_bus_message_unref) &&
	       RESOLVE(handle, sd_bus_error_free) && RESOLVE(handle, sd_bus_error_is_set) &&
	       RESOLVE(handle, sd_bus_error_has_name) && RESOLVE(handle, sd_journal_send_with_location);
}

int sdlib_load(const struct sdlib **ret, char **ret_cause)
{
	int r;

	if (!loaded) {
		r = dynlib_open(soname, resolve_all, ret_cause);
		if (r < 0) {
			memset(&lib, 0, sizeof(lib));
			return r;
		}
		loaded = true;
	}
	*ret = &lib;
	return 0;
}

void sdlib_bus_flush_close_unref(sd_bus *bus)
{
	if (bus && loaded)
		lib.sd_bus_flush_close_unref(bus);
}

void sdlib_bus_message_unref(sd_bus_message *m)
{
	if (m && loaded)
		lib.sd_bus_message_unref(m);
}

void sdlib_bus_slot_unref(sd_bus_slot *slot)
{
	if (slot && loaded)
		lib.sd_bus_slot_unref(slot);
}

void sdlib_bus_error_free(sd_bus_error *e)
{
	if (e && loaded)
		lib.sd_bus_error_free(e);
}

void sdlib_set_soname(const char *name)
{
	soname = name ? name : SDLIB_SONAME;
}

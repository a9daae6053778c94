/* libsystemd, loaded only when the journal or the service manager is used: doagent is
 * not linked with it, so a start that does neither (a dry run, a check, a first boot
 * under --root, any run whose stderr is not the journal) does not map it and the six
 * libraries it pulls in. */
#ifndef DOAGENT_SDLIB_H
#define DOAGENT_SDLIB_H

#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>

#include "macro.h"

/* The functions doagent calls, with the prototypes of <systemd/sd-bus.h> and
 * <systemd/sd-journal.h>: the compiler checks every call made through them. The
 * journal's sd_journal_send() is a macro for sd_journal_send_with_location(). */
struct sdlib {
	__typeof__(sd_bus_open_system) *sd_bus_open_system;
	__typeof__(sd_bus_flush_close_unref) *sd_bus_flush_close_unref;
	__typeof__(sd_bus_call) *sd_bus_call;
	__typeof__(sd_bus_call_method) *sd_bus_call_method;
	__typeof__(sd_bus_get_property_string) *sd_bus_get_property_string;
	__typeof__(sd_bus_get_property_strv) *sd_bus_get_property_strv;
	__typeof__(sd_bus_match_signal) *sd_bus_match_signal;
	__typeof__(sd_bus_slot_unref) *sd_bus_slot_unref;
	__typeof__(sd_bus_process) *sd_bus_process;
	__typeof__(sd_bus_wait) *sd_bus_wait;
	__typeof__(sd_bus_message_new_method_call) *sd_bus_message_new_method_call;
	__typeof__(sd_bus_message_append) *sd_bus_message_append;
	__typeof__(sd_bus_message_read) *sd_bus_message_read;
	__typeof__(sd_bus_message_enter_container) *sd_bus_message_enter_container;
	__typeof__(sd_bus_message_exit_container) *sd_bus_message_exit_container;
	__typeof__(sd_bus_message_unref) *sd_bus_message_unref;
	__typeof__(sd_bus_error_free) *sd_bus_error_free;
	__typeof__(sd_bus_error_is_set) *sd_bus_error_is_set;
	__typeof__(sd_bus_error_has_name) *sd_bus_error_has_name;
	__typeof__(sd_journal_send_with_location) *sd_journal_send_with_location;
};

/* libsystemd.so.0, loaded (dlopen) on the first call and kept for the life of the
 * process. 0 and *ret on success; else -ELIBACC, *ret untouched and *ret_cause (when
 * not NULL; the caller frees it) naming the library and saying why (dlerror), and the
 * next call tries again. */
int sdlib_load(const struct sdlib **ret, char **ret_cause);

/* Free a bus (flushed and closed first), a message, a slot or what an error holds,
 * through the loaded library; NULL, or nothing loaded, does nothing. They stand in for
 * the cleanup helpers of <systemd/sd-bus.h>, which call libsystemd directly. */
void sdlib_bus_flush_close_unref(sd_bus *bus);
DEFINE_TRIVIAL_CLEANUP_FUNC(sd_bus *, sdlib_bus_flush_close_unref)
void sdlib_bus_message_unref(sd_bus_message *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(sd_bus_message *, sdlib_bus_message_unref)
void sdlib_bus_slot_unref(sd_bus_slot *slot);
DEFINE_TRIVIAL_CLEANUP_FUNC(sd_bus_slot *, sdlib_bus_slot_unref)
void sdlib_bus_error_free(sd_bus_error *e);

/* For tests only: load soname instead (NULL: libsystemd.so.0 again) from the next
 * sdlib_load() that has nothing loaded yet; the string must outlive those calls. */
void sdlib_set_soname(const char *soname);

#endif

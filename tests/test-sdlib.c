/*
 * sdlib.c: libsystemd is not mapped until the first sdlib_load(); a library that
 * cannot be loaded, or lacks a function, is a clean error naming it (through
 * systemd.c too), and the next call tries again; the journal's lines then go to
 * stderr after one warning; the real one loads once.
 * The tests run in order: after the real library has loaded, it stays loaded.
 */
#include "autoconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "sdlib.h"
#include "systemd.h"

#define MISSING "libdoagent-test-no-such-library.so.0"

static bool mapped(const char *name)
{
	_cleanup_free_ char *maps = NULL;
	size_t len;

	assert_int_equal(fileio_read_file("/proc/self/maps", 16 * 1024 * 1024, &maps, &len), 0);
	return strstr(maps, name) != NULL;
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return n;
}

/* What the logging calls between stderr_begin() and stderr_end() wrote on stderr. */
static char stderr_path[32];
static int saved_stderr = -1;

static void stderr_begin(void)
{
	int fd;

	strcpy(stderr_path, "/tmp/doagent-sdlib.XXXXXX");
	fd = mkstemp(stderr_path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

static char *stderr_end(void)
{
	char *text = NULL;
	size_t len;

	fflush(stderr);
	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(TAKE_FD(saved_stderr));
	assert_int_equal(fileio_read_file(stderr_path, 1024 * 1024, &text, &len), 0);
	unlink(stderr_path);
	return text;
}

static void test_not_linked(void **state)
{
	assert_false(mapped("libsystemd"));
}

static void test_missing_library(void **state)
{
	static const struct sdlib untouched;
	const struct sdlib *sd = &untouched;
	_cleanup_free_ char *cause = NULL;

	sdlib_set_soname(MISSING);
	assert_int_equal(sdlib_load(&sd, &cause), -ELIBACC);
	assert_ptr_equal(sd, &untouched);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "cannot load " MISSING ": "));
	assert_non_null(strstr(cause, "No such file"));
	assert_false(mapped("libsystemd"));
	/* No message wanted: still the error. */
	assert_int_equal(sdlib_load(&sd, NULL), -ELIBACC);
	/* Nothing loaded: the cleanup functions do nothing. */
	sdlib_bus_flush_close_unref(NULL);
	sdlib_bus_message_unref(NULL);
	sdlib_bus_slot_unref(NULL);
	sdlib_bus_error_free(NULL);
	sdlib_set_soname(NULL);
}

/* A library that loads but is not libsystemd: its first missing function is named. */
static void test_missing_function(void **state)
{
	const struct sdlib *sd = NULL;
	_cleanup_free_ char *cause = NULL;

	sdlib_set_soname("libc.so.6");
	assert_int_equal(sdlib_load(&sd, &cause), -ELIBACC);
	assert_null(sd);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "cannot load libc.so.6: "));
	assert_non_null(strstr(cause, "sd_bus_open_system"));
	sdlib_set_soname(NULL);
}

/* The units step's error path: systemd.c returns the error with its cause. */
static void test_systemd_error(void **state)
{
	static const char *const units[] = { "doagent-test.service", NULL };
	_cleanup_free_ char *c1 = NULL, *c2 = NULL, *c3 = NULL, *c4 = NULL, *c5 = NULL, *st = NULL;
	sd_bus *bus = NULL;

	sdlib_set_soname(MISSING);
	assert_int_equal(systemd_open(&bus, &c1), -ELIBACC);
	assert_null(bus);
	assert_non_null(c1);
	assert_non_null(strstr(c1, "cannot load " MISSING ": "));
	/* A bus from elsewhere needs the library as much. */
	assert_int_equal(systemd_reload(NULL, &c2), -ELIBACC);
	assert_non_null(strstr(c2, "cannot load " MISSING));
	assert_int_equal(systemd_enable(NULL, units, &c3), -ELIBACC);
	assert_non_null(strstr(c3, "cannot load " MISSING));
	assert_int_equal(systemd_unit_action(NULL, SYSTEMD_START, units[0], 1000, &c4), -ELIBACC);
	assert_non_null(strstr(c4, "cannot load " MISSING));
	assert_int_equal(systemd_active_state(NULL, units[0], &st, &c5), -ELIBACC);
	assert_non_null(strstr(c5, "cannot load " MISSING));
	assert_null(st);
	assert_false(mapped("libsystemd"));
	sdlib_set_soname(NULL);
}

/* Lines meant for the journal go to stderr, after one warning that names the library. */
static void test_log_fallback(void **state)
{
	_cleanup_free_ char *text = NULL;

	sdlib_set_soname(MISSING);
	log_set_program("test-sdlib");
	log_set_journal(true);
	stderr_begin();
	log_msg(LOG_INFO, "first line %d", 1);
	log_step(LOG_INFO, "ready", "1001", 5, "second line");
	log_error("third line");
	text = stderr_end();
	log_set_journal(false);
	sdlib_set_soname(NULL);

	assert_int_equal(count(text, "test-sdlib: warning: cannot load " MISSING ": "), 1);
	assert_non_null(strstr(text, "; logging to stderr\n"));
	assert_non_null(strstr(text, "test-sdlib: first line 1\n"));
	assert_non_null(strstr(text, "test-sdlib: second line\n"));
	assert_non_null(strstr(text, "test-sdlib: error: third line\n"));
	assert_true(strstr(text, "warning: cannot load") < strstr(text, "first line"));
	assert_false(mapped("libsystemd"));
}

static void test_load(void **state)
{
	const struct sdlib *sd = NULL, *again = NULL;
	_cleanup_(sdlib_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *cause = NULL, *text = NULL;

	assert_int_equal(sdlib_load(&sd, &cause), 0);
	assert_null(cause);
	assert_non_null(sd);
	assert_true(mapped("libsystemd"));
	assert_non_null(sd->sd_bus_open_system);
	assert_non_null(sd->sd_bus_flush_close_unref);
	assert_non_null(sd->sd_bus_call);
	assert_non_null(sd->sd_bus_call_method);
	assert_non_null(sd->sd_bus_get_property_string);
	assert_non_null(sd->sd_bus_get_property_strv);
	assert_non_null(sd->sd_bus_match_signal);
	assert_non_null(sd->sd_bus_slot_unref);
	assert_non_null(sd->sd_bus_process);
	assert_non_null(sd->sd_bus_wait);
	assert_non_null(sd->sd_bus_message_new_method_call);
	assert_non_null(sd->sd_bus_message_append);
	assert_non_null(sd->sd_bus_message_read);
	assert_non_null(sd->sd_bus_message_enter_container);
	assert_non_null(sd->sd_bus_message_exit_container);
	assert_non_null(sd->sd_bus_message_unref);
	assert_non_null(sd->sd_bus_error_free);
	assert_non_null(sd->sd_bus_error_is_set);
	assert_non_null(sd->sd_bus_error_has_name);
	assert_non_null(sd->sd_journal_send_with_location);
	assert_false(sd->sd_bus_error_is_set(&e));
	assert_false(sd->sd_bus_error_has_name(&e, "org.example.Error"));
	sdlib_bus_flush_close_unref(NULL);
	sdlib_bus_message_unref(NULL);
	sdlib_bus_slot_unref(NULL);
	/* Loaded once: another soname changes nothing now. */
	sdlib_set_soname(MISSING);
	assert_int_equal(sdlib_load(&again, NULL), 0);
	assert_ptr_equal(again, sd);
	/* With the library, a line for the journal is no longer on stderr (whether
	 * or not a journal listens here). */
	log_set_journal(true);
	stderr_begin();
	log_msg(LOG_INFO, "test-sdlib: a line for the journal");
	text = stderr_end();
	log_set_journal(false);
	assert_string_equal(text, "");
	sdlib_set_soname(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_linked),
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_missing_function),
		cmocka_unit_test(test_systemd_error),
		cmocka_unit_test(test_log_fallback),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests_name("sdlib", tests, NULL, NULL);
}

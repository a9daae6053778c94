/*
 * systemd.c. Without a system bus (the build machines: PID 1 is not systemd) only the
 * failures are tested: no bus, a bus that hangs up. With DOAGENT_TEST_SYSTEMD=1, run as
 * root inside a booted container, the real calls are tested against the real manager
 * with units this test writes and removes. The binary needs nothing else (no fixtures).
 */
#include "autoconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>

#include "macro.h"
#include "systemd.h"

#define UNIT_DIR "/etc/systemd/system"
#define LOCAL_DIR "/usr/local/lib/systemd/system"
#define WANTS_DIR UNIT_DIR "/multi-user.target.wants"
#define TIMEOUT_MS 30000

#define U_SLEEP "doagent-test-unit.service"
#define U_FAIL "doagent-test-fail.service"
#define U_STATIC "doagent-test-static.service"
#define U_LOCAL "doagent-test-local.service"
#define U_SLOW "doagent-test-slow.service"
#define U_AFTER "doagent-test-after.service"
#define U_COND "doagent-test-condition.service"
#define U_MISSING "doagent-test-missing.service"

/* Without a bus */

static char dir[] = "/tmp/doagent-systemd.XXXXXX";

static int offline_setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int offline_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_open_no_bus(void **state)
{
	_cleanup_free_ char *address = NULL, *cause = NULL;
	sd_bus *bus = NULL;
	int r;

	assert_true(asprintf(&address, "unix:path=%s/no-such-socket", dir) > 0);
	assert_int_equal(setenv("DBUS_SYSTEM_BUS_ADDRESS", address, 1), 0);
	r = systemd_open(&bus, &cause);
	unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
	assert_true(r < 0);
	assert_null(bus);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "system bus"));
	/* And without a place for the cause. */
	assert_int_equal(setenv("DBUS_SYSTEM_BUS_ADDRESS", address, 1), 0);
	assert_true(systemd_open(&bus, NULL) < 0);
	unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
	assert_null(bus);
}

/* A "bus" that accepts a connection and closes it at once. */
static pid_t hangup_server(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;) {
			int c = accept(fd, NULL, NULL);

			if (c < 0)
				_exit(0);
			close(c);
		}
	}
	close(fd);
	return pid;
}

/* Every call on a bus that went away fails with a cause; nothing crashes or leaks. */
static void test_bus_hangs_up(void **state)
{
	static const char *const units[] = { U_SLEEP, NULL };
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_free_ char *path = NULL, *address = NULL, *c1 = NULL, *c2 = NULL, *c3 = NULL,
			    *c4 = NULL, *c5 = NULL, *c6 = NULL, *st = NULL;
	pid_t pid;
	int r;

	assert_true(asprintf(&path, "%s/bus", dir) > 0);
	assert_true(asprintf(&address, "unix:path=%s", path) > 0);
	pid = hangup_server(path);
	assert_int_equal(setenv("DBUS_SYSTEM_BUS_ADDRESS", address, 1), 0);
	r = systemd_open(&bus, &c1);
	unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
	if (r < 0) {
		/* Refused while connecting: fine too, as long as it says so. */
		assert_null(bus);
		assert_non_null(c1);
	} else {
		assert_non_null(bus);
		assert_true(systemd_reload(bus, &c2) < 0);
		assert_non_null(c2);
		assert_non_null(strstr(c2, "daemon-reload"));
		assert_true(systemd_enable(bus, units, &c3) < 0);
		assert_non_null(strstr(c3, U_SLEEP));
		assert_true(systemd_disable(bus, units, &c4) < 0);
		assert_non_null(strstr(c4, U_SLEEP));
		assert_true(systemd_unit_action(bus, SYSTEMD_START, U_SLEEP, 1000, &c5) < 0);
		assert_non_null(strstr(c5, U_SLEEP));
		assert_true(systemd_active_state(bus, U_SLEEP, &st, &c6) < 0);
		assert_null(st);
		assert_non_null(strstr(c6, U_SLEEP));
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static void test_nothing_to_enable(void **state)
{
	static const char *const none[] = { NULL };

	/* No units: no bus call at all. */
	assert_int_equal(systemd_enable(NULL, none, NULL), 0);
	assert_int_equal(systemd_disable(NULL, NULL, NULL), 0);
}

/* With a real systemd */

static sd_bus *bus;
static bool made_local_parent, made_local_dir;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The unit's ActiveState is expect, or also_ok when that is not NULL. */
static void check_state2(const char *unit, const char *expect, const char *also_ok)
{
	_cleanup_free_ char *st = NULL, *cause = NULL;
	int r = systemd_active_state(bus, unit, &st, &cause);

	if (r < 0)
		fail_msg("state of %s: %s", unit, cause);
	if (strcmp(st, expect) != 0 && !(also_ok && strcmp(st, also_ok) == 0))
		fail_msg("%s is %s, expected %s", unit, st, expect);
}

static void check_state(const char *unit, const char *expect)
{
	check_state2(unit, expect, NULL);
}

static void run_ok(enum systemd_action action, const char *unit)
{
	_cleanup_free_ char *cause = NULL;
	int r = systemd_unit_action(bus, action, unit, TIMEOUT_MS, &cause);

	if (r < 0)
		fail_msg("%s (action %d): %d %s", unit, (int)action, r, cause);
}

static int live_setup(void **state)
{
	_cleanup_free_ char *cause = NULL;

	if (geteuid() != 0) {
		fprintf(stderr, "# DOAGENT_TEST_SYSTEMD=1 needs root\n");
		return -1;
	}
	if (systemd_open(&bus, &cause) < 0) {
		fprintf(stderr, "# %s\n", cause);
		return -1;
	}
	if (mkdir("/usr/local/lib/systemd", 0755) == 0)
		made_local_parent = true;
	else if (errno != EEXIST)
		return -1;
	if (mkdir(LOCAL_DIR, 0755) == 0)
		made_local_dir = true;
	else if (errno != EEXIST)
		return -1;
	write_file(UNIT_DIR "/" U_SLEEP,
		   "[Unit]\nDescription=doagent test: sleeps\n"
		   "[Service]\nExecStart=/bin/sleep 300\n"
		   "[Install]\nWantedBy=multi-user.target\n");
	write_file(UNIT_DIR "/" U_FAIL,
		   "[Unit]\nDescription=doagent test: fails\n"
		   "[Service]\nType=oneshot\nExecStart=/bin/false\n"
		   "[Install]\nWantedBy=multi-user.target\n");
	write_file(UNIT_DIR "/" U_STATIC,
		   "[Unit]\nDescription=doagent test: no [Install]\n"
		   "[Service]\nExecStart=/bin/sleep 300\n");
	write_file(UNIT_DIR "/" U_SLOW,
		   "[Unit]\nDescription=doagent test: a slow start\n"
		   "[Service]\nType=oneshot\nExecStart=/bin/sleep 10\n");
	write_file(UNIT_DIR "/" U_COND,
		   "[Unit]\nDescription=doagent test: a condition that fails\n"
		   "ConditionPathExists=/run/doagent-test-no-such-file\n"
		   "[Service]\nExecStart=/bin/sleep 300\n");
	write_file(LOCAL_DIR "/" U_LOCAL,
		   "[Unit]\nDescription=doagent test: under /usr/local\n"
		   "[Service]\nExecStart=/bin/sleep 300\n"
		   "[Install]\nWantedBy=multi-user.target\n");
	return 0;
}

static int live_teardown(void **state)
{
	static const char *const all[] = { U_SLEEP, U_FAIL, U_STATIC, U_LOCAL, U_SLOW, U_AFTER,
					   U_COND };
	static const char *const enabled[] = { U_SLEEP, U_LOCAL, NULL };
	size_t i;

	for (i = 0; i < ELEMENTSOF(all); i++) {
		_cleanup_free_ char *path = NULL;

		(void)systemd_unit_action(bus, SYSTEMD_STOP, all[i], TIMEOUT_MS, NULL);
		if (asprintf(&path, UNIT_DIR "/%s", all[i]) > 0)
			unlink(path);
	}
	(void)systemd_disable(bus, enabled, NULL);
	unlink(WANTS_DIR "/" U_SLEEP);
	unlink(WANTS_DIR "/" U_LOCAL);
	unlink(LOCAL_DIR "/" U_LOCAL);
	if (made_local_dir)
		rmdir(LOCAL_DIR);
	if (made_local_parent)
		rmdir("/usr/local/lib/systemd");
	(void)systemd_reload(bus, NULL);
	(void)sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
				 "org.freedesktop.systemd1.Manager", "ResetFailed", NULL, NULL, NULL);
	bus = sd_bus_flush_close_unref(bus);
	return 0;
}

static int need_daemon_reload(const char *unit)
{
	_cleanup_free_ char *path = NULL;
	int need = -1;

	assert_true(sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path) >= 0);
	assert_true(sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", path,
						"org.freedesktop.systemd1.Unit", "NeedDaemonReload",
						NULL, 'b', &need) >= 0);
	return need;
}

/* When the call returns, the manager has read the changed file. (The unit runs: an
 * inactive unit nothing refers to is unloaded, and loaded afresh when asked about.) */
static void test_reload(void **state)
{
	_cleanup_free_ char *c1 = NULL, *c2 = NULL, *path = NULL, *description = NULL;

	if (systemd_reload(bus, &c1) < 0)
		fail_msg("%s", c1);
	run_ok(SYSTEMD_START, U_SLEEP);
	assert_int_equal(need_daemon_reload(U_SLEEP), 0);
	write_file(UNIT_DIR "/" U_SLEEP,
		   "[Unit]\nDescription=doagent test: sleeps, changed\n"
		   "[Service]\nExecStart=/bin/sleep 300\n"
		   "[Install]\nWantedBy=multi-user.target\n");
	assert_int_equal(need_daemon_reload(U_SLEEP), 1);
	if (systemd_reload(bus, &c2) < 0)
		fail_msg("%s", c2);
	assert_int_equal(need_daemon_reload(U_SLEEP), 0);
	assert_true(sd_bus_path_encode("/org/freedesktop/systemd1/unit", U_SLEEP, &path) >= 0);
	assert_true(sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path,
					       "org.freedesktop.systemd1.Unit", "Description", NULL,
					       &description) >= 0);
	assert_string_equal(description, "doagent test: sleeps, changed");
	check_state(U_SLEEP, "active");
	run_ok(SYSTEMD_STOP, U_SLEEP);
}

static void test_enable_disable(void **state)
{
	static const char *const units[] = { U_SLEEP, U_LOCAL, NULL };
	_cleanup_free_ char *c1 = NULL, *c2 = NULL, *c3 = NULL;

	if (systemd_enable(bus, units, &c1) < 0)
		fail_msg("enable: %s", c1);
	assert_true(exists(WANTS_DIR "/" U_SLEEP));
	assert_true(exists(WANTS_DIR "/" U_LOCAL));
	/* Again: already enabled is fine. */
	if (systemd_enable(bus, units, &c2) < 0)
		fail_msg("enable again: %s", c2);
	if (systemd_disable(bus, units, &c3) < 0)
		fail_msg("disable: %s", c3);
	assert_false(exists(WANTS_DIR "/" U_SLEEP));
	assert_false(exists(WANTS_DIR "/" U_LOCAL));
	assert_int_equal(systemd_disable(bus, units, NULL), 0);
}

static void test_enable_without_install(void **state)
{
	static const char *const units[] = { U_SLEEP, U_STATIC, NULL };
	_cleanup_free_ char *cause = NULL;
	int r = systemd_enable(bus, units, &cause);

	printf("# enable %s: %d %s\n", U_STATIC, r, cause ? cause : "");
	assert_int_equal(r, -EOPNOTSUPP);
	assert_non_null(strstr(cause, U_STATIC));
	assert_non_null(strstr(cause, "[Install]"));
	assert_int_equal(systemd_disable(bus, units, NULL), 0);
}

static void test_enable_missing(void **state)
{
	static const char *const units[] = { U_MISSING, NULL };
	_cleanup_free_ char *c1 = NULL, *c2 = NULL;
	int r;

	r = systemd_enable(bus, units, &c1);
	printf("# enable %s: %d %s\n", U_MISSING, r, c1 ? c1 : "");
	assert_true(r < 0);
	assert_non_null(strstr(c1, U_MISSING));
	r = systemd_disable(bus, units, &c2);
	printf("# disable %s: %d %s\n", U_MISSING, r, c2 ? c2 : "");
}

static void test_start_restart_stop(void **state)
{
	check_state(U_SLEEP, "inactive");
	run_ok(SYSTEMD_START, U_SLEEP);
	check_state(U_SLEEP, "active");
	/* Starting what runs is a job too, done at once. */
	run_ok(SYSTEMD_START, U_SLEEP);
	run_ok(SYSTEMD_RESTART, U_SLEEP);
	check_state(U_SLEEP, "active");
	run_ok(SYSTEMD_STOP, U_SLEEP);
	check_state(U_SLEEP, "inactive");
	run_ok(SYSTEMD_STOP, U_SLEEP);
	check_state(U_SLEEP, "inactive");
	/* Restart of a stopped unit starts it. */
	run_ok(SYSTEMD_RESTART, U_SLEEP);
	check_state(U_SLEEP, "active");
	run_ok(SYSTEMD_STOP, U_SLEEP);
}

static void test_failed_unit(void **state)
{
	_cleanup_free_ char *cause = NULL;
	int r = systemd_unit_action(bus, SYSTEMD_START, U_FAIL, TIMEOUT_MS, &cause);

	printf("# start %s: %d %s\n", U_FAIL, r, cause ? cause : "");
	assert_int_equal(r, -EIO);
	assert_non_null(strstr(cause, U_FAIL));
	assert_non_null(strstr(cause, "'failed'"));
	check_state(U_FAIL, "failed");
}

/* A failed condition does not fail the job: the start is "done" and the unit stays
 * inactive. Callers that need the unit running check its ActiveState. */
static void test_condition_fails(void **state)
{
	run_ok(SYSTEMD_START, U_COND);
	check_state(U_COND, "inactive");
}

static void test_missing_unit(void **state)
{
	_cleanup_free_ char *c1 = NULL, *c2 = NULL, *c3 = NULL;
	int r;

	r = systemd_unit_action(bus, SYSTEMD_START, U_MISSING, TIMEOUT_MS, &c1);
	printf("# start %s: %d %s\n", U_MISSING, r, c1 ? c1 : "");
	assert_true(r < 0);
	assert_non_null(strstr(c1, U_MISSING));
	r = systemd_unit_action(bus, SYSTEMD_STOP, U_MISSING, TIMEOUT_MS, &c2);
	printf("# stop %s: %d %s\n", U_MISSING, r, c2 ? c2 : "");
	/* The manager knows no such unit; LoadUnit says it is inactive. */
	check_state(U_MISSING, "inactive");
	r = systemd_unit_action(bus, SYSTEMD_START, "not a unit name", TIMEOUT_MS, &c3);
	printf("# start 'not a unit name': %d %s\n", r, c3 ? c3 : "");
	assert_true(r < 0);
	assert_non_null(strstr(c3, "not a unit name"));
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_timeout(void **state)
{
	_cleanup_free_ char *cause = NULL;
	uint64_t start = now_ms(), took;
	int r = systemd_unit_action(bus, SYSTEMD_START, U_SLOW, 500, &cause);

	took = now_ms() - start;
	printf("# start %s with 500 ms: %d %s (%llu ms)\n", U_SLOW, r, cause ? cause : "",
	       (unsigned long long)took);
	assert_int_equal(r, -ETIMEDOUT);
	assert_non_null(strstr(cause, U_SLOW));
	assert_true(took >= 490 && took < 1500);
	check_state(U_SLOW, "activating");
	/* The stop job replaces the start job, which ends as "canceled"; the oneshot's
	 * process is killed, and systemd 252 counts that as a failure. */
	run_ok(SYSTEMD_STOP, U_SLOW);
	check_state2(U_SLOW, "inactive", "failed");
}

/* A start of a unit ordered after the one we run in is refused, not waited for. */
static void test_deadlock_refused(void **state)
{
	_cleanup_free_ char *self = NULL, *text = NULL, *c1 = NULL, *c2 = NULL;
	int r;

	if (sd_pid_get_unit(0, &self) < 0) {
		printf("# not in a system unit: the ordering guard is not tested\n");
		skip();
	}
	assert_true(asprintf(&text,
			     "[Unit]\nDescription=doagent test: after us\nAfter=%s\n"
			     "[Service]\nExecStart=/bin/sleep 300\n",
			     self) > 0);
	write_file(UNIT_DIR "/" U_AFTER, text);
	if (systemd_reload(bus, &c1) < 0)
		fail_msg("%s", c1);
	r = systemd_unit_action(bus, SYSTEMD_START, U_AFTER, TIMEOUT_MS, &c2);
	printf("# start %s (After=%s): %d %s\n", U_AFTER, self, r, c2 ? c2 : "");
	assert_int_equal(r, -EDEADLK);
	assert_non_null(strstr(c2, self));
	check_state(U_AFTER, "inactive");
	/* Stopping it waits for nothing of ours. */
	run_ok(SYSTEMD_STOP, U_AFTER);
}

int main(void)
{
	const struct CMUnitTest offline[] = {
		cmocka_unit_test(test_open_no_bus),
		cmocka_unit_test(test_bus_hangs_up),
		cmocka_unit_test(test_nothing_to_enable),
	};
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_enable_disable),
		cmocka_unit_test(test_enable_without_install),
		cmocka_unit_test(test_enable_missing),
		cmocka_unit_test(test_start_restart_stop),
		cmocka_unit_test(test_failed_unit),
		cmocka_unit_test(test_condition_fails),
		cmocka_unit_test(test_missing_unit),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_deadlock_refused),
	};
	const char *mode = getenv("DOAGENT_TEST_SYSTEMD");

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mode && strcmp(mode, "1") == 0) {
		printf("# test-systemd: against the running systemd (DOAGENT_TEST_SYSTEMD=1)\n");
		return cmocka_run_group_tests_name("systemd", live, live_setup, live_teardown);
	}
	printf("# test-systemd: without a system bus (DOAGENT_TEST_SYSTEMD=1 runs the real calls)\n");
	return cmocka_run_group_tests_name("systemd-offline", offline, offline_setup, offline_teardown);
}

/* The readiness check against a real redis-server serving plaintext on 127.0.0.1 and
 * TLS (its own tls-port, the fixtures' certificate): what answers passes, an address
 * nothing listens on (a daemon that skipped a bind) fails naming it, a refused
 * password fails at once, and a certificate that does not verify fails. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "backoff.h"
#include "endpoint.h"
#include "macro.h"

#define PASSWORD "endpoint-test-pw-51 'quoted' $x"
#define REDIS_CLI "/usr/bin/redis-cli"

static char dir[] = "/tmp/doagent-endpoint.XXXXXX";
static pid_t redis_pid = -1;
static unsigned port, tls_port;
static char cert[4096], other[4096], key[4096];

static void need(bool ok, const char *why)
{
	const char *no_skip = getenv("DOAGENT_NO_SKIP");

	if (ok)
		return;
	if (no_skip && strcmp(no_skip, "1") == 0)
		fail_msg("cannot run (DOAGENT_NO_SKIP=1): %s", why);
	fprintf(stderr, "# skipped: %s\n", why);
	skip();
}

static unsigned free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return 0;
	return ntohs(sa.sin_port);
}

static bool answers(unsigned p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

static int setup(void **state)
{
	const char *top = getenv("top_srcdir");
	char p[16], tp[16], log[sizeof(dir) + 16];
	uint64_t start;
	int status;

	if (!mkdtemp(dir))
		return -1;
	if (!top)
		top = ".";
	snprintf(cert, sizeof(cert), "%s/tests/fixtures/tls/valid-cert.pem", top);
	snprintf(key, sizeof(key), "%s/tests/fixtures/tls/valid-key.pem", top);
	snprintf(other, sizeof(other), "%s/tests/fixtures/tls/ca-cert.pem", top);
	if (access("/usr/bin/redis-server", X_OK) < 0 || access(REDIS_CLI, X_OK) < 0 || access(cert, R_OK) < 0)
		return 0;
	port = free_port();
	tls_port = free_port();
	snprintf(p, sizeof(p), "%u", port);
	snprintf(tp, sizeof(tp), "%u", tls_port);
	snprintf(log, sizeof(log), "%s/redis.log", dir);
	redis_pid = fork();
	if (redis_pid < 0)
		return -1;
	if (redis_pid == 0) {
		const char *argv[] = { "/usr/bin/redis-server", "--port", p, "--bind", "127.0.0.1",
				       "--tls-port", tp, "--tls-cert-file", cert, "--tls-key-file", key,
				       "--tls-auth-clients", "no", "--requirepass", PASSWORD, "--save", "",
				       "--appendonly", "no", "--daemonize", "no", "--dir", dir, "--logfile", log, NULL };

		execv(argv[0], (char **)argv);
		_exit(127);
	}
	for (start = backoff_now_ms(); !answers(port) || !answers(tls_port); usleep(20000)) {
		if (waitpid(redis_pid, &status, WNOHANG) == redis_pid) {
			fprintf(stderr, "# redis-server exited (status %d); see %s\n", status, log);
			redis_pid = -1;
			return -1;
		}
		if (backoff_now_ms() - start > 10000) {
			fprintf(stderr, "# redis-server does not listen after 10 s\n");
			return -1;
		}
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[sizeof(dir) + 16];
	int status, i;

	if (redis_pid > 0) {
		/* Started with --save '': SIGTERM ends it without a save that could fail. */
		kill(redis_pid, SIGTERM);
		for (i = 0; i < 100 && waitpid(redis_pid, &status, WNOHANG) == 0; i++)
			usleep(50000);
		if (i == 100) {
			kill(redis_pid, SIGKILL);
			waitpid(redis_pid, &status, 0);
		}
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void need_redis(void)
{
	need(redis_pid > 0, "redis-server, redis-cli or the TLS fixtures are missing");
}

static struct endpoint_client client(const char *password, const char *cacert)
{
	return (struct endpoint_client){ .password = password, .cacert = cacert, .redis_cli = REDIS_CLI };
}

static void test_plaintext_and_tls_answer(void **state)
{
	struct plan_endpoint plain = { "127.0.0.1", port, false, false }, tls = { "127.0.0.1", tls_port, true, false };
	struct endpoint_client c;
	char *cause = NULL;

	need_redis();
	c = client(PASSWORD, cert);
	assert_int_equal(endpoint_ping(&plain, &c, 3000, &cause), 0);
	assert_null(cause);
	assert_int_equal(endpoint_ping(&tls, &c, 5000, &cause), 0);
	assert_null(cause);
}

static void test_tls_wrong_password(void **state)
{
	struct plan_endpoint tls = { "127.0.0.1", tls_port, true, false };
	struct endpoint_client c;
	char *cause = NULL;

	need_redis();
	c = client("not-the-password", cert);
	assert_int_equal(endpoint_ping(&tls, &c, 5000, &cause), -EACCES);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "WRONGPASS"));
	free(cause);
}

static void test_tls_certificate_must_verify(void **state)
{
	struct plan_endpoint tls = { "127.0.0.1", tls_port, true, false };
	struct endpoint_client c;
	char *cause = NULL, want[64];

	need_redis();
	c = client(PASSWORD, other);
	assert_int_equal(endpoint_ping(&tls, &c, 5000, &cause), -EIO);
	snprintf(want, sizeof(want), "through TLS at 127.0.0.1:%u", tls_port);
	assert_non_null(cause);
	assert_non_null(strstr(cause, want));
	assert_null(strstr(cause, PASSWORD));
	free(cause);
}

static void test_all_answer(void **state)
{
	struct plan_endpoint e[] = { { "127.0.0.1", tls_port, true, false }, { "127.0.0.1", port, false, false } };
	struct endpoint_client c;
	char *cause = NULL;

	need_redis();
	c = client(PASSWORD, cert);
	assert_int_equal(endpoint_check_all(e, ELEMENTSOF(e), &c, 10000, &cause), 0);
	assert_null(cause);
}

/* 127.0.0.2 is on loopback, but Redis binds 127.0.0.1 only: what a daemon that skipped
 * an address looks like. It is retried until the deadline, then named. */
static void test_skipped_bind_is_caught(void **state)
{
	struct plan_endpoint e[] = { { "127.0.0.1", port, false, false }, { "127.0.0.2", port, false, false },
				     { "127.0.0.1", tls_port, true, false } };
	struct endpoint_client c;
	char *cause = NULL, want[64];
	uint64_t t0, ms;

	need_redis();
	c = client(PASSWORD, cert);
	t0 = backoff_now_ms();
	assert_int_equal(endpoint_check_all(e, ELEMENTSOF(e), &c, 1500, &cause), -ECONNREFUSED);
	ms = backoff_now_ms() - t0;
	assert_true(ms >= 1400);
	assert_non_null(cause);
	snprintf(want, sizeof(want), "PING at 127.0.0.2:%u", port);
	assert_non_null(strstr(cause, want));
	assert_non_null(strstr(cause, "1 of the 3 endpoints answered before it"));
	assert_null(strstr(cause, PASSWORD));
	free(cause);
}

static void test_refused_password_fails_at_once(void **state)
{
	struct plan_endpoint e[] = { { "127.0.0.1", port, false, false } };
	struct endpoint_client c;
	char *cause = NULL;
	uint64_t t0;

	need_redis();
	c = client("wrong", cert);
	t0 = backoff_now_ms();
	assert_int_equal(endpoint_check_all(e, ELEMENTSOF(e), &c, 10000, &cause), -EACCES);
	assert_true(backoff_now_ms() - t0 < 3000);
	free(cause);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plaintext_and_tls_answer),
		cmocka_unit_test(test_tls_wrong_password),
		cmocka_unit_test(test_tls_certificate_must_verify),
		cmocka_unit_test(test_all_answer),
		cmocka_unit_test(test_skipped_bind_is_caught),
		cmocka_unit_test(test_refused_password_fails_at_once),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* RESP2 parsing, and resp_ping against a real redis-server and small fake peers. */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "macro.h"
#include "test-redis.h"
#include "resp.h"

/* Spaces, both quotes, backslashes, a '$' and CR-less RESP look-alikes. */
#define PASSWORD "s3cr\\et p\"ass 'w\\\\ord' $5 x"
#define TIMEOUT_MS 3000

struct parse_case {
	const char *in;
	size_t len;		/* 0: strlen(in) */
	long expect;		/* bytes consumed, 0 (more needed) or -errno */
	enum resp_kind kind;
	const char *text;
	long long integer;
};

#define OK(s, k, t, i) { s, 0, (long)sizeof(s) - 1, k, t, i }
#define MORE(s) { s, 0, 0, 0, NULL, 0 }
#define BAD(s) { s, 0, -EBADMSG, 0, NULL, 0 }

static const struct parse_case parse_cases[] = {
	OK("+OK\r\n", RESP_SIMPLE, "OK", 0),
	OK("+PONG\r\n", RESP_SIMPLE, "PONG", 0),
	OK("+\r\n", RESP_SIMPLE, "", 0),
	OK("-WRONGPASS invalid username-password pair\r\n", RESP_ERROR,
	   "WRONGPASS invalid username-password pair", 0),
	OK(":0\r\n", RESP_INTEGER, NULL, 0),
	OK(":-42\r\n", RESP_INTEGER, NULL, -42),
	OK(":9223372036854775807\r\n", RESP_INTEGER, NULL, 9223372036854775807LL),
	OK(":-9223372036854775808\r\n", RESP_INTEGER, NULL, -9223372036854775807LL - 1),
	OK("$4\r\nPONG\r\n", RESP_BULK, "PONG", 0),
	OK("$0\r\n\r\n", RESP_BULK, "", 0),
	OK("$6\r\na\r\nb\nc\r\n", RESP_BULK, "a\r\nb\nc", 0),	/* binary safe */
	OK("$-1\r\n", RESP_NIL, NULL, 0),
	OK("*-1\r\n", RESP_NIL, NULL, 0),
	OK("*2\r\n", RESP_ARRAY, NULL, 2),
	OK("*0\r\n", RESP_ARRAY, NULL, 0),
	/* One reply of several: only the first is consumed. */
	{ "+OK\r\n+PONG\r\n", 0, 5, RESP_SIMPLE, "OK", 0 },
	{ "$-1\r\n:1\r\n", 0, 5, RESP_NIL, NULL, 0 },

	MORE(""),
	MORE("+"),
	MORE("+OK"),
	MORE("+OK\r"),
	MORE("-ERR some"),
	MORE(":12"),
	MORE(":-"),
	MORE("$"),
	MORE("$4"),
	MORE("$4\r"),
	MORE("$4\r\n"),
	MORE("$4\r\nPON"),
	MORE("$4\r\nPONG"),
	MORE("$4\r\nPONG\r"),
	MORE("$536870912\r\n"),		/* 512 MiB, Redis' maximum: allowed, incomplete */
	MORE("*"),

	BAD("HTTP/1.1 400 Bad Request\r\n"),
	BAD("H"),
	BAD("SSH-2.0-OpenSSH_9.2\r\n"),
	BAD("\x16\x03\x01\x02\x00"),		/* a TLS ClientHello */
	BAD("OK\r\n"),
	BAD("+OK\n"),			/* LF without CR */
	BAD("+O\rK\r\n"),		/* CR without LF */
	BAD(":\r\n"),
	BAD(":+1\r\n"),
	BAD(": 1\r\n"),
	BAD(":1 \r\n"),
	BAD(":01\r\n"),
	BAD(":-0x1\r\n"),
	BAD(":1x"),			/* known bad before the line ends */
	BAD(":9223372036854775808\r\n"),
	BAD(":-9223372036854775809\r\n"),
	BAD(":123456789012345678901234567890"),	/* too long to be a number, no CRLF yet */
	BAD("$\r\n"),
	BAD("$-\r\n"),
	BAD("$-0\r\n"),
	BAD("$-2\r\n"),
	BAD("$-100\r\n"),
	BAD("$-9223372036854775808\r\n"),
	BAD("$536870913\r\n"),		/* longer than Redis would ever send */
	BAD("$9223372036854775807\r\n"),
	BAD("$18446744073709551615\r\n"),	/* would wrap a size_t */
	BAD("$99999999999999999999999\r\n"),
	BAD("$4\r\nPONGx\r\n"),		/* not terminated where the length says */
	BAD("$4\r\nPONG\rx"),
	BAD("$4\r\nPONGx"),
	BAD("*-2\r\n"),
	BAD("*2147483648\r\n"),
	BAD("*a\r\n"),
};

static void test_parse_table(void **state)
{
	size_t i;

	for (i = 0; i < ELEMENTSOF(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		struct resp_reply r = { .kind = RESP_ARRAY, .text = NULL, .integer = 12345 };
		long n = resp_parse(c->in, len, &r);

		if (n != c->expect)
			fail_msg("case %zu (\"%s\"): got %ld, expected %ld", i, c->in, n, c->expect);
		if (n <= 0) {
			/* Untouched on failure and when more is needed. */
			assert_int_equal(r.kind, RESP_ARRAY);
			assert_null(r.text);
			assert_int_equal(r.integer, 12345);
			continue;
		}
		assert_int_equal(r.kind, c->kind);
		if (c->text)
			assert_string_equal(r.text, c->text);
		else
			assert_null(r.text);
		if (c->kind == RESP_INTEGER || c->kind == RESP_ARRAY)
			assert_true(r.integer == c->integer);
		resp_reply_done(&r);
		resp_reply_done(&r);	/* twice is harmless */
	}
}

/* Every prefix of a valid reply asks for more; the whole parses. */
static void test_parse_prefixes(void **state)
{
	static const char *const replies[] = { "+OK\r\n", "-ERR x y\r\n", ":-17\r\n", "$5\r\nhello\r\n",
					       "$-1\r\n", "*3\r\n" };
	size_t i, k;

	for (i = 0; i < ELEMENTSOF(replies); i++) {
		size_t len = strlen(replies[i]);
		struct resp_reply r = { 0 };

		for (k = 0; k < len; k++)
			assert_int_equal(resp_parse(replies[i], k, &r), 0);
		assert_int_equal(resp_parse(replies[i], len, &r), (long)len);
		resp_reply_done(&r);
	}
}

/* Bytes after the first NUL count: a bulk holds what its length says. */
static void test_parse_binary(void **state)
{
	static const char in[] = "$3\r\na\0b\r\n";
	struct resp_reply r = { 0 };

	assert_int_equal(resp_parse(in, sizeof(in) - 1, &r), (long)sizeof(in) - 1);
	assert_int_equal(r.kind, RESP_BULK);
	assert_memory_equal(r.text, "a\0b", 4);
	resp_reply_done(&r);
	/* A NUL in a status line is not Redis. */
	assert_int_equal(resp_parse("+O\0K\r\n", 6, &r), -EBADMSG);
}

/* A long error line: accepted up to a bound, refused beyond it, even unfinished. */
static void test_parse_long_lines(void **state)
{
	size_t big = 1 << 20;
	_cleanup_free_ char *s = malloc(big + 3);
	struct resp_reply r = { 0 };

	assert_non_null(s);
	s[0] = '-';
	memset(s + 1, 'x', big - 1);
	assert_int_equal(resp_parse(s, 1000, &r), 0);
	assert_int_equal(resp_parse(s, big, &r), -EBADMSG);
	memcpy(s + 1000, "\r\n", 2);
	assert_int_equal(resp_parse(s, big, &r), 1002);
	assert_int_equal(strlen(r.text), 999);
	resp_reply_done(&r);
}

/* The real thing. */

static char dir[] = "/tmp/doagent-resp.XXXXXX";
static pid_t redis_pid = -1;
static unsigned redis_port;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A loopback socket bound to a port the kernel picked; listening when backlog >= 0. */
static int loopback_socket(int backlog, unsigned *ret_port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (backlog >= 0)
		assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*ret_port = ntohs(sa.sin_port);
	return fd;
}

static unsigned free_port(void)
{
	unsigned port;

	close(loopback_socket(-1, &port));
	return port;
}

static bool can_connect(unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}


static bool port_answers(const void *port)
{
	return can_connect(*(const unsigned *)port);
}

static int setup(void **state)
{
	char port[16], log[sizeof(dir) + 16];
	const char *argv[] = { test_redis_server(), "--port", port, "--bind", "127.0.0.1",
			       "--requirepass", PASSWORD, "--save", "", "--appendonly", "no",
			       "--daemonize", "no", "--dir", dir, "--logfile", log, NULL };

	if (!mkdtemp(dir))
		return -1;
	if (access(test_redis_server(), X_OK) < 0) {
		fprintf(stderr, "# %s: not found; the tests against Redis are skipped\n",
			test_redis_server());
		return 0;
	}
	redis_port = free_port();
	snprintf(port, sizeof(port), "%u", redis_port);
	snprintf(log, sizeof(log), "%s/redis.log", dir);
	redis_pid = test_redis_start(argv, port_answers, &redis_port, log);
	return redis_pid < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	test_redis_stop(redis_pid);
	redis_pid = -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void need_redis(void)
{
	if (redis_pid <= 0)
		skip();
}

static void test_ping_right_password(void **state)
{
	char *cause = NULL;

	need_redis();
	assert_int_equal(resp_ping("127.0.0.1", redis_port, PASSWORD, TIMEOUT_MS, &cause), 0);
	assert_null(cause);
	/* Again, and without a place for the cause. */
	assert_int_equal(resp_ping("127.0.0.1", redis_port, PASSWORD, TIMEOUT_MS, NULL), 0);
}

static void test_ping_wrong_password(void **state)
{
	static const char *const wrong[] = { "s3cr\\et p\"ass 'w\\\\ord' $5 ", "", "hunter2",
					     "\r\n+OK\r\n" };
	size_t i;

	need_redis();
	for (i = 0; i < ELEMENTSOF(wrong); i++) {
		_cleanup_free_ char *cause = NULL;

		assert_int_equal(resp_ping("127.0.0.1", redis_port, wrong[i], TIMEOUT_MS, &cause), -EACCES);
		assert_non_null(cause);
		assert_non_null(strstr(cause, "WRONGPASS"));
		if (*wrong[i])
			assert_null(strstr(cause, wrong[i]));
		assert_null(strstr(cause, PASSWORD));
	}
	/* Redis is still fine afterwards. */
	assert_int_equal(resp_ping("127.0.0.1", redis_port, PASSWORD, TIMEOUT_MS, NULL), 0);
}

static void test_ping_refused(void **state)
{
	_cleanup_free_ char *cause = NULL;
	unsigned port = free_port();

	assert_int_equal(resp_ping("127.0.0.1", port, PASSWORD, TIMEOUT_MS, &cause), -ECONNREFUSED);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "127.0.0.1:"));
	assert_null(strstr(cause, PASSWORD));
}

static void test_ping_bad_arguments(void **state)
{
	_cleanup_free_ char *c1 = NULL, *c2 = NULL, *c3 = NULL;

	assert_int_equal(resp_ping("localhost", 6379, PASSWORD, TIMEOUT_MS, &c1), -EINVAL);
	assert_non_null(c1);
	assert_int_equal(resp_ping("127.0.0.1", 0, PASSWORD, TIMEOUT_MS, &c2), -EINVAL);
	assert_non_null(c2);
	assert_int_equal(resp_ping("127.0.0.1", 65536, PASSWORD, TIMEOUT_MS, &c3), -EINVAL);
	assert_int_equal(resp_ping(NULL, 6379, PASSWORD, TIMEOUT_MS, NULL), -EINVAL);
	assert_int_equal(resp_ping("127.0.0.1", 6379, NULL, TIMEOUT_MS, NULL), -EINVAL);
}

/* A server that accepts (in the kernel's backlog) and never says anything. */
static void test_ping_silent(void **state)
{
	_cleanup_free_ char *cause = NULL;
	_cleanup_close_ int fd = -1;
	unsigned port;
	uint64_t start, took;

	fd = loopback_socket(4, &port);
	start = now_ms();
	assert_int_equal(resp_ping("127.0.0.1", port, PASSWORD, 500, &cause), -ETIMEDOUT);
	took = now_ms() - start;
	assert_true(took >= 490);
	if (took > 700)
		fail_msg("timed out after %llu ms, not about 500", (unsigned long long)took);
	assert_non_null(cause);
	assert_null(strstr(cause, PASSWORD));
}

/*
 * A fake peer in a thread (a forked child would be leak-checked by valgrind on its
 * own): accepts one connection, reads the request (until PING's last line, EOF or
 * 2 s), answers with reply (in two writes when split), shuts its side down when
 * hangup, and then waits for the client to close.
 */
struct fake {
	pthread_t thread;
	int lfd;
	unsigned port;
	const char *reply;
	size_t len;
	bool split, hangup;
	bool answered;
};

static void *fake_serve(void *userdata)
{
	struct fake *f = userdata;
	struct pollfd pfd = { .fd = f->lfd, .events = POLLIN };
	char req[4096];
	size_t got = 0;
	int fd;

	if (poll(&pfd, 1, 5000) <= 0)
		return NULL;
	fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return NULL;
	pfd.fd = fd;
	while (got < sizeof(req) - 1 && poll(&pfd, 1, 2000) > 0) {
		ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (got >= 6 && memcmp(req + got - 6, "PING\r\n", 6) == 0)
			break;
	}
	if (f->split && f->len > 1) {
		(void)!send(fd, f->reply, f->len / 2, MSG_NOSIGNAL);
		usleep(100000);
		(void)!send(fd, f->reply + f->len / 2, f->len - f->len / 2, MSG_NOSIGNAL);
	} else
		(void)!send(fd, f->reply, f->len, MSG_NOSIGNAL);
	f->answered = true;
	if (f->hangup)
		shutdown(fd, SHUT_WR);
	while (poll(&pfd, 1, 5000) > 0 && read(fd, req, sizeof(req)) > 0)
		;
	close(fd);
	return NULL;
}

static int fake_ping(const char *reply, size_t len, bool split, bool hangup, char **ret_cause)
{
	struct fake f = { .reply = reply, .len = len, .split = split, .hangup = hangup };
	int r;

	f.lfd = loopback_socket(1, &f.port);
	assert_int_equal(pthread_create(&f.thread, NULL, fake_serve, &f), 0);
	r = resp_ping("127.0.0.1", f.port, PASSWORD, TIMEOUT_MS, ret_cause);
	assert_int_equal(pthread_join(f.thread, NULL), 0);
	close(f.lfd);
	assert_true(f.answered);
	return r;
}

#define FAKE(s, split, hangup, cause) fake_ping(s, sizeof(s) - 1, split, hangup, cause)

static void test_ping_http(void **state)
{
	_cleanup_free_ char *cause = NULL;

	assert_int_equal(FAKE("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", false, false,
			      &cause), -EBADMSG);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "not Redis"));
	assert_null(strstr(cause, PASSWORD));
}

static void test_ping_fakes(void **state)
{
	_cleanup_free_ char *c1 = NULL, *c2 = NULL, *c3 = NULL, *c4 = NULL, *c5 = NULL, *c6 = NULL;
	_cleanup_free_ char *huge = NULL;
	size_t i, n = 70000;

	/* Both replies in pieces: fine. */
	assert_int_equal(FAKE("+OK\r\n+PONG\r\n", true, false, NULL), 0);
	/* Redis is loading: there, but not ready. */
	assert_int_equal(FAKE("+OK\r\n-LOADING Redis is loading the dataset in memory\r\n", false, false,
			      &c1), -EAGAIN);
	assert_non_null(strstr(c1, "LOADING"));
	/* An error that echoes the password is not repeated. */
	assert_int_equal(FAKE("-ERR bad password " PASSWORD "\r\n", false, false, &c2), -EACCES);
	assert_null(strstr(c2, PASSWORD));
	assert_null(strstr(c2, "p\"ass"));
	/* Closed after AUTH. */
	assert_int_equal(FAKE("+OK\r\n", false, true, &c3), -ECONNRESET);
	assert_non_null(c3);
	/* Something else than +OK and +PONG. */
	assert_int_equal(FAKE("+OK\r\n$4\r\nPONG\r\n", false, false, &c4), -EBADMSG);
	assert_int_equal(FAKE(":1\r\n", false, false, &c5), -EBADMSG);
	/* A reply that never ends within the bound. */
	huge = malloc(n + 16);
	assert_non_null(huge);
	i = (size_t)sprintf(huge, "+OK\r\n$%zu\r\n", n);
	memset(huge + i, 'x', n + 16 - i);
	assert_int_equal(fake_ping(huge, n + 16, false, false, &c6), -EBADMSG);
	assert_non_null(c6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_prefixes),
		cmocka_unit_test(test_parse_binary),
		cmocka_unit_test(test_parse_long_lines),
		cmocka_unit_test(test_ping_right_password),
		cmocka_unit_test(test_ping_wrong_password),
		cmocka_unit_test(test_ping_refused),
		cmocka_unit_test(test_ping_bad_arguments),
		cmocka_unit_test(test_ping_silent),
		cmocka_unit_test(test_ping_http),
		cmocka_unit_test(test_ping_fakes),
	};

	signal(SIGPIPE, SIG_DFL);	/* resp_ping must not need SIGPIPE ignored */
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * httpget, doagent's own HTTP GET: the response parser fed whole and a byte at a time,
 * and the client against a scripted server forked on loopback (it records the request
 * and answers with exactly the bytes, pauses, resets and stalls each test asks for).
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "backoff.h"
#include "httpget.h"
#include "macro.h"

/* How late an answer or a wake-up may be on a busy machine (or under valgrind). */
#define SLACK_MS 700

static _printf_(1, 2) char *xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	assert_true(vasprintf(&s, fmt, ap) >= 0);
	va_end(ap);
	return s;
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!haystack || !strstr(haystack, needle))
		fail_msg("\"%s\" does not contain \"%s\"", haystack ? haystack : "(null)", needle);
}

static void assert_elapsed(uint64_t start, uint64_t min_ms, uint64_t max_ms)
{
	uint64_t took = backoff_now_ms() - start;

	if (took < min_ms || took > max_ms)
		fail_msg("took %llu ms, expected %llu to %llu", (unsigned long long)took,
			 (unsigned long long)min_ms, (unsigned long long)max_ms);
}

/* ---- the parser ---- */

struct parse_case {
	const char *name;
	const char *input;
	size_t len;		/* 0: strlen(input) */
	bool close;		/* the server closes after input */
	size_t max_body;	/* 0: the default */
	int want;		/* 0, -EPROTO, -E2BIG */
	long status;
	const char *body;	/* when want == 0 */
	const char *error;	/* a part of p.error when want < 0 */
};

/* Feed c->input in pieces of step bytes (0: all at once); returns what the parser says
 * in the end, 1 for a complete response. */
static int parse_in_steps(const struct parse_case *c, size_t step, struct httpget_parser *p)
{
	size_t len = c->len ? c->len : strlen(c->input), pos = 0;
	int r = 0;

	httpget_parser_init(p, c->max_body);
	while (pos < len && r == 0) {
		size_t n = step && step < len - pos ? step : len - pos, used = 0;

		r = httpget_parser_feed(p, c->input + pos, n, &used);
		if (r >= 0 && r == 0)
			assert_int_equal(used, n);
		pos += n;
	}
	if (r == 0 && c->close)
		r = httpget_parser_finish(p);
	return r;
}

static void check_case(const struct parse_case *c, size_t step)
{
	struct httpget_parser p;
	int r = parse_in_steps(c, step, &p);

	if (c->want == 0) {
		if (r != 1)
			fail_msg("%s (steps of %zu): %d (%s), expected a complete response", c->name, step, r,
				 p.error ? p.error : "no error");
		assert_int_equal(p.status, c->status);
		assert_int_equal(p.body.len, strlen(c->body));
		assert_memory_equal(p.body.len ? p.body.data : "", c->body, strlen(c->body));
	} else {
		if (r != c->want)
			fail_msg("%s (steps of %zu): %d (%s), expected %d", c->name, step, r,
				 p.error ? p.error : "no error", c->want);
		assert_non_null(p.error);
		assert_contains(p.error, c->error);
	}
	httpget_parser_done(&p);
}

static void test_parser_cases(void **state)
{
	static const char chunked[] =
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
		"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n";
	static const char nul_head[] = "HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n";
	static const struct parse_case cases[] = {
		{ "Content-Length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		  "Content-Length: 5\r\n\r\nhello", .status = 200, .body = "hello" },
		{ "bare LF line ends", "HTTP/1.0 200 OK\nContent-Length: 2\n\nhi", .status = 200, .body = "hi" },
		{ "no reason phrase", "HTTP/1.1 404\r\nContent-Length: 1\r\n\r\nx", .status = 404, .body = "x" },
		{ "chunked with an extension and a trailer", chunked, .status = 200, .body = "hello world" },
		{ "chunked, uppercase hex, LF only", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n"
		  "A\n0123456789\n0\n\n", .status = 200, .body = "0123456789" },
		{ "a 100 Continue first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
		  "Content-Length: 2\r\n\r\nok", .status = 200, .body = "ok" },
		{ "204 has no body", "HTTP/1.1 204 No Content\r\n\r\n", .status = 204, .body = "" },
		{ "Content-Length: 0", "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", .status = 500, .body = "" },
		{ "read to the close", "HTTP/1.1 200 OK\r\n\r\nall of it", .close = true, .status = 200,
		  .body = "all of it" },
		{ "the same Content-Length twice", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
		  "content-length: 1\r\n\r\n!", .status = 200, .body = "!" },
		{ "a body that fills the limit", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfull",
		  .max_body = 4, .status = 200, .body = "full" },

		{ "nothing at all", "", .close = true, .want = -EPROTO, .error = "without an answer" },
		{ "a truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", .close = true,
		  .want = -EPROTO, .error = "before the response was complete" },
		{ "a truncated head", "HTTP/1.1 200 OK\r\nContent-", .close = true, .want = -EPROTO,
		  .error = "before the response was complete" },
		{ "a chunked body without its last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		  "\r\n2\r\nab\r\n", .close = true, .want = -EPROTO, .error = "before the response was complete" },
		/* Found by fuzzing: a trailer line that arrived in pieces looked empty. */
		{ "trailers without their empty line", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "0\r\nT: 1\r\n", .close = true, .want = -EPROTO, .error = "before the response was complete" },
		{ "not HTTP", "garbage\r\n\r\n", .want = -EPROTO, .error = "HTTP/1.x status line" },
		{ "HTTP/2", "HTTP/2 200\r\n\r\n", .want = -EPROTO, .error = "HTTP/1.x status line" },
		{ "a status of 600", "HTTP/1.1 600 Odd\r\n\r\n", .want = -EPROTO, .error = "HTTP/1.x status line" },
		{ "an empty first line", "\r\nHTTP/1.1 200 OK\r\n\r\n", .want = -EPROTO, .error = "empty line" },
		{ "Content-Length over the limit", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
		  .max_body = 4, .want = -E2BIG, .error = "larger than the limit" },
		{ "a huge Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999\r\n\r\n",
		  .want = -E2BIG, .error = "larger than the limit" },
		{ "a Content-Length of 20 digits", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
		  .want = -EPROTO, .error = "not a number" },
		{ "a negative Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", .want = -EPROTO,
		  .error = "not a number" },
		{ "an empty Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", .want = -EPROTO,
		  .error = "not a number" },
		{ "two Content-Lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		  .want = -EPROTO, .error = "disagree" },
		{ "gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .want = -EPROTO,
		  .error = "other than chunked" },
		{ "a body read to the close over the limit", "HTTP/1.1 200 OK\r\n\r\n12345", .max_body = 4,
		  .want = -E2BIG, .error = "larger than the limit" },
		{ "chunks over the limit", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "3\r\nabc\r\n2\r\n", .max_body = 4, .want = -E2BIG, .error = "larger than the limit" },
		{ "a chunk size that is not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "zz\r\n", .want = -EPROTO, .error = "hexadecimal" },
		{ "a chunk size with junk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "5 x\r\n", .want = -EPROTO, .error = "text after the size" },
		{ "a chunk size that overflows", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "10000000000000000\r\n", .want = -EPROTO, .error = "overflows" },
		{ "a chunk longer than its size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "3\r\nhello\r\n", .want = -EPROTO, .error = "longer than its size" },
		{ "a folded header", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n", .want = -EPROTO, .error = "folded" },
		{ "a header without a colon", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", .want = -EPROTO,
		  .error = "Name: value" },
		{ "a header name with a space", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", .want = -EPROTO,
		  .error = "header name" },
		{ "a NUL in the head", nul_head, sizeof(nul_head) - 1, .want = -EPROTO, .error = "NUL byte" },
		{ "101 to a GET", "HTTP/1.1 101 Switching Protocols\r\n\r\n", .want = -EPROTO, .error = "101" },
		{ "endless 1xx", "HTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\n"
		  "HTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\n"
		  "HTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\n", .want = -EPROTO, .error = "too many 1xx" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		check_case(&cases[i], 0);
		check_case(&cases[i], 1);
		check_case(&cases[i], 7);
	}
}

static void test_parser_limits_and_leftovers(void **state)
{
	struct httpget_parser p;
	_cleanup_free_ char *big = NULL;
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
	size_t used = 0;

	/* A head over 16 KiB, however it arrives. */
	big = malloc(20000);
	assert_non_null(big);
	memcpy(big, "HTTP/1.1 200 OK\r\nX-Long: ", 25);
	memset(big + 25, 'a', 20000 - 25);
	httpget_parser_init(&p, 0);
	assert_int_equal(httpget_parser_feed(&p, big, 20000, NULL), -EPROTO);
	assert_contains(p.error, "longer than 16384 bytes");
	/* Once failed, it stays failed. */
	assert_int_equal(httpget_parser_feed(&p, "\r\n\r\n", 4, NULL), -EPROTO);
	assert_int_equal(httpget_parser_finish(&p), -EPROTO);
	httpget_parser_done(&p);

	/* A chunk-size line over 4 KiB. */
	httpget_parser_init(&p, 0);
	assert_int_equal(httpget_parser_feed(&p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;", 49, NULL), 0);
	memset(big, 'x', 5000);
	assert_int_equal(httpget_parser_feed(&p, big, 5000, NULL), -EPROTO);
	assert_contains(p.error, "too long");
	httpget_parser_done(&p);

	/* Bytes after a complete response are left alone. */
	httpget_parser_init(&p, 0);
	assert_int_equal(httpget_parser_feed(&p, resp, strlen(resp), &used), 1);
	assert_int_equal(used, strlen(resp) - 5);
	assert_int_equal(httpget_parser_finish(&p), 1);
	httpget_parser_done(&p);
}

/* ---- a scripted server ---- */

enum ending { END_CLOSE, END_RESET, END_STALL };

struct script {
	const char *const *parts;	/* sent in turn, NULL-terminated */
	int pause_ms;			/* between parts */
	enum ending ending;
};

static pid_t server_pid = -1;
static int request_pipe[2] = { -1, -1 };

/* The child: accept one connection, read the request head, copy it to the pipe,
 * answer with the script. */
static __attribute__((noreturn)) void serve(int lfd, const struct script *s)
{
	char req[8192];
	size_t len = 0;
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		_exit(1);
	while (len < sizeof(req) - 1 && !memmem(req, len, "\r\n\r\n", 4)) {
		ssize_t n = read(fd, req + len, sizeof(req) - 1 - len);

		if (n <= 0)
			_exit(1);
		len += (size_t)n;
	}
	if (write(request_pipe[1], req, len) != (ssize_t)len)
		_exit(1);
	close(request_pipe[1]);
	for (const char *const *p = s->parts; p && *p; p++) {
		if (p != s->parts)
			usleep((useconds_t)s->pause_ms * 1000);
		if (write(fd, *p, strlen(*p)) != (ssize_t)strlen(*p))
			_exit(1);
	}
	if (s->ending == END_RESET) {
		struct linger l = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	} else if (s->ending == END_STALL)
		pause();
	close(fd);
	_exit(0);
}

/* Start the server on family's loopback; returns its port, or 0 when the family has
 * no loopback address here. */
static int server_start(int family, const struct script *s)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	assert_true(lfd >= 0);
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	}
	if (bind(lfd, (struct sockaddr *)&ss, len) < 0) {
		close(lfd);
		return 0;
	}
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&ss, &len), 0);
	port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
					  ((struct sockaddr_in *)&ss)->sin_port);
	assert_int_equal(pipe2(request_pipe, O_CLOEXEC), 0);
	server_pid = fork();
	assert_true(server_pid >= 0);
	if (server_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(request_pipe[0]);
		serve(lfd, s);
	}
	close(lfd);
	close(request_pipe[1]);
	request_pipe[1] = -1;
	return port;
}

/* The request the server read (call after the client is done). */
static char *server_request(void)
{
	char buf[8192];
	size_t len = 0;
	ssize_t n;

	while ((n = read(request_pipe[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return strdup(buf);
}

static int teardown(void **state)
{
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
	}
	server_pid = -1;
	for (int i = 0; i < 2; i++)
		if (request_pipe[i] >= 0)
			close(request_pipe[i]);
	request_pipe[0] = request_pipe[1] = -1;
	return 0;
}

static int get(const char *url, long timeout_ms, size_t max_body, struct httpget_response *resp,
	       char **cause)
{
	const struct httpget_request req = {
		.url = url, .accept = "application/json", .timeout_ms = timeout_ms, .max_body = max_body,
	};

	return httpget(&req, resp, cause);
}

static void test_request_and_chunked_answer(void **state)
{
	static const char *const parts[] = {
		"HTTP/1.1 200 OK\r\nTransfer-", "Encoding: chunked\r\n\r\n4\r\n{\"a\"", "\r\n2\r\n:1\r", "\n1\r\n}\r\n0\r\n\r\n", NULL,
	};
	const struct script s = { parts, 50, END_STALL };
	int port = server_start(AF_INET, &s);
	_cleanup_free_ char *url = xprintf("http://127.0.0.1:%d/metadata/v1.json?x=1#frag", port);
	_cleanup_free_ char *cause = NULL, *req = NULL, *host = NULL;
	_cleanup_(httpget_response_done) struct httpget_response resp = { 0 };

	/* The server stalls after the last chunk: the client must not wait for the close. */
	assert_int_equal(get(url, 5000, 0, &resp, &cause), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.len, 7);
	assert_string_equal(resp.body, "{\"a\":1}");
	req = server_request();
	host = xprintf("\r\nHost: 127.0.0.1:%d\r\n", port);
	assert_true(strncmp(req, "GET /metadata/v1.json?x=1 HTTP/1.1\r\n", 36) == 0);
	assert_contains(req, host);
	assert_contains(req, "\r\nAccept: application/json\r\n");
	assert_contains(req, "\r\nUser-Agent: doagent/");
	assert_contains(req, "\r\nConnection: close\r\n");
}

static void test_answer_read_to_the_close(void **state)
{
	static const char *const parts[] = { "HTTP/1.0 503 Busy\r\n\r\n", "try", " later", NULL };
	const struct script s = { parts, 30, END_CLOSE };
	int port = server_start(AF_INET, &s);
	_cleanup_free_ char *url = xprintf("http://127.0.0.1:%d", port);
	_cleanup_free_ char *cause = NULL, *req = NULL;
	_cleanup_(httpget_response_done) struct httpget_response resp = { 0 };

	assert_int_equal(get(url, 5000, 0, &resp, &cause), 0);
	assert_int_equal(resp.status, 503);
	assert_string_equal(resp.body, "try later");
	req = server_request();
	assert_true(strncmp(req, "GET / HTTP/1.1\r\n", 16) == 0);
}

static void test_stall_times_out(void **state)
{
	static const char *const parts[] = { "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome", NULL };
	const struct script s = { parts, 0, END_STALL };
	int port = server_start(AF_INET, &s);
	_cleanup_free_ char *url = xprintf("http://127.0.0.1:%d/", port);
	_cleanup_free_ char *cause = NULL;
	struct httpget_response resp = { 0 };
	uint64_t start = backoff_now_ms();

	assert_int_equal(get(url, 600, 0, &resp, &cause), -ETIMEDOUT);
	assert_elapsed(start, 600, 600 + SLACK_MS);
	assert_contains(cause, "timed out: no complete answer within 600 ms");
	assert_null(resp.body);
}

static void test_reset_and_truncated(void **state)
{
	static const char *const parts[] = { "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\ncanary-secret-body", NULL };
	const struct script reset = { parts, 0, END_RESET }, closed = { parts, 0, END_CLOSE };
	_cleanup_free_ char *cause = NULL, *cause2 = NULL, *url = NULL, *url2 = NULL;
	struct httpget_response resp = { 0 };
	int port;

	port = server_start(AF_INET, &reset);
	url = xprintf("http://127.0.0.1:%d/", port);
	assert_int_equal(get(url, 5000, 0, &resp, &cause), -EPROTO);
	/* Reset or closed, depending on when the reset overtakes the data. */
	assert_true(strstr(cause, "reset the connection") || strstr(cause, "before the response was complete"));
	assert_null(strstr(cause, "canary"));
	teardown(state);

	port = server_start(AF_INET, &closed);
	url2 = xprintf("http://127.0.0.1:%d/", port);
	assert_int_equal(get(url2, 5000, 0, &resp, &cause2), -EPROTO);
	assert_string_equal(cause2, "the connection closed before the response was complete");
}

/* A Content-Length over the cap is refused before the body is read. */
static void test_body_too_big(void **state)
{
	static const char *const parts[] = { "HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n", NULL };
	const struct script s = { parts, 0, END_STALL };
	int port = server_start(AF_INET, &s);
	_cleanup_free_ char *url = xprintf("http://127.0.0.1:%d/", port);
	_cleanup_free_ char *cause = NULL;
	struct httpget_response resp = { 0 };
	uint64_t start = backoff_now_ms();

	assert_int_equal(get(url, 5000, 1024, &resp, &cause), -E2BIG);
	assert_elapsed(start, 0, SLACK_MS);
	assert_contains(cause, "larger than the limit");
}

static void test_ipv6_and_names(void **state)
{
	static const char *const parts[] = { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6", NULL };
	static const char *const parts4[] = { "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nname", NULL };
	const struct script s = { parts, 0, END_CLOSE }, s4 = { parts4, 0, END_CLOSE };
	_cleanup_free_ char *url = NULL, *url4 = NULL, *cause = NULL, *req = NULL, *host = NULL;
	_cleanup_(httpget_response_done) struct httpget_response resp = { 0 }, resp4 = { 0 };
	int port = server_start(AF_INET6, &s);

	if (port == 0) {
		/* Seen in containers without IPv6; the IPv4 half still runs. */
		fprintf(stderr, "note: no ::1 here; the IPv6 literal case did not run\n");
		teardown(state);
	} else {
		url = xprintf("http://[::1]:%d/v1", port);
		assert_int_equal(get(url, 5000, 0, &resp, &cause), 0);
		assert_string_equal(resp.body, "v6");
		req = server_request();
		host = xprintf("\r\nHost: [::1]:%d\r\n", port);
		assert_contains(req, host);
		teardown(state);
	}
	port = server_start(AF_INET, &s4);
	url4 = xprintf("http://localhost:%d/v1", port);
	assert_int_equal(get(url4, 5000, 0, &resp4, &cause), 0);
	assert_string_equal(resp4.body, "name");
}

static void test_connection_refused(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	_cleanup_free_ char *url = NULL, *cause = NULL;
	struct httpget_response resp = { 0 };

	/* Bound, not listening: refused. */
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	url = xprintf("http://127.0.0.1:%d/", ntohs(a.sin_port));
	assert_int_equal(get(url, 2000, 0, &resp, &cause), -ECONNREFUSED);
	assert_string_equal(cause, "cannot connect: Connection refused");
}

/* A listener whose accept queue is full answers no SYN: the connect timeout fires. */
static void test_connect_timeout(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	_cleanup_close_ int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int fillers[4];
	_cleanup_free_ char *url = NULL, *cause = NULL;
	struct httpget_request req = { .connect_timeout_ms = 300, .timeout_ms = 5000 };
	struct httpget_response resp = { 0 };
	uint64_t start;

	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(lfd, 0), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
	for (size_t i = 0; i < ELEMENTSOF(fillers); i++) {
		fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(fillers[i] >= 0);
		connect(fillers[i], (struct sockaddr *)&a, sizeof a);
	}
	usleep(100000);
	url = xprintf("http://127.0.0.1:%d/", ntohs(a.sin_port));
	req.url = url;
	start = backoff_now_ms();
	assert_int_equal(httpget(&req, &resp, &cause), -ETIMEDOUT);
	assert_elapsed(start, 300, 300 + SLACK_MS);
	assert_contains(cause, "timed out: no connection within 300 ms");
	for (size_t i = 0; i < ELEMENTSOF(fillers); i++)
		close(fillers[i]);
}

static void test_urls_refused(void **state)
{
	static const struct {
		const char *url, *why;
	} bad[] = {
		{ "https://169.254.169.254/", "https:// is not supported" },
		{ "ftp://127.0.0.1/", "not an http:// URL" },
		{ "127.0.0.1/metadata", "not an http:// URL" },
		{ "http://user:canary-pw@127.0.0.1/", "credentials" },
		{ "http://127.0.0.1/a b", "a space or a control character" },
		{ "http://127.0.0.1/a\r\nX: y", "a space or a control character" },
		{ "http:///metadata", "no host" },
		{ "http://:80/", "no host" },
		{ "http://127.0.0.1:0/", "from 1 to 65535" },
		{ "http://127.0.0.1:65536/", "from 1 to 65535" },
		{ "http://127.0.0.1:8o/", "from 1 to 65535" },
		{ "http://[::1/", "a [ without its ]" },
		{ "http://[::1]x/", "text after the ]" },
		{ "http://[nonsense]/", "not an IPv6 address" },
		{ "http://[]/", "no host" },
	};
	struct httpget_response resp = { 0 };
	uint64_t start = backoff_now_ms();

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *cause = NULL;

		if (get(bad[i].url, 2000, 0, &resp, &cause) != -EINVAL)
			fail_msg("%s was not refused as -EINVAL (%s)", bad[i].url, cause ? cause : "");
		assert_contains(cause, bad[i].why);
		assert_null(strstr(cause, "canary"));
	}
	{
		_cleanup_free_ char *cause = NULL;
		const struct httpget_request req = { .url = "http://127.0.0.1:1/", .accept = "a\r\nX-Injected: 1" };

		assert_int_equal(httpget(&req, &resp, &cause), -EINVAL);
		assert_contains(cause, "line break");
	}
	/* All refused before any connection or wait. */
	assert_elapsed(start, 0, 200);
	assert_null(resp.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parser_cases),
		cmocka_unit_test(test_parser_limits_and_leftovers),
		cmocka_unit_test_teardown(test_request_and_chunked_answer, teardown),
		cmocka_unit_test_teardown(test_answer_read_to_the_close, teardown),
		cmocka_unit_test_teardown(test_stall_times_out, teardown),
		cmocka_unit_test_teardown(test_reset_and_truncated, teardown),
		cmocka_unit_test_teardown(test_body_too_big, teardown),
		cmocka_unit_test_teardown(test_ipv6_and_names, teardown),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_urls_refused),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

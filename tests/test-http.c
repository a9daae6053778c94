/*
 * The HTTP clients against tests/fake-metadata.py, started as a child on 127.0.0.1 with a
 * port of its choosing, one per test with the faults it needs: http_request (libcurl,
 * doagent-launch's) directly, and httpget (doagent's own) through metadata_fetch.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
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
#include <json-c/json.h>

#include "backoff.h"
#include "fileio.h"
#include "http.h"
#include "fake-server.h"
#include "macro.h"
#include "metadata.h"

#define MAX_ARGS 32
/* How late an answer or a wake-up may be on a busy machine (or under valgrind). */
#define SLACK_MS 700
/* curl's own timeouts may fire a few milliseconds early by our clock. */
#define CURL_EARLY_MS 25

static const char *top_srcdir(void)
{
	const char *top = getenv("top_srcdir");

	return top ? top : ".";
}

static _printf_(1, 2) char *xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	return s;
}

/* The fake of the running test; teardown stops it. */
static pid_t fake_pid = -1;
static int fake_port;

/* Starts the fake with these extra arguments (NULL-terminated) and waits for its port. */
static void fake_start(const char *first, ...)
{
	_cleanup_free_ char *script = xprintf("%s/tests/fake-metadata.py", top_srcdir());
	_cleanup_free_ char *doc = xprintf("%s/tests/fixtures/metadata/full.json", top_srcdir());
	const char *argv[MAX_ARGS] = { "python3", script, "--document", doc, "--bind", "127.0.0.1",
				       "--port", "0", "--quiet" };
	size_t argc = 9;
	char line[64];
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		assert_true(argc < MAX_ARGS - 1);
		argv[argc++] = a;
	}
	va_end(ap);
	argv[argc] = NULL;

	fake_pid = fake_server_start(argv, &fake_port, line, sizeof(line));
	if (fake_pid < 0)
		fail_msg("the fake metadata service did not start (it said \"%s\")", line);
}

static void fake_stop(void)
{
	fake_server_stop(fake_pid);
	fake_pid = -1;
}

static int teardown(void **state)
{
	fake_stop();
	return 0;
}

static char *fake_url(const char *path)
{
	return xprintf("http://127.0.0.1:%d%s", fake_port, path);
}

/* A port bound on loopback where nothing listens: connections are refused. The
 * socket must stay open as long as the port is used. */
static int refusing_port(int *ret_fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*ret_fd = fd;
	return ntohs(a.sin_port);
}

static int get(const char *url, long timeout_ms, size_t max_body, struct http_response *resp,
	       char **cause)
{
	const struct http_request req = { .url = url, .timeout_ms = timeout_ms, .max_body = max_body };

	return http_request(&req, resp, cause);
}

/* GET /_stats from the fake, parsed. */
static json_object *fake_stats(void)
{
	_cleanup_free_ char *url = fake_url("/_stats");
	_cleanup_(http_response_done) struct http_response resp = { 0 };
	_cleanup_free_ char *cause = NULL;
	json_object *o;

	assert_int_equal(get(url, 5000, 0, &resp, &cause), 0);
	assert_int_equal(resp.status, 200);
	o = json_tokener_parse(resp.body);
	assert_non_null(o);
	return o;
}

/* A number from the fake's /_stats: "requests", or "answers.truncate", "methods.HEAD". */
static int64_t fake_stat(const char *key)
{
	_cleanup_json_ json_object *stats = fake_stats();
	_cleanup_free_ char *copy = strdup(key);
	json_object *v = stats;
	char *save = NULL;

	assert_non_null(copy);
	for (char *part = strtok_r(copy, ".", &save); part; part = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(v, part, &v))
			return 0;
	return json_object_get_int64(v);
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!haystack || !strstr(haystack, needle))
		fail_msg("\"%s\" does not contain \"%s\"", haystack ? haystack : "(null)", needle);
}

static void assert_elapsed(uint64_t start, uint64_t min_ms, uint64_t max_ms)
{
	uint64_t elapsed = backoff_now_ms() - start;

	if (elapsed < min_ms || elapsed > max_ms)
		fail_msg("took %llu ms, expected %llu..%llu ms", (unsigned long long)elapsed,
			 (unsigned long long)min_ms, (unsigned long long)max_ms);
}

static void test_get_document(void **state)
{
	_cleanup_free_ char *url = NULL;
	_cleanup_free_ char *doc_path = xprintf("%s/tests/fixtures/metadata/full.json", top_srcdir());
	_cleanup_(http_response_done) struct http_response resp = { 0 };
	_cleanup_json_ json_object *want = NULL, *got = NULL, *stats = NULL;
	_cleanup_free_ char *cause = NULL;
	json_object *ua = NULL;

	fake_start(NULL);
	url = fake_url(METADATA_PATH);
	assert_int_equal(get(url, 0, 0, &resp, &cause), 0);
	assert_null(cause);
	assert_int_equal(resp.status, 200);
	assert_non_null(resp.content_type);
	assert_string_equal(resp.content_type, "application/json");
	/* Sent as "x-request-ID:   fake-1  ". */
	assert_non_null(resp.request_id);
	assert_string_equal(resp.request_id, "fake-1");
	assert_null(resp.retry_after);
	assert_null(resp.ratelimit_remaining);
	assert_null(resp.ratelimit_reset);
	assert_int_equal(strlen(resp.body), resp.len);
	want = json_object_from_file(doc_path);
	got = json_tokener_parse(resp.body);
	assert_non_null(want);
	assert_non_null(got);
	assert_true(json_object_equal(want, got));

	stats = fake_stats();
	assert_true(json_object_object_get_ex(stats, "user_agent", &ua));
	assert_string_equal(json_object_get_string(ua), "doagent/" PACKAGE_VERSION);
}

static void test_status_500_is_an_answer(void **state)
{
	_cleanup_free_ char *url = NULL;
	_cleanup_(http_response_done) struct http_response resp = { 0 };
	_cleanup_free_ char *cause = NULL;

	fake_start("--status500-for", "1", NULL);
	url = fake_url(METADATA_PATH);
	assert_int_equal(get(url, 0, 0, &resp, &cause), 0);
	assert_int_equal(resp.status, 500);
	assert_contains(resp.body, "server_error");
	assert_non_null(resp.retry_after);
	assert_string_equal(resp.retry_after, "1");
	assert_non_null(resp.ratelimit_remaining);
	assert_string_equal(resp.ratelimit_remaining, "0");
	assert_non_null(resp.ratelimit_reset);
	assert_true(strspn(resp.ratelimit_reset, "0123456789") == strlen(resp.ratelimit_reset));
	http_response_done(&resp);
	http_response_done(&resp);	/* twice is harmless */

	assert_int_equal(get(url, 0, 0, &resp, &cause), 0);
	assert_int_equal(resp.status, 200);
	assert_null(resp.retry_after);
	assert_int_equal(fake_stat("requests"), 2);
}

static void test_stall_times_out(void **state)
{
	_cleanup_free_ char *url = NULL;
	struct http_response resp = { 0 };
	_cleanup_(http_response_done) struct http_response later = { 0 };
	_cleanup_free_ char *cause = NULL;
	uint64_t start;

	fake_start("--stall", "3", NULL);
	url = fake_url(METADATA_PATH);
	start = backoff_now_ms();
	assert_int_equal(get(url, 500, 0, &resp, &cause), -ETIMEDOUT);
	assert_elapsed(start, 500 - CURL_EARLY_MS, 500 + SLACK_MS);
	assert_contains(cause, url);
	assert_contains(cause, "GET ");
	assert_null(resp.body);		/* untouched */
	/* Only the first request stalls. */
	assert_int_equal(get(url, 2000, 0, &later, NULL), 0);
	assert_int_equal(later.status, 200);
}

static void test_connection_refused(void **state)
{
	_cleanup_close_ int fd = -1;
	int port = refusing_port(&fd);
	_cleanup_free_ char *url = xprintf("http://127.0.0.1:%d/metadata/v1.json", port);
	_cleanup_free_ char *with_password = xprintf("http://user:s3cretpw@127.0.0.1:%d/x", port);
	struct http_response resp = { 0 };
	_cleanup_free_ char *cause = NULL, *cause2 = NULL;

	assert_int_equal(get(url, 2000, 0, &resp, &cause), -ECONNREFUSED);
	assert_contains(cause, url);
	/* A password in the URL stays out of the message. */
	assert_int_equal(get(with_password, 2000, 0, &resp, &cause2), -ECONNREFUSED);
	assert_null(strstr(cause2, "s3cretpw"));
	assert_contains(cause2, "(credentials)@127.0.0.1");
}

/* A listener whose accept queue is full answers no SYN: the connect timeout fires. */
static void test_connect_timeout(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	_cleanup_close_ int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int fillers[4];
	_cleanup_free_ char *url = NULL, *cause = NULL;
	const struct http_request req = { .connect_timeout_ms = 300, .timeout_ms = 5000 };
	struct http_request r = req;
	struct http_response resp = { 0 };
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
	r.url = url;
	start = backoff_now_ms();
	assert_int_equal(http_request(&r, &resp, &cause), -ETIMEDOUT);
	assert_elapsed(start, 300 - CURL_EARLY_MS, 300 + SLACK_MS);
	for (size_t i = 0; i < ELEMENTSOF(fillers); i++)
		close(fillers[i]);
}

static void test_body_too_big(void **state)
{
	_cleanup_free_ char *url = NULL;
	_cleanup_(http_response_done) struct http_response resp = { 0 };
	struct http_response none = { 0 };
	_cleanup_free_ char *cause = NULL;
	size_t size;

	/* With a Content-Length (curl refuses before reading) and without (the write
	 * callback counts), exactly at the limit and one byte past it. */
	for (int no_length = 0; no_length <= 1; no_length++) {
		fake_start(no_length ? "--no-length" : NULL, NULL);
		free(url);
		url = fake_url(METADATA_PATH);
		assert_int_equal(get(url, 0, 0, &resp, NULL), 0);
		size = resp.len;
		assert_true(size > 100);
		http_response_done(&resp);

		assert_int_equal(get(url, 0, 100, &none, &cause), -E2BIG);
		assert_contains(cause, "larger than 100 bytes");
		assert_null(none.body);
		free(cause);
		cause = NULL;
		assert_int_equal(get(url, 0, size - 1, &none, &cause), -E2BIG);
		free(cause);
		cause = NULL;
		assert_int_equal(get(url, 0, size, &resp, &cause), 0);
		assert_int_equal(resp.len, size);
		http_response_done(&resp);
		fake_stop();
	}
}

static void test_truncated_and_dropped(void **state)
{
	_cleanup_free_ char *url = NULL, *cause = NULL, *cause2 = NULL;
	_cleanup_(http_response_done) struct http_response resp = { 0 };

	fake_start("--truncate-for", "1", "--drop-for", "1", NULL);
	url = fake_url(METADATA_PATH);
	/* Drop comes first. */
	assert_int_equal(get(url, 0, 0, &resp, &cause), -EPROTO);
	assert_contains(cause, url);
	assert_int_equal(get(url, 0, 0, &resp, &cause2), -EPROTO);
	assert_contains(cause2, url);
	assert_int_equal(get(url, 0, 0, &resp, NULL), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(fake_stat("answers.truncate"), 1);
	assert_int_equal(fake_stat("answers.drop"), 1);
}

/* template with its "PORT" (if any) replaced by the fake's port. */
static char *with_port(const char *template)
{
	const char *p = strstr(template, "PORT");

	if (!p)
		return xprintf("%s", template);
	return xprintf("%.*s%d%s", (int)(p - template), template, fake_port, p + 4);
}

static void test_only_http_urls(void **state)
{
	static const char *const bad[] = {
		"ftp://127.0.0.1:PORT/metadata/v1.json",
		"file:///etc/passwd",
		"gopher://127.0.0.1:PORT/",
		"127.0.0.1:PORT/metadata/v1.json",
		"http://",
		"http://[::1:PORT/",
		"",
	};
	_cleanup_(http_response_done) struct http_response resp = { 0 };
	_cleanup_free_ char *upper = NULL;

	fake_start(NULL);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *url = with_port(bad[i]);
		_cleanup_free_ char *cause = NULL;
		struct http_response none = { 0 };

		if (http_request(&(struct http_request){ .url = url }, &none, &cause) != -EINVAL)
			fail_msg("%s: not refused as invalid", url);
		assert_non_null(cause);
		assert_null(none.body);
	}
	assert_int_equal(fake_stat("requests"), 0);
	upper = xprintf("HTTP://127.0.0.1:%d%s", fake_port, METADATA_PATH);
	assert_int_equal(get(upper, 0, 0, &resp, NULL), 0);
	assert_int_equal(resp.status, 200);
}

static void test_bad_method_and_headers(void **state)
{
	static const char *const injected[] = { "X-Evil: a\r\nX-Secret: hunter2", NULL };
	static const char *const no_colon[] = { "Authorization Bearer hunter2", NULL };
	struct http_request req = { .url = "http://127.0.0.1:1/" };
	struct http_response resp = { 0 };
	_cleanup_free_ char *c1 = NULL, *c2 = NULL, *c3 = NULL;

	req.method = "GET /x HTTP/1.1\r\n";
	assert_int_equal(http_request(&req, &resp, &c1), -EINVAL);
	req.method = "DELETE";
	req.headers = injected;
	assert_int_equal(http_request(&req, &resp, &c2), -EINVAL);
	assert_null(strstr(c2, "hunter2"));
	req.headers = no_colon;
	assert_int_equal(http_request(&req, &resp, &c3), -EINVAL);
	assert_null(strstr(c3, "hunter2"));
}

static void test_methods_and_bodies(void **state)
{
	static const char *const json_headers[] = { "Content-Type: application/json", NULL };
	/* Only body_len bytes are sent: the rest would make the JSON invalid. */
	static const char body[] = "{\"status500_for\": 1} and not this";
	_cleanup_free_ char *fault = NULL, *doc = NULL;
	_cleanup_(http_response_done) struct http_response resp = { 0 };
	_cleanup_json_ json_object *settings = NULL;
	json_object *v = NULL;
	struct http_request req = { 0 };

	fake_start(NULL);
	fault = fake_url("/_fault");
	doc = fake_url(METADATA_PATH);
	req = (struct http_request){ .method = "POST", .url = fault, .headers = json_headers,
				     .body = body, .body_len = strlen("{\"status500_for\": 1}") };
	assert_int_equal(http_request(&req, &resp, NULL), 0);
	assert_int_equal(resp.status, 200);
	settings = json_tokener_parse(resp.body);
	assert_true(json_object_object_get_ex(settings, "status500_for", &v));
	assert_int_equal(json_object_get_int(v), 1);
	http_response_done(&resp);

	assert_int_equal(get(doc, 0, 0, &resp, NULL), 0);
	assert_int_equal(resp.status, 500);
	http_response_done(&resp);

	/* The fake allows no DELETE or HEAD: 405, but they arrive as such. */
	req = (struct http_request){ .method = "DELETE", .url = doc };
	assert_int_equal(http_request(&req, &resp, NULL), 0);
	assert_int_equal(resp.status, 405);
	http_response_done(&resp);
	req.method = "HEAD";
	assert_int_equal(http_request(&req, &resp, NULL), 0);
	assert_int_equal(resp.status, 405);
	assert_int_equal(resp.len, 0);
	assert_string_equal(resp.body, "");
	http_response_done(&resp);
	/* POST without a body. */
	req = (struct http_request){ .method = "POST", .url = fault };
	assert_int_equal(http_request(&req, &resp, NULL), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(fake_stat("methods.DELETE"), 1);
	assert_int_equal(fake_stat("methods.HEAD"), 1);
	assert_int_equal(fake_stat("methods.POST"), 2);
}

/* metadata_fetch */

static void fetch_ok(const char *base, const char *want_id)
{
	_cleanup_metadata_ struct metadata *md = NULL;
	_cleanup_free_ char *cause = NULL;
	int r = metadata_fetch(base, 10000, &md, &cause);

	if (r != 0)
		fail_msg("%s: %s", base, cause ? cause : strerror(-r));
	assert_string_equal(md->droplet_id, want_id);
}

static void test_fetch_url_forms(void **state)
{
	_cleanup_free_ char *base = NULL, *slash = NULL, *slashes = NULL, *full = NULL;

	fake_start(NULL);
	base = fake_url("");
	slash = fake_url("/");
	slashes = fake_url("//");
	full = fake_url(METADATA_PATH);
	fetch_ok(base, "2756294");
	fetch_ok(slash, "2756294");
	fetch_ok(slashes, "2756294");
	fetch_ok(full, "2756294");
	assert_int_equal(fake_stat("requests"), 4);
}

static void test_fetch_after_500s(void **state)
{
	_cleanup_free_ char *base = NULL;
	uint64_t start;

	fake_start("--status500-for", "2", NULL);
	base = fake_url("");
	start = backoff_now_ms();
	fetch_ok(base, "2756294");
	/* Two waits of 0.25 s: the first 10 s ask every 0.25 s. */
	assert_elapsed(start, 500, 500 + SLACK_MS);
	assert_int_equal(fake_stat("requests"), 3);
}

static void test_fetch_after_truncate_and_garbage(void **state)
{
	_cleanup_free_ char *base = NULL;

	fake_start("--truncate-for", "1", "--garbage-for", "1", NULL);
	base = fake_url("");
	fetch_ok(base, "2756294");
	assert_int_equal(fake_stat("requests"), 3);
	assert_int_equal(fake_stat("answers.garbage"), 1);
	assert_int_equal(fake_stat("answers.truncate"), 1);
	assert_int_equal(fake_stat("answers.ok"), 1);
}

static void test_fetch_gives_up_at_deadline(void **state)
{
	_cleanup_free_ char *base = NULL, *url = NULL, *cause = NULL;
	struct metadata *md = NULL;
	const char *n;
	unsigned attempts = 0;
	uint64_t start;

	fake_start("--status500-for", "1000", NULL);
	base = fake_url("/");
	url = fake_url(METADATA_PATH);
	start = backoff_now_ms();
	assert_int_equal(metadata_fetch(base, 2000, &md, &cause), -ETIMEDOUT);
	assert_elapsed(start, 2000, 2000 + SLACK_MS);
	assert_null(md);
	assert_contains(cause, url);
	assert_contains(cause, "no usable answer in 2 s after ");
	assert_contains(cause, "; last: HTTP status 500");
	n = strstr(cause, " after ");
	assert_int_equal(sscanf(n, " after %u attempts", &attempts), 1);
	/* Every 0.25 s, from 0 to 1.75 s: 8; a slow machine may fit fewer. */
	assert_true(attempts >= 6 && attempts <= 8);
	assert_int_equal(fake_stat("requests"), attempts);
}

static void test_fetch_invalid_document_until_deadline(void **state)
{
	_cleanup_free_ char *base = NULL, *cause = NULL;
	struct metadata *md = NULL;

	fake_start("--garbage-for", "1000", NULL);
	base = fake_url("");
	assert_int_equal(metadata_fetch(base, 600, &md, &cause), -ETIMEDOUT);
	assert_null(md);
	assert_contains(cause, "no usable answer in 0.6 s after 3 attempts");
	assert_contains(cause, "last: the document is not valid: document: not valid JSON");
}

static void test_fetch_waits_for_the_listener(void **state)
{
	_cleanup_free_ char *base = NULL;
	uint64_t start;

	fake_start("--refuse-for", "1.5", NULL);
	base = fake_url("");
	start = backoff_now_ms();
	fetch_ok(base, "2756294");
	/* Refused every 0.25 s; answered at the first try after the 1.5 s. */
	assert_elapsed(start, 1500, 1750 + SLACK_MS);
	assert_int_equal(fake_stat("requests"), 1);
}

static void test_fetch_nothing_listens(void **state)
{
	_cleanup_close_ int fd = -1;
	int port = refusing_port(&fd);
	_cleanup_free_ char *base = xprintf("http://127.0.0.1:%d", port);
	_cleanup_free_ char *cause = NULL;
	struct metadata *md = NULL;
	uint64_t start = backoff_now_ms();

	assert_int_equal(metadata_fetch(base, 700, &md, &cause), -ETIMEDOUT);
	assert_elapsed(start, 700, 700 + SLACK_MS);
	assert_contains(cause, "/metadata/v1.json: no usable answer in 0.7 s after 3 attempts; "
			       "last: cannot connect: Connection refused");
}

/* A stalled answer costs at most the time left, not the 10 s request timeout. */
static void test_fetch_stall_bounded_by_deadline(void **state)
{
	_cleanup_free_ char *base = NULL, *cause = NULL;
	struct metadata *md = NULL;
	uint64_t start;

	fake_start("--stall", "5", NULL);
	base = fake_url("");
	start = backoff_now_ms();
	assert_int_equal(metadata_fetch(base, 1200, &md, &cause), -ETIMEDOUT);
	assert_elapsed(start, 1200, 1200 + SLACK_MS);
	assert_contains(cause, "after 1 attempt; last: timed out: no complete answer within 1200 ms");
}

static void test_fetch_bad_arguments(void **state)
{
	_cleanup_free_ char *c1 = NULL, *c2 = NULL, *c3 = NULL, *c4 = NULL;
	struct metadata *md = NULL;
	uint64_t start = backoff_now_ms();

	assert_int_equal(metadata_fetch("ftp://127.0.0.1", 5000, &md, &c1), -EINVAL);
	assert_contains(c1, "ftp://127.0.0.1/metadata/v1.json");
	assert_int_equal(metadata_fetch("http://127.0.0.1:1", 0, &md, &c2), -EINVAL);
	assert_int_equal(metadata_fetch("file:///etc/doagent.json", 5000, &md, NULL), -EINVAL);
	/* The client refuses it: at once, not at the deadline. */
	assert_int_equal(metadata_fetch("http://[::1", 5000, &md, &c3), -EINVAL);
	assert_contains(c3, "metadata service http://[::1/metadata/v1.json: a [ without its ] in the URL's host");
	/* The metadata service speaks plain HTTP: doagent has no TLS client for it. */
	assert_int_equal(metadata_fetch("https://127.0.0.1", 5000, &md, &c4), -EINVAL);
	assert_contains(c4, "https:// is not supported");
	assert_null(md);
	assert_elapsed(start, 0, 100);
}

static void test_fetch_user_data_and_droplet_id(void **state)
{
	static const char user_data[] = "#doagent\n[redis]\nport = 7000\n";
	char path[] = "/tmp/doagent-test-http.XXXXXX";
	_cleanup_metadata_ struct metadata *md = NULL;
	_cleanup_free_ char *base = NULL, *cause = NULL;
	_cleanup_close_ int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, user_data, strlen(user_data)), (ssize_t)strlen(user_data));
	fake_start("--user-data", path, "--droplet-id", "987654321", NULL);
	base = fake_url("");
	assert_int_equal(metadata_fetch(base, 5000, &md, &cause), 0);
	unlink(path);
	assert_string_equal(md->droplet_id, "987654321");
	assert_int_equal(md->user_data_len, strlen(user_data));
	assert_string_equal(md->user_data, user_data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_get_document, teardown),
		cmocka_unit_test_teardown(test_status_500_is_an_answer, teardown),
		cmocka_unit_test_teardown(test_stall_times_out, teardown),
		cmocka_unit_test_teardown(test_connection_refused, teardown),
		cmocka_unit_test_teardown(test_connect_timeout, teardown),
		cmocka_unit_test_teardown(test_body_too_big, teardown),
		cmocka_unit_test_teardown(test_truncated_and_dropped, teardown),
		cmocka_unit_test_teardown(test_only_http_urls, teardown),
		cmocka_unit_test_teardown(test_bad_method_and_headers, teardown),
		cmocka_unit_test_teardown(test_methods_and_bodies, teardown),
		cmocka_unit_test_teardown(test_fetch_url_forms, teardown),
		cmocka_unit_test_teardown(test_fetch_after_500s, teardown),
		cmocka_unit_test_teardown(test_fetch_after_truncate_and_garbage, teardown),
		cmocka_unit_test_teardown(test_fetch_gives_up_at_deadline, teardown),
		cmocka_unit_test_teardown(test_fetch_invalid_document_until_deadline, teardown),
		cmocka_unit_test_teardown(test_fetch_waits_for_the_listener, teardown),
		cmocka_unit_test_teardown(test_fetch_nothing_listens, teardown),
		cmocka_unit_test_teardown(test_fetch_stall_bounded_by_deadline, teardown),
		cmocka_unit_test_teardown(test_fetch_bad_arguments, teardown),
		cmocka_unit_test_teardown(test_fetch_user_data_and_droplet_id, teardown),
	};

	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		const char *no_skip = getenv("DOAGENT_NO_SKIP");

		fprintf(stderr, "%s: python3 is not installed (the fake metadata service needs it)\n",
			no_skip && strcmp(no_skip, "1") == 0 ? "FAIL" : "SKIP");
		return no_skip && strcmp(no_skip, "1") == 0 ? 1 : 77;
	}
	/* Test traffic goes to loopback, never through a proxy from the environment. */
	unsetenv("http_proxy");
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	if (http_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

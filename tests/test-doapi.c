/*
 * The DigitalOcean API client against tests/fake-doapi.py, started as a child on
 * 127.0.0.1 with a port of its choosing, one per test with the faults it needs.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "backoff.h"
#include "doapi.h"
#include "http.h"
#include "fake-server.h"
#include "macro.h"

/* A canary: it must never show in a cause. */
#define TOKEN "dop_v1_CANARY0123456789abcdef"
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
	_cleanup_free_ char *script = xprintf("%s/tests/fake-doapi.py", top_srcdir());
		const char *argv[MAX_ARGS] = { "python3", script, "--bind", "127.0.0.1", "--port", "0",
				       "--quiet", "--token", TOKEN };
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
		fail_msg("the fake DigitalOcean API did not start (it said \"%s\")", line);
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

static struct doapi *api_new(void)
{
	_cleanup_free_ char *base = fake_url("");
	struct doapi *api = doapi_new(base, TOKEN);

	assert_non_null(api);
	api->backoff_initial_ms = 100;
	api->backoff_max_ms = 400;
	api->deadline_ms = 10000;
	api->timeout_ms = 5000;
	return api;
}

/* The cause, checked to hold no token, then freed. */
static void check_cause(char **cause)
{
	assert_non_null(*cause);
	assert_null(strstr(*cause, TOKEN));
	assert_null(strstr(*cause, "CANARY"));
	free(*cause);
	*cause = NULL;
}

static json_object *fake_state(void)
{
	_cleanup_free_ char *url = fake_url("/_state");
	_cleanup_(http_response_done) struct http_response r = { 0 };
	_cleanup_free_ char *cause = NULL;
	const struct http_request req = { .url = url };
	json_object *o;

	assert_int_equal(http_request(&req, &r, &cause), 0);
	assert_int_equal(r.status, 200);
	o = json_tokener_parse(r.body);
	assert_non_null(o);
	return o;
}

static int64_t state_int(json_object *s, const char *a, const char *b)
{
	json_object *v;

	assert_true(json_object_object_get_ex(s, a, &v));
	if (b && !json_object_object_get_ex(v, b, &v))
		return 0;
	return json_object_get_int64(v);
}

static size_t state_droplets(json_object *s)
{
	json_object *v;

	assert_true(json_object_object_get_ex(s, "droplets", &v));
	return json_object_array_length(v);
}

static const char *const tags[] = { "doagent-launch-abc", "redis", NULL };

static struct doapi_droplet *create(struct doapi *api, const char *name)
{
	const char *const keys[] = { "289794", "3b:16:e4:bf:8b:00:8b:b8:59:8c:a9:d3:f0:19:fa:45", NULL };
	const struct doapi_create req = {
		.name = name, .region = "nyc3", .size = "s-1vcpu-1gb", .image = "debian-12-x64",
		.user_data = "#doagent\n", .ssh_keys = keys, .tags = tags,
	};
	struct doapi_droplet *d = NULL;
	char *cause = NULL;

	assert_int_equal(doapi_droplet_create(api, &req, &d, &cause), 0);
	assert_null(cause);
	return d;
}

static void test_create_get_delete(void **state)
{
	struct doapi *api;
	struct doapi_droplet *d, *g = NULL;
	char *cause = NULL;

	fake_start("--active-after", "0.5", NULL);
	api = api_new();
	d = create(api, "redis-1");
	assert_string_equal(d->name, "redis-1");
	assert_string_equal(d->status, "new");
	assert_null(d->public_ipv4);
	assert_string_equal(d->tags[0], "doagent-launch-abc");
	assert_null(d->tags[2]);
	assert_int_equal(doapi_droplet_get(api, d->id, &g, &cause), 0);
	assert_string_equal(g->status, "new");
	doapi_droplet_free(g);
	usleep(600000);
	assert_int_equal(doapi_droplet_get(api, d->id, &g, &cause), 0);
	assert_string_equal(g->status, "active");
	assert_non_null(g->public_ipv4);
	assert_true(strncmp(g->public_ipv4, "203.0.113.", 10) == 0);
	assert_true(strncmp(g->private_ipv4, "10.10.0.", 8) == 0);
	assert_non_null(g->public_ipv6);
	doapi_droplet_free(g);
	assert_int_equal(doapi_droplet_delete(api, d->id, &cause), 0);
	/* Gone: GET is ENOENT, DELETE again is done. */
	assert_int_equal(doapi_droplet_get(api, d->id, &g, &cause), -ENOENT);
	assert_non_null(strstr(cause, "HTTP 404 not_found"));
	assert_non_null(strstr(cause, "request id"));
	check_cause(&cause);
	assert_int_equal(doapi_droplet_delete(api, d->id, &cause), 0);
	assert_int_equal(api->requests, 6);
	doapi_droplet_free(d);
	doapi_free(api);
}

static void test_list_paginated(void **state)
{
	struct doapi *api;
	struct doapi_droplet **l = NULL;
	size_t n = 0;
	char *cause = NULL;
	unsigned long before;

	fake_start("--page-size", "2", NULL);
	api = api_new();
	for (int i = 0; i < 5; i++) {
		_cleanup_free_ char *name = xprintf("redis-%d", i);

		doapi_droplet_free(create(api, name));
	}
	before = api->requests;
	assert_int_equal(doapi_droplets_by_tag(api, "doagent-launch-abc", &l, &n, &cause), 0);
	assert_int_equal(n, 5);
	assert_int_equal(api->requests - before, 3);
	assert_string_equal(l[4]->name, "redis-4");
	doapi_droplets_free(l, n);
	assert_int_equal(doapi_droplets_by_tag(api, "no-such-tag", &l, &n, &cause), 0);
	assert_int_equal(n, 0);
	doapi_droplets_free(l, n);
	api->max_pages = 2;
	assert_int_equal(doapi_droplets_by_tag(api, "redis", &l, &n, &cause), -E2BIG);
	check_cause(&cause);
	doapi_free(api);
}

static void test_retry_after(void **state)
{
	struct doapi *api;
	struct doapi_droplet *d, *g = NULL;
	char *cause = NULL;
	uint64_t t0;

	fake_start("--retry-after", "1", NULL);
	api = api_new();
	d = create(api, "redis-1");
	{
		_cleanup_free_ char *url = fake_url("/_fault");
		_cleanup_(http_response_done) struct http_response r = { 0 };
		const char body[] = "{\"status429_for\": 2}";
		const struct http_request req = { .method = "POST", .url = url, .body = body,
						  .body_len = sizeof body - 1 };

		assert_int_equal(http_request(&req, &r, &cause), 0);
		assert_int_equal(r.status, 200);
	}
	t0 = backoff_now_ms();
	api->requests = 0;
	assert_int_equal(doapi_droplet_get(api, d->id, &g, &cause), 0);
	assert_true(backoff_now_ms() - t0 >= 2000);
	assert_true(backoff_now_ms() - t0 < 2000 + SLACK_MS * 2);
	assert_int_equal(api->requests, 3);
	doapi_droplet_free(g);
	doapi_droplet_free(d);
	doapi_free(api);
}

static void test_ratelimit_reset(void **state)
{
	struct doapi *api;
	struct doapi_droplet *d, *g = NULL;
	char *cause = NULL;
	json_object *s;
	int64_t reset_ms;
	struct timespec ts;

	fake_start("--ratelimit-zero", "1", "--reset-in", "1", NULL);
	api = api_new();
	d = create(api, "redis-1");
	reset_ms = api->not_before_ms;
	assert_true(reset_ms > 0);
	assert_int_equal(doapi_droplet_get(api, d->id, &g, &cause), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	assert_true((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 >= reset_ms);
	s = fake_state();
	assert_int_equal(state_int(s, "ratelimit_violations", NULL), 0);
	json_object_put(s);
	doapi_droplet_free(g);
	doapi_droplet_free(d);
	doapi_free(api);
}

static void test_503_html(void **state)
{
	struct doapi *api;
	struct doapi_droplet *g = NULL, **l = NULL;
	size_t n = 99;
	char *cause = NULL;

	fake_start("--status503-for", "2", NULL);
	api = api_new();
	/* GET is retried through it. */
	assert_int_equal(doapi_droplets_by_tag(api, "x", &l, &n, &cause), 0);
	assert_int_equal(n, 0);
	doapi_droplets_free(l, n);
	assert_int_equal(api->requests, 3);
	/* A create is not: an ambiguous answer. */
	{
		_cleanup_free_ char *url = fake_url("/_fault");
		_cleanup_(http_response_done) struct http_response r = { 0 };
		const char body[] = "{\"status503_for\": 1}";
		const struct http_request req = { .method = "POST", .url = url, .body = body,
						  .body_len = sizeof body - 1 };

		assert_int_equal(http_request(&req, &r, &cause), 0);
	}
	{
		const struct doapi_create req = { .name = "a", .size = "s", .image = "123" };

		assert_int_equal(doapi_droplet_create(api, &req, &g, &cause), -EAGAIN);
		assert_non_null(strstr(cause, "HTTP 503 with a non-JSON body ("));
		assert_null(strstr(cause, "<html"));
		check_cause(&cause);
	}
	assert_int_equal(api->requests, 4);
	/* Past the deadline: ETIMEDOUT. */
	api->deadline_ms = 300;
	{
		_cleanup_free_ char *url = fake_url("/_fault");
		_cleanup_(http_response_done) struct http_response r = { 0 };
		const char body[] = "{\"status503_for\": 1000}";
		const struct http_request req = { .method = "POST", .url = url, .body = body,
						  .body_len = sizeof body - 1 };

		assert_int_equal(http_request(&req, &r, &cause), 0);
	}
	assert_int_equal(doapi_droplet_get(api, "1", &g, &cause), -ETIMEDOUT);
	assert_non_null(strstr(cause, "non-JSON body"));
	check_cause(&cause);
	doapi_free(api);
}

static void test_lost_create(void **state)
{
	struct doapi *api;
	struct doapi_droplet *d = NULL, **l = NULL;
	size_t n = 0;
	char *cause = NULL;
	const struct doapi_create req = { .name = "redis-1", .size = "s-1vcpu-1gb",
					  .image = "12345", .tags = tags };
	json_object *s;

	fake_start("--lose-create", "1", NULL);
	api = api_new();
	assert_int_equal(doapi_droplet_create(api, &req, &d, &cause), -EAGAIN);
	assert_non_null(strstr(cause, "ambiguous"));
	check_cause(&cause);
	assert_int_equal(doapi_droplets_by_tag(api, "doagent-launch-abc", &l, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0]->name, "redis-1");
	doapi_droplets_free(l, n);
	s = fake_state();
	assert_int_equal(state_droplets(s), 1);
	assert_int_equal(state_int(s, "methods", "POST"), 1);
	assert_int_equal(state_int(s, "requests", NULL), (int64_t)api->requests);
	json_object_put(s);
	doapi_free(api);
}

/* Several droplets with one POST ("names"); its answer lost: all of them made, one POST. */
static void test_create_several(void **state)
{
	const char *const names[] = { "g-2", "g-3", NULL }, *const too_many[] = {
		"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", NULL,
	};
	struct doapi_create req = { .names = names, .region = "nyc3", .size = "s-1vcpu-1gb",
				    .image = "12345", .user_data = "#doagent\n", .tags = tags };
	struct doapi *api;
	struct doapi_droplet **l = NULL, *d = NULL;
	size_t n = 0;
	char *cause = NULL;
	json_object *s;

	fake_start(NULL);
	api = api_new();
	assert_int_equal(doapi_droplets_create(api, &req, &l, &n, &cause), 0);
	assert_null(cause);
	assert_int_equal(n, 2);
	assert_string_equal(l[0]->name, "g-2");
	assert_string_equal(l[1]->name, "g-3");
	assert_string_not_equal(l[0]->id, l[1]->id);
	assert_string_equal(l[1]->tags[0], "doagent-launch-abc");
	doapi_droplets_free(l, n);
	s = fake_state();
	assert_int_equal(state_droplets(s), 2);
	assert_int_equal(state_int(s, "methods", "POST"), 1);
	json_object_put(s);
	/* One name through the one-droplet call, many through this one: refused here. */
	assert_int_equal(doapi_droplet_create(api, &req, &d, &cause), -EINVAL);
	check_cause(&cause);
	req.names = too_many;
	assert_int_equal(doapi_droplets_create(api, &req, &l, &n, &cause), -EINVAL);
	check_cause(&cause);
	doapi_free(api);
	fake_stop();

	fake_start("--lose-create", "1", NULL);
	api = api_new();
	req.names = names;
	assert_int_equal(doapi_droplets_create(api, &req, &l, &n, &cause), -EAGAIN);
	assert_non_null(strstr(cause, "ambiguous"));
	check_cause(&cause);
	s = fake_state();
	assert_int_equal(state_droplets(s), 2);
	assert_int_equal(state_int(s, "methods", "POST"), 1);
	json_object_put(s);
	doapi_free(api);
}

static void test_errors_and_token(void **state)
{
	struct doapi *api, *bad;
	struct doapi_droplet *d = NULL;
	_cleanup_free_ char *base = NULL;
	char *cause = NULL;
	const struct doapi_create req = { .name = "", .size = "s", .image = "x" };

	fake_start("--get404-for", "2", NULL);
	api = api_new();
	assert_int_equal(doapi_droplet_create(api, &req, &d, &cause), -EINVAL);
	assert_non_null(strstr(cause, "HTTP 422 unprocessable_entity: name is required (request id"));
	check_cause(&cause);
	/* A new droplet answers 404 at first. */
	d = create(api, "redis-1");
	{
		struct doapi_droplet *g = NULL;

		assert_int_equal(doapi_droplet_get(api, d->id, &g, &cause), -ENOENT);
		check_cause(&cause);
		assert_int_equal(doapi_droplet_get(api, d->id, &g, &cause), -ENOENT);
		check_cause(&cause);
		assert_int_equal(doapi_droplet_get(api, d->id, &g, &cause), 0);
		doapi_droplet_free(g);
	}
	/* A wrong token: EACCES, and neither token in the cause. */
	base = fake_url("");
	bad = doapi_new(base, "dop_v1_CANARY_wrong");
	assert_int_equal(doapi_droplet_delete(bad, d->id, &cause), -EACCES);
	assert_non_null(strstr(cause, "HTTP 401 unauthorized"));
	check_cause(&cause);
	doapi_free(bad);
	doapi_droplet_free(d);
	doapi_free(api);
}

static void test_firewall(void **state)
{
	struct doapi *api;
	const char *const all4[] = { "0.0.0.0/0", "::/0", NULL };
	const char *const src[] = { "198.51.100.7", NULL };
	const struct doapi_fw_rule in[] = { { "tcp", "6379", src, NULL }, { "tcp", "22", src, NULL } };
	const struct doapi_fw_rule out[] = { { "tcp", "0", all4, NULL }, { "udp", "0", all4, NULL } };
	const struct doapi_firewall_create req = { .name = "doagent-abc", .inbound = in,
		.n_inbound = 2, .outbound = out, .n_outbound = 2, .tags = tags };
	_cleanup_free_ char *id = NULL;
	char *cause = NULL;
	json_object *s, *fws, *fw, *rules;

	fake_start(NULL);
	api = api_new();
	/* Its tags do not exist yet: refused, naming the first. */
	assert_int_equal(doapi_firewall_create(api, &req, &id, &cause), -EINVAL);
	assert_non_null(strstr(cause, "HTTP 422 unprocessable_entity: tags names the tag doagent-launch-abc, which does not exist"));
	check_cause(&cause);
	for (size_t i = 0; tags[i]; i++)
		assert_int_equal(doapi_tag_create(api, tags[i], &cause), 0);
	assert_int_equal(doapi_firewall_create(api, &req, &id, &cause), 0);
	s = fake_state();
	assert_true(json_object_object_get_ex(s, "firewalls", &fws));
	assert_int_equal(json_object_array_length(fws), 1);
	fw = json_object_array_get_idx(fws, 0);
	assert_true(json_object_object_get_ex(fw, "inbound_rules", &rules));
	assert_int_equal(json_object_array_length(rules), 2);
	json_object_put(s);
	assert_int_equal(doapi_firewall_delete(api, id, &cause), 0);
	assert_int_equal(doapi_firewall_delete(api, id, &cause), 0);
	assert_int_equal(api->requests, 6);
	doapi_free(api);
}

/* POST /_fault: the fake's faults, as JSON. */
static void fake_fault(const char *json)
{
	_cleanup_free_ char *url = fake_url("/_fault");
	_cleanup_(http_response_done) struct http_response r = { 0 };
	_cleanup_free_ char *cause = NULL;
	const struct http_request req = { .method = "POST", .url = url, .body = json,
					  .body_len = strlen(json) };

	assert_int_equal(http_request(&req, &r, &cause), 0);
	assert_int_equal(r.status, 200);
}

/* The fake's log, as one string: "METHOD /path" each, joined by ", ". */
static char *fake_log(void)
{
	json_object *s = fake_state(), *log;
	size_t len = 0;
	char *out = xprintf("%s", "");

	assert_true(json_object_object_get_ex(s, "log", &log));
	for (size_t i = 0; i < json_object_array_length(log); i++) {
		const char *e = json_object_get_string(json_object_array_get_idx(log, i));
		char *more = xprintf("%s%s%s", out, len ? ", " : "", e);

		free(out);
		out = more;
		len = strlen(out);
	}
	json_object_put(s);
	return out;
}

/* Tags: made (201, also when it exists); refused as a duplicate (a 4xx) and then found
 * by GET, its ':' escaped; refused and not found; retried on 5xx; a bad name never
 * sent; 401 not looked up. */
static void test_tags(void **state)
{
	struct doapi *api, *bad;
	_cleanup_free_ char *base = NULL, *log = NULL;
	char *cause = NULL;

	fake_start(NULL);
	api = api_new();
	assert_int_equal(doapi_tag_create(api, "doagent-group:g1", &cause), 0);
	assert_null(cause);
	assert_int_equal(doapi_tag_create(api, "doagent-group:g1", &cause), 0);
	assert_int_equal(api->requests, 2);

	/* An API that refuses a duplicate (422): found by GET, so made. */
	fake_fault("{\"rules\": [{\"request\": \"POST /v2/tags\", \"do\": \"fail\", \"status\": 422,"
		   " \"message\": \"tag already exists\"}]}");
	assert_int_equal(doapi_tag_create(api, "doagent-group:g1", &cause), 0);
	assert_null(cause);
	assert_int_equal(api->requests, 4);
	log = fake_log();
	assert_string_equal(log, "POST /v2/tags, POST /v2/tags, POST /v2/tags, GET /v2/tags/doagent-group%3Ag1");
	/* Refused, and not there: the refusal, said. */
	fake_fault("{\"rules\": [{\"request\": \"POST /v2/tags\", \"do\": \"fail\", \"status\": 403,"
		   " \"message\": \"You do not have access for the attempted action.\"}]}");
	assert_int_equal(doapi_tag_create(api, "other", &cause), -EACCES);
	assert_non_null(strstr(cause, "creating tag other: HTTP 403 forbidden: You do not have access"));
	assert_non_null(strstr(cause, "and it does not exist"));
	check_cause(&cause);
	assert_int_equal(api->requests, 6);
	/* 5xx: sent again (making a tag twice is harmless). */
	fake_fault("{\"rules\": [{\"request\": \"POST /v2/tags\", \"do\": \"fail\", \"status\": 500}]}");
	assert_int_equal(doapi_tag_create(api, "other", &cause), 0);
	assert_int_equal(api->requests, 8);
	/* A name DigitalOcean would refuse: refused here, nothing sent. */
	assert_int_equal(doapi_tag_create(api, "bad name", &cause), -EINVAL);
	check_cause(&cause);
	assert_int_equal(doapi_tag_create(api, "", &cause), -EINVAL);
	check_cause(&cause);
	assert_int_equal(api->requests, 8);
	/* 401: not looked up. */
	base = fake_url("");
	bad = doapi_new(base, "dop_v1_CANARY_wrong");
	assert_int_equal(doapi_tag_create(bad, "third", &cause), -EACCES);
	assert_non_null(strstr(cause, "HTTP 401 unauthorized"));
	check_cause(&cause);
	assert_int_equal(bad->requests, 1);
	doapi_free(bad);
	doapi_free(api);
}

/* Firewalls found by name across pages; none, one, and two of one name. */
static void test_firewall_find(void **state)
{
	static const char *const names[] = { "fw-a", "fw-b", "fw-c", "fw-b", "fw-d" };
	const char *const all4[] = { "0.0.0.0/0", NULL };
	const struct doapi_fw_rule out[] = { { "tcp", "0", all4, NULL } };
	char *ids[5] = {}, *id = NULL, *cause = NULL;
	struct doapi *api;

	fake_start("--page-size", "2", NULL);
	api = api_new();
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		const struct doapi_firewall_create req = { .name = names[i], .outbound = out,
							   .n_outbound = 1 };
		assert_int_equal(doapi_firewall_create(api, &req, &ids[i], &cause), 0);
	}
	assert_int_equal(doapi_firewall_find(api, "fw-d", &id, &cause), 0);
	assert_string_equal(id, ids[4]);
	free(id);
	assert_int_equal(doapi_firewall_find(api, "fw-b", &id, &cause), 1);
	assert_string_equal(id, ids[1]);
	free(id);
	assert_int_equal(doapi_firewall_find(api, "fw-x", &id, &cause), 0);
	assert_null(id);
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		free(ids[i]);
	doapi_free(api);
}

/* Volumes: made, listed by name and region, attached at a droplet's create, refused
 * while attached (-EBUSY for a delete, -EINVAL for a second attach), detached by an
 * action that completes; droplet actions. */
static void test_volumes(void **state)
{
	const char *const vtags[] = { "doagent", NULL };
	const struct doapi_volume_create vreq = { .name = "redis-1-data", .region = "nyc3",
						  .size_gib = 10, .description = "d", .tags = vtags };
	struct doapi_volume *v = NULL, *g = NULL, **l = NULL;
	struct doapi_droplet *d = NULL, *dd = NULL;
	struct doapi_action a, b;
	struct doapi *api;
	char *cause = NULL;
	size_t n = 0;

	fake_start("--active-after", "0.1", "--action-after", "0.2", NULL);
	api = api_new();
	assert_int_equal(doapi_volume_create(api, &vreq, &v, &cause), 0);
	assert_string_equal(v->name, "redis-1-data");
	assert_string_equal(v->region, "nyc3");
	assert_int_equal(v->size_gib, 10);
	assert_null(v->droplet_ids[0]);
	assert_string_equal(v->tags[0], "doagent");
	assert_int_equal(doapi_volume_create(api, &vreq, &g, &cause), -EBUSY);
	assert_non_null(strstr(cause, "409 conflict"));
	check_cause(&cause);
	assert_int_equal(doapi_volumes_list(api, "redis-1-data", "nyc3", &l, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0]->id, v->id);
	doapi_volumes_free(l, n);
	assert_int_equal(doapi_volumes_list(api, "redis-1-data", "fra1", &l, &n, &cause), 0);
	assert_int_equal(n, 0);
	doapi_volumes_free(l, n);

	const char *const volumes[] = { v->id, NULL };
	const struct doapi_create req = { .name = "redis-1", .region = "nyc3", .size = "s-1vcpu-1gb",
					  .image = "debian-12-x64", .volumes = volumes };
	assert_int_equal(doapi_droplet_create(api, &req, &d, &cause), 0);
	assert_string_equal(d->volume_ids[0], v->id);
	assert_string_equal(d->region, "nyc3");
	assert_string_equal(d->size_slug, "s-1vcpu-1gb");
	assert_int_equal(doapi_volume_get(api, v->id, &g, &cause), 0);
	assert_string_equal(g->droplet_ids[0], d->id);
	doapi_volume_free(g);
	assert_int_equal(doapi_volume_delete(api, v->id, &cause), -EBUSY);
	check_cause(&cause);
	assert_int_equal(doapi_volume_action(api, v->id, "attach", d->id, "nyc3", &a, &cause), -EINVAL);
	assert_non_null(strstr(cause, "This volume is already attached"));
	check_cause(&cause);

	/* A droplet action, then a volume action once it completed. */
	usleep(200000);
	assert_int_equal(doapi_droplet_action(api, d->id, "shutdown", &a, &cause), 0);
	assert_string_equal(a.status, "in-progress");
	usleep(300000);
	assert_int_equal(doapi_droplet_action_get(api, d->id, a.id, &b, &cause), 0);
	assert_string_equal(b.id, a.id);
	assert_string_equal(b.status, "completed");
	assert_int_equal(doapi_droplet_get(api, d->id, &dd, &cause), 0);
	assert_string_equal(dd->status, "off");
	doapi_droplet_free(dd);
	assert_int_equal(doapi_volume_action(api, v->id, "detach", d->id, "nyc3", &a, &cause), 0);
	assert_string_equal(a.status, "in-progress");
	usleep(300000);
	assert_int_equal(doapi_volume_action_get(api, v->id, a.id, &b, &cause), 0);
	assert_string_equal(b.status, "completed");
	assert_int_equal(doapi_volume_get(api, v->id, &g, &cause), 0);
	assert_null(g->droplet_ids[0]);
	doapi_volume_free(g);
	assert_int_equal(doapi_volume_delete(api, v->id, &cause), 0);
	assert_int_equal(doapi_volume_get(api, v->id, &g, &cause), -ENOENT);
	check_cause(&cause);
	/* Deleting it again is done, and ids with a '/' never reach a path. */
	assert_int_equal(doapi_volume_delete(api, v->id, &cause), 0);
	assert_int_equal(doapi_volume_get(api, "../droplets", &g, &cause), -EINVAL);
	check_cause(&cause);
	doapi_droplet_free(d);
	doapi_volume_free(v);
	doapi_free(api);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_create_get_delete, teardown),
		cmocka_unit_test_teardown(test_create_several, teardown),
		cmocka_unit_test_teardown(test_list_paginated, teardown),
		cmocka_unit_test_teardown(test_retry_after, teardown),
		cmocka_unit_test_teardown(test_ratelimit_reset, teardown),
		cmocka_unit_test_teardown(test_503_html, teardown),
		cmocka_unit_test_teardown(test_lost_create, teardown),
		cmocka_unit_test_teardown(test_errors_and_token, teardown),
		cmocka_unit_test_teardown(test_firewall, teardown),
		cmocka_unit_test_teardown(test_firewall_find, teardown),
		cmocka_unit_test_teardown(test_tags, teardown),
		cmocka_unit_test_teardown(test_volumes, teardown),
	};

	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		fprintf(stderr, "SKIP: python3 is not installed (the fake API needs it)\n");
		return 77;
	}
	unsetenv("http_proxy");
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	if (http_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The DigitalOcean API client: see doapi.h for the rules and the errors. */
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
#include <curl/curl.h>
#include <json-c/json.h>

#include "backoff.h"
#include "buf.h"
#include "doapi.h"
#include "http.h"
#include "macro.h"
#include "strutil.h"
#include "strv.h"

#define ID_MAX 20
#define QUOTE_MAX 80

DEFINE_TRIVIAL_CLEANUP_FUNC(struct doapi_droplet *, doapi_droplet_free)

static void responsep(struct http_response *r)
{
	http_response_done(r);
}

struct doapi *doapi_new(const char *base_url, const char *token)
{
	struct doapi *api = calloc(1, sizeof *api);
	char *url;
	size_t len;

	if (!api)
		return NULL;
	url = strdup(base_url ? base_url : DOAPI_DEFAULT_URL);
	api->token = strdup(token ? token : "");
	if (!url || !api->token) {
		free(url);
		doapi_free(api);
		return NULL;
	}
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
	api->base_url = url;
	api->deadline_ms = 60000;
	api->backoff_initial_ms = 500;
	api->backoff_max_ms = 8000;
	api->timeout_ms = 30000;
	api->max_pages = 50;
	return api;
}

void doapi_free(struct doapi *api)
{
	if (!api)
		return;
	erase_and_freep(&api->token);
	free((char *)api->base_url);
	free(api);
}

void doapi_droplet_free(struct doapi_droplet *d)
{
	if (!d)
		return;
	free(d->id);
	free(d->name);
	free(d->status);
	free(d->public_ipv4);
	free(d->private_ipv4);
	free(d->public_ipv6);
	strv_free(d->tags);
	free(d->region);
	free(d->size_slug);
	free(d->vpc_uuid);
	strv_free(d->volume_ids);
	free(d);
}

void doapi_droplets_free(struct doapi_droplet **l, size_t n)
{
	if (!l)
		return;
	for (size_t i = 0; i < n; i++)
		doapi_droplet_free(l[i]);
	free(l);
}

/* A URL-escaped copy (malloc'd), NULL on ENOMEM. */
static char *escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *copy;

	if (!e)
		return NULL;
	copy = strdup(e);
	curl_free(e);
	return copy;
}

static bool all_digits(const char *s)
{
	if (!s || !*s || strlen(s) > ID_MAX)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Milliseconds to wait as the response asks: Retry-After (seconds) and, when
 * RateLimit-Remaining is 0, until RateLimit-Reset; remembers the latter for the
 * next request. 0 when it asks nothing. */
static uint64_t response_delay_ms(struct doapi *api, const struct http_response *r)
{
	unsigned long long v;
	uint64_t delay = 0;

	if (r->retry_after && strutil_parse_u64(r->retry_after, 0, 3600, &v) == 0)
		delay = v * 1000;
	if (r->ratelimit_remaining && strcmp(r->ratelimit_remaining, "0") == 0 &&
	    r->ratelimit_reset &&
	    strutil_parse_u64(r->ratelimit_reset, 0, 1ULL << 40, &v) == 0) {
		int64_t reset = (int64_t)v * 1000, now = wall_ms();

		if (reset > api->not_before_ms)
			api->not_before_ms = reset;
		if (reset > now && (uint64_t)(reset - now) > delay)
			delay = (uint64_t)(reset - now);
	}
	return delay;
}

/* Waits out a rate limit seen before, at most cap_ms. */
static void wait_rate_limit(struct doapi *api, uint64_t cap_ms)
{
	int64_t now = wall_ms();
	uint64_t wait;

	if (api->not_before_ms <= now)
		return;
	wait = (uint64_t)(api->not_before_ms - now);
	sleep_ms(wait < cap_ms ? wait : cap_ms);
}

/* One HTTP request with the token; counts it. */
static int send_once(struct doapi *api, const char *method, const char *url, const char *body,
		     struct http_response *ret, char **ret_cause)
{
	_cleanup_erase_ char *auth = NULL;
	const char *headers[4] = { "Accept: application/json", NULL, NULL, NULL };
	struct http_request req = {
		.method = method,
		.url = url,
		.headers = headers,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.timeout_ms = api->timeout_ms,
		.max_body = 8u << 20,
	};

	if (asprintf(&auth, "Authorization: Bearer %s", api->token) < 0) {
		auth = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	headers[1] = auth;
	if (body)
		headers[2] = "Content-Type: application/json";
	api->requests++;
	return http_request(&req, ret, ret_cause);
}

/* The error body, said in a cause: DigitalOcean's {"id", "message"} or {"error"}, or its
 * size. */
static char *describe_status(const struct http_response *r)
{
	_cleanup_json_ json_object *o = NULL;
	_cleanup_free_ char *msg = NULL, *rid = NULL;
	json_object *id, *message;
	char *s = NULL;
	int n;

	if (r->len == strlen(r->body))
		o = json_tokener_parse(r->body);
	if (r->request_id)
		rid = strutil_quote(r->request_id, QUOTE_MAX);
	if (o && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "id", &id) && json_object_is_type(id, json_type_string) &&
	    json_object_object_get_ex(o, "message", &message) &&
	    json_object_is_type(message, json_type_string)) {
		_cleanup_free_ char *qid = strutil_quote(json_object_get_string(id), QUOTE_MAX);

		msg = strutil_quote(json_object_get_string(message), QUOTE_MAX);
		n = asprintf(&s, "HTTP %ld %s: %s%s%s%s", r->status, qid ? qid : "?",
			     msg ? msg : "?", rid ? " (request id " : "", rid ? rid : "",
			     rid ? ")" : "");
	} else if (o && json_object_is_type(o, json_type_object) &&
		   json_object_object_get_ex(o, "error", &message) &&
		   json_object_is_type(message, json_type_string)) {
		/* The other shape of DigitalOcean's errors: {"error", "root_causes"}. */
		msg = strutil_quote(json_object_get_string(message), QUOTE_MAX);
		n = asprintf(&s, "HTTP %ld: %s%s%s%s", r->status, msg ? msg : "?",
			     rid ? " (request id " : "", rid ? rid : "", rid ? ")" : "");
	} else if (o) {
		n = asprintf(&s, "HTTP %ld with an unexpected JSON body (%zu bytes)%s%s%s",
			     r->status, r->len, rid ? " (request id " : "", rid ? rid : "",
			     rid ? ")" : "");
	} else {
		n = asprintf(&s, "HTTP %ld with a non-JSON body (%zu bytes)%s%s%s", r->status,
			     r->len, rid ? " (request id " : "", rid ? rid : "", rid ? ")" : "");
	}
	return n < 0 ? NULL : s;
}

static int status_error(const struct http_response *r, const char *what, char **ret_cause)
{
	_cleanup_free_ char *d = describe_status(r);
	int e;

	if (r->status == 404)
		e = -ENOENT;
	else if (r->status == 409)
		e = -EBUSY;
	else if (r->status == 401 || r->status == 403)
		e = -EACCES;
	else if (r->status == 429)
		e = -ETIMEDOUT;
	else if (r->status >= 400 && r->status < 500)
		e = -EINVAL;
	else if (r->status >= 500)
		e = -EAGAIN;
	else
		e = -EBADMSG;
	return strutil_cause(ret_cause, e, "%s: %s", what, d ? d : "out of memory");
}

static bool retriable(long status)
{
	return status == 429 || status >= 500;
}

/*
 * GET or DELETE url (or an idempotent POST of body), retried on 429, 5xx and transport
 * errors until the deadline. Returns 0 with any other answer in *ret, or -ETIMEDOUT /
 * -ENOMEM.
 */
static int send_retried(struct doapi *api, const char *method, const char *url,
			const char *body, const char *what, struct http_response *ret,
			char **ret_cause)
{
	struct backoff b;

	backoff_init(&b, api->backoff_initial_ms, api->backoff_max_ms, api->deadline_ms);
	for (;;) {
		struct http_response r = {};
		_cleanup_free_ char *cause = NULL;
		uint64_t hint = 0;
		int k;

		wait_rate_limit(api, backoff_remaining_ms(&b));
		k = send_once(api, method, url, body, &r, &cause);
		if (k == -ENOMEM || k == -EINVAL)
			return strutil_cause(ret_cause, k, "%s: %s", what, cause ? cause : "?");
		if (k == 0) {
			hint = response_delay_ms(api, &r);
			if (!retriable(r.status)) {
				*ret = r;
				return 0;
			}
			free(cause);
			cause = describe_status(&r);
			http_response_done(&r);
		}
		if (!backoff_wait(&b, hint))
			return strutil_cause(ret_cause, -ETIMEDOUT,
					     "%s: still failing after %u retries: %s", what,
					     b.attempts, cause ? cause : "out of memory");
	}
}

/* POST once. Any failure that may have come after the server acted is -EAGAIN. */
static int send_post(struct doapi *api, const char *url, const char *body, const char *what,
		     struct http_response *ret, char **ret_cause)
{
	_cleanup_free_ char *cause = NULL;
	int k;

	wait_rate_limit(api, api->deadline_ms);
	k = send_once(api, "POST", url, body, ret, &cause);
	if (k == -ENOMEM || k == -EINVAL || k == -ECONNREFUSED)
		/* Refused: nothing was sent, but the caller may list anyway. */
		return strutil_cause(ret_cause, k == -ECONNREFUSED ? -EAGAIN : k,
				     "%s: %s%s", what, cause ? cause : "?",
				     k == -ECONNREFUSED ? " (nothing was made)" : "");
	if (k < 0)
		return strutil_cause(ret_cause, -EAGAIN,
				     "%s: ambiguous: it may exist: %s", what, cause ? cause : "?");
	(void)response_delay_ms(api, ret);
	return 0;
}

static int parse_body(const struct http_response *r, const char *what, json_object **ret,
		      char **ret_cause)
{
	json_object *o = NULL;

	if (r->len == strlen(r->body))
		o = json_tokener_parse(r->body);
	if (!o)
		return strutil_cause(ret_cause, -EBADMSG,
				     "%s: HTTP %ld with a non-JSON body (%zu bytes)", what,
				     r->status, r->len);
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return strutil_cause(ret_cause, -EBADMSG, "%s: the answer is not a JSON object",
				     what);
	}
	*ret = o;
	return 0;
}

/* Field name of o, of type t; absent or JSON null is allowed only when optional. */
static int get_field(json_object *o, const char *name, json_type t, bool optional,
		     const char *what, json_object **ret, char **ret_cause)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, name, &v) || !v) {
		if (optional) {
			*ret = NULL;
			return 0;
		}
		return strutil_cause(ret_cause, -EBADMSG, "%s: no \"%s\" in the answer", what, name);
	}
	if (!json_object_is_type(v, t))
		return strutil_cause(ret_cause, -EBADMSG, "%s: \"%s\" is not a %s", what, name,
				     json_type_to_name(t));
	*ret = v;
	return 0;
}

static int dup_string(json_object *o, const char *name, bool optional, const char *what,
		      char **ret, char **ret_cause)
{
	json_object *v;
	int k = get_field(o, name, json_type_string, optional, what, &v, ret_cause);

	if (k < 0)
		return k;
	if (!v) {
		*ret = NULL;
		return 0;
	}
	*ret = strdup(json_object_get_string(v));
	return *ret ? 0 : strutil_cause(ret_cause, -ENOMEM, "out of memory");
}

/* The first address of the given type in networks.<family>. */
static int pick_address(json_object *networks, const char *family, const char *type,
			const char *what, char **ret, char **ret_cause)
{
	json_object *arr;
	int k = get_field(networks, family, json_type_array, true, what, &arr, ret_cause);

	*ret = NULL;
	if (k < 0 || !arr)
		return k;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *n = json_object_array_get_idx(arr, i), *t, *ip;

		if (!json_object_is_type(n, json_type_object))
			return strutil_cause(ret_cause, -EBADMSG, "%s: networks.%s[%zu] is not an object",
					     what, family, i);
		if ((k = get_field(n, "type", json_type_string, false, what, &t, ret_cause)) < 0 ||
		    (k = get_field(n, "ip_address", json_type_string, false, what, &ip, ret_cause)) < 0)
			return k;
		if (strcmp(json_object_get_string(t), type) == 0) {
			*ret = strdup(json_object_get_string(ip));
			return *ret ? 0 : strutil_cause(ret_cause, -ENOMEM, "out of memory");
		}
	}
	return 0;
}

/* The array name of o (absent or null: empty) as a list: its strings, or with t
 * json_type_int its positive numbers in decimal. */
static int dup_strv(json_object *o, const char *name, json_type t, const char *what, char ***ret,
		    char **ret_cause)
{
	_cleanup_strv_ char **l = calloc(1, sizeof(char *));
	json_object *a;
	int k = get_field(o, name, json_type_array, true, what, &a, ret_cause);

	if (k < 0)
		return k;
	if (!l)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		json_object *v = json_object_array_get_idx(a, i);
		int64_t n;

		if (!json_object_is_type(v, t))
			return strutil_cause(ret_cause, -EBADMSG, "%s: %s[%zu] is not a %s", what,
					     name, i, json_type_to_name(t));
		if (t == json_type_string)
			k = strv_extend(&l, json_object_get_string(v));
		else if ((n = json_object_get_int64(v)) <= 0 || n == INT64_MAX)
			return strutil_cause(ret_cause, -EBADMSG, "%s: %s[%zu] is out of range",
					     what, name, i);
		else
			k = strv_extendf(&l, "%" PRId64, n);
		if (k < 0)
			return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	*ret = TAKE_PTR(l);
	return 0;
}

/* o's region.slug, NULL when o has no region. */
static int dup_region(json_object *o, const char *what, char **ret, char **ret_cause)
{
	json_object *region = NULL;
	int k = get_field(o, "region", json_type_object, true, what, &region, ret_cause);

	*ret = NULL;
	if (k < 0 || !region)
		return k;
	return dup_string(region, "slug", false, what, ret, ret_cause);
}

static int parse_droplet(json_object *o, const char *what, struct doapi_droplet **ret,
			 char **ret_cause)
{
	_cleanup_(doapi_droplet_freep) struct doapi_droplet *d = NULL;
	json_object *id, *networks, *vcpus;
	int64_t n;
	int k;

	if (!json_object_is_type(o, json_type_object))
		return strutil_cause(ret_cause, -EBADMSG, "%s: a droplet is not an object", what);
	d = calloc(1, sizeof *d);
	if (!d)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	if ((k = get_field(o, "id", json_type_int, false, what, &id, ret_cause)) < 0)
		return k;
	n = json_object_get_int64(id);
	if (n <= 0 || n == INT64_MAX)
		return strutil_cause(ret_cause, -EBADMSG, "%s: \"id\" is out of range", what);
	if (asprintf(&d->id, "%" PRId64, n) < 0) {
		d->id = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	if ((k = dup_string(o, "name", false, what, &d->name, ret_cause)) < 0 ||
	    (k = dup_string(o, "status", false, what, &d->status, ret_cause)) < 0)
		return k;
	if ((k = get_field(o, "networks", json_type_object, true, what, &networks, ret_cause)) < 0)
		return k;
	if (networks &&
	    ((k = pick_address(networks, "v4", "public", what, &d->public_ipv4, ret_cause)) < 0 ||
	     (k = pick_address(networks, "v4", "private", what, &d->private_ipv4, ret_cause)) < 0 ||
	     (k = pick_address(networks, "v6", "public", what, &d->public_ipv6, ret_cause)) < 0))
		return k;
	if ((k = dup_strv(o, "tags", json_type_string, what, &d->tags, ret_cause)) < 0 ||
	    (k = dup_region(o, what, &d->region, ret_cause)) < 0 ||
	    (k = dup_string(o, "size_slug", true, what, &d->size_slug, ret_cause)) < 0 ||
	    (k = dup_string(o, "vpc_uuid", true, what, &d->vpc_uuid, ret_cause)) < 0 ||
	    (k = dup_strv(o, "volume_ids", json_type_string, what, &d->volume_ids, ret_cause)) < 0 ||
	    (k = get_field(o, "vcpus", json_type_int, true, what, &vcpus, ret_cause)) < 0)
		return k;
	if (vcpus) {
		n = json_object_get_int64(vcpus);
		if (n <= 0 || n > 4096)
			return strutil_cause(ret_cause, -EBADMSG, "%s: \"vcpus\" is out of range", what);
		d->vcpus = (unsigned)n;
	}
	*ret = TAKE_PTR(d);
	return 0;
}

static int build_url(struct doapi *api, char **ret, char **ret_cause, const char *fmt, ...)
	_printf_(4, 5);
static int build_url(struct doapi *api, char **ret, char **ret_cause, const char *fmt, ...)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	va_list ap;
	int k;

	if (buf_puts(&b, api->base_url) < 0)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	va_start(ap, fmt);
	k = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (k < 0 || !(*ret = buf_steal(&b, NULL)))
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	return 0;
}

static json_object *string_array(const char *const *l, bool ids)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && l && l[i]; i++) {
		json_object *v = ids && all_digits(l[i]) ?
			json_object_new_int64(strtoll(l[i], NULL, 10)) :
			json_object_new_string(l[i]);

		if (!v || json_object_array_add(a, v) < 0) {
			json_object_put(v);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

/* Adds key: v to o, taking v; false on ENOMEM (v freed). */
static bool add(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return false;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

static bool add_string(json_object *o, const char *key, const char *s)
{
	return !s || add(o, key, json_object_new_string(s));
}

/* POST body to path, once: a 5xx or lost answer is ambiguous (-EAGAIN: "thing"
 * may exist); any other failure status is an error. On success *ret_answer holds
 * the parsed answer and *ret_object its member key (an object, or an array when the
 * key ends in 's'). */
static int post_create(struct doapi *api, const char *path, json_object *body, const char *what,
		       const char *thing, const char *key, json_object **ret_answer,
		       json_object **ret_object, char **ret_cause)
{
	json_type t = key[strlen(key) - 1] == 's' ? json_type_array : json_type_object;
	_cleanup_(responsep) struct http_response r = {};
	_cleanup_free_ char *url = NULL;
	int k;

	if ((k = build_url(api, &url, ret_cause, "%s", path)) < 0)
		return k;
	k = send_post(api, url, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
		      what, &r, ret_cause);
	if (k < 0)
		return k;
	if (r.status >= 500) {
		_cleanup_free_ char *d = describe_status(&r);

		return strutil_cause(ret_cause, -EAGAIN, "%s: ambiguous: %s may exist: %s", what, thing,
				     d ? d : "out of memory");
	}
	if (r.status != 202 && r.status != 200 && r.status != 201)
		return status_error(&r, what, ret_cause);
	if ((k = parse_body(&r, what, ret_answer, ret_cause)) < 0)
		return k;
	return get_field(*ret_answer, key, t, false, what, ret_object, ret_cause);
}

json_object *doapi_droplet_body(const struct doapi_create *req)
{
	json_object *body = json_object_new_object();
	bool ok = body &&
		  (req->names ? add(body, "names", string_array(req->names, false)) :
				add_string(body, "name", req->name)) &&
		  add_string(body, "region", req->region) && add_string(body, "size", req->size) &&
		  add(body, "image", all_digits(req->image) ?
					     json_object_new_int64(strtoll(req->image, NULL, 10)) :
					     json_object_new_string(req->image)) &&
		  add_string(body, "user_data", req->user_data) &&
		  add(body, "ssh_keys", string_array(req->ssh_keys, true)) &&
		  add(body, "tags", string_array(req->tags, false)) &&
		  add_string(body, "vpc_uuid", req->vpc_uuid) &&
		  (!req->monitoring || add(body, "monitoring", json_object_new_boolean(1))) &&
		  (!req->volumes || add(body, "volumes", string_array(req->volumes, false)));

	if (!ok) {
		json_object_put(body);
		return NULL;
	}
	return body;
}

int doapi_droplet_create(struct doapi *api, const struct doapi_create *req,
			 struct doapi_droplet **ret, char **ret_cause)
{
	static const char what[] = "creating the droplet";
	_cleanup_json_ json_object *body = NULL, *answer = NULL;
	json_object *droplet;
	int k;

	if (!req->name || req->names || !req->size || !req->image)
		return strutil_cause(ret_cause, -EINVAL, "%s: name, size and image are required",
				     what);
	body = doapi_droplet_body(req);
	if (!body)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	k = post_create(api, "/v2/droplets", body, what, "the droplet", "droplet", &answer, &droplet,
			ret_cause);
	if (k < 0)
		return k;
	return parse_droplet(droplet, what, ret, ret_cause);
}

int doapi_droplets_create(struct doapi *api, const struct doapi_create *req,
			  struct doapi_droplet ***ret, size_t *n, char **ret_cause)
{
	static const char what[] = "creating the droplets";
	_cleanup_json_ json_object *body = NULL, *answer = NULL;
	struct doapi_droplet **l = NULL;
	size_t want = 0, got;
	json_object *droplets;
	int k;

	while (req->names && req->names[want])
		want++;
	if (want == 0 || want > DOAPI_MAX_NAMES || req->name || !req->size || !req->image)
		return strutil_cause(ret_cause, -EINVAL, "%s: 1 to %d names, a size and an image are required",
				     what, DOAPI_MAX_NAMES);
	body = doapi_droplet_body(req);
	if (!body)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	k = post_create(api, "/v2/droplets", body, what, "they", "droplets", &answer, &droplets,
			ret_cause);
	if (k < 0)
		return k;
	got = json_object_array_length(droplets);
	if (got != want)
		return strutil_cause(ret_cause, -EBADMSG, "%s: %zu droplets in the answer, not %zu", what,
				     got, want);
	l = calloc(got, sizeof *l);
	if (!l)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	for (size_t i = 0; i < got; i++)
		if ((k = parse_droplet(json_object_array_get_idx(droplets, i), what, &l[i], ret_cause)) < 0) {
			doapi_droplets_free(l, got);
			return k;
		}
	*ret = l;
	*n = got;
	return 0;
}

int doapi_droplet_get(struct doapi *api, const char *id, struct doapi_droplet **ret,
		      char **ret_cause)
{
	_cleanup_json_ json_object *answer = NULL;
	_cleanup_(responsep) struct http_response r = {};
	_cleanup_free_ char *url = NULL, *what = NULL;
	json_object *droplet;
	int k;

	if (!all_digits(id))
		return strutil_cause(ret_cause, -EINVAL, "not a droplet id");
	if (asprintf(&what, "getting droplet %s", id) < 0) {
		what = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	if ((k = build_url(api, &url, ret_cause, "/v2/droplets/%s", id)) < 0 ||
	    (k = send_retried(api, "GET", url, NULL, what, &r, ret_cause)) < 0)
		return k;
	if (r.status != 200)
		return status_error(&r, what, ret_cause);
	if ((k = parse_body(&r, what, &answer, ret_cause)) < 0 ||
	    (k = get_field(answer, "droplet", json_type_object, false, what, &droplet,
			   ret_cause)) < 0)
		return k;
	return parse_droplet(droplet, what, ret, ret_cause);
}

/* links.pages.next when present, a copy, checked to stay under base_url. */
static int next_page(struct doapi *api, json_object *answer, const char *what, char **ret,
		     char **ret_cause)
{
	json_object *links, *pages, *next;
	size_t blen = strlen(api->base_url);
	const char *s;
	int k;

	*ret = NULL;
	if ((k = get_field(answer, "links", json_type_object, true, what, &links, ret_cause)) < 0 ||
	    !links)
		return k;
	if ((k = get_field(links, "pages", json_type_object, true, what, &pages, ret_cause)) < 0 ||
	    !pages)
		return k;
	if ((k = get_field(pages, "next", json_type_string, true, what, &next, ret_cause)) < 0 ||
	    !next)
		return k;
	s = json_object_get_string(next);
	if (strncmp(s, api->base_url, blen) != 0 || s[blen] != '/' ||
	    !strutil_is_printable_ascii(s))
		return strutil_cause(ret_cause, -EBADMSG,
				     "%s: links.pages.next does not point under %s", what,
				     api->base_url);
	*ret = strdup(s);
	return *ret ? 0 : strutil_cause(ret_cause, -ENOMEM, "out of memory");
}

/* GET url and every next page; each element of the array member goes to item(). */
static int list_all(struct doapi *api, char *url, const char *what, const char *member,
		    int (*item)(json_object *o, const char *what, void *ctx, char **ret_cause),
		    void *ctx, char **ret_cause)
{
	unsigned pages = 0;
	int k = 0;

	while (url) {
		_cleanup_json_ json_object *answer = NULL;
		_cleanup_(responsep) struct http_response r = {};
		json_object *arr;
		char *next;

		if (++pages > api->max_pages) {
			k = strutil_cause(ret_cause, -E2BIG, "%s: more than %u pages", what,
					  api->max_pages);
			break;
		}
		if ((k = send_retried(api, "GET", url, NULL, what, &r, ret_cause)) < 0)
			break;
		if (r.status != 200) {
			k = status_error(&r, what, ret_cause);
			break;
		}
		if ((k = parse_body(&r, what, &answer, ret_cause)) < 0 ||
		    (k = get_field(answer, member, json_type_array, false, what, &arr,
				   ret_cause)) < 0)
			break;
		for (size_t i = 0; k >= 0 && i < json_object_array_length(arr); i++)
			k = item(json_object_array_get_idx(arr, i), what, ctx, ret_cause);
		if (k < 0 || (k = next_page(api, answer, what, &next, ret_cause)) < 0)
			break;
		free(url);
		url = next;
	}
	free(url);
	return k < 0 ? k : 0;
}

struct droplet_list {
	struct doapi_droplet **list;
	size_t n;
};

static int add_droplet(json_object *o, const char *what, void *ctx, char **ret_cause)
{
	struct droplet_list *dl = ctx;
	struct doapi_droplet **l = reallocarray(dl->list, dl->n + 1, sizeof *l);
	int k;

	if (!l)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	dl->list = l;
	if ((k = parse_droplet(o, what, &dl->list[dl->n], ret_cause)) < 0)
		return k;
	dl->n++;
	return 0;
}

int doapi_droplets_by_tag(struct doapi *api, const char *tag, struct doapi_droplet ***ret,
			  size_t *n, char **ret_cause)
{
	_cleanup_free_ char *what = NULL, *qtag = NULL;
	struct droplet_list dl = {};
	char *url = NULL;
	int k;

	if (asprintf(&what, "listing droplets tagged %s", tag) < 0) {
		what = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	qtag = escape(tag);
	if (!qtag)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	if ((k = build_url(api, &url, ret_cause, "/v2/droplets?tag_name=%s&per_page=200", qtag)) < 0)
		return k;
	k = list_all(api, url, what, "droplets", add_droplet, &dl, ret_cause);
	if (k < 0) {
		doapi_droplets_free(dl.list, dl.n);
		return k;
	}
	*ret = dl.list;
	*n = dl.n;
	return 0;
}

static int delete_url(struct doapi *api, const char *url, const char *what, char **ret_cause)
{
	_cleanup_(responsep) struct http_response r = {};
	int k = send_retried(api, "DELETE", url, NULL, what, &r, ret_cause);

	if (k < 0)
		return k;
	if (r.status == 204 || r.status == 200 || r.status == 202 || r.status == 404)
		return 0;
	return status_error(&r, what, ret_cause);
}

int doapi_droplet_delete(struct doapi *api, const char *id, char **ret_cause)
{
	_cleanup_free_ char *url = NULL, *what = NULL;
	int k;

	if (!all_digits(id))
		return strutil_cause(ret_cause, -EINVAL, "not a droplet id");
	if (asprintf(&what, "deleting droplet %s", id) < 0) {
		what = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	if ((k = build_url(api, &url, ret_cause, "/v2/droplets/%s", id)) < 0)
		return k;
	return delete_url(api, url, what, ret_cause);
}

static json_object *fw_rules(const struct doapi_fw_rule *rules, size_t n, const char *target)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++) {
		json_object *rule = json_object_new_object(), *t = json_object_new_object();
		bool ok = rule && t && add_string(rule, "protocol", rules[i].protocol) &&
			  add_string(rule, "ports", rules[i].ports) &&
			  (!rules[i].addresses ||
			   add(t, "addresses", string_array(rules[i].addresses, false))) &&
			  (!rules[i].tags || add(t, "tags", string_array(rules[i].tags, false)));

		if (ok) {
			ok = add(rule, target, t);
			t = NULL;
		}
		if (ok) {
			ok = json_object_array_add(a, rule) == 0;
			if (ok)
				rule = NULL;
		}
		json_object_put(t);
		json_object_put(rule);
		if (!ok) {
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

json_object *doapi_firewall_body(const struct doapi_firewall_create *req)
{
	json_object *body = json_object_new_object();
	bool ok = body && add_string(body, "name", req->name) &&
		  add(body, "inbound_rules", fw_rules(req->inbound, req->n_inbound, "sources")) &&
		  add(body, "outbound_rules",
		      fw_rules(req->outbound, req->n_outbound, "destinations")) &&
		  (!req->tags || add(body, "tags", string_array(req->tags, false))) &&
		  (!req->droplet_ids ||
		   add(body, "droplet_ids", string_array(req->droplet_ids, true)));

	if (!ok) {
		json_object_put(body);
		return NULL;
	}
	return body;
}

/* fw's "id", checked and copied. */
static int firewall_id(json_object *fw, const char *what, char **ret_id, char **ret_cause)
{
	json_object *id;
	const char *s;
	int k;

	if ((k = get_field(fw, "id", json_type_string, false, what, &id, ret_cause)) < 0)
		return k;
	s = json_object_get_string(id);
	if (!*s || strlen(s) > 64 || !strutil_is_printable_ascii(s) || strchr(s, '/'))
		return strutil_cause(ret_cause, -EBADMSG, "%s: \"id\" is not a firewall id", what);
	*ret_id = strdup(s);
	return *ret_id ? 0 : strutil_cause(ret_cause, -ENOMEM, "out of memory");
}

int doapi_firewall_create(struct doapi *api, const struct doapi_firewall_create *req,
			  char **ret_id, char **ret_cause)
{
	static const char what[] = "creating the firewall";
	_cleanup_json_ json_object *body = NULL, *answer = NULL;
	json_object *fw;
	int k;

	if (!req->name)
		return strutil_cause(ret_cause, -EINVAL, "%s: a name is required", what);
	body = doapi_firewall_body(req);
	if (!body)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	if ((k = post_create(api, "/v2/firewalls", body, what, "it", "firewall", &answer, &fw,
			     ret_cause)) < 0)
		return k;
	return firewall_id(fw, what, ret_id, ret_cause);
}

struct firewall_match {
	const char *name;
	char *id;
	unsigned found;
};

static int match_firewall(json_object *o, const char *what, void *ctx, char **ret_cause)
{
	struct firewall_match *m = ctx;
	json_object *name;
	int k;

	if ((k = get_field(o, "name", json_type_string, false, what, &name, ret_cause)) < 0)
		return k;
	if (strcmp(json_object_get_string(name), m->name) != 0)
		return 0;
	if (++m->found > 1)
		return 0;
	return firewall_id(o, what, &m->id, ret_cause);
}

int doapi_firewall_find(struct doapi *api, const char *name, char **ret_id, char **ret_cause)
{
	_cleanup_free_ char *what = NULL;
	struct firewall_match m = { .name = name };
	char *url = NULL;
	int k;

	if (asprintf(&what, "looking for firewall %s", name) < 0) {
		what = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	if ((k = build_url(api, &url, ret_cause, "/v2/firewalls?per_page=200")) < 0)
		return k;
	k = list_all(api, url, what, "firewalls", match_firewall, &m, ret_cause);
	if (k < 0) {
		free(m.id);
		return k;
	}
	*ret_id = m.id;
	return m.found > 1 ? 1 : 0;
}

int doapi_firewall_delete(struct doapi *api, const char *id, char **ret_cause)
{
	_cleanup_free_ char *url = NULL, *what = NULL, *qid = NULL;
	int k;

	if (!id || !*id || strlen(id) > 64)
		return strutil_cause(ret_cause, -EINVAL, "not a firewall id");
	qid = escape(id);
	if (!qid || asprintf(&what, "deleting firewall %s", qid) < 0) {
		what = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	if ((k = build_url(api, &url, ret_cause, "/v2/firewalls/%s", qid)) < 0)
		return k;
	return delete_url(api, url, what, ret_cause);
}

/* A tag name as DigitalOcean takes it: 1 to 255 letters, digits, ':', '-' and '_'. */
static bool valid_tag(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_");

	return n > 0 && n <= 255 && !s[n];
}

/* r's "tag" is an object whose "name" is a string. */
static int check_tag(const struct http_response *r, const char *what, char **ret_cause)
{
	_cleanup_json_ json_object *answer = NULL;
	json_object *tag, *name;
	int k;

	if ((k = parse_body(r, what, &answer, ret_cause)) < 0 ||
	    (k = get_field(answer, "tag", json_type_object, false, what, &tag, ret_cause)) < 0 ||
	    (k = get_field(tag, "name", json_type_string, false, what, &name, ret_cause)) < 0)
		return k;
	return 0;
}

json_object *doapi_tag_body(const char *name)
{
	json_object *body = json_object_new_object();

	if (body && !add_string(body, "name", name)) {
		json_object_put(body);
		return NULL;
	}
	return body;
}

int doapi_tag_create(struct doapi *api, const char *name, char **ret_cause)
{
	_cleanup_(responsep) struct http_response r = {}, g = {};
	_cleanup_free_ char *what = NULL, *url = NULL, *qname = NULL, *refused = NULL,
			    *looked = NULL;
	_cleanup_json_ json_object *body = NULL;
	int k, e;

	if (!name || !valid_tag(name))
		return strutil_cause(ret_cause, -EINVAL,
				     "not a tag name: 1 to 255 letters, digits, ':', '-' and '_'");
	if (asprintf(&what, "creating tag %s", name) < 0) {
		what = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	if (!(body = doapi_tag_body(name)))
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	if ((k = build_url(api, &url, ret_cause, "/v2/tags")) < 0 ||
	    (k = send_retried(api, "POST", url,
			      json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), what, &r,
			      ret_cause)) < 0)
		return k;
	if (r.status == 201 || r.status == 200)
		return check_tag(&r, what, ret_cause);
	if (r.status < 400 || r.status >= 500 || r.status == 401 || r.status == 429)
		return status_error(&r, what, ret_cause);

	/* Refused: perhaps because the tag exists (DigitalOcean answers 201 then, but
	 * nothing promises it). If GET finds it, it is there as asked. */
	e = status_error(&r, what, &refused);
	free(url);
	url = NULL;
	/* The name is letters, digits, ':', '-' and '_': escaped, ':' is "%3A". */
	qname = escape(name);
	if (!qname || (k = build_url(api, &url, ret_cause, "/v2/tags/%s", qname)) < 0)
		return qname ? k : strutil_cause(ret_cause, -ENOMEM, "out of memory");
	k = send_retried(api, "GET", url, NULL, what, &g, &looked);
	if (k == 0 && g.status == 200)
		return check_tag(&g, what, ret_cause);
	if (k == 0 && g.status == 404)
		return strutil_cause(ret_cause, e, "%s, and it does not exist", refused ? refused : what);
	if (k == 0) {
		free(looked);
		looked = describe_status(&g);
	}
	return strutil_cause(ret_cause, e, "%s; looking for it failed: %s", refused ? refused : what,
			     looked ? looked : "out of memory");
}

void doapi_volume_free(struct doapi_volume *v)
{
	if (!v)
		return;
	free(v->id);
	free(v->name);
	free(v->region);
	strv_free(v->droplet_ids);
	strv_free(v->tags);
	free(v);
}

void doapi_volumes_free(struct doapi_volume **l, size_t n)
{
	if (!l)
		return;
	for (size_t i = 0; i < n; i++)
		doapi_volume_free(l[i]);
	free(l);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct doapi_volume *, doapi_volume_free)

/* An id from an answer, or one to put in a path: printable, no '/', at most 64 bytes. */
static bool valid_id(const char *s)
{
	return s && *s && strlen(s) <= 64 && strutil_is_printable_ascii(s) && !strchr(s, '/');
}

static int parse_volume(json_object *o, const char *what, struct doapi_volume **ret,
			char **ret_cause)
{
	_cleanup_(doapi_volume_freep) struct doapi_volume *v = NULL;
	json_object *size;
	int k;

	if (!json_object_is_type(o, json_type_object))
		return strutil_cause(ret_cause, -EBADMSG, "%s: a volume is not an object", what);
	v = calloc(1, sizeof *v);
	if (!v)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	if ((k = dup_string(o, "id", false, what, &v->id, ret_cause)) < 0)
		return k;
	if (!valid_id(v->id))
		return strutil_cause(ret_cause, -EBADMSG, "%s: \"id\" is not a volume id", what);
	if ((k = dup_string(o, "name", false, what, &v->name, ret_cause)) < 0 ||
	    (k = dup_region(o, what, &v->region, ret_cause)) < 0 ||
	    (k = get_field(o, "size_gigabytes", json_type_int, false, what, &size, ret_cause)) < 0 ||
	    (k = dup_strv(o, "droplet_ids", json_type_int, what, &v->droplet_ids, ret_cause)) < 0 ||
	    (k = dup_strv(o, "tags", json_type_string, what, &v->tags, ret_cause)) < 0)
		return k;
	if (!v->region)
		return strutil_cause(ret_cause, -EBADMSG, "%s: no \"region\" in the answer", what);
	if (json_object_get_int64(size) <= 0)
		return strutil_cause(ret_cause, -EBADMSG, "%s: \"size_gigabytes\" is out of range", what);
	v->size_gib = (unsigned long long)json_object_get_int64(size);
	*ret = TAKE_PTR(v);
	return 0;
}

json_object *doapi_volume_body(const struct doapi_volume_create *req)
{
	json_object *body = json_object_new_object();
	bool ok = body && add_string(body, "name", req->name) &&
		  add_string(body, "region", req->region) &&
		  add(body, "size_gigabytes", json_object_new_int64((int64_t)req->size_gib)) &&
		  add_string(body, "description", req->description) &&
		  (!req->tags || add(body, "tags", string_array(req->tags, false)));

	if (!ok) {
		json_object_put(body);
		return NULL;
	}
	return body;
}

int doapi_volume_create(struct doapi *api, const struct doapi_volume_create *req,
			struct doapi_volume **ret, char **ret_cause)
{
	static const char what[] = "creating the volume";
	_cleanup_json_ json_object *body = NULL, *answer = NULL;
	json_object *volume;
	int k;

	if (!req->name || !req->region || !req->size_gib)
		return strutil_cause(ret_cause, -EINVAL, "%s: name, region and size are required",
				     what);
	body = doapi_volume_body(req);
	if (!body)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	k = post_create(api, "/v2/volumes", body, what, "the volume", "volume", &answer, &volume,
			ret_cause);
	if (k < 0)
		return k;
	return parse_volume(volume, what, ret, ret_cause);
}

struct volume_list {
	struct doapi_volume **list;
	size_t n;
};

static int add_volume(json_object *o, const char *what, void *ctx, char **ret_cause)
{
	struct volume_list *vl = ctx;
	struct doapi_volume **l = reallocarray(vl->list, vl->n + 1, sizeof *l);
	int k;

	if (!l)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	vl->list = l;
	if ((k = parse_volume(o, what, &vl->list[vl->n], ret_cause)) < 0)
		return k;
	vl->n++;
	return 0;
}

int doapi_volumes_list(struct doapi *api, const char *name, const char *region,
		       struct doapi_volume ***ret, size_t *n, char **ret_cause)
{
	_cleanup_buf_ struct buf q = BUF_INIT;
	_cleanup_free_ char *qname = name ? escape(name) : NULL, *qregion = region ? escape(region) : NULL;
	struct volume_list vl = {};
	char *url = NULL;
	int k;

	if ((name && !qname) || (region && !qregion) ||
	    buf_puts(&q, "/v2/volumes?per_page=200") < 0 ||
	    (qname && buf_printf(&q, "&name=%s", qname) < 0) ||
	    (qregion && buf_printf(&q, "&region=%s", qregion) < 0))
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	if ((k = build_url(api, &url, ret_cause, "%s", q.data)) < 0)
		return k;
	k = list_all(api, url, "listing volumes", "volumes", add_volume, &vl, ret_cause);
	if (k < 0) {
		doapi_volumes_free(vl.list, vl.n);
		return k;
	}
	*ret = vl.list;
	*n = vl.n;
	return 0;
}

/* The path /v2/volumes/<id><suffix> (id checked and escaped), and what "<verb> volume <id>". */
static int volume_path(const char *id, const char *verb, const char *suffix, char **ret_path,
		       char **ret_what, char **ret_cause)
{
	_cleanup_free_ char *qid = NULL;

	if (!valid_id(id))
		return strutil_cause(ret_cause, -EINVAL, "not a volume id");
	qid = escape(id);
	if (!qid || asprintf(ret_what, "%s volume %s", verb, qid) < 0) {
		*ret_what = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	if (asprintf(ret_path, "/v2/volumes/%s%s", qid, suffix) < 0) {
		*ret_path = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	return 0;
}

/* The URL of volume_path. */
static int volume_url(struct doapi *api, const char *id, const char *verb, const char *suffix,
		      char **ret_url, char **ret_what, char **ret_cause)
{
	_cleanup_free_ char *path = NULL;
	int k = volume_path(id, verb, suffix, &path, ret_what, ret_cause);

	return k < 0 ? k : build_url(api, ret_url, ret_cause, "%s", path);
}

int doapi_volume_get(struct doapi *api, const char *id, struct doapi_volume **ret,
		     char **ret_cause)
{
	_cleanup_json_ json_object *answer = NULL;
	_cleanup_(responsep) struct http_response r = {};
	_cleanup_free_ char *url = NULL, *what = NULL;
	json_object *volume;
	int k;

	if ((k = volume_url(api, id, "getting", "", &url, &what, ret_cause)) < 0 ||
	    (k = send_retried(api, "GET", url, NULL, what, &r, ret_cause)) < 0)
		return k;
	if (r.status != 200)
		return status_error(&r, what, ret_cause);
	if ((k = parse_body(&r, what, &answer, ret_cause)) < 0 ||
	    (k = get_field(answer, "volume", json_type_object, false, what, &volume, ret_cause)) < 0)
		return k;
	return parse_volume(volume, what, ret, ret_cause);
}

int doapi_volume_delete(struct doapi *api, const char *id, char **ret_cause)
{
	_cleanup_free_ char *url = NULL, *what = NULL;
	int k;

	if ((k = volume_url(api, id, "deleting", "", &url, &what, ret_cause)) < 0)
		return k;
	return delete_url(api, url, what, ret_cause);
}

static int parse_action(json_object *o, const char *what, struct doapi_action *ret,
			char **ret_cause)
{
	json_object *id, *status;
	const char *st;
	int64_t n;
	int k;

	if ((k = get_field(o, "id", json_type_int, false, what, &id, ret_cause)) < 0 ||
	    (k = get_field(o, "status", json_type_string, false, what, &status, ret_cause)) < 0)
		return k;
	n = json_object_get_int64(id);
	st = json_object_get_string(status);
	if (n <= 0 || n == INT64_MAX)
		return strutil_cause(ret_cause, -EBADMSG, "%s: the action's \"id\" is out of range", what);
	if (strcmp(st, "in-progress") != 0 && strcmp(st, "completed") != 0 && strcmp(st, "errored") != 0)
		return strutil_cause(ret_cause, -EBADMSG, "%s: the action's \"status\" is unknown", what);
	snprintf(ret->id, sizeof ret->id, "%" PRId64, n);
	snprintf(ret->status, sizeof ret->status, "%s", st);
	return 0;
}

/* POST body (taken) to path (an action), once; the answer's "action". */
static int post_action(struct doapi *api, const char *path, json_object *body, const char *what,
		       struct doapi_action *ret, char **ret_cause)
{
	_cleanup_json_ json_object *answer = NULL;
	json_object *action;
	int k;

	if (!body)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	k = post_create(api, path, body, what, "the action", "action", &answer, &action, ret_cause);
	json_object_put(body);
	return k < 0 ? k : parse_action(action, what, ret, ret_cause);
}

/* GET url, an action. */
static int get_action(struct doapi *api, const char *url, const char *what,
		      struct doapi_action *ret, char **ret_cause)
{
	_cleanup_json_ json_object *answer = NULL;
	_cleanup_(responsep) struct http_response r = {};
	json_object *action;
	int k;

	if ((k = send_retried(api, "GET", url, NULL, what, &r, ret_cause)) < 0)
		return k;
	if (r.status != 200)
		return status_error(&r, what, ret_cause);
	if ((k = parse_body(&r, what, &answer, ret_cause)) < 0 ||
	    (k = get_field(answer, "action", json_type_object, false, what, &action, ret_cause)) < 0)
		return k;
	return parse_action(action, what, ret, ret_cause);
}

int doapi_volume_action(struct doapi *api, const char *id, const char *type,
			const char *droplet_id, const char *region, struct doapi_action *ret,
			char **ret_cause)
{
	_cleanup_free_ char *path = NULL, *what = NULL, *w = NULL;
	_cleanup_json_ json_object *body = json_object_new_object();
	int k;

	if (!all_digits(droplet_id))
		return strutil_cause(ret_cause, -EINVAL, "not a droplet id");
	if ((k = volume_path(id, type, "/actions", &path, &what, ret_cause)) < 0)
		return k;
	if (!body || !add_string(body, "type", type) ||
	    !add(body, "droplet_id", json_object_new_int64(strtoll(droplet_id, NULL, 10))) ||
	    !add_string(body, "region", region) ||
	    asprintf(&w, "%s, droplet %s", what, droplet_id) < 0) {
		w = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	return post_action(api, path, TAKE_PTR(body), w, ret, ret_cause);
}

int doapi_volume_action_get(struct doapi *api, const char *id, const char *action_id,
			    struct doapi_action *ret, char **ret_cause)
{
	_cleanup_free_ char *url = NULL, *what = NULL, *suffix = NULL;
	int k;

	if (!all_digits(action_id))
		return strutil_cause(ret_cause, -EINVAL, "not an action id");
	if (asprintf(&suffix, "/actions/%s", action_id) < 0) {
		suffix = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	if ((k = volume_url(api, id, "the action of", suffix, &url, &what, ret_cause)) < 0)
		return k;
	return get_action(api, url, what, ret, ret_cause);
}

int doapi_droplet_action(struct doapi *api, const char *id, const char *type,
			 struct doapi_action *ret, char **ret_cause)
{
	_cleanup_free_ char *path = NULL, *what = NULL;
	json_object *body = json_object_new_object();

	if (!all_digits(id)) {
		json_object_put(body);
		return strutil_cause(ret_cause, -EINVAL, "not a droplet id");
	}
	if (!body || !add_string(body, "type", type) ||
	    asprintf(&path, "/v2/droplets/%s/actions", id) < 0 ||
	    asprintf(&what, "%s of droplet %s", type, id) < 0) {
		path = what = NULL;
		json_object_put(body);
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	return post_action(api, path, body, what, ret, ret_cause);
}

int doapi_droplet_action_get(struct doapi *api, const char *id, const char *action_id,
			     struct doapi_action *ret, char **ret_cause)
{
	_cleanup_free_ char *url = NULL, *what = NULL;
	int k;

	if (!all_digits(id) || !all_digits(action_id))
		return strutil_cause(ret_cause, -EINVAL, "not a droplet or action id");
	if (asprintf(&what, "getting action %s of droplet %s", action_id, id) < 0) {
		what = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	if ((k = build_url(api, &url, ret_cause, "/v2/droplets/%s/actions/%s", id, action_id)) < 0)
		return k;
	return get_action(api, url, what, ret, ret_cause);
}

void doapi_alert_free(struct doapi_alert *a)
{
	if (!a)
		return;
	free(a->uuid);
	free(a->type);
	free(a->description);
	free(a->compare);
	free(a->window);
	strv_free(a->entities);
	strv_free(a->tags);
	strv_free(a->emails);
	free(a);
}

void doapi_alerts_free(struct doapi_alert **l, size_t n)
{
	if (!l)
		return;
	for (size_t i = 0; i < n; i++)
		doapi_alert_free(l[i]);
	free(l);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct doapi_alert *, doapi_alert_free)

/* A policy: every member the schema requires, entities as strings (the schema's; its
 * own list example has numbers, which the schema refuses). */
static int parse_alert(json_object *o, const char *what, struct doapi_alert **ret, char **ret_cause)
{
	_cleanup_(doapi_alert_freep) struct doapi_alert *a = NULL;
	json_object *value, *enabled, *alerts;
	int k;

	if (!json_object_is_type(o, json_type_object))
		return strutil_cause(ret_cause, -EBADMSG, "%s: a policy is not an object", what);
	a = calloc(1, sizeof *a);
	if (!a)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	if ((k = dup_string(o, "uuid", false, what, &a->uuid, ret_cause)) < 0)
		return k;
	if (!valid_id(a->uuid))
		return strutil_cause(ret_cause, -EBADMSG, "%s: \"uuid\" is not a policy's id", what);
	if ((k = dup_string(o, "type", false, what, &a->type, ret_cause)) < 0 ||
	    (k = dup_string(o, "description", false, what, &a->description, ret_cause)) < 0 ||
	    (k = dup_string(o, "compare", false, what, &a->compare, ret_cause)) < 0 ||
	    (k = dup_string(o, "window", false, what, &a->window, ret_cause)) < 0 ||
	    (k = dup_strv(o, "entities", json_type_string, what, &a->entities, ret_cause)) < 0 ||
	    (k = dup_strv(o, "tags", json_type_string, what, &a->tags, ret_cause)) < 0 ||
	    (k = get_field(o, "enabled", json_type_boolean, false, what, &enabled, ret_cause)) < 0 ||
	    (k = get_field(o, "alerts", json_type_object, false, what, &alerts, ret_cause)) < 0 ||
	    (k = dup_strv(alerts, "email", json_type_string, what, &a->emails, ret_cause)) < 0)
		return k;
	if (!json_object_object_get_ex(o, "value", &value) ||
	    !(json_object_is_type(value, json_type_int) || json_object_is_type(value, json_type_double)))
		return strutil_cause(ret_cause, -EBADMSG, "%s: \"value\" is not a number", what);
	a->value = json_object_get_double(value);
	a->enabled = json_object_get_boolean(enabled);
	*ret = TAKE_PTR(a);
	return 0;
}

json_object *doapi_alert_body(const struct doapi_alert_create *req)
{
	json_object *body = json_object_new_object(), *alerts = json_object_new_object();
	double v = req->value;
	bool ok = body && alerts && add_string(body, "type", req->type) &&
		  add_string(body, "description", req->description) &&
		  add_string(body, "compare", req->compare) &&
		  /* A whole number as one, as the API's own examples write it. */
		  add(body, "value", v == (double)(int64_t)v && v > -1e15 && v < 1e15 ?
					     json_object_new_int64((int64_t)v) :
					     json_object_new_double(v)) &&
		  add_string(body, "window", req->window) &&
		  add(body, "entities", string_array(req->entities, false)) &&
		  add(body, "tags", string_array(req->tags, false)) &&
		  add(alerts, "email", string_array(req->emails, false)) &&
		  add(alerts, "slack", json_object_new_array());

	if (ok) {
		ok = add(body, "alerts", alerts);
		alerts = NULL;
	}
	if (ok)
		ok = add(body, "enabled", json_object_new_boolean(req->enabled));
	json_object_put(alerts);
	if (!ok) {
		json_object_put(body);
		return NULL;
	}
	return body;
}

int doapi_alert_create(struct doapi *api, const struct doapi_alert_create *req,
		       struct doapi_alert **ret, char **ret_cause)
{
	static const char what[] = "creating the alert policy";
	_cleanup_json_ json_object *body = NULL, *answer = NULL;
	json_object *policy;
	int k;

	if (!req->type || !req->description || !req->compare || !req->window)
		return strutil_cause(ret_cause, -EINVAL, "%s: type, description, compare and window are required",
				     what);
	body = doapi_alert_body(req);
	if (!body)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	k = post_create(api, "/v2/monitoring/alerts", body, what, "the policy", "policy", &answer,
			&policy, ret_cause);
	if (k < 0)
		return k;
	return parse_alert(policy, what, ret, ret_cause);
}

struct alert_list {
	struct doapi_alert **list;
	size_t n;
};

static int add_alert(json_object *o, const char *what, void *ctx, char **ret_cause)
{
	struct alert_list *al = ctx;
	struct doapi_alert **l = reallocarray(al->list, al->n + 1, sizeof *l);
	int k;

	if (!l)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	al->list = l;
	if ((k = parse_alert(o, what, &al->list[al->n], ret_cause)) < 0)
		return k;
	al->n++;
	return 0;
}

int doapi_alerts_list(struct doapi *api, struct doapi_alert ***ret, size_t *n, char **ret_cause)
{
	struct alert_list al = {};
	char *url = NULL;
	int k;

	if ((k = build_url(api, &url, ret_cause, "/v2/monitoring/alerts?per_page=200")) < 0)
		return k;
	k = list_all(api, url, "listing alert policies", "policies", add_alert, &al, ret_cause);
	if (k < 0) {
		doapi_alerts_free(al.list, al.n);
		return k;
	}
	*ret = al.list;
	*n = al.n;
	return 0;
}

int doapi_alert_delete(struct doapi *api, const char *uuid, char **ret_cause)
{
	_cleanup_free_ char *url = NULL, *what = NULL, *q = NULL;
	int k;

	if (!valid_id(uuid))
		return strutil_cause(ret_cause, -EINVAL, "not an alert policy's id");
	q = escape(uuid);
	if (!q || asprintf(&what, "deleting alert policy %s", q) < 0) {
		what = NULL;
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	}
	if ((k = build_url(api, &url, ret_cause, "/v2/monitoring/alerts/%s", q)) < 0)
		return k;
	return delete_url(api, url, what, ret_cause);
}

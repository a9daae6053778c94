/*
 * The DigitalOcean API client's answer parsing: the input is what the API answers.
 * doapi.c is included, with http_request and http_response_done renamed to the fake
 * transport below, so that every call goes the real way (status handling, parse_body,
 * get_field, parse_droplet, next_page, describe_status, the rate-limit headers) with
 * no network and no waiting (the retry deadline is 0).
 *
 * Input: byte 0 picks the call, byte 1 the HTTP status of every answer, byte 2 which
 * headers the answers carry; the rest is the answers' bodies, one after the other,
 * separated by "\n@@\n" (a listing follows links.pages.next to the next one).
 *
 * Checks: the requests are well formed (the token in its header, a POST body that is
 * JSON); a call returns one of the errors doapi.h names, with a printable cause; what
 * it returns is what doapi.h promises. Each input runs twice, with two tokens: the
 * requests' URLs and bodies and the result and cause must not differ, so the token
 * goes nowhere but its header (looking for the token's text instead would be fooled
 * by answers that spell it, e.g. through an escape such as "\x0d" + "op_v1...").
 */
#include "autoconfig.h"

#include "fuzz.h"

#define http_request fuzz_http_request
#define http_response_done fuzz_http_response_done
#include "doapi.c"

#define BASE_URL "https://api.example.test"
static const char *const tokens[] = {
	"dop_v1_fuzztoken0123456789abcdef", "dop_v1_FUZZTOKEN9876543210ZYXWVU",
};
#define SEPARATOR "\n@@\n"

static const long statuses[] = {
	200, 201, 202, 204, 301, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 100,
};

static struct {
	const uint8_t *p, *end;	/* the bodies not answered yet; p NULL when none is left */
	long status;
	unsigned headers;
	const char *token;
	struct buf trace;	/* every request and the result, for comparing the two runs */
} fake;

static char *fake_strdup(const char *s)
{
	char *t = strdup(s);

	FUZZ_NONNULL(t);
	return t;
}

int fuzz_http_request(const struct http_request *req, struct http_response *ret, char **ret_cause)
{
	bool auth = false;
	const uint8_t *sep;
	size_t len;
	char *want;

	FUZZ_CHECK(strcmp(req->method, "GET") == 0 || strcmp(req->method, "POST") == 0 ||
		   strcmp(req->method, "DELETE") == 0);
	FUZZ_CHECK(strncmp(req->url, BASE_URL "/", strlen(BASE_URL "/")) == 0);
	FUZZ_CHECK(asprintf(&want, "Authorization: Bearer %s", fake.token) > 0);
	for (size_t i = 0; req->headers && req->headers[i]; i++)
		if (strcmp(req->headers[i], want) == 0)
			auth = true;
	free(want);
	FUZZ_CHECK(auth);
	FUZZ_CHECK(buf_printf(&fake.trace, "%s %s\n%s\n", req->method, req->url,
			      req->body ? req->body : "") >= 0);
	if (strcmp(req->method, "POST") == 0) {
		json_object *o;

		FUZZ_CHECK(req->body && req->body_len == strlen(req->body));
		o = json_tokener_parse(req->body);
		FUZZ_CHECK(json_object_is_type(o, json_type_object));
		json_object_put(o);
	}

	if (!fake.p) {
		*ret_cause = fake_strdup("connection refused");
		return -ECONNREFUSED;
	}
	sep = memmem(fake.p, (size_t)(fake.end - fake.p), SEPARATOR, strlen(SEPARATOR));
	len = sep ? (size_t)(sep - fake.p) : (size_t)(fake.end - fake.p);
	*ret = (struct http_response){ .status = fake.status, .len = len };
	ret->body = malloc(len + 1);
	FUZZ_NONNULL(ret->body);
	memcpy(ret->body, fake.p, len);
	ret->body[len] = '\0';
	fake.p = sep ? sep + strlen(SEPARATOR) : NULL;

	if (fake.headers & 1)
		ret->retry_after = fake_strdup("2");
	if (fake.headers & 2)
		ret->ratelimit_remaining = fake_strdup("0");
	if (fake.headers & 4)
		ret->ratelimit_reset = fake_strdup(fake.headers & 8 ? "1" : "99999999999");
	if (fake.headers & 16)
		ret->request_id = fake_strdup("req-\x01\"\xff-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	if (fake.headers & 32)
		ret->content_type = fake_strdup("application/json; charset=utf-8");
	return 0;
}

void fuzz_http_response_done(struct http_response *r)
{
	free(r->body);
	free(r->content_type);
	free(r->retry_after);
	free(r->ratelimit_remaining);
	free(r->ratelimit_reset);
	free(r->request_id);
	*r = (struct http_response){ 0 };
}

static void check_droplet(const struct doapi_droplet *d)
{
	FUZZ_NONNULL(d);
	FUZZ_CHECK(all_digits(d->id));
	FUZZ_NONNULL(d->name);
	FUZZ_NONNULL(d->status);
	FUZZ_NONNULL(d->tags);
	FUZZ_NONNULL(d->volume_ids);
}

static void check_volume(const struct doapi_volume *v)
{
	FUZZ_NONNULL(v);
	FUZZ_CHECK(valid_id(v->id));
	FUZZ_NONNULL(v->name);
	FUZZ_NONNULL(v->region);
	FUZZ_CHECK(v->size_gib > 0);
	FUZZ_NONNULL(v->tags);
	FUZZ_NONNULL(v->droplet_ids);
	for (char **id = v->droplet_ids; *id; id++)
		FUZZ_CHECK(all_digits(*id));
}

static void check_action(const struct doapi_action *a)
{
	FUZZ_CHECK(all_digits(a->id));
	FUZZ_CHECK(strcmp(a->status, "in-progress") == 0 || strcmp(a->status, "completed") == 0 ||
		   strcmp(a->status, "errored") == 0);
}

static void check_error(int r, const char *cause)
{
	FUZZ_CHECK(r == -EAGAIN || r == -ETIMEDOUT || r == -ENOENT || r == -EACCES ||
		   r == -EINVAL || r == -EBADMSG || r == -E2BIG || r == -EBUSY);
	FUZZ_NONNULL(cause);
	FUZZ_CHECK(fuzz_printable(cause));
}

static void call(struct doapi *api, unsigned which)
{
	static const char *const keys[] = { "3164444", "aa:bb:cc:dd", NULL };
	static const char *const tags[] = { "doagent-launch:fuzz", NULL };
	static const char *const addresses[] = { "10.10.0.0/16", "vpc", NULL };
	static const char *const ids[] = { "3164444", "3164445", NULL };
	const struct doapi_create create = {
		.name = "cache-1", .region = "nyc3", .size = "s-1vcpu-1gb",
		.image = "debian-12-x64", .user_data = "#doagent\n[redis]\nport = 6379\n",
		.ssh_keys = keys, .tags = tags,
	};
	static const char *const names[] = { "cache-2", "cache-3", NULL };
	const struct doapi_create several = {
		.names = names, .region = "nyc3", .size = "s-1vcpu-1gb",
		.image = "debian-12-x64", .user_data = "#doagent\n[redis]\nport = 6379\n",
		.ssh_keys = keys, .tags = tags,
	};
	const struct doapi_fw_rule inbound[] = {
		{ .protocol = "tcp", .ports = "6379", .addresses = addresses },
		{ .protocol = "tcp", .ports = "22", .tags = tags },
	};
	const struct doapi_fw_rule outbound[] = {
		{ .protocol = "udp", .ports = "0", .addresses = addresses },
	};
	const struct doapi_firewall_create fw = {
		.name = "doagent-fuzz", .inbound = inbound, .n_inbound = ELEMENTSOF(inbound),
		.outbound = outbound, .n_outbound = ELEMENTSOF(outbound), .tags = tags,
		.droplet_ids = ids,
	};
	const struct doapi_volume_create vc = {
		.name = "cache-1-data", .region = "nyc3", .size_gib = 10,
		.description = "fuzz", .tags = tags,
	};
	struct doapi_droplet *d = NULL, **list = NULL;
	struct doapi_volume *v = NULL, **vlist = NULL;
	struct doapi_action a = { .id = "" };
	char *cause = NULL, *id = NULL;
	bool acted = false;
	size_t n = 0, vn = 0;
	int r;

	switch (which % 16) {
	case 0:
		r = doapi_droplet_create(api, &create, &d, &cause);
		break;
	case 1:
		r = doapi_droplet_get(api, "3164444", &d, &cause);
		break;
	case 2:
		r = doapi_droplets_by_tag(api, "doagent-launch:fuzz", &list, &n, &cause);
		break;
	case 3:
		r = doapi_droplet_delete(api, "3164444", &cause);
		break;
	case 4:
		r = doapi_firewall_create(api, &fw, &id, &cause);
		break;
	case 5:
		r = doapi_firewall_delete(api, "fw-0123", &cause);
		break;
	case 6:
		r = doapi_volume_create(api, &vc, &v, &cause);
		break;
	case 7:
		r = doapi_volumes_list(api, "cache-1-data", "nyc3", &vlist, &vn, &cause);
		break;
	case 8:
		r = doapi_volume_get(api, "7724db7c-e098-11e5-b522-000f53304e51", &v, &cause);
		break;
	case 9:
		r = doapi_volume_delete(api, "7724db7c-e098-11e5-b522-000f53304e51", &cause);
		break;
	case 10:
		r = doapi_volume_action(api, "7724db7c-e098-11e5-b522-000f53304e51", "attach", "3164444",
					"nyc3", &a, &cause);
		acted = true;
		break;
	case 11:
		r = doapi_volume_action_get(api, "7724db7c-e098-11e5-b522-000f53304e51", "72531856", &a,
					    &cause);
		acted = true;
		break;
	case 12:
		r = doapi_droplet_action(api, "3164444", "shutdown", &a, &cause);
		acted = true;
		break;
	case 13:
		r = doapi_droplets_create(api, &several, &list, &n, &cause);
		break;
	default:
		r = doapi_droplet_action_get(api, "3164444", "36804636", &a, &cause);
		acted = true;
		break;
	}
	FUZZ_CHECK(buf_printf(&fake.trace, "%d %s %s %s %s %s\n", r, cause ? cause : "-", id ? id : "-",
			      d ? d->id : "-", v ? v->id : "-", a.id) >= 0);
	if (r < 0) {
		check_error(r, cause);
		FUZZ_CHECK(!d && !list && !id && !v && !vlist);
	} else {
		FUZZ_CHECK(!cause);
		if (which % 16 <= 1)
			check_droplet(d);
		for (size_t i = 0; i < n; i++)
			check_droplet(list[i]);
		FUZZ_CHECK(n <= 1 || list);
		/* a droplet for each name asked for, or an error */
		if (which % 16 == 13)
			FUZZ_CHECK(n == 2);
		if (id)
			FUZZ_CHECK(*id && fuzz_printable(id) && !strchr(id, '/'));
		if (which % 16 == 6 || which % 16 == 8)
			check_volume(v);
		for (size_t i = 0; i < vn; i++)
			check_volume(vlist[i]);
		FUZZ_CHECK(vn <= 1 || vlist);
		if (acted)
			check_action(&a);
	}
	doapi_droplet_free(d);
	doapi_droplets_free(list, n);
	doapi_volume_free(v);
	doapi_volumes_free(vlist, vn);
	free(id);
	free(cause);
}

/* One call with the given token; returns its trace (malloc'd). */
static char *run(const uint8_t *data, size_t size, const char *token)
{
	struct doapi *api;
	char *trace;

	fake.p = data + 3;
	fake.end = data + size;
	fake.status = statuses[data[1] % ELEMENTSOF(statuses)];
	fake.headers = data[2];
	fake.token = token;
	fake.trace = (struct buf)BUF_INIT;

	api = doapi_new(BASE_URL "/", token);
	FUZZ_NONNULL(api);
	api->deadline_ms = 0;
	api->max_pages = 4;
	call(api, data[0]);
	doapi_free(api);
	trace = buf_steal(&fake.trace, NULL);
	FUZZ_NONNULL(trace);
	return trace;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *a, *b;

	if (size < 3)
		return 0;
	a = run(data, size, tokens[0]);
	b = run(data, size, tokens[1]);
	FUZZ_CHECK(strcmp(a, b) == 0);
	free(a);
	free(b);
	return 0;
}

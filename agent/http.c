/*
 * The one HTTP client: a libcurl easy handle per request.
 *
 * MUST:
 * - speak http and https only, checked here before curl sees the URL and again by curl
 *   (CURLOPT_PROTOCOLS_STR); follow no redirect;
 * - bound every request: a connect timeout, a total timeout, a cap on the body;
 * - never put a request header, a request body, a response header value or a response
 *   body into a cause: the API token and the user data travel in them. A cause holds the
 *   method, the URL without its user:password part, and curl's error text;
 * - refuse a method or a header that could smuggle a line break into the request;
 * - erase the response body before freeing it.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#include "buf.h"
#include "http.h"
#include "strutil.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_BODY ((size_t)1024 * 1024)
#define URL_QUOTE_MAX 256
#define USER_AGENT "doagent/" PACKAGE_VERSION

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0
#endif

DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, curl_easy_cleanup)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all)

/* The response headers we keep, in the order of the fields of struct http_response. */
enum {
	HEADER_CONTENT_TYPE,
	HEADER_RETRY_AFTER,
	HEADER_RATELIMIT_REMAINING,
	HEADER_RATELIMIT_RESET,
	HEADER_REQUEST_ID,
	N_HEADERS,
};

static const char *const header_names[N_HEADERS] = {
	[HEADER_CONTENT_TYPE] = "Content-Type",
	[HEADER_RETRY_AFTER] = "Retry-After",
	[HEADER_RATELIMIT_REMAINING] = "RateLimit-Remaining",
	[HEADER_RATELIMIT_RESET] = "RateLimit-Reset",
	[HEADER_REQUEST_ID] = "X-Request-Id",
};

/* What the callbacks collect during one transfer. */
struct transfer {
	struct buf body;
	size_t max_body;
	bool too_big;		/* the body went past max_body */
	bool nomem;
	char *headers[N_HEADERS];
};

static void transfer_done(struct transfer *t)
{
	buf_free(&t->body);
	for (size_t i = 0; i < N_HEADERS; i++) {
		free(t->headers[i]);
		t->headers[i] = NULL;
	}
}

static bool initialized;

/* Not thread-safe: doagent and doagent-launch call it from their only thread. */
int http_init(void)
{
	if (initialized)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -EIO;
	initialized = true;
	return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = size * n;

	if (len > t->max_body - t->body.len) {
		t->too_big = true;
		return CURL_WRITEFUNC_ERROR;
	}
	if (buf_append(&t->body, data, len) < 0) {
		t->nomem = true;
		return CURL_WRITEFUNC_ERROR;
	}
	return len;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* One header line, "Name: value\r\n", or a status line, or the empty line at the end. */
static size_t on_header(char *line, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = size * n, name_len;
	const char *colon, *value, *end;

	/* A new response (after a 1xx one): forget the headers of the previous. */
	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		for (size_t i = 0; i < N_HEADERS; i++) {
			free(t->headers[i]);
			t->headers[i] = NULL;
		}
		return len;
	}
	colon = memchr(line, ':', len);
	if (!colon)
		return len;
	name_len = (size_t)(colon - line);
	for (size_t i = 0; i < N_HEADERS; i++) {
		if (strlen(header_names[i]) != name_len ||
		    strncasecmp(line, header_names[i], name_len) != 0)
			continue;
		value = colon + 1;
		end = line + len;
		while (value < end && is_blank(*value))
			value++;
		while (end > value && is_blank(end[-1]))
			end--;
		free(t->headers[i]);
		t->headers[i] = strndup(value, (size_t)(end - value));
		if (!t->headers[i]) {
			t->nomem = true;
			return CURL_WRITEFUNC_ERROR;
		}
		break;
	}
	return len;
}

static bool url_allowed(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

/* The URL for a message: without user:password@, quoted and cut. NULL on ENOMEM. */
static char *url_for_message(const char *url)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	const char *sep = strstr(url, "://"), *host, *at = NULL;
	size_t authority;

	if (sep) {
		host = sep + 3;
		authority = strcspn(host, "/?#");
		for (size_t i = 0; i < authority; i++)
			if (host[i] == '@')
				at = host + i;
	}
	if (!at)
		return strutil_quote(url, URL_QUOTE_MAX);
	if (buf_append(&b, url, (size_t)(host - url)) < 0 || buf_puts(&b, "(credentials)") < 0 ||
	    buf_puts(&b, at) < 0)
		return NULL;
	return strutil_quote(b.data, URL_QUOTE_MAX);
}

/* Sets *cause to "METHOD URL: what"; returns error, or -ENOMEM (*cause NULL). */
static int fail(int error, char **cause, const char *method, const char *url, const char *what)
{
	_cleanup_free_ char *shown = url_for_message(url);
	_cleanup_buf_ struct buf b = BUF_INIT;

	if (!cause)
		return error;
	if (!shown || buf_printf(&b, "%s %s: %s", method, shown, what) < 0)
		return -ENOMEM;
	*cause = buf_steal(&b, NULL);
	return *cause ? error : -ENOMEM;
}

static int errno_from_curl(CURLcode c)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return -EPROTO;
	case CURLE_FILESIZE_EXCEEDED:
		return -E2BIG;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* An HTTP token: what a method may be made of. */
static bool valid_method(const char *m)
{
	size_t len = strlen(m);

	return len > 0 && len <= 16 && strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == len;
}

/* "Name: value" on one line. */
static bool valid_header(const char *h)
{
	const char *colon = strchr(h, ':');

	return colon && colon > h && !strpbrk(h, "\r\n");
}

static CURLcode set_method(CURL *h, const char *method, const struct http_request *req)
{
	CURLcode c = CURLE_OK;

	if (strcmp(method, "HEAD") == 0)
		return curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (strcmp(method, "GET") == 0 && !req->body)
		return curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	if (strcmp(method, "POST") != 0)
		c = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (c == CURLE_OK && (req->body || strcmp(method, "POST") == 0)) {
		/* The size first: the body may hold NUL bytes. */
		c = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				     (curl_off_t)(req->body ? req->body_len : 0));
		if (c == CURLE_OK)
			c = curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	}
	return c;
}

static CURLcode set_limits(CURL *h, const struct http_request *req, struct transfer *t)
{
	long connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	long total_ms = req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
	CURLcode c;

	t->max_body = req->max_body > 0 ? req->max_body : DEFAULT_MAX_BODY;
#if LIBCURL_VERSION_NUM >= 0x075500
	c = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	c = curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
	/* Lets curl refuse a Content-Length over the cap before reading the body. */
	if (c == CURLE_OK && (uint64_t)t->max_body <= INT64_MAX)
		c = curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->max_body);
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	return c;
}

static CURLcode set_callbacks(CURL *h, struct transfer *t, char *errbuf)
{
	CURLcode c = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
	return c;
}

/* The caller's headers, and an empty "Expect:" so that curl never waits for a
 * 100 Continue before sending a body. */
static int header_list(const struct http_request *req, struct curl_slist **ret)
{
	_cleanup_(curl_slist_free_allp) struct curl_slist *list = NULL;
	struct curl_slist *l;

	for (const char *const *h = req->headers; h && *h; h++) {
		l = curl_slist_append(list, *h);
		if (!l)
			return -ENOMEM;
		list = l;
	}
	if (req->body) {
		l = curl_slist_append(list, "Expect:");
		if (!l)
			return -ENOMEM;
		list = l;
	}
	*ret = TAKE_PTR(list);
	return 0;
}

static int check_request(const struct http_request *req, const char *method, char **cause)
{
	if (!url_allowed(req->url))
		return fail(-EINVAL, cause, method, req->url, "only http:// and https:// URLs are allowed");
	if (!valid_method(method))
		return fail(-EINVAL, cause, "(invalid method)", req->url, "not an HTTP method");
	for (const char *const *h = req->headers; h && *h; h++)
		if (!valid_header(*h))
			/* Do not show it: it may be the Authorization header. */
			return fail(-EINVAL, cause, method, req->url,
				    "a request header is not one \"Name: value\" line");
	return 0;
}

/* Whether curl got as far as a connection to a server. */
static bool connected(CURL *h)
{
	char *ip = NULL;

	return curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip && ip[0];
}

/* The cause of a transfer that curl ended with c. */
static int transfer_failed(CURL *h, CURLcode c, const struct transfer *t, const char *errbuf,
			   const char *method, const char *url, char **cause)
{
	_cleanup_buf_ struct buf what = BUF_INIT;
	int error = errno_from_curl(c);

	if (t->nomem)
		return -ENOMEM;
	if (t->too_big || c == CURLE_FILESIZE_EXCEEDED) {
		if (buf_printf(&what, "the response body is larger than %zu bytes", t->max_body) < 0)
			return -ENOMEM;
		return fail(-E2BIG, cause, method, url, what.data);
	}
	/* curl also says "unsupported protocol" of a server that answers HTTP/0.9 or an
	 * unknown HTTP version: that is a broken answer, not a bad URL. */
	if (c == CURLE_UNSUPPORTED_PROTOCOL && connected(h))
		error = -EPROTO;
	return fail(error, cause, method, url, errbuf[0] ? errbuf : curl_easy_strerror(c));
}

int http_request(const struct http_request *req, struct http_response *ret, char **ret_cause)
{
	const char *method = req->method ? req->method : "GET";
	_cleanup_(transfer_done) struct transfer t = { .body = BUF_INIT };
	_cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
	_cleanup_(curl_easy_cleanupp) CURL *h = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode c;
	size_t len;
	long status = 0;
	char *body;
	int r;

	r = check_request(req, method, ret_cause);
	if (r < 0)
		return r;
	if (http_init() < 0)
		return fail(-EIO, ret_cause, method, req->url, "cannot initialize libcurl");
	h = curl_easy_init();
	if (!h)
		return fail(-ENOMEM, ret_cause, method, req->url, "cannot create a curl handle");
	r = header_list(req, &headers);
	if (r < 0)
		return r;
	c = curl_easy_setopt(h, CURLOPT_URL, req->url);
	if (c == CURLE_OK)
		c = set_limits(h, req, &t);
	if (c == CURLE_OK)
		c = set_method(h, method, req);
	if (c == CURLE_OK)
		c = set_callbacks(h, &t, errbuf);
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
	if (c == CURLE_OK && headers)
		c = curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	if (c != CURLE_OK)
		return fail(c == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO, ret_cause, method, req->url,
			    curl_easy_strerror(c));

	c = curl_easy_perform(h);
	if (c != CURLE_OK)
		return transfer_failed(h, c, &t, errbuf, method, req->url, ret_cause);
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status <= 0)
		return fail(-EPROTO, ret_cause, method, req->url, "no HTTP status in the response");
	body = buf_steal(&t.body, &len);
	if (!body)
		return -ENOMEM;

	*ret = (struct http_response){
		.status = status,
		.body = body,
		.len = len,
		.content_type = TAKE_PTR(t.headers[HEADER_CONTENT_TYPE]),
		.retry_after = TAKE_PTR(t.headers[HEADER_RETRY_AFTER]),
		.ratelimit_remaining = TAKE_PTR(t.headers[HEADER_RATELIMIT_REMAINING]),
		.ratelimit_reset = TAKE_PTR(t.headers[HEADER_RATELIMIT_RESET]),
		.request_id = TAKE_PTR(t.headers[HEADER_REQUEST_ID]),
	};
	return 0;
}

void http_response_done(struct http_response *r)
{
	if (r->body) {
		explicit_bzero(r->body, r->len);
		free(r->body);
	}
	free(r->content_type);
	free(r->retry_after);
	free(r->ratelimit_remaining);
	free(r->ratelimit_reset);
	free(r->request_id);
	*r = (struct http_response){ 0 };
}

/* The one HTTP client (libcurl): timeouts, a cap on the body, http/https only. */
#ifndef DOAGENT_HTTP_H
#define DOAGENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct http_request {
	const char *method;		/* "GET" when NULL */
	const char *url;
	const char *const *headers;	/* "Name: value", NULL-terminated, or NULL */
	const char *body;		/* sent as is; NULL for none */
	size_t body_len;
	long connect_timeout_ms;	/* 0: 5000 */
	long timeout_ms;		/* whole request; 0: 30000 */
	size_t max_body;		/* 0: 1 MiB; a longer response is an error */
};

struct http_response {
	long status;			/* the HTTP status code */
	char *body;			/* NUL-terminated (may hold NULs), never NULL after success */
	size_t len;
	char *content_type;		/* NULL when absent */
	char *retry_after;		/* the Retry-After header, NULL when absent */
	char *ratelimit_remaining;	/* RateLimit-Remaining, NULL when absent */
	char *ratelimit_reset;		/* RateLimit-Reset, NULL when absent */
	char *request_id;		/* X-Request-Id, NULL when absent */
};

/* Call once before any request (curl_global_init). Returns 0 or -EIO. */
int http_init(void);

/*
 * Perform one request. Any HTTP response, whatever its status, is a success
 * (returns 0 and fills *ret). Failures return a negative errno and set *ret_cause
 * (malloc'd; never holds a header value or a request body, which may be secrets):
 *   -ETIMEDOUT     connect or total timeout
 *   -ECONNREFUSED  connection refused / host unreachable
 *   -E2BIG         body longer than max_body
 *   -EPROTO        a broken or truncated response
 *   -EINVAL        a URL that is not http:// or https://
 *   -EIO           any other transport error
 *   -ENOMEM
 * *ret is untouched on failure.
 */
int http_request(const struct http_request *req, struct http_response *ret, char **ret_cause);

/* Erases the body and frees everything; accepts a zeroed response. */
void http_response_done(struct http_response *r);

#endif

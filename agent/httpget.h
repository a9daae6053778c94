/*
 * One plain-HTTP/1.1 GET: doagent's client for the metadata service.
 *
 * The metadata service answers plain HTTP on a link-local address, so doagent needs
 * no TLS, no proxy, no redirect and no cookie: this client does the one request itself
 * instead of loading libcurl and the libraries it brings (about 4.5 MiB of pages and
 * 5 ms of start-up on every boot). doagent-launch, which speaks HTTPS to the
 * DigitalOcean API, keeps libcurl (http.c).
 */
#ifndef DOAGENT_HTTPGET_H
#define DOAGENT_HTTPGET_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct httpget_request {
	const char *url;		/* http://host[:port][/path][?query] */
	const char *accept;		/* the Accept header's value; NULL for none */
	long connect_timeout_ms;	/* 0: 5000 */
	long timeout_ms;		/* the whole request, connecting included; 0: 30000 */
	size_t max_body;		/* 0: 1 MiB; a longer body is an error */
};

struct httpget_response {
	long status;			/* the HTTP status code */
	char *body;			/* NUL-terminated (may hold NULs), never NULL after success */
	size_t len;
};

/*
 * Perform the GET. Any complete HTTP response, whatever its status, is a success
 * (returns 0 and fills *ret). Failures return a negative errno and set *ret_cause
 * (malloc'd) to what went wrong, without the URL (the caller names it) and never with
 * any byte of the response, which may hold user data:
 *   -ETIMEDOUT     connect or total timeout
 *   -ECONNREFUSED  connection refused, host or network unreachable
 *   -E2BIG         body longer than max_body
 *   -EPROTO        a broken or truncated response
 *   -EINVAL        a URL this client cannot use (not http://, credentials, bad host/port)
 *   -EIO           any other transport error (name resolution included)
 *   -ENOMEM        (*ret_cause may be NULL)
 * *ret is untouched on failure.
 */
int httpget(const struct httpget_request *req, struct httpget_response *ret, char **ret_cause);

/* Erases the body and frees it; accepts a zeroed response. */
void httpget_response_done(struct httpget_response *r);

/*
 * The response parser, fed bytes as they arrive (exposed for tests and the fuzzer).
 * It keeps the status and the body; headers are read for their framing only.
 */
enum httpget_state {
	HTTPGET_HEAD,			/* status line and headers */
	HTTPGET_BODY_LENGTH,		/* Content-Length bytes */
	HTTPGET_BODY_CLOSE,		/* until the server closes */
	HTTPGET_CHUNK_SIZE,		/* a chunk-size line */
	HTTPGET_CHUNK_DATA,
	HTTPGET_CHUNK_END,		/* the CRLF after a chunk's data */
	HTTPGET_TRAILERS,		/* after the last chunk, until an empty line */
	HTTPGET_DONE,
};

struct httpget_parser {
	enum httpget_state state;
	size_t max_body;
	long status;
	struct buf line;		/* the head, or a chunk-size or trailer line, so far */
	struct buf body;
	unsigned long long left;	/* bytes left in the body or the chunk; in the
					 * trailers, their length so far */
	unsigned n_interim;		/* 1xx responses skipped */
	const char *error;		/* a static text once feed or finish failed */
};

void httpget_parser_init(struct httpget_parser *p, size_t max_body);

/* Feed len bytes. Returns 1 when the response is complete (bytes after it are ignored;
 * *ret_used, when not NULL, says how many were used), 0 when more are needed, or
 * -EPROTO / -E2BIG / -ENOMEM with p->error set. */
int httpget_parser_feed(struct httpget_parser *p, const char *data, size_t len, size_t *ret_used);

/* The server closed the connection: 1 when that completes the response (a body read
 * to the end, or a response complete already), else -EPROTO with p->error set. */
int httpget_parser_finish(struct httpget_parser *p);

/* Erase and free what the parser holds. */
void httpget_parser_done(struct httpget_parser *p);

#endif

/* The readiness check: Redis answers AUTH + PING at every endpoint the plan lists, the
 * way a client reaches it there (plaintext, or TLS verifying the certificate). */
#ifndef DOAGENT_ENDPOINT_H
#define DOAGENT_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"

struct endpoint_client {
	const char *password;	/* sent as RESP or in redis-cli's environment, never in argv */
	const char *cacert;	/* the certificate TLS endpoints must present (a file) */
	const char *redis_cli;	/* redis-cli, for TLS: an absolute path */
};

/*
 * AUTH + PING at one endpoint within timeout_ms. Returns 0; -EACCES when the password
 * is refused; -EIO, -ECONNREFUSED, -ETIMEDOUT or -errno otherwise; *ret_cause names
 * host and port and what was seen.
 */
int endpoint_ping(const struct plan_endpoint *e, const struct endpoint_client *c, uint64_t timeout_ms,
		  char **ret_cause);

/*
 * Every endpoint answers, each retried (with backoff) until it has answered once or
 * deadline_ms has passed since the call. A refused password fails at once. Returns 0,
 * or the failing endpoint's error with *ret_cause naming it and how many of the
 * others answered.
 */
int endpoint_check_all(const struct plan_endpoint *e, size_t n, const struct endpoint_client *c,
		       uint64_t deadline_ms, char **ret_cause);

#endif

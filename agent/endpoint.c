/*
 * The readiness check, endpoint by endpoint.
 *
 * MUST rules for this file:
 * - The password goes to Redis as RESP (resp.c) or to redis-cli through REDISCLI_AUTH
 *   in its environment: never in an argument, never in a message.
 * - A TLS endpoint is checked as a client would reach it: redis-cli --tls verifying
 *   the droplet's certificate, at that address.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "endpoint.h"
#include "macro.h"
#include "process.h"
#include "resp.h"
#include "strutil.h"

#define ATTEMPT_MAX_MS 5000

static const char *bracket(const char *host, int open)
{
	return strchr(host, ':') ? (open ? "[" : "]") : "";
}

static int ping_tls(const struct plan_endpoint *e, const struct endpoint_client *c, uint64_t timeout_ms,
		    char **ret_cause)
{
	_cleanup_free_ char *env_auth = NULL, *out = NULL;
	char port[8];
	const char *argv[] = { c->redis_cli, "--tls", "--cacert", c->cacert, "-h", e->host, "-p", port,
			       "--no-auth-warning", "PING", NULL };
	const char *envp[] = { NULL, "PATH=/usr/bin:/bin", NULL };
	int status, r;

	if (asprintf(&env_auth, "REDISCLI_AUTH=%s", c->password) < 0)
		return -ENOMEM;
	envp[0] = env_auth;
	snprintf(port, sizeof(port), "%u", e->port);
	r = process_run(argv, envp, timeout_ms, &status, &out);
	explicit_bzero(env_auth, strlen(env_auth));
	if (r < 0)
		return strutil_cause(ret_cause, r, "%s: %s", c->redis_cli, strerror(-r));
	if (status == 0 && strcmp(out, "PONG\n") == 0)
		return 0;
	/* redis-cli's answer never holds the password: it is not on its command line. */
	out[strcspn(out, "\n")] = '\0';
	return strutil_cause(ret_cause, strstr(out, "WRONGPASS") ? -EACCES : -EIO,
			     "PING through TLS at %s%s%s:%u: %s", bracket(e->host, 1), e->host, bracket(e->host, 0),
			     e->port, out[0] ? out : "no answer");
}

int endpoint_ping(const struct plan_endpoint *e, const struct endpoint_client *c, uint64_t timeout_ms,
		  char **ret_cause)
{
	_cleanup_free_ char *why = NULL;
	int r;

	if (e->tls)
		return ping_tls(e, c, timeout_ms, ret_cause);
	r = resp_ping(e->host, e->port, c->password, timeout_ms, &why);
	if (r < 0)
		return strutil_cause(ret_cause, r, "PING at %s%s%s:%u: %s", bracket(e->host, 1), e->host,
				     bracket(e->host, 0), e->port, why ? why : strerror(-r));
	return 0;
}

int endpoint_check_all(const struct plan_endpoint *e, size_t n, const struct endpoint_client *c,
		       uint64_t deadline_ms, char **ret_cause)
{
	struct backoff bo;
	size_t i;
	int r = 0;

	backoff_init(&bo, 100, 1000, deadline_ms);
	for (i = 0; i < n; i++) {
		/* Each endpoint gets the same, shared deadline: a daemon that comes up late
		 * (stunnel after Redis) is waited for; one that never binds is not. */
		do {
			uint64_t left = backoff_remaining_ms(&bo);

			free(*ret_cause);
			*ret_cause = NULL;
			r = endpoint_ping(&e[i], c, left < ATTEMPT_MAX_MS ? left + 1 : ATTEMPT_MAX_MS, ret_cause);
		} while (r < 0 && r != -EACCES && r != -ENOMEM && backoff_wait(&bo, 0));
		if (r < 0) {
			_cleanup_free_ char *why = TAKE_PTR(*ret_cause);

			return strutil_cause(ret_cause, r, "%s (%zu of the %zu endpoints answered before it)",
					     why ? why : strerror(-r), i, n);
		}
	}
	return 0;
}

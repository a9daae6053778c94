/* Step 7: Redis answers an authenticated PING (on loopback, where it always listens). */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "boot.h"
#include "doagent.h"
#include "paths.h"
#include "process.h"
#include "resp.h"
#include "strutil.h"

#define REDIS_CLI "/usr/bin/redis-cli"

/* Through stunnel, as a client would: redis-cli --tls verifying the certificate,
 * the password in the environment (REDISCLI_AUTH), never on its command line. */
static int ping_tls(struct boot *b, char **ret_cause)
{
	_cleanup_free_ char *cacert = boot_path(b, PATH_TLS_CERT), *env_auth = NULL, *out = NULL;
	char port[8];
	const char *argv[] = { REDIS_CLI, "--tls", "--cacert", cacert, "-h", "127.0.0.1", "-p", port,
			       "--no-auth-warning", "PING", NULL };
	const char *envp[] = { NULL, "PATH=/usr/bin:/bin", NULL };
	int status, r;

	if (!cacert || asprintf(&env_auth, "REDISCLI_AUTH=%s", b->password) < 0)
		return -ENOMEM;
	envp[0] = env_auth;
	snprintf(port, sizeof(port), "%u", b->config.tls_port);
	r = process_run(argv, envp, 10000, &status, &out);
	explicit_bzero(env_auth, strlen(env_auth));
	if (r < 0) {
		strutil_cause(ret_cause, 0, "%s: %s", REDIS_CLI, strerror(-r));
		return r;
	}
	if (status != 0 || strcmp(out, "PONG\n") != 0) {
		/* redis-cli's answer never holds the password: it is not on its command line. */
		out[strcspn(out, "\n")] = '\0';
		strutil_cause(ret_cause, 0, "PING through TLS on 127.0.0.1:%s: %s", port, out[0] ? out : "no answer");
		return -EIO;
	}
	return 0;
}

#define READY_DEADLINE_MS (30 * 1000)

static int run(struct boot *b, char **ret_cause)
{
	struct backoff bo;
	int r;

	if (b->storage_waiting) {
		strutil_cause(ret_cause, 0, "not checked: Redis waits for its volume (doagent --status)");
		return 0;
	}
	backoff_init(&bo, 100, 2000, READY_DEADLINE_MS);
	do {
		free(*ret_cause);
		*ret_cause = NULL;
		r = resp_ping("127.0.0.1", b->config.redis_port, b->password,
			      backoff_remaining_ms(&bo) < 5000 ? backoff_remaining_ms(&bo) + 1 : 5000, ret_cause);
		if (r == 0 || r == -EACCES)
			break;
	} while (backoff_wait(&bo, 0));
	if (r < 0)
		return DOAGENT_EXIT_FAILURE;
	if (b->config.tls_enabled) {
		/* stunnel comes up after Redis: give it the same patience. */
		do {
			free(*ret_cause);
			*ret_cause = NULL;
			r = ping_tls(b, ret_cause);
		} while (r == -EIO && backoff_wait(&bo, 0));
		if (r < 0)
			return DOAGENT_EXIT_FAILURE;
	}
	strutil_cause(ret_cause, 0, "Redis answers PING on 127.0.0.1:%u%s", b->config.redis_port,
		     b->config.tls_enabled ? ", and through TLS" : "");
	return 0;
}

const struct boot_step step_ready = { "ready", run, true };

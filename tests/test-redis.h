/* A real redis-server as a child of a C test (test-resp, test-health). */
#ifndef DOAGENT_TEST_REDIS_H
#define DOAGENT_TEST_REDIS_H

#include <stdbool.h>
#include <sys/types.h>

/* $REDIS_SERVER, else /usr/bin/redis-server. */
const char *test_redis_server(void);

/* Run argv (argv[0] the server) with stdin and stdout on /dev/null, and wait up to
 * 10 s until ready(arg) says it listens. Returns its pid, or -1 after saying why on
 * stderr (see log, its --logfile) with the child reaped or left to test_redis_stop. */
pid_t test_redis_start(const char *const argv[], bool (*ready)(const void *arg), const void *arg,
		       const char *log);

/* SIGTERM (the tests start it with --save ''), then SIGKILL after 5 s; waits for it.
 * Accepts pid <= 0. */
void test_redis_stop(pid_t pid);

#endif

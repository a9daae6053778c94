/* The fake servers (tests/fake-*.py) as children of a C test. */
#ifndef DOAGENT_TEST_FAKE_SERVER_H
#define DOAGENT_TEST_FAKE_SERVER_H

#include <stddef.h>
#include <sys/types.h>

/* Start argv (NULL-terminated; found through PATH), a server that prints "PORT n"
 * once it listens, as a child that dies with the test; wait up to 10 s for that
 * line. Returns the child's pid and the port in *ret_port, or -1 with what the
 * server printed (NUL-terminated) in said. */
pid_t fake_server_start(const char *const argv[], int *ret_port, char *said, size_t said_size);

/* SIGTERM, then SIGKILL after 2 s; waits for it. Accepts pid <= 0. */
void fake_server_stop(pid_t pid);

#endif

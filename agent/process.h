/* Running another program: execve with an argument array, never a shell. */
#ifndef DOAGENT_PROCESS_H
#define DOAGENT_PROCESS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Run argv[0] (an absolute path) with argv and exactly the environment envp
 * (NULL-terminated; secrets go here, never in argv), stdin from /dev/null, stdout
 * and stderr captured together (at most 64 KiB kept) into a malloc'd *ret_output
 * when ret_output is not NULL. Kills it (SIGKILL) when it runs past timeout_ms.
 * Returns 0 with its exit status in *ret_status (128 + signal when killed by one),
 * -ETIMEDOUT, or -errno when it cannot be started.
 */
int process_run(const char *const argv[], const char *const envp[], uint64_t timeout_ms,
		int *ret_status, char **ret_output);

#endif

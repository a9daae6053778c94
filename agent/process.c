/*
 * MUST rules for this file:
 * - Programs are started with execve and an argument array: no shell ever sees an
 *   argument, so nothing from user data can become a command.
 * - The environment is exactly what the caller gives: secrets travel there (readable
 *   only by the same user), never on a command line (readable by everyone in /proc).
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backoff.h"
#include "buf.h"
#include "process.h"

#define OUTPUT_MAX (64 * 1024)

static int collect(int fd, pid_t pid, uint64_t timeout_ms, struct buf *out)
{
	uint64_t deadline = backoff_now_ms() + timeout_ms;
	char chunk[4096];

	for (;;) {
		uint64_t now = backoff_now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int k;

		if (now >= deadline) {
			kill(pid, SIGKILL);
			return -ETIMEDOUT;
		}
		k = poll(&p, 1, (int)(deadline - now));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;	/* the program closed its output: it is ending */
		if (out->len + (size_t)n <= OUTPUT_MAX && buf_append(out, chunk, (size_t)n) < 0)
			return -ENOMEM;
	}
}

int process_run(const char *const argv[], const char *const envp[], uint64_t timeout_ms,
		int *ret_status, char **ret_output)
{
	_cleanup_buf_ struct buf out = BUF_INIT;
	posix_spawn_file_actions_t fa;
	int pipefd[2], status, r;
	pid_t pid;

	if (!argv || !argv[0] || argv[0][0] != '/')
		return -EINVAL;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
	r = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, (char *const *)envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (r != 0) {
		close(pipefd[0]);
		return -r;
	}
	r = collect(pipefd[0], pid, timeout_ms, &out);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (r < 0)
		return r;
	*ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (ret_output) {
		*ret_output = buf_steal(&out, NULL);
		if (!*ret_output)
			return -ENOMEM;
	}
	return 0;
}

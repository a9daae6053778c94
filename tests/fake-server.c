#include "autoconfig.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake-server.h"

#define START_TIMEOUT_MS 10000

pid_t fake_server_start(const char *const argv[], int *ret_port, char *said, size_t said_size)
{
	size_t len = 0;
	int pipefd[2], port = 0;
	pid_t pid;

	if (said_size == 0 || pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		/* Never outlive the test, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (dup2(pipefd[1], STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	/* "PORT n\n" */
	while (len < said_size - 1) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };

		if (poll(&p, 1, START_TIMEOUT_MS) <= 0 || read(pipefd[0], said + len, 1) <= 0)
			break;
		if (said[len++] == '\n')
			break;
	}
	said[len] = '\0';
	close(pipefd[0]);
	if (sscanf(said, "PORT %d", &port) != 1 || port <= 0) {
		fake_server_stop(pid);
		return -1;
	}
	*ret_port = port;
	return pid;
}

void fake_server_stop(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* A real redis-server as a child of a C test: see test-redis.h. */
#include "autoconfig.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test-redis.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *test_redis_server(void)
{
	const char *s = getenv("REDIS_SERVER");

	return s && *s ? s : "/usr/bin/redis-server";
}

pid_t test_redis_start(const char *const argv[], bool (*ready)(const void *arg), const void *arg,
		       const char *log)
{
	uint64_t start;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	for (start = now_ms(); !ready(arg); usleep(20000)) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "# redis-server exited (status %d); see %s\n", status, log);
			return -1;
		}
		if (now_ms() - start > 10000) {
			fprintf(stderr, "# redis-server does not listen after 10 s; see %s\n", log);
			test_redis_stop(pid);
			return -1;
		}
	}
	return pid;
}

void test_redis_stop(pid_t pid)
{
	uint64_t start;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (start = now_ms(); waitpid(pid, NULL, WNOHANG) == 0; usleep(20000))
		if (now_ms() - start > 5000) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			break;
		}
}

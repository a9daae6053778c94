/*
 * spawn, bench/measure.py's runner: run one command and print "WALL_NS MAXRSS_KIB STATUS".
 *
 *   spawn STDOUT_FILE STDERR_FILE PROGRAM [ARG]...
 *
 * The wall time runs from just before the fork to the return of wait4; the peak RSS is
 * ru_maxrss from that wait4 (the largest of the command and every descendant it waited
 * for). It is a small C program because ru_maxrss also counts the memory the child
 * had before its exec: a child forked or vforked from python would report python's own
 * resident set (15 MiB here) for every command. STATUS is the exit status, or 128 plus
 * the signal. Standard input is /dev/null.
 *
 *   cc -O2 -o spawn bench/spawn.c
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void redirect(const char *path, int fd, int flags)
{
	int f = open(path, flags | O_CLOEXEC, 0600);

	if (f < 0 || dup2(f, fd) < 0)
		_exit(126);
	close(f);
}

int main(int argc, char **argv)
{
	struct rusage ru;
	uint64_t t0, t1;
	int status;
	pid_t pid;

	if (argc < 4) {
		fprintf(stderr, "usage: spawn STDOUT_FILE STDERR_FILE PROGRAM [ARG]...\n");
		return 2;
	}
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("spawn: fork");
		return 1;
	}
	if (pid == 0) {
		redirect("/dev/null", 0, O_RDONLY);
		redirect(argv[1], 1, O_WRONLY | O_CREAT | O_TRUNC);
		redirect(argv[2], 2, O_WRONLY | O_CREAT | O_TRUNC);
		execvp(argv[3], argv + 3);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("spawn: wait4");
		return 1;
	}
	t1 = now_ns();
	printf("%llu %ld %d\n", (unsigned long long)(t1 - t0), ru.ru_maxrss,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}

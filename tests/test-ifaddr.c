/* ifaddr: rtnetlink messages parsed, the machine's own addresses found, and a wait that
 * ends when an address is added in a network namespace of the test's own. */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "backoff.h"
#include "ifaddr.h"
#include "macro.h"
#include "strv.h"

/* A precondition of the environment: skip without it, unless DOAGENT_NO_SKIP=1 says
 * that nothing may skip here. */
static void need(bool ok, const char *why)
{
	const char *no_skip = getenv("DOAGENT_NO_SKIP");

	if (ok)
		return;
	if (no_skip && strcmp(no_skip, "1") == 0)
		fail_msg("cannot run (DOAGENT_NO_SKIP=1): %s", why);
	fprintf(stderr, "# skipped: %s\n", why);
	skip();
}

struct msg {
	struct nlmsghdr nh;
	struct ifaddrmsg ifa;
	char attrs[128];
};

static void msg_init(struct msg *m, int family, unsigned char flags)
{
	memset(m, 0, sizeof(*m));
	m->nh.nlmsg_type = RTM_NEWADDR;
	m->nh.nlmsg_len = NLMSG_LENGTH(sizeof(m->ifa));
	m->ifa.ifa_family = (unsigned char)family;
	m->ifa.ifa_flags = flags;
}

static void msg_attr(struct msg *m, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)m + NLMSG_ALIGN(m->nh.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	m->nh.nlmsg_len = NLMSG_ALIGN(m->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static void test_parse_ipv4_prefers_local(void **state)
{
	struct msg m;
	unsigned char peer[4] = { 10, 0, 0, 1 }, local[4] = { 10, 0, 0, 2 }, got[16];
	int usable = -1;

	msg_init(&m, AF_INET, 0);
	msg_attr(&m, IFA_ADDRESS, peer, 4);
	msg_attr(&m, IFA_LOCAL, local, 4);
	assert_int_equal(ifaddr_parse_msg(&m, m.nh.nlmsg_len, got, &usable), AF_INET);
	assert_memory_equal(got, local, 4);
	assert_int_equal(usable, 1);
}

static void test_parse_ipv6_tentative(void **state)
{
	struct msg m;
	unsigned char a[16], got[16];
	uint32_t flags = IFA_F_DADFAILED;
	int usable = -1;

	inet_pton(AF_INET6, "2001:db8::7", a);
	msg_init(&m, AF_INET6, IFA_F_TENTATIVE);
	msg_attr(&m, IFA_ADDRESS, a, 16);
	assert_int_equal(ifaddr_parse_msg(&m, m.nh.nlmsg_len, got, &usable), AF_INET6);
	assert_memory_equal(got, a, 16);
	assert_int_equal(usable, 0);

	/* IFA_FLAGS, when there, is the whole set of flags: it wins over ifa_flags. */
	msg_init(&m, AF_INET6, 0);
	msg_attr(&m, IFA_ADDRESS, a, 16);
	msg_attr(&m, IFA_FLAGS, &flags, sizeof(flags));
	assert_int_equal(ifaddr_parse_msg(&m, m.nh.nlmsg_len, got, &usable), AF_INET6);
	assert_int_equal(usable, 0);
	flags = IFA_F_PERMANENT;
	msg_init(&m, AF_INET6, IFA_F_TENTATIVE);
	msg_attr(&m, IFA_ADDRESS, a, 16);
	msg_attr(&m, IFA_FLAGS, &flags, sizeof(flags));
	assert_int_equal(ifaddr_parse_msg(&m, m.nh.nlmsg_len, got, &usable), AF_INET6);
	assert_int_equal(usable, 1);
}

static void test_parse_bad(void **state)
{
	struct msg m;
	unsigned char a[16] = { 0 }, got[16];
	int usable;

	/* An address of the wrong length for its family. */
	msg_init(&m, AF_INET, 0);
	msg_attr(&m, IFA_ADDRESS, a, 16);
	assert_int_equal(ifaddr_parse_msg(&m, m.nh.nlmsg_len, got, &usable), -EBADMSG);
	/* Shorter than its header says, or than a header. */
	msg_init(&m, AF_INET, 0);
	msg_attr(&m, IFA_ADDRESS, a, 4);
	assert_int_equal(ifaddr_parse_msg(&m, m.nh.nlmsg_len - 1, got, &usable), -EBADMSG);
	assert_int_equal(ifaddr_parse_msg(&m, 8, got, &usable), -EBADMSG);
	/* Another family, or no address at all: nothing to report. */
	msg_init(&m, AF_PACKET, 0);
	assert_int_equal(ifaddr_parse_msg(&m, m.nh.nlmsg_len, got, &usable), 0);
	msg_init(&m, AF_INET, 0);
	assert_int_equal(ifaddr_parse_msg(&m, m.nh.nlmsg_len, got, &usable), 0);
}

static void test_missing_on_this_machine(void **state)
{
	const char *present[] = { "127.0.0.1", NULL };
	const char *absent[] = { "127.0.0.1", "192.0.2.77", "2001:db8::77", NULL };
	const char *bad[] = { "300.1.1.1", NULL };
	char **missing = (char **)1;

	assert_int_equal(ifaddr_missing(present, &missing), 0);
	assert_null(missing);
	assert_int_equal(ifaddr_missing(absent, &missing), 0);
	assert_non_null(missing);
	assert_int_equal(strv_length(missing), 2);
	assert_string_equal(missing[0], "192.0.2.77");
	assert_string_equal(missing[1], "2001:db8::77");
	strv_free(missing);
	assert_int_equal(ifaddr_missing(bad, &missing), -EINVAL);
}

static void test_wait_nothing(void **state)
{
	const char *none[] = { NULL };
	char *cause = NULL;

	assert_int_equal(ifaddr_wait(none, 0, NULL, NULL, &cause), 0);
	assert_null(cause);
}

static void count_note(char *const *missing, uint64_t waited_ms, void *userdata)
{
	int *n = userdata;

	/* Runs in the forked child: counts only notes that name the right address. */
	if (missing && missing[0] && strcmp(missing[0], "192.0.2.7") == 0 && !missing[1])
		(*n)++;
}

static int run_ip(const char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *ip_path(void)
{
	return access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip";
}

/* In a network namespace of its own (a child process, so the other tests keep the
 * machine's): an address added 300 ms after the wait starts ends it; one that never
 * comes times out, naming itself. */
static void test_wait_in_namespace(void **state)
{
	int status;
	pid_t child;

	need(geteuid() == 0, "a network namespace needs root");
	need(access(ip_path(), X_OK) == 0, "ip (iproute2) is not installed");
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		const char *addrs[] = { "192.0.2.7", NULL }, *never[] = { "192.0.2.8", NULL };
		const char *up[] = { ip_path(), "link", "set", "lo", "up", NULL };
		const char *add[] = { ip_path(), "addr", "add", "192.0.2.7/32", "dev", "lo", NULL };
		char *cause = NULL;
		int notes = 0;
		uint64_t t0, ms;
		pid_t adder;

		if (unshare(CLONE_NEWNET) < 0) {
			fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
			_exit(2);
		}
		if (run_ip(up) != 0)
			_exit(3);
		adder = fork();
		if (adder == 0) {
			usleep(300 * 1000);
			_exit(run_ip(add) == 0 ? 0 : 1);
		}
		t0 = backoff_now_ms();
		if (ifaddr_wait(addrs, 10000, count_note, &notes, &cause) != 0) {
			fprintf(stderr, "ifaddr_wait: %s\n", cause ? cause : "?");
			_exit(4);
		}
		ms = backoff_now_ms() - t0;
		waitpid(adder, &status, 0);
		if (ms < 250 || notes < 1) {
			fprintf(stderr, "returned after %llu ms with %d notes: it did not wait\n",
				(unsigned long long)ms, notes);
			_exit(5);
		}
		fprintf(stderr, "# the address appeared; the wait ended %llu ms after it started\n",
			(unsigned long long)ms);
		if (ifaddr_wait(never, 300, NULL, NULL, &cause) != -ETIMEDOUT || !cause ||
		    !strstr(cause, "192.0.2.8 not on any interface")) {
			fprintf(stderr, "the timeout: %s\n", cause ? cause : "no cause");
			_exit(6);
		}
		free(cause);
		_exit(0);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ipv4_prefers_local),
		cmocka_unit_test(test_parse_ipv6_tentative),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_missing_on_this_machine),
		cmocka_unit_test(test_wait_nothing),
		cmocka_unit_test(test_wait_in_namespace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fw-ufw.c. Without DOAGENT_TEST_UFW=1: the commands describe() lists for a policy,
 * exactly, and the policies apply() and describe() refuse before anything runs.
 * With DOAGENT_TEST_UFW=1 (as root, where ufw is installed: tests/container/ufw.sh runs
 * it in a booted container) it is a driver for the real thing:
 *
 *   test-fw-ufw apply a|b | remove | active | describe a|b
 *
 * Policy a: SSH (22) from anywhere, 6390 from 169.254.169.254/32 and fd00:d0a6::/64,
 * metadata root-only. Policy b: SSH from 169.254.0.0/16 only, 6390 and 6391 from
 * 169.254.200.200/32, metadata open.
 */
#include "autoconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fw.h"
#include "macro.h"
#include "strv.h"

static char *a_ssh4[] = { "0.0.0.0/0", NULL };
static char *a_ssh6[] = { "::/0", NULL };
static char *a_allow4[] = { "169.254.169.254/32", NULL };
static char *a_allow6[] = { "fd00:d0a6::/64", NULL };
static const struct fw_policy policy_a = {
	.ssh4 = a_ssh4, .ssh6 = a_ssh6, .allow4 = a_allow4, .allow6 = a_allow6,
	.ssh_port = 22, .ports = { 6390, 0 }, .metadata_root_only = true,
};

static char *b_ssh4[] = { "169.254.0.0/16", NULL };
static char *b_allow4[] = { "169.254.200.200/32", NULL };
static const struct fw_policy policy_b = {
	.ssh4 = b_ssh4, .allow4 = b_allow4, .ssh_port = 22, .ports = { 6390, 6391 },
};

#define DELETE_LINE "ufw --force delete RULE, for each RULE \"ufw show added\" lists with comment 'doagent'"
#define NFT_ROOT_ONLY                                                                                    \
	"nft 'add table inet doagent_output; delete table inet doagent_output; table inet doagent_output " \
	"{ chain output { type filter hook output priority filter; policy accept; "                        \
	"ip daddr 169.254.169.254 meta skuid != 0 drop; }; }'"
#define NFT_OPEN "nft 'delete table inet doagent_output' (when it exists)"

static void assert_lines(char **lines, const char *const *expected)
{
	size_t i;

	for (i = 0; expected[i]; i++) {
		assert_non_null(lines[i]);
		assert_string_equal(lines[i], expected[i]);
	}
	assert_null(lines[i]);
}

static void test_describe_a(void **state)
{
	static const char *const expected[] = {
		DELETE_LINE,
		"ufw default deny incoming",
		"ufw default allow outgoing",
		"ufw allow proto tcp from 0.0.0.0/0 to any port 22 comment doagent",
		"ufw allow proto tcp from ::/0 to any port 22 comment doagent",
		"ufw allow proto tcp from 169.254.169.254/32 to any port 6390 comment doagent",
		"ufw allow proto tcp from fd00:d0a6::/64 to any port 6390 comment doagent",
		"ufw --force enable",
		NFT_ROOT_ONLY,
		NULL,
	};
	_cleanup_strv_ char **lines = NULL;

	assert_int_equal(fw_ufw.describe(&policy_a, &lines), 0);
	assert_lines(lines, expected);
}

static void test_describe_b(void **state)
{
	static const char *const expected[] = {
		DELETE_LINE,
		"ufw default deny incoming",
		"ufw default allow outgoing",
		"ufw allow proto tcp from 169.254.0.0/16 to any port 22 comment doagent",
		"ufw allow proto tcp from 169.254.200.200/32 to any port 6390 comment doagent",
		"ufw allow proto tcp from 169.254.200.200/32 to any port 6391 comment doagent",
		"ufw --force enable",
		NFT_OPEN,
		NULL,
	};
	_cleanup_strv_ char **lines = NULL;

	assert_int_equal(fw_ufw.describe(&policy_b, &lines), 0);
	assert_lines(lines, expected);
}

/* The TLS port alone (Redis on loopback), several sources, IPv6 only for SSH. */
static void test_describe_tls_only(void **state)
{
	char *ssh6[] = { "2001:db8::/32", NULL };
	char *allow4[] = { "10.110.0.0/20", "203.0.113.7/32", NULL };
	char *allow6[] = { "2001:db8:1::/48", NULL };
	const struct fw_policy p = { .ssh6 = ssh6, .allow4 = allow4, .allow6 = allow6, .ssh_port = 2222,
				     .ports = { 0, 6380 } };
	static const char *const expected[] = {
		DELETE_LINE,
		"ufw default deny incoming",
		"ufw default allow outgoing",
		"ufw allow proto tcp from 2001:db8::/32 to any port 2222 comment doagent",
		"ufw allow proto tcp from 10.110.0.0/20 to any port 6380 comment doagent",
		"ufw allow proto tcp from 203.0.113.7/32 to any port 6380 comment doagent",
		"ufw allow proto tcp from 2001:db8:1::/48 to any port 6380 comment doagent",
		"ufw --force enable",
		NFT_OPEN,
		NULL,
	};
	_cleanup_strv_ char **lines = NULL;

	assert_int_equal(fw_ufw.describe(&p, &lines), 0);
	assert_lines(lines, expected);
}

/* Nobody allowed anywhere: the defaults and nothing else. */
static void test_describe_nobody(void **state)
{
	const struct fw_policy p = { .ssh_port = 22, .ports = { 6379, 0 } };
	static const char *const expected[] = {
		DELETE_LINE, "ufw default deny incoming", "ufw default allow outgoing", "ufw --force enable", NFT_OPEN, NULL,
	};
	_cleanup_strv_ char **lines = NULL;

	assert_int_equal(fw_ufw.describe(&p, &lines), 0);
	assert_lines(lines, expected);
}

/* Refused by describe and by apply (with a cause, before ufw runs). */
static void assert_refused(const struct fw_policy *p, const char *cause_part)
{
	_cleanup_strv_ char **lines = NULL;
	_cleanup_free_ char *cause = NULL;

	assert_int_equal(fw_ufw.describe(p, &lines), -EINVAL);
	assert_null(lines);
	assert_int_equal(fw_ufw.apply(p, &cause), -EINVAL);
	assert_non_null(cause);
	if (!strstr(cause, cause_part))
		fail_msg("cause \"%s\" does not contain \"%s\"", cause, cause_part);
}

static void test_refuses_sources(void **state)
{
	static const char *const bad4[] = {
		"10.0.0.0/8 ", "10.0.0.0/8;reboot", "$(reboot)", "-h", "10.0.0.0/8\n", "", "10.0.0.1/8",
		"::/0", "10.0.0.0/33", "1.2.3.4/32/1", "10.0.0.0/8,1.2.3.0/24", "1111111111111111111111111111111111111111111111111111111111",
		"0x0a000000/8", "10.0.0.0/ 8",
	};
	static const char *const bad6[] = { "0.0.0.0/0", "g::/0", "2001:db8::1/32", "::/129", "fe80::1%eth0/128" };
	size_t i;

	for (i = 0; i < ELEMENTSOF(bad4); i++) {
		char *list[] = { (char *)bad4[i], NULL };
		const struct fw_policy ssh = { .ssh4 = list, .ssh_port = 22 };
		const struct fw_policy allow = { .allow4 = list, .ssh_port = 22, .ports = { 6379, 0 } };

		assert_refused(&ssh, "is not an IPv4 network in CIDR form");
		assert_refused(&allow, "is not an IPv4 network in CIDR form");
	}
	for (i = 0; i < ELEMENTSOF(bad6); i++) {
		char *list[] = { (char *)bad6[i], NULL };
		const struct fw_policy ssh = { .ssh6 = list, .ssh_port = 22 };
		const struct fw_policy allow = { .allow6 = list, .ssh_port = 22, .ports = { 0, 6380 } };

		assert_refused(&ssh, "is not an IPv6 network in CIDR form");
		assert_refused(&allow, "is not an IPv6 network in CIDR form");
	}
	/* The bad entry is quoted safely in the cause. */
	{
		char *list[] = { "10.0.0.0/8\nx", NULL };
		const struct fw_policy p = { .ssh4 = list, .ssh_port = 22 };

		assert_refused(&p, "\"10.0.0.0/8\\x0ax\"");
	}
}

static void test_refuses_ports(void **state)
{
	const struct fw_policy zero = { .ssh4 = a_ssh4, .ssh_port = 0 };
	const struct fw_policy big = { .ssh4 = a_ssh4, .ssh_port = 65536 };
	const struct fw_policy open_big = { .allow4 = a_allow4, .ssh_port = 22, .ports = { 6379, 70000 } };

	assert_refused(&zero, "SSH port 0 is not a port");
	assert_refused(&big, "SSH port 65536 is not a port");
	assert_refused(&open_big, "70000 is not a port");
}

/* Where ufw is not installed (the build machines): not active, and apply says why. */
static void test_without_ufw(void **state)
{
	_cleanup_free_ char *cause = NULL;

	if (access("/usr/sbin/ufw", F_OK) == 0)
		skip();
	assert_false(fw_ufw.active());
	assert_int_equal(fw_ufw.apply(&policy_a, &cause), -ENOENT);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "ufw is not installed"));
}

static int live(int argc, char **argv)
{
	const struct fw_policy *p = NULL;
	_cleanup_strv_ char **lines = NULL;
	_cleanup_free_ char *cause = NULL;
	const char *what = argc > 1 ? argv[1] : "";
	int r;

	if (argc > 2)
		p = strcmp(argv[2], "a") == 0 ? &policy_a : strcmp(argv[2], "b") == 0 ? &policy_b : NULL;
	if (strcmp(what, "apply") == 0 && p && argc == 3)
		r = fw_ufw.apply(p, &cause);
	else if (strcmp(what, "remove") == 0 && argc == 2)
		r = fw_ufw.remove(&cause);
	else if (strcmp(what, "active") == 0 && argc == 2) {
		r = fw_ufw.active();
		printf("%s\n", r ? "active" : "not active");
		return r ? 0 : 1;
	} else if (strcmp(what, "describe") == 0 && p && argc == 3) {
		r = fw_ufw.describe(p, &lines);
		for (char **l = lines; r >= 0 && l && *l; l++)
			printf("%s\n", *l);
	} else {
		fprintf(stderr, "usage: DOAGENT_TEST_UFW=1 test-fw-ufw apply a|b | remove | active | describe a|b\n");
		return 2;
	}
	if (r < 0) {
		fprintf(stderr, "test-fw-ufw: %s: %s (%s)\n", what, cause ? cause : "(no cause)", strerror(-r));
		return 1;
	}
	fprintf(stderr, "test-fw-ufw: %s: done\n", what);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_describe_a),
		cmocka_unit_test(test_describe_b),
		cmocka_unit_test(test_describe_tls_only),
		cmocka_unit_test(test_describe_nobody),
		cmocka_unit_test(test_refuses_sources),
		cmocka_unit_test(test_refuses_ports),
		cmocka_unit_test(test_without_ufw),
	};
	const char *mode = getenv("DOAGENT_TEST_UFW");

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mode && strcmp(mode, "1") == 0)
		return live(argc, argv);
	return cmocka_run_group_tests_name("fw-ufw", tests, NULL, NULL);
}

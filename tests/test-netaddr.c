/* Addresses and CIDR blocks. */
#include "autoconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "netaddr.h"

static void expect(const char *in, int r, const char *out, bool host_bits)
{
	struct netaddr a;
	char text[NETADDR_STRLEN];
	bool had = !host_bits;
	int k = netaddr_parse(in, &a, &had);

	if (k != r)
		fail_msg("netaddr_parse(%s) = %d, expected %d", in, k, r);
	if (r == 0) {
		netaddr_format(&a, text);
		assert_string_equal(text, out);
		assert_int_equal(had, host_bits);
	}
}

static void test_parse(void **state)
{
	expect("192.0.2.1", 0, "192.0.2.1/32", false);
	expect("192.0.2.0/24", 0, "192.0.2.0/24", false);
	expect("192.0.2.9/24", 0, "192.0.2.0/24", true);
	expect("0.0.0.0/0", 0, "0.0.0.0/0", false);
	expect("10.1.2.3/0", 0, "0.0.0.0/0", true);
	expect("10.255.255.255/9", 0, "10.128.0.0/9", true);
	expect("::/0", 0, "::/0", false);
	expect("2001:DB8::1", 0, "2001:db8::1/128", false);
	expect("2001:db8::1/64", 0, "2001:db8::/64", true);
	expect("2001:db8:0:0:0:0:0:ff/127", 0, "2001:db8::fe/127", true);
	expect("192.0.2.0/33", -ERANGE, NULL, false);
	expect("::/129", -ERANGE, NULL, false);
	expect("192.0.2.0/", -EINVAL, NULL, false);
	expect("192.0.2.0/a", -EINVAL, NULL, false);
	expect("192.0.2.0/08", -EINVAL, NULL, false);
	expect("192.0.2", -EINVAL, NULL, false);
	expect("192.0.2.1.5", -EINVAL, NULL, false);
	expect("1.2.3.04", -EINVAL, NULL, false);
	expect("example.com", -EINVAL, NULL, false);
	expect("", -EINVAL, NULL, false);
	expect("/24", -EINVAL, NULL, false);
	expect(" 192.0.2.1", -EINVAL, NULL, false);
}

static void test_netmask(void **state)
{
	struct netaddr a;
	char text[NETADDR_STRLEN];

	assert_int_equal(netaddr_netmask_prefix("255.255.0.0"), 16);
	assert_int_equal(netaddr_netmask_prefix("255.255.255.255"), 32);
	assert_int_equal(netaddr_netmask_prefix("0.0.0.0"), 0);
	assert_int_equal(netaddr_netmask_prefix("255.255.192.0"), 18);
	assert_int_equal(netaddr_netmask_prefix("255.0.255.0"), -EINVAL);
	assert_int_equal(netaddr_netmask_prefix("255.255.0"), -EINVAL);
	assert_int_equal(netaddr_from_ipv4_netmask("10.132.255.113", "255.255.0.0", &a), 0);
	netaddr_format(&a, text);
	assert_string_equal(text, "10.132.0.0/16");
	assert_int_equal(netaddr_from_ipv4_netmask("10.132.255.113", "255.0.255.0", &a), -EINVAL);
	assert_int_equal(netaddr_from_ipv4_netmask("2001:db8::1", "255.0.0.0", &a), -EINVAL);
}

static void test_equal(void **state)
{
	struct netaddr a, b;

	assert_int_equal(netaddr_parse("10.0.0.0/8", &a, NULL), 0);
	assert_int_equal(netaddr_parse("10.9.9.9/8", &b, NULL), 0);
	assert_true(netaddr_equal(&a, &b));
	assert_int_equal(netaddr_parse("10.0.0.0/9", &b, NULL), 0);
	assert_false(netaddr_equal(&a, &b));
	assert_int_equal(netaddr_parse("::a00:0/104", &b, NULL), 0);
	assert_false(netaddr_equal(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_netmask),
		cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

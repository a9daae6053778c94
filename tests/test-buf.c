/* buf, strutil and strv: the small helpers everything else stands on. */
#include "autoconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "strutil.h"
#include "strv.h"

static void test_buf(void **state)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	char *s;
	size_t len, i;

	assert_int_equal(buf_puts(&b, "abc"), 0);
	assert_int_equal(buf_putc(&b, '-'), 0);
	assert_int_equal(buf_printf(&b, "%d:%s", 42, "x"), 0);
	assert_string_equal(b.data, "abc-42:x");
	assert_int_equal(b.len, 8);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_putc(&b, 'z'), 0);
	assert_int_equal(b.len, 10008);
	assert_int_equal(b.data[b.len], '\0');
	s = buf_steal(&b, &len);
	assert_int_equal(len, 10008);
	assert_null(b.data);
	free(s);
	/* An empty buffer gives an empty string, not NULL. */
	s = buf_steal(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	assert_int_equal(buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);
}

static void test_parse_u64(void **state)
{
	unsigned long long v = 7;

	assert_int_equal(strutil_parse_u64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(strutil_parse_u64("18446744073709551615", 0, ~0ULL, &v), 0);
	assert_true(v == ~0ULL);
	assert_int_equal(strutil_parse_u64("18446744073709551616", 0, ~0ULL, &v), -ERANGE);
	assert_int_equal(strutil_parse_u64("11", 0, 10, &v), -ERANGE);
	assert_int_equal(strutil_parse_u64("1", 2, 10, &v), -ERANGE);
	assert_int_equal(strutil_parse_u64("", 0, 10, &v), -EINVAL);
	assert_int_equal(strutil_parse_u64("01", 0, 10, &v), -EINVAL);
	assert_int_equal(strutil_parse_u64(" 1", 0, 10, &v), -EINVAL);
	assert_int_equal(strutil_parse_u64("1 ", 0, 10, &v), -EINVAL);
	assert_int_equal(strutil_parse_u64("-1", 0, 10, &v), -EINVAL);
	assert_int_equal(strutil_parse_u64("0x1", 0, 10, &v), -EINVAL);
	assert_true(v == ~0ULL);	/* untouched by failures */
}

static void test_distance(void **state)
{
	static const char *const keys[] = { "port", "password", "maxmemory", "maxmemory-policy", NULL };

	assert_int_equal(strutil_distance("policy", "policy", 5), 0);
	assert_int_equal(strutil_distance("polcy", "policy", 5), 1);
	assert_int_equal(strutil_distance("redsi", "redis", 5), 1);	/* a swap is one edit */
	assert_int_equal(strutil_distance("", "abc", 5), 3);
	assert_int_equal(strutil_distance("abcdefgh", "zzzzzzzz", 3), 3);	/* capped */
	assert_string_equal(strutil_nearest("maxmemory-polcy", keys), "maxmemory-policy");
	assert_string_equal(strutil_nearest("pasword", keys), "password");
	assert_string_equal(strutil_nearest("prot", keys), "port");
	assert_null(strutil_nearest("bind", keys));
}

static void test_quote(void **state)
{
	_cleanup_free_ char *a = strutil_quote("plain", 64);
	_cleanup_free_ char *b = strutil_quote("a\nb\\c\x7f", 64);
	_cleanup_free_ char *c = strutil_quote("abcdefgh", 3);

	assert_string_equal(a, "plain");
	assert_string_equal(b, "a\\x0ab\\x5cc\\x7f");
	assert_string_equal(c, "abc...");
	assert_true(strutil_is_printable_ascii(" ~"));
	assert_false(strutil_is_printable_ascii("a\tb"));
	assert_false(strutil_is_printable_ascii("\xc3\xa9"));
}

static void test_strv(void **state)
{
	_cleanup_strv_ char **l = NULL;

	assert_int_equal(strv_length(l), 0);
	assert_int_equal(strv_extend(&l, "a"), 0);
	assert_int_equal(strv_extendf(&l, "%s-%d", "b", 2), 0);
	assert_int_equal(strv_length(l), 2);
	assert_string_equal(l[1], "b-2");
	assert_null(l[2]);
	assert_true(strv_contains(l, "a"));
	assert_false(strv_contains(l, "b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_strv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

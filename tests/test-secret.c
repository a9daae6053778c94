/* Generated passwords. */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "macro.h"
#include "secret.h"

static void test_password(void **state)
{
	_cleanup_erase_ char *a = NULL, *b = NULL;
	struct config c;
	_cleanup_free_ char *cause = NULL;

	assert_int_equal(secret_generate_password(&a), 0);
	assert_int_equal(secret_generate_password(&b), 0);
	assert_int_equal(strlen(a), 2 * SECRET_PASSWORD_BYTES);
	assert_int_equal(strspn(a, "0123456789abcdef"), 2 * SECRET_PASSWORD_BYTES);
	assert_string_not_equal(a, b);
	/* A generated password is one the user data could have given. */
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(config_set(&c, config_find("redis", "password"), a, &cause), 0);
	config_done(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

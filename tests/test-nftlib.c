/*
 * nftlib.c: libnftables is not mapped until the first nftlib_load(); a library that
 * cannot be loaded, or lacks a function, is a clean error naming it (through the
 * nftables backend too), and the next call tries again; the real one loads once.
 * The tests run in order: after the real library has loaded, it stays loaded.
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
#include <cmocka.h>

#include "fileio.h"
#include "fw.h"
#include "macro.h"
#include "nftlib.h"

#define MISSING "libdoagent-test-no-such-library.so.0"

static bool mapped(const char *name)
{
	_cleanup_free_ char *maps = NULL;
	size_t len;

	assert_int_equal(fileio_read_file("/proc/self/maps", 16 * 1024 * 1024, &maps, &len), 0);
	return strstr(maps, name) != NULL;
}

static void test_not_linked(void **state)
{
	assert_false(mapped("libnftables"));
}

static void test_missing_library(void **state)
{
	static const struct nftlib untouched;
	const struct nftlib *nft = &untouched;
	_cleanup_free_ char *cause = NULL;

	nftlib_set_soname(MISSING);
	assert_int_equal(nftlib_load(&nft, &cause), -ELIBACC);
	assert_ptr_equal(nft, &untouched);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "cannot load " MISSING ": "));
	assert_non_null(strstr(cause, "No such file"));
	assert_false(mapped("libnftables"));
	/* No message wanted: still the error. */
	assert_int_equal(nftlib_load(&nft, NULL), -ELIBACC);
	nftlib_set_soname(NULL);
}

/* A library that loads but is not libnftables: its first missing function is named. */
static void test_missing_function(void **state)
{
	const struct nftlib *nft = NULL;
	_cleanup_free_ char *cause = NULL;

	nftlib_set_soname("libc.so.6");
	assert_int_equal(nftlib_load(&nft, &cause), -ELIBACC);
	assert_null(nft);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "cannot load libc.so.6: "));
	assert_non_null(strstr(cause, "nft_ctx_new"));
	nftlib_set_soname(NULL);
}

/* The firewall step's error path: the backend returns the error with its cause. */
static void test_backend_error(void **state)
{
	const struct fw_policy p = { .ssh_port = 22, .nft_ruleset = "table inet doagent {\n}\n" };
	_cleanup_free_ char *cause = NULL, *cause2 = NULL;

	nftlib_set_soname(MISSING);
	assert_int_equal(fw_nftables.apply(&p, &cause), -ELIBACC);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "cannot load " MISSING));
	assert_int_equal(fw_nftables.remove(&cause2), -ELIBACC);
	assert_non_null(cause2);
	assert_non_null(strstr(cause2, "cannot load " MISSING));
	nftlib_set_soname(NULL);
}

static void test_load(void **state)
{
	const struct nftlib *nft = NULL, *again = NULL;
	_cleanup_free_ char *cause = NULL;
	struct nft_ctx *ctx;

	assert_int_equal(nftlib_load(&nft, &cause), 0);
	assert_null(cause);
	assert_non_null(nft);
	assert_true(mapped("libnftables"));
	assert_non_null(nft->nft_ctx_new);
	assert_non_null(nft->nft_ctx_free);
	assert_non_null(nft->nft_ctx_buffer_output);
	assert_non_null(nft->nft_ctx_buffer_error);
	assert_non_null(nft->nft_ctx_get_error_buffer);
	assert_non_null(nft->nft_run_cmd_from_buffer);
	ctx = nft->nft_ctx_new(NFT_CTX_DEFAULT);
	assert_non_null(ctx);
	assert_int_equal(nft->nft_ctx_buffer_error(ctx), 0);
	nftlib_ctx_free(ctx);
	nftlib_ctx_free(NULL);
	/* Loaded once: another soname changes nothing now. */
	nftlib_set_soname(MISSING);
	assert_int_equal(nftlib_load(&again, NULL), 0);
	assert_ptr_equal(again, nft);
	nftlib_set_soname(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_linked),
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_missing_function),
		cmocka_unit_test(test_backend_error),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests_name("nftlib", tests, NULL, NULL);
}

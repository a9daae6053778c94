/* libnftables, loaded by dynlib_open on first use and never unloaded. */
#include "autoconfig.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <string.h>

#include "dynlib.h"
#include "nftlib.h"

#define NFTLIB_SONAME "libnftables.so.1"

static const char *soname = NFTLIB_SONAME;
static struct nftlib lib;
static bool loaded;

/* Resolve the function named like the field: its type is that of its prototype. */
#define RESOLVE(handle, fn) ((lib.fn = (__typeof__(&fn))dlsym(handle, #fn)) != NULL)

/* Every function or false, at the first one missing (dlerror names it). */
static bool resolve_all(void *handle)
{
	return RESOLVE(handle, nft_ctx_new) && RESOLVE(handle, nft_ctx_free) &&
	       RESOLVE(handle, nft_ctx_buffer_output) && RESOLVE(handle, nft_ctx_buffer_error) &&
	       RESOLVE(handle, nft_ctx_get_error_buffer) && RESOLVE(handle, nft_run_cmd_from_buffer);
}

int nftlib_load(const struct nftlib **ret, char **ret_cause)
{
	int r;

	if (!loaded) {
		r = dynlib_open(soname, resolve_all, ret_cause);
		if (r < 0) {
			memset(&lib, 0, sizeof(lib));
			return r;
		}
		loaded = true;
	}
	*ret = &lib;
	return 0;
}

void nftlib_ctx_free(struct nft_ctx *ctx)
{
	if (ctx && loaded)
		lib.nft_ctx_free(ctx);
}

void nftlib_set_soname(const char *name)
{
	soname = name ? name : NFTLIB_SONAME;
}

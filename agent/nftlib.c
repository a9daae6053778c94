/*
 * libnftables through dlopen(): found by its soname like any library doagent links
 * with, loaded RTLD_NOW (every function resolved before one is called) and
 * RTLD_LOCAL (its symbols are not used to resolve anything else), and never unloaded.
 */
#include "autoconfig.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "nftlib.h"
#include "strutil.h"

#define NFTLIB_SONAME "libnftables.so.1"

static const char *soname = NFTLIB_SONAME;
static struct nftlib lib;
static bool loaded;

/* Resolve the function named like the field: its type is that of its prototype. */
#define RESOLVE(handle, fn) ((lib.fn = (__typeof__(&fn))dlsym(handle, #fn)) != NULL)

int nftlib_load(const struct nftlib **ret, char **ret_cause)
{
	const char *err;
	void *handle;
	int r;

	if (loaded) {
		*ret = &lib;
		return 0;
	}
	dlerror();
	handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		err = dlerror();
		return strutil_cause(ret_cause, -ELIBACC, "cannot load %s: %s", soname, err ? err : "dlopen failed");
	}
	if (RESOLVE(handle, nft_ctx_new) && RESOLVE(handle, nft_ctx_free) && RESOLVE(handle, nft_ctx_buffer_output) &&
	    RESOLVE(handle, nft_ctx_buffer_error) && RESOLVE(handle, nft_ctx_get_error_buffer) &&
	    RESOLVE(handle, nft_run_cmd_from_buffer)) {
		loaded = true;
		*ret = &lib;
		return 0;
	}
	err = dlerror();
	r = strutil_cause(ret_cause, -ELIBACC, "cannot load %s: %s", soname, err ? err : "a function is missing");
	memset(&lib, 0, sizeof(lib));
	dlclose(handle);
	return r;
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

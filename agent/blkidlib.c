/* libblkid, loaded by dynlib_open on first use and never unloaded. */
#include "autoconfig.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <string.h>

#include "blkidlib.h"
#include "dynlib.h"

#define BLKIDLIB_SONAME "libblkid.so.1"

static const char *soname = BLKIDLIB_SONAME;
static struct blkidlib lib;
static bool loaded;

/* Resolve the function named like the field: its type is that of its prototype. */
#define RESOLVE(handle, fn) ((lib.fn = (__typeof__(&fn))dlsym(handle, #fn)) != NULL)

/* Every function or false, at the first one missing (dlerror names it). */
static bool resolve_all(void *handle)
{
	return RESOLVE(handle, blkid_new_probe_from_filename) && RESOLVE(handle, blkid_free_probe) &&
	       RESOLVE(handle, blkid_probe_enable_superblocks) &&
	       RESOLVE(handle, blkid_probe_set_superblocks_flags) &&
	       RESOLVE(handle, blkid_probe_enable_partitions) &&
	       RESOLVE(handle, blkid_probe_set_partitions_flags) && RESOLVE(handle, blkid_do_safeprobe) &&
	       RESOLVE(handle, blkid_probe_lookup_value) && RESOLVE(handle, blkid_probe_get_size);
}

int blkidlib_load(const struct blkidlib **ret, char **ret_cause)
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

void blkidlib_free_probe(blkid_probe pr)
{
	if (pr && loaded)
		lib.blkid_free_probe(pr);
}

void blkidlib_set_soname(const char *name)
{
	soname = name ? name : BLKIDLIB_SONAME;
}

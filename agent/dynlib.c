#include "autoconfig.h"

#include <dlfcn.h>
#include <errno.h>

#include "dynlib.h"
#include "strutil.h"

int dynlib_open(const char *soname, bool (*resolve)(void *handle), char **ret_cause)
{
	const char *err;
	void *handle;
	int r;

	dlerror();
	handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		err = dlerror();
		return strutil_cause(ret_cause, -ELIBACC, "cannot load %s: %s", soname, err ? err : "dlopen failed");
	}
	if (resolve(handle))
		return 0;
	err = dlerror();
	r = strutil_cause(ret_cause, -ELIBACC, "cannot load %s: %s", soname, err ? err : "a function is missing");
	dlclose(handle);
	return r;
}

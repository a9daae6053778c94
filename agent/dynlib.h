/* A shared library loaded on first use (dlopen), for nftlib.c and sdlib.c. */
#ifndef DOAGENT_DYNLIB_H
#define DOAGENT_DYNLIB_H

#include <stdbool.h>

/*
 * Load soname, found like any library doagent links with, RTLD_NOW (every function
 * resolved before one is called) and RTLD_LOCAL (its symbols resolve nothing else),
 * and let resolve(handle) fill the caller's table of functions (false at the first
 * one missing). The library is never unloaded once resolve succeeded. Returns 0, or
 * -ELIBACC with the library closed and *ret_cause (when not NULL) saying
 * "cannot load SONAME: " and why (dlerror: the file, or the function missing).
 */
int dynlib_open(const char *soname, bool (*resolve)(void *handle), char **ret_cause);

#endif

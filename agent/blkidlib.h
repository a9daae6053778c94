/* libblkid, loaded only when a volume is probed: doagent is not linked with it, so a
 * start that probes no block device (a dry run, a check, a first boot without
 * [storage] volume) does not map it. */
#ifndef DOAGENT_BLKIDLIB_H
#define DOAGENT_BLKIDLIB_H

#include <blkid/blkid.h>

#include "macro.h"

/* The functions doagent calls, with the prototypes of <blkid/blkid.h>: the compiler
 * checks every call made through them. */
struct blkidlib {
	__typeof__(blkid_new_probe_from_filename) *blkid_new_probe_from_filename;
	__typeof__(blkid_free_probe) *blkid_free_probe;
	__typeof__(blkid_probe_enable_superblocks) *blkid_probe_enable_superblocks;
	__typeof__(blkid_probe_set_superblocks_flags) *blkid_probe_set_superblocks_flags;
	__typeof__(blkid_probe_enable_partitions) *blkid_probe_enable_partitions;
	__typeof__(blkid_probe_set_partitions_flags) *blkid_probe_set_partitions_flags;
	__typeof__(blkid_do_safeprobe) *blkid_do_safeprobe;
	__typeof__(blkid_probe_lookup_value) *blkid_probe_lookup_value;
	__typeof__(blkid_probe_get_size) *blkid_probe_get_size;
};

/* libblkid.so.1, loaded (dlopen) on the first call and kept for the life of the
 * process. 0 and *ret on success; else -ELIBACC, *ret untouched and *ret_cause (when
 * not NULL; the caller frees it) naming the library and saying why (dlerror), and the
 * next call tries again. */
int blkidlib_load(const struct blkidlib **ret, char **ret_cause);

/* Free a probe of the loaded library; NULL does nothing. */
void blkidlib_free_probe(blkid_probe pr);
DEFINE_TRIVIAL_CLEANUP_FUNC(blkid_probe, blkidlib_free_probe)

/* For tests only: load soname instead (NULL: libblkid.so.1 again) from the next
 * blkidlib_load() that has nothing loaded yet; the string must outlive those calls. */
void blkidlib_set_soname(const char *soname);

#endif

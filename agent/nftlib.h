/* libnftables, loaded only when a firewall is applied: doagent is not linked with it,
 * so a start that touches no nftables ruleset (a dry run, a first boot under --root)
 * does not map it and the five libraries it pulls in. */
#ifndef DOAGENT_NFTLIB_H
#define DOAGENT_NFTLIB_H

#include <nftables/libnftables.h>

#include "macro.h"

/* The functions doagent calls, with the prototypes of <nftables/libnftables.h>: the
 * compiler checks every call made through them. */
struct nftlib {
	__typeof__(nft_ctx_new) *nft_ctx_new;
	__typeof__(nft_ctx_free) *nft_ctx_free;
	__typeof__(nft_ctx_buffer_output) *nft_ctx_buffer_output;
	__typeof__(nft_ctx_buffer_error) *nft_ctx_buffer_error;
	__typeof__(nft_ctx_get_error_buffer) *nft_ctx_get_error_buffer;
	__typeof__(nft_run_cmd_from_buffer) *nft_run_cmd_from_buffer;
};

/* libnftables.so.1, loaded (dlopen) on the first call and kept for the life of the
 * process. 0 and *ret on success; else -ELIBACC, *ret untouched and *ret_cause (when
 * not NULL; the caller frees it) naming the library and saying why (dlerror), and the
 * next call tries again. */
int nftlib_load(const struct nftlib **ret, char **ret_cause);

/* Free a context of the loaded library; NULL does nothing. */
void nftlib_ctx_free(struct nft_ctx *ctx);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nft_ctx *, nftlib_ctx_free)

/* For tests only: load soname instead (NULL: libnftables.so.1 again) from the next
 * nftlib_load() that has nothing loaded yet; the string must outlive those calls. */
void nftlib_set_soname(const char *soname);

#endif

/*
 * The nftables backend, through libnftables: the rendered ruleset
 * (/etc/doagent/firewall.nft) holds one table of our own, inet doagent, which it
 * replaces in a single transaction; every other table is left alone.
 * doagent-firewall.service loads the same file at every boot, before the network.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw.h"
#include "macro.h"
#include "nftlib.h"
#include "strv.h"

static int run(const char *commands, char **ret_cause)
{
	_cleanup_(nftlib_ctx_freep) struct nft_ctx *ctx = NULL;
	const struct nftlib *nft;
	const char *err;
	int r;

	r = nftlib_load(&nft, ret_cause);
	if (r < 0)
		return r;
	ctx = nft->nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return -ENOMEM;
	if (nft->nft_ctx_buffer_output(ctx) < 0 || nft->nft_ctx_buffer_error(ctx) < 0)
		return -ENOMEM;
	if (nft->nft_run_cmd_from_buffer(ctx, commands) == 0)
		return 0;
	err = nft->nft_ctx_get_error_buffer(ctx);
	if (ret_cause && asprintf(ret_cause, "nftables refused the ruleset: %.*s", (int)strcspn(err ? err : "", "\n"),
				  err && err[0] ? err : "(no message)") < 0)
		*ret_cause = NULL;
	return -EIO;
}

static bool active(void)
{
	return true;
}

static int apply(const struct fw_policy *p, char **ret_cause)
{
	if (!p->nft_ruleset) {
		if (ret_cause)
			*ret_cause = strdup("no nftables ruleset was rendered");
		return -EINVAL;
	}
	return run(p->nft_ruleset, ret_cause);
}

static int remove_rules(char **ret_cause)
{
	/* Creating it first makes the delete succeed whether it was there or not. */
	return run("table inet doagent\ndelete table inet doagent\n", ret_cause);
}

static int describe(const struct fw_policy *p, char ***ret_lines)
{
	_cleanup_strv_ char **lines = NULL;
	const char *s = p->nft_ruleset, *nl;

	for (; s && *s; s = nl ? nl + 1 : s + strlen(s)) {
		nl = strchr(s, '\n');
		if (strv_extendf(&lines, "%.*s", (int)(nl ? (size_t)(nl - s) : strlen(s)), s) < 0)
			return -ENOMEM;
	}
	*ret_lines = TAKE_PTR(lines);
	return 0;
}

const struct fw_backend fw_nftables = { "nftables", active, apply, remove_rules, describe };

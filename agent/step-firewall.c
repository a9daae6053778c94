/* Step 7: the firewall, before Redis starts listening: nftables (and its table
 * reloaded at every boot by doagent-firewall.service), ufw when it is active (or
 * asked for), or none. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "doagent.h"
#include "fw.h"
#include "paths.h"
#include "systemd.h"
#include "strutil.h"

static const struct plan_file *find_file(const struct plan *p, const char *path)
{
	size_t i;

	for (i = 0; i < p->n_files; i++)
		if (strcmp(p->files[i].path, path) == 0)
			return &p->files[i];
	return NULL;
}

void boot_fw_policy(const struct plan *plan, struct fw_policy *ret)
{
	const struct plan_file *nft = find_file(plan, PATH_FIREWALL_NFT);

	*ret = (struct fw_policy){
		.ssh4 = plan->ssh4,
		.ssh6 = plan->ssh6,
		.allow4 = plan->allow4,
		.allow6 = plan->allow6,
		.ssh_port = plan->ssh_port,
		.ports = { plan->open_ports[0], plan->open_ports[1] },
		.group4 = plan->group4,
		.group_ports = { plan->group_ports[0], plan->group_ports[1] },
		.metadata_root_only = plan->metadata_root_only,
		.nft_ruleset = nft ? nft->content : NULL,
	};
}

static int run(struct boot *b, char **ret_cause)
{
	const struct fw_backend *fw = fw_backend_for(b->config.firewall_backend);
	static const char *const persist[] = { UNIT_FIREWALL, NULL };
	struct fw_policy policy;

	boot_fw_policy(b->plan, &policy);
	if (fw->apply(&policy, ret_cause) < 0)
		return DOAGENT_EXIT_FAILURE;
	if (fw == &fw_nftables) {
		/* Loaded again at every boot, before the network is up. */
		if (!b->bus && systemd_open(&b->bus, ret_cause) < 0)
			return DOAGENT_EXIT_FAILURE;
		if (systemd_reload(b->bus, ret_cause) < 0 || systemd_enable(b->bus, persist, ret_cause) < 0)
			return DOAGENT_EXIT_FAILURE;
	}
	strutil_cause(ret_cause, 0, "%s: %s", fw->name,
		     fw == &fw_nftables ? "table inet doagent loaded, and at every boot"
		     : fw == &fw_ufw    ? "doagent's rules applied"
					: "left as it is");
	return 0;
}

const struct boot_step step_firewall = { "firewall", run, true };

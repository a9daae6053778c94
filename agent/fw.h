/* The firewall: one backend table (nftables, ufw, none), chosen by name. Every
 * backend applies the same policy, which plan.c decides:
 *   inbound: drop, except established/related, loopback, the ICMP/ICMPv6 that IP
 *   needs, SSH from ssh-allow, the exposed Redis/TLS ports from allow;
 *   outbound: with metadata = root-only, only root reaches 169.254.169.254. */
#ifndef DOAGENT_FW_H
#define DOAGENT_FW_H

#include <stdbool.h>

#include "config.h"
#include "plan.h"

struct fw_policy {
	char **ssh4, **ssh6;		/* CIDR blocks, NULL-terminated (or NULL) */
	char **allow4, **allow6;
	unsigned ssh_port;
	unsigned ports[2];		/* Redis/TLS ports open to allow; 0 = none */
	char **group4;			/* a replication group's VPC block (or NULL) */
	unsigned group_ports[2];	/* open to group4: TLS and Sentinel; 0 = none */
	bool metadata_root_only;
	const char *nft_ruleset;	/* the rendered /etc/doagent/firewall.nft */
};

struct fw_backend {
	const char *name;
	/* Whether this backend is in charge on this system (auto picks ufw when it is). */
	bool (*active)(void);
	/* Apply the policy; idempotent; leaves rules the admin added alone. */
	int (*apply)(const struct fw_policy *p, char **ret_cause);
	/* Remove doagent's rules (invalid user data: Redis is stopped, SSH stays open). */
	int (*remove)(char **ret_cause);
	/* The exact commands or rules apply would run, one a line, for the plan. */
	int (*describe)(const struct fw_policy *p, char ***ret_lines);
};

extern const struct fw_backend fw_nftables, fw_ufw, fw_none;

/* The backend for a [firewall] backend value (enum config_backend); auto resolves
 * on this system: ufw when it is active, else nftables. */
const struct fw_backend *fw_backend_for(int backend);

#endif

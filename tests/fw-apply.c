/* A test driver: decide the firewall policy from user data and metadata exactly as
 * the first boot does (plan.c), then apply or remove it with a backend (fw.c), in
 * whatever network namespace it runs in.
 *
 *   fw-apply apply|remove|describe BACKEND USER-DATA METADATA TEMPLATES
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "config.h"
#include "fileio.h"
#include "fw.h"
#include "metadata.h"
#include "plan.h"
#include "strv.h"
#include "userdata.h"

static int die(const char *what, const char *cause)
{
	fprintf(stderr, "fw-apply: %s: %s\n", what, cause ? cause : "failed");
	return 1;
}

int main(int argc, char **argv)
{
	_cleanup_free_ char *data = NULL, *cause = NULL;
	_cleanup_metadata_ struct metadata *md = NULL;
	_cleanup_plan_ struct plan *plan = NULL;
	_cleanup_strv_ char **lines = NULL;
	struct userdata_report rep = { 0 };
	struct plan_input in = { 0 };
	const struct fw_backend *fw;
	struct fw_policy policy;
	struct config c;
	size_t len;
	int r;

	if (argc != 6)
		return die("usage", "fw-apply apply|remove|describe BACKEND USER-DATA METADATA TEMPLATES");
	if (fileio_read_file(argv[3], 65536, &data, &len) < 0)
		return die(argv[3], "cannot read");
	if (metadata_load_file(argv[4], &md, &cause) < 0)
		return die(argv[4], cause);
	if (config_init(&c) < 0 || userdata_parse(data, len, &c, &rep) < 0)
		return die(argv[3], "invalid user data");
	userdata_report_done(&rep);
	if (strcmp(argv[2], "auto") != 0)
		c.firewall_backend = strcmp(argv[2], "ufw") == 0 ? CONFIG_FW_UFW
				     : strcmp(argv[2], "none") == 0 ? CONFIG_FW_NONE
								    : CONFIG_FW_NFTABLES;
	in.config = &c;
	in.metadata = md;
	in.mem_total = 1ULL << 30;
	in.password = "fw-apply-test-password";
	in.templates_dir = "/nonexistent";
	in.shipped_dir = argv[5];
	if (plan_build(&in, &plan, &cause) < 0)
		return die("plan", cause);
	fw = fw_backend_for(c.firewall_backend);
	boot_fw_policy(plan, &policy);
	if (strcmp(argv[1], "apply") == 0)
		r = fw->apply(&policy, &cause);
	else if (strcmp(argv[1], "remove") == 0)
		r = fw->remove(&cause);
	else {
		r = fw->describe(&policy, &lines);
		for (char **l = lines; r >= 0 && l && *l; l++)
			puts(*l);
	}
	config_done(&c);
	if (r < 0)
		return die(fw->name, cause);
	fprintf(stderr, "fw-apply: %s %s: done\n", fw->name, argv[1]);
	return 0;
}

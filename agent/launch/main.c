/* doagent-launch: create, list, get, replace and destroy droplets running doagent, through the
 * DigitalOcean API (doapi.h). main only parses the options and runs the command from
 * cmd_table (cmd.h). See DESIGN.md, "The launcher". */
#include "autoconfig.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "doagent.h"
#include "strutil.h"
#include "strv.h"

static void usage(FILE *f)
{
	fputs("Usage: doagent-launch [--api-url URL] [--token-file FILE] COMMAND ...\n", f);
	for (const struct cmd_entry *const *e = cmd_table; *e; e++)
		fprintf(f, "  %s %s\n", (*e)->name, (*e)->usage);
	fputs("The token comes from DIGITALOCEAN_ACCESS_TOKEN, DIGITALOCEAN_TOKEN or --token-file.\n", f);
}

/* 0 with o filled, -1 to exit 0 (--help), or an exit status. */
static int parse(int argc, char **argv, struct launch_options *o)
{
	enum { O_API = 256, O_TOKFILE, O_IMAGE, O_REGION, O_SIZE, O_UDF, O_SSHKEY, O_TAG, O_VPC,
	       O_NOWAIT, O_WAITTO, O_LID, O_KEEP, O_DRY, O_FORCE, O_CLOUDFW, O_VOLUME, O_VOLNAME,
	       O_DELVOL, O_ALERTS, O_STANDBY };
	static const struct option opts[] = {
		{ "api-url", required_argument, NULL, O_API },
		{ "token-file", required_argument, NULL, O_TOKFILE },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "region", required_argument, NULL, O_REGION },
		{ "size", required_argument, NULL, O_SIZE },
		{ "user-data-file", required_argument, NULL, O_UDF },
		{ "ssh-key", required_argument, NULL, O_SSHKEY },
		{ "tag", required_argument, NULL, O_TAG },
		{ "vpc-uuid", required_argument, NULL, O_VPC },
		{ "no-wait", no_argument, NULL, O_NOWAIT },
		{ "wait-timeout", required_argument, NULL, O_WAITTO },
		{ "launch-id", required_argument, NULL, O_LID },
		{ "keep-on-failure", no_argument, NULL, O_KEEP },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "force", no_argument, NULL, O_FORCE },
		{ "cloud-firewall", no_argument, NULL, O_CLOUDFW },
		{ "volume", required_argument, NULL, O_VOLUME },
		{ "volume-name", required_argument, NULL, O_VOLNAME },
		{ "delete-volumes", no_argument, NULL, O_DELVOL },
		{ "alerts", required_argument, NULL, O_ALERTS },
		{ "standby", required_argument, NULL, O_STANDBY },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (ch) {
		case O_API: o->api_url = optarg; break;
		case O_TOKFILE: o->token_file = optarg; break;
		case O_IMAGE: o->image = optarg; break;
		case O_REGION: o->region = optarg; break;
		case O_SIZE: o->size = optarg; break;
		case O_UDF: o->user_data_file = optarg; break;
		case O_SSHKEY:
			if (strv_extend(&o->ssh_keys, optarg) < 0)
				return DOAGENT_EXIT_FAILURE;
			break;
		case O_TAG:
			if (strv_extend(&o->tags, optarg) < 0)
				return DOAGENT_EXIT_FAILURE;
			break;
		case O_VPC: o->vpc_uuid = optarg; break;
		case O_NOWAIT: o->no_wait = true; break;
		case O_WAITTO:
			if (strutil_parse_u64(optarg, 1, 86400, &o->wait_timeout) < 0) {
				launch_err("--wait-timeout: seconds, 1 to 86400");
				return DOAGENT_EXIT_USAGE;
			}
			break;
		case O_LID: o->launch_id = optarg; break;
		case O_KEEP: o->keep_on_failure = true; break;
		case O_DRY: o->dry_run = true; break;
		case O_FORCE: o->force = true; break;
		case O_CLOUDFW: o->cloud_firewall = true; break;
		case O_VOLUME:
			if (strutil_parse_u64(optarg, 1, 16384, &o->volume_gib) < 0) {
				launch_err("--volume: GiB, 1 to 16384");
				return DOAGENT_EXIT_USAGE;
			}
			break;
		case O_VOLNAME: o->volume_name = optarg; break;
		case O_DELVOL: o->delete_volumes = true; break;
		case O_ALERTS:
			if (strv_extend(&o->alerts, optarg) < 0)
				return DOAGENT_EXIT_FAILURE;
			break;
		case O_STANDBY:
			if (strcmp(optarg, "1") == 0) {
				launch_err("--standby 1: a group needs at least 2 standbys. Each node runs a Sentinel, and a failover needs a majority of the Sentinels: of 2, both, so losing either box stops any failover; 3 (a primary and 2 standbys) is the smallest group whose majority survives the loss of one box");
				return DOAGENT_EXIT_USAGE;
			}
			if (strutil_parse_u64(optarg, 2, 4, &o->standby) < 0) {
				launch_err("--standby: 2 to 4 standbys");
				return DOAGENT_EXIT_USAGE;
			}
			break;
		case 'o':
			if (strcmp(optarg, "json") == 0)
				o->json = true;
			else if (strcmp(optarg, "text") == 0)
				o->json = false;
			else {
				launch_err("-o: text or json");
				return DOAGENT_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return DOAGENT_EXIT_USAGE;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct launch_options o = { .wait_timeout = 300 };
	const struct cmd_entry *cmd = NULL;
	int ex = parse(argc, argv, &o);

	if (ex == 0) {
		if (optind < argc)
			cmd = cmd_find(argv[optind]);
		if (cmd && (size_t)(argc - optind - 1) == cmd->n_args) {
			ex = cmd->exec(&o, argv + optind + 1);
		} else {
			usage(stderr);
			ex = DOAGENT_EXIT_USAGE;
		}
	} else if (ex < 0) {
		ex = 0;
	}
	strv_free(o.ssh_keys);
	strv_free(o.tags);
	strv_free(o.alerts);
	return ex;
}

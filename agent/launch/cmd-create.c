/* create NAME: validate the user data, keep a record of what is sent (record.h), then run
 * the create saga (saga.h): the volume, the cloud firewall, the droplet, with --standby
 * the group's standbys (group.h), the volume's attachment, the alert policies, the wait;
 * print how to connect. */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "backoff.h"
#include "cmd.h"
#include "doagent.h"
#include "group.h"
#include "payload.h"
#include "record.h"
#include "saga.h"
#include "secret.h"
#include "strutil.h"
#include "strv.h"
#include "tls.h"

static const struct saga_step *const steps[] = {
	&step_volume,
	&step_cloud_firewall,
	&step_droplets,
	&step_standbys,
	&step_attach,
	&step_alerts,
	&step_wait,
};

static char *random_id(void)
{
	_cleanup_erase_ char *pw = NULL;

	if (secret_generate_password(&pw) < 0)
		return NULL;
	return strndup(pw, 12);
}

/* DigitalOcean's rule for a volume's name. */
static bool volume_name_valid(const char *s)
{
	return *s >= 'a' && *s <= 'z' && strlen(s) <= 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s);
}

/* The volume the user data must name, from --volume (NAME-data) or --volume-name, in
 * *ret (NULL: none). 0 or an exit status. */
static int volume_name(const struct launch_options *o, const char *name, char **ret)
{
	*ret = NULL;
	if (o->volume_gib && o->volume_name) {
		launch_err("create: --volume and --volume-name exclude each other");
		return DOAGENT_EXIT_USAGE;
	}
	if (!o->volume_gib && !o->volume_name)
		return 0;
	if (!o->region) {
		launch_err("create: a volume needs --region: a volume and its droplet share one");
		return DOAGENT_EXIT_USAGE;
	}
	if (o->volume_name)
		*ret = strdup(o->volume_name);
	else if (asprintf(ret, "%s-data", name) < 0)
		*ret = NULL;
	if (!*ret) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	if (!volume_name_valid(*ret)) {
		launch_err("create: %s is not a volume name (lowercase letters, digits and '-', starting with a letter, at most 64)%s",
			   *ret, o->volume_name ? "" : ": name the droplet so, or use --volume-name");
		return DOAGENT_EXIT_USAGE;
	}
	return 0;
}

/* Send what the first run with this launch id sent when the user data is the same (the
 * password it generated, which an adopted droplet has, and a group's certificate): 1
 * when p holds that now, 0 when not, or -(exit status). */
static int reuse_record(const struct launch_options *o, const char *lid, const char *volume,
			const char *group, struct payload *p)
{
	_cleanup_free_ char *cause = NULL;
	struct record r;
	int k = record_load(lid, &r, &cause), ex = 0;
	bool same = k == 0 && strcmp(r.source, p->source) == 0 &&
		    (r.volume ? volume && strcmp(r.volume, volume) == 0 : !volume) &&
		    (r.group ? group && strcmp(r.group, group) == 0 : !group);

	if (same) {
		fprintf(stderr, "sending what the first run of launch id %s sent (the same password%s)\n", lid,
			group ? " and certificate" : "");
		ex = payload_replace(p, o->user_data_file, TAKE_PTR(r.user_data));
	} else if (k == 0) {
		fprintf(stderr, "the user data, the volume or the group differ from the first run of launch id %s: sending the new user data (a droplet already made keeps the old)\n",
			lid);
	} else if (k != -ENOENT) {
		launch_err("warning: %s", launch_cause_or(cause, k));
	}
	record_done(&r);
	return ex ? -ex : same;
}

/* Keep a record of what is sent, for replace and status. A record that cannot be kept
 * is only warned about. */
static void save_record(const struct launch_options *o, const char *name, const char *lid,
			const char *volume, const char *group, unsigned nodes, const struct payload *p)
{
	_cleanup_free_ char *cause = NULL;
	const struct record r = {
		.launch_id = (char *)lid,
		.name = (char *)name,
		.source = (char *)p->source,
		.volume = (char *)volume,
		.user_data = p->data,
		.ssh_keys = o->ssh_keys,
		.group = (char *)group,
		.nodes = nodes,
	};
	int k = record_save(&r, &cause);

	if (k < 0)
		launch_err("warning: no record of the user data sent was kept (%s): %s",
			   launch_cause_or(cause, k),
			   group ? "status cannot check the group" : "replace will need --user-data-file");
}

/* Make p a group's (the first run's, or with a new certificate unless the user data has
 * its own pair), check what the standbys will get, and keep the record. 0 or an exit
 * status. */
static int prepare(const struct launch_options *o, const char *name, const char *lid,
		   const char *volume, struct payload *p)
{
	_cleanup_free_ char *cert = NULL;
	_cleanup_erase_ char *key = NULL, *standby = NULL;
	int reused = o->dry_run ? 0 : reuse_record(o, lid, volume, o->standby ? name : NULL, p), ex = 0;

	if (reused < 0)
		return -reused;
	if (o->standby && !reused) {
		if (!p->config.tls_certificate && (ex = group_make_pair(name, &cert, &key)) != 0)
			return ex;
		ex = payload_make_group(p, o->user_data_file, name, group_quorum(o->standby + 1), cert, key);
		/* The standbys' differs only in [replication] primary, the primary's private
		 * address, known once it exists (step_standbys checks it again then): any
		 * address the parser takes shows whether the rest is valid. */
		if (ex == 0)
			ex = payload_standby(p, "192.0.2.1", true, &standby);
		if (ex)
			return ex;
	}
	if (!o->dry_run)
		save_record(o, name, lid, volume, o->standby ? name : NULL, o->standby ? (unsigned)o->standby + 1 : 0, p);
	return 0;
}

/* The group's nodes and how to reach it. */
static void print_group(const struct launch_options *o, const struct saga *s, const struct payload *p)
{
	_cleanup_free_ struct doapi_droplet **nodes = calloc(s->n_droplets + 1, sizeof *nodes);
	_cleanup_free_ char *cause = NULL, *path = NULL, *fp = NULL;
	_cleanup_erase_ char *conn = NULL;
	const struct doapi_droplet *primary = s->droplets[0].d;
	int k = 0;

	for (size_t i = 0; nodes && i < s->n_droplets; i++)
		nodes[i] = s->droplets[i].d;
	if (p->config.tls_certificate) {
		k = record_save_certificate(s->launch_id, p->config.tls_certificate, &path, &cause);
		if (k < 0)
			launch_err("warning: the group's certificate was not written: %s", launch_cause_or(cause, k));
		free(cause);
		cause = NULL;
		if (tls_fingerprint(p->config.tls_certificate, &fp, &cause) < 0)
			fp = NULL;
	}
	if (primary->public_ipv4)
		conn = launch_connection(p->tls, p->password, primary->public_ipv4, p->port);
	group_print(o, &(struct group_shown){
			       .name = s->group,
			       .quorum = p->config.replication_quorum,
			       .nodes = nodes,
			       .n_nodes = nodes ? s->n_droplets : 0,
			       .fw_id = s->fw_id,
			       .conn = conn,
			       .cert_path = path,
			       .fingerprint = fp,
		       });
}

static int create(const struct launch_options *o, const char *name, const char *volume,
		  struct payload *p)
{
	_cleanup_free_ char *lid = o->launch_id ? strdup(o->launch_id) : random_id();
	_cleanup_free_ char *launch_tag = NULL, *rerun = NULL, *primary = NULL, *gtag = NULL;
	_cleanup_strv_ char **tags = NULL, **standbys = NULL;
	struct saga s;
	int ex;

	if (!lid || asprintf(&launch_tag, LAUNCH_TAG_PREFIX "%s", lid) < 0 ||
	    asprintf(&rerun, "re-run with --launch-id %s to retry safely", lid) < 0) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	bool oom = strv_extend(&tags, LAUNCH_TAG) < 0 || strv_extend(&tags, launch_tag) < 0;
	if (o->standby) {
		oom = oom || !(gtag = group_tag(name)) || strv_extend(&tags, gtag) < 0 ||
		      !(primary = group_node_name(name, 1));
		for (size_t i = 2; !oom && i <= o->standby + 1; i++)
			oom = strv_extendf(&standbys, "%s-%zu", name, i) < 0;
	}
	for (char **t = o->tags; !oom && t && *t; t++)
		oom = !strv_contains(tags, *t) && strv_extend(&tags, *t) < 0;
	if (oom) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	if ((ex = prepare(o, name, lid, volume, p)) != 0)
		return ex;
	s = (struct saga){
		.opt = o,
		.launch_id = lid,
		.tag = launch_tag,
		.rerun = rerun,
		.name = primary ? primary : name,
		.image = o->image,
		.region = o->region,
		.size = o->size,
		.vpc_uuid = o->vpc_uuid,
		.ssh_keys = o->ssh_keys,
		.user_data = p->data,
		.config = &p->config,
		.tags = tags,
		.n_wanted = 1,
		.port = p->port,
		.probe = true,
		.volume_name = volume,
		.volume_gib = o->volume_gib,
		.attach_at_create = true,
		.group = o->standby ? name : NULL,
		.payload = p,
		.standby_names = standbys,
		.n_standby = o->standby,
	};
	if (o->dry_run) {
		if (saga_plan(&s, steps, ELEMENTSOF(steps)) < 0) {
			launch_err("out of memory");
			return DOAGENT_EXIT_FAILURE;
		}
		return 0;
	}
	s.api = launch_api_open(o);
	if (!s.api)
		return DOAGENT_EXIT_USAGE;
	s.progress.t_start = backoff_now_ms();
	ex = saga_run(&s, steps, ELEMENTSOF(steps));
	if (ex == 0 && s.group) {
		print_group(o, &s, p);
	} else if (ex == 0) {
		_cleanup_erase_ char *conn = o->no_wait ? NULL :
			launch_connection(p->tls, p->password, s.droplets[0].d->public_ipv4, p->port);

		saga_print(&s, conn);
	}
	doapi_free(s.api);
	saga_done(&s);
	return ex;
}

static int exec(const struct launch_options *o, char **argv)
{
	_cleanup_free_ char *volume = NULL;
	struct payload p;
	int ex;

	if (!o->image || !o->size || !o->user_data_file) {
		launch_err("create: --image, --size and --user-data-file are required");
		return DOAGENT_EXIT_USAGE;
	}
	if (o->launch_id && !launch_id_valid(o->launch_id)) {
		launch_err("--launch-id: letters, digits, '-' and '_' only, at most 48");
		return DOAGENT_EXIT_USAGE;
	}
	for (char **a = o->alerts; a && *a; a++)
		if (!alerts_email_valid(*a) || strv_contains(a + 1, *a)) {
			_cleanup_free_ char *q = strutil_quote(*a, 80);

			launch_err("--alerts: %s is %s", q ? q : "?",
				   alerts_email_valid(*a) ? "given twice" : "not an email address");
			return DOAGENT_EXIT_USAGE;
		}
	if (o->standby && (o->volume_gib || o->volume_name)) {
		launch_err("create: --standby with a volume: a volume is attached to one droplet; a group keeps its data on every node (appendonly)");
		return DOAGENT_EXIT_USAGE;
	}
	if (o->standby && !group_name_valid(argv[0])) {
		launch_err("create: %s cannot name a group (Sentinel's master name, the certificate's DNS name): a-z first, then a-z, 0-9 and '-', not ending in '-', at most 60",
			   argv[0]);
		return DOAGENT_EXIT_USAGE;
	}
	ex = volume_name(o, argv[0], &volume);
	if (ex)
		return ex;
	ex = payload_load(o->user_data_file, &p);
	if (ex == 0 && volume)
		ex = payload_set_volume(&p, o->user_data_file, volume);
	else if (ex == 0 && payload_volume(&p.config)) {
		launch_err("%s: the user data names volume %s: use --volume-name %s (or --volume GIB) so that the droplet gets it; nothing was sent",
			   o->user_data_file, payload_volume(&p.config), payload_volume(&p.config));
		ex = DOAGENT_EXIT_DATAERR;
	}
	if (ex == 0)
		ex = create(o, argv[0], volume, &p);
	payload_done(&p);
	return ex;
}

const struct cmd_entry cmd_create_entry = {
	.name = "create",
	.usage = "NAME --image ID --region SLUG --size SLUG --user-data-file FILE\n"
		 "         [--volume GIB | --volume-name VOL | --standby N] [--ssh-key ID]... [--tag T]...\n"
		 "         [--vpc-uuid U] [--cloud-firewall] [--no-wait] [--wait-timeout SEC]\n"
		 "         [--launch-id ID] [--keep-on-failure] [--dry-run] [-o text|json]\n"
		 "         [--alerts EMAIL]...",
	.n_args = 1,
	.exec = exec,
};

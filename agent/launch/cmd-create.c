/* create NAME: validate the user data, keep a record of what is sent (record.h), then run
 * the create saga (saga.h): the volume, the cloud firewall, the droplet, the volume's
 * attachment, the alert policies, the wait; print how to connect. */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "backoff.h"
#include "cmd.h"
#include "doagent.h"
#include "payload.h"
#include "record.h"
#include "saga.h"
#include "secret.h"
#include "strutil.h"
#include "strv.h"

static const struct saga_step *const steps[] = {
	&step_volume,
	&step_cloud_firewall,
	&step_droplets,
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
 * password it generated, which an adopted droplet has), then keep a record of what is
 * sent, for replace. A record that cannot be kept is only warned about. */
static int keep_record(const struct launch_options *o, const char *name, const char *lid,
		       const char *volume, struct payload *p)
{
	_cleanup_free_ char *cause = NULL;
	struct record r;
	int k = record_load(lid, &r, &cause), ex = 0;

	if (k == 0 && strcmp(r.source, p->source) == 0 &&
	    (r.volume ? volume && strcmp(r.volume, volume) == 0 : !volume)) {
		fprintf(stderr, "sending what the first run of launch id %s sent (the same password)\n", lid);
		ex = payload_replace(p, o->user_data_file, TAKE_PTR(r.user_data));
	} else if (k == 0) {
		fprintf(stderr, "the user data or the volume differ from the first run of launch id %s: sending the new user data (a droplet already made keeps the old)\n",
			lid);
	} else if (k != -ENOENT) {
		launch_err("warning: %s", launch_cause_or(cause, k));
	}
	record_done(&r);
	if (ex)
		return ex;
	r = (struct record){
		.launch_id = (char *)lid,
		.name = (char *)name,
		.source = p->source,
		.volume = (char *)volume,
		.user_data = p->data,
		.ssh_keys = o->ssh_keys,
	};
	free(cause);
	cause = NULL;
	k = record_save(&r, &cause);
	if (k < 0)
		launch_err("warning: no record of the user data sent was kept (%s): replace will need --user-data-file",
			   launch_cause_or(cause, k));
	return 0;
}


static int create(const struct launch_options *o, const char *name, const char *volume,
		  struct payload *p)
{
	_cleanup_free_ char *lid = o->launch_id ? strdup(o->launch_id) : random_id();
	_cleanup_free_ char *launch_tag = NULL, *rerun = NULL;
	_cleanup_strv_ char **tags = NULL;
	struct saga s;
	int ex;

	if (!lid || asprintf(&launch_tag, LAUNCH_TAG_PREFIX "%s", lid) < 0 ||
	    asprintf(&rerun, "re-run with --launch-id %s to retry safely", lid) < 0) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	bool oom = strv_extend(&tags, LAUNCH_TAG) < 0 || strv_extend(&tags, launch_tag) < 0;
	for (char **t = o->tags; !oom && t && *t; t++)
		oom = !strv_contains(tags, *t) && strv_extend(&tags, *t) < 0;
	if (oom) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	if (!o->dry_run && (ex = keep_record(o, name, lid, volume, p)) != 0)
		return ex;
	s = (struct saga){
		.opt = o,
		.launch_id = lid,
		.tag = launch_tag,
		.rerun = rerun,
		.name = name,
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
	if (ex == 0) {
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
		 "         [--volume GIB | --volume-name VOL] [--ssh-key ID]... [--tag T]...\n"
		 "         [--vpc-uuid U] [--cloud-firewall] [--no-wait] [--wait-timeout SEC]\n"
		 "         [--launch-id ID] [--keep-on-failure] [--dry-run] [-o text|json]\n"
		 "         [--alerts EMAIL]...",
	.n_args = 1,
	.exec = exec,
};

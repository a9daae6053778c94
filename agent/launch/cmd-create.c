/* create NAME: validate the user data, then run the create saga (saga.h): the cloud
 * firewall, the droplet, the wait; print how to connect. */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "cmd.h"
#include "doagent.h"
#include "payload.h"
#include "saga.h"
#include "secret.h"
#include "strv.h"

static const struct saga_step *const steps[] = {
	&step_cloud_firewall,
	&step_droplets,
	&step_wait,
};

static char *random_id(void)
{
	_cleanup_erase_ char *pw = NULL;

	if (secret_generate_password(&pw) < 0)
		return NULL;
	return strndup(pw, 12);
}

static bool valid_launch_id(const char *id)
{
	return *id && strlen(id) <= 48 &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == strlen(id);
}

static void print(const struct saga *s, const struct payload *p)
{
	const struct doapi_droplet *d = s->droplets[0].d;
	_cleanup_erase_ char *conn = NULL;

	if (!s->opt->no_wait &&
	    asprintf(&conn, "%s://default:%s@%s:%u", p->tls ? "rediss" : "redis", p->password,
		     d->public_ipv4, p->port) < 0)
		conn = NULL;
	launch_print_droplet(s->opt, d, conn, s->fw_id);
}

static int create(const struct launch_options *o, const char *name, struct payload *p)
{
	_cleanup_free_ char *lid = o->launch_id ? strdup(o->launch_id) : random_id();
	_cleanup_free_ char *launch_tag = NULL;
	_cleanup_strv_ char **tags = NULL;
	struct saga s;
	int ex;

	if (!lid || asprintf(&launch_tag, LAUNCH_TAG_PREFIX "%s", lid) < 0) {
		launch_tag = NULL;
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
	s = (struct saga){
		.opt = o,
		.launch_id = lid,
		.tag = launch_tag,
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
	if (ex == 0)
		print(&s, p);
	doapi_free(s.api);
	saga_done(&s);
	return ex;
}

static int exec(const struct launch_options *o, char **argv)
{
	struct payload p;
	int ex;

	if (!o->image || !o->size || !o->user_data_file) {
		launch_err("create: --image, --size and --user-data-file are required");
		return DOAGENT_EXIT_USAGE;
	}
	if (o->launch_id && !valid_launch_id(o->launch_id)) {
		launch_err("--launch-id: letters, digits, '-' and '_' only, at most 48");
		return DOAGENT_EXIT_USAGE;
	}
	ex = payload_load(o->user_data_file, &p);
	if (ex == 0)
		ex = create(o, argv[0], &p);
	payload_done(&p);
	return ex;
}

const struct cmd_entry cmd_create_entry = {
	.name = "create",
	.usage = "NAME --image ID --region SLUG --size SLUG --user-data-file FILE\n"
		 "         [--ssh-key ID]... [--tag T]... [--vpc-uuid U] [--cloud-firewall] [--no-wait]\n"
		 "         [--wait-timeout SEC] [--launch-id ID] [--keep-on-failure] [--dry-run]\n"
		 "         [-o text|json]",
	.n_args = 1,
	.exec = exec,
};

/* destroy ID|NAME: destroy a droplet, after asking on a terminal unless --force. */
#include "autoconfig.h"

#include <stdio.h>
#include <unistd.h>

#include "cmd.h"
#include "doagent.h"

static bool confirm(const struct doapi_droplet *d)
{
	char line[16] = "";

	fprintf(stderr, "Destroy droplet %s (%s)? [y/N] ", d->id, d->name ? d->name : "");
	if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
		fprintf(stderr, "not destroyed\n");
		return false;
	}
	return true;
}

static int exec(const struct launch_options *o, char **argv)
{
	_cleanup_free_ char *cause = NULL;
	struct doapi_droplet *d = NULL;
	struct doapi *api;
	int r;

	if (!o->force && !isatty(STDIN_FILENO)) {
		launch_err("destroy: not asking on a non-terminal; use --force");
		return DOAGENT_EXIT_USAGE;
	}
	api = launch_api_open(o);
	if (!api)
		return DOAGENT_EXIT_USAGE;
	r = launch_resolve(api, argv[0], &d);
	if (r < 0) {
		doapi_free(api);
		return -r;
	}
	if (!d) {
		printf("droplet %s: already gone\n", argv[0]);
		doapi_free(api);
		return 0;
	}
	if (!o->force && !confirm(d)) {
		doapi_droplet_free(d);
		doapi_free(api);
		return DOAGENT_EXIT_FAILURE;
	}
	r = doapi_droplet_delete(api, d->id, &cause);
	doapi_free(api);
	if (r < 0) {
		launch_err("destroying droplet %s: %s", d->id, launch_cause_or(cause, r));
		doapi_droplet_free(d);
		return launch_api_exit(r);
	}
	printf("droplet %s destroyed\n", d->id);
	doapi_droplet_free(d);
	return 0;
}

const struct cmd_entry cmd_destroy_entry = {
	.name = "destroy",
	.usage = "ID|NAME [--force]",
	.n_args = 1,
	.exec = exec,
};

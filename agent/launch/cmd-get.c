/* get ID|NAME: one droplet. */
#include "autoconfig.h"

#include "cmd.h"
#include "doagent.h"

static int exec(const struct launch_options *o, char **argv)
{
	struct doapi *api = launch_api_open(o);
	struct doapi_droplet *d = NULL;
	int r;

	if (!api)
		return DOAGENT_EXIT_USAGE;
	r = launch_resolve(api, argv[0], &d);
	doapi_free(api);
	if (r < 0)
		return -r;
	if (!d) {
		launch_err("no droplet %s", argv[0]);
		return DOAGENT_EXIT_FAILURE;
	}
	launch_print_droplet(o, &(struct launch_shown){ .d = d });
	doapi_droplet_free(d);
	return 0;
}

const struct cmd_entry cmd_get_entry = {
	.name = "get",
	.usage = "ID|NAME [-o text|json]",
	.n_args = 1,
	.exec = exec,
};

/* list: the droplets tagged "doagent". */
#include "autoconfig.h"

#include <json-c/json.h>
#include <stdio.h>

#include "cmd.h"
#include "doagent.h"

static void print_json(struct doapi_droplet **l, size_t n)
{
	_cleanup_json_ json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_string(l[i]->id));
		json_object_object_add(o, "name", json_object_new_string(l[i]->name ? l[i]->name : ""));
		json_object_object_add(o, "status", json_object_new_string(l[i]->status ? l[i]->status : ""));
		json_object_object_add(o, "public_ipv4", l[i]->public_ipv4 ? json_object_new_string(l[i]->public_ipv4) : NULL);
		json_object_object_add(o, "private_ipv4", l[i]->private_ipv4 ? json_object_new_string(l[i]->private_ipv4) : NULL);
		json_object_array_add(a, o);
	}
	puts(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
}

static int exec(const struct launch_options *o, _unused_ char **argv)
{
	struct doapi *api = launch_api_open(o);
	struct doapi_droplet **l = NULL;
	_cleanup_free_ char *cause = NULL;
	size_t n = 0;
	int r;

	if (!api)
		return DOAGENT_EXIT_USAGE;
	r = doapi_droplets_by_tag(api, LAUNCH_TAG, &l, &n, &cause);
	doapi_free(api);
	if (r < 0) {
		launch_err("listing droplets: %s", launch_cause_or(cause, r));
		return launch_api_exit(r);
	}
	if (o->json) {
		print_json(l, n);
	} else {
		printf("%-12s %-24s %-8s %-16s %s\n", "ID", "NAME", "STATUS", "PUBLIC IPV4", "PRIVATE IPV4");
		for (size_t i = 0; i < n; i++)
			printf("%-12s %-24s %-8s %-16s %s\n", l[i]->id, l[i]->name ? l[i]->name : "",
			       l[i]->status ? l[i]->status : "", l[i]->public_ipv4 ? l[i]->public_ipv4 : "-",
			       l[i]->private_ipv4 ? l[i]->private_ipv4 : "-");
	}
	doapi_droplets_free(l, n);
	return 0;
}

const struct cmd_entry cmd_list_entry = {
	.name = "list",
	.usage = "[-o text|json]",
	.n_args = 0,
	.exec = exec,
};

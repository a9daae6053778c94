/* list: the droplets tagged "doagent"; the nodes of a replication group together, under
 * their group (its tag doagent-group:NAME). */
#include "autoconfig.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "doagent.h"
#include "group.h"
#include "strv.h"

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
		json_object_object_add(o, "group", group_of(l[i]) ? json_object_new_string(group_of(l[i])) : NULL);
		json_object_array_add(a, o);
	}
	puts(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
}

static void print_row(const struct doapi_droplet *d, const char *indent)
{
	printf("%s%-*s %-24s %-8s %-16s %s\n", indent, 12 - (int)strlen(indent), d->id, d->name ? d->name : "",
	       d->status ? d->status : "", d->public_ipv4 ? d->public_ipv4 : "-", d->private_ipv4 ? d->private_ipv4 : "-");
}

/* The droplets on their own, then each group with its nodes (by name). */
static void print_text(struct doapi_droplet **l, size_t n)
{
	_cleanup_strv_ char **groups = NULL;

	printf("%-12s %-24s %-8s %-16s %s\n", "ID", "NAME", "STATUS", "PUBLIC IPV4", "PRIVATE IPV4");
	for (size_t i = 0; i < n; i++) {
		const char *g = group_of(l[i]);

		if (!g)
			print_row(l[i], "");
		else if (!strv_contains(groups, g) && strv_extend(&groups, g) < 0)
			return;
	}
	for (char **g = groups; g && *g; g++) {
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			k += group_of(l[i]) && strcmp(group_of(l[i]), *g) == 0;
		printf("group %s: %zu node%s (doagent-launch status %s)\n", *g, k, k == 1 ? "" : "s", *g);
		for (size_t i = 0; i < n; i++)
			if (group_of(l[i]) && strcmp(group_of(l[i]), *g) == 0)
				print_row(l[i], "  ");
	}
}

static int by_name(const void *a, const void *b)
{
	const struct doapi_droplet *x = *(struct doapi_droplet *const *)a, *y = *(struct doapi_droplet *const *)b;

	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
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
	if (n > 1)
		qsort(l, n, sizeof *l, by_name);
	if (o->json)
		print_json(l, n);
	else
		print_text(l, n);
	doapi_droplets_free(l, n);
	return 0;
}

const struct cmd_entry cmd_list_entry = {
	.name = "list",
	.usage = "[-o text|json]",
	.n_args = 0,
	.exec = exec,
};

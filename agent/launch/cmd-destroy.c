/* destroy ID|NAME: destroy a droplet, or every node of the replication group NAME (the
 * droplets tagged doagent-group:NAME that a launch made), after asking on a terminal
 * unless --force. Its
 * volumes and those of its launch (tagged with its launch tag) are kept, and said, unless
 * --delete-volumes: then the launch's own volumes are deleted once the droplet has let
 * go of them; a volume the launch was given (--volume-name) is always kept. The launch's
 * alert policies (alerts.h) are deleted once no droplet of the launch is left. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "act.h"
#include "alerts.h"
#include "cmd.h"
#include "doagent.h"
#include "group.h"
#include "strv.h"

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

/* Is v the launch's: tagged with tag, or, when the droplet is gone (and so its launch
 * tag unknown), tagged with "doagent" and a launch tag? */
static bool launch_volume(const struct doapi_volume *v, const char *tag, bool gone)
{
	if (tag)
		return strv_contains(v->tags, tag);
	if (!gone || !strv_contains(v->tags, LAUNCH_TAG))
		return false;
	for (char **t = v->tags; *t; t++)
		if (strncmp(*t, LAUNCH_TAG_PREFIX, strlen(LAUNCH_TAG_PREFIX)) == 0)
			return true;
	return false;
}

/* The volumes to say something about: those attached to d (when not NULL), those that
 * carry tag (when not NULL), and with neither, those named name "-data" made by a
 * launch. 0 with *ret and *n, or an exit status. */
static int volumes_of(struct doapi *api, const struct doapi_droplet *d, const char *tag,
		      const char *name, struct doapi_volume ***ret, size_t *n)
{
	_cleanup_free_ char *cause = NULL, *data = NULL;
	struct doapi_volume **l = NULL;
	size_t m = 0;
	int r;

	*ret = NULL;
	*n = 0;
	if (!d && asprintf(&data, "%s-data", name) < 0) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	r = doapi_volumes_list(api, data, NULL, &l, &m, &cause);
	if (r < 0) {
		launch_err("listing volumes: %s", launch_cause_or(cause, r));
		return launch_api_exit(r);
	}
	for (size_t i = 0; i < m; i++) {
		bool keep = d ? strv_contains(d->volume_ids, l[i]->id) || (tag && launch_volume(l[i], tag, false)) :
				strcmp(l[i]->name, data) == 0 && launch_volume(l[i], NULL, true);

		if (keep)
			l[(*n)++] = TAKE_PTR(l[i]);
	}
	for (size_t i = *n; i < m; i++)
		doapi_volume_free(l[i]);
	*ret = l;
	return 0;
}

/* The first droplet v is attached to but id (the one destroyed), or NULL. */
static const char *attached_elsewhere(const struct doapi_volume *v, const char *id)
{
	for (char **d = v->droplet_ids; *d; d++)
		if (!id || strcmp(*d, id) != 0)
			return *d;
	return NULL;
}

/* Delete the launch's volumes with --delete-volumes, but those another droplet still
 * has; say what is kept. id: the droplet destroyed (NULL: it was gone already). */
static int settle_volumes(const struct launch_options *o, struct doapi *api,
			  struct doapi_volume **l, size_t n, const char *tag, const char *id)
{
	int ex = 0;

	for (size_t i = 0; i < n; i++) {
		const struct doapi_volume *v = l[i];
		const char *other = attached_elsewhere(v, id);
		bool ours = launch_volume(v, tag, !id);
		struct backoff b;

		if (o->delete_volumes && ours && !other) {
			backoff_init(&b, 500, 1500, 120000);
			if (act_volume_delete(api, v, &b) == 0) {
				printf("volume %s (%s, %llu GiB, %s) deleted\n", v->name, v->id, v->size_gib, v->region);
				continue;
			}
			ex = DOAGENT_EXIT_FAILURE;
		}
		printf("volume %s (%s, %llu GiB, %s) kept%s%s\n", v->name, v->id, v->size_gib, v->region,
		       other ? ": attached to droplet " : !ours ? ": not made by this launch" :
		       o->delete_volumes ? ": deleting it failed" : ": --delete-volumes deletes it",
		       other ? other : "");
	}
	return ex;
}

/* The nodes of group name: droplets with its tag, the tag doagent and a launch tag
 * (others are said and left). 0 with *ret and *n (0 when there is no such group), or
 * an exit status. */
static int group_nodes(struct doapi *api, const char *name, struct doapi_droplet ***ret, size_t *n)
{
	_cleanup_free_ char *tag = group_name_valid(name) ? group_tag(name) : NULL, *cause = NULL;
	struct doapi_droplet **l = NULL;
	size_t m = 0;
	int r;

	*ret = NULL;
	*n = 0;
	if (!tag)
		return 0;
	r = doapi_droplets_by_tag(api, tag, &l, &m, &cause);
	if (r < 0) {
		launch_err("listing droplets tagged %s: %s", tag, launch_cause_or(cause, r));
		return launch_api_exit(r);
	}
	for (size_t i = 0; i < m; i++) {
		if (strv_contains(l[i]->tags, LAUNCH_TAG) && launch_tag_of(l[i])) {
			l[(*n)++] = TAKE_PTR(l[i]);
			continue;
		}
		printf("droplet %s (%s) carries tag %s but no launch tag: not doagent-launch's, kept\n", l[i]->id,
		       l[i]->name ? l[i]->name : "", tag);
		doapi_droplet_free(TAKE_PTR(l[i]));
	}
	*ret = l;
	return 0;
}

/* destroy NAME of a group: every node, then the alert policies of their launches once
 * no droplet carries a launch's tag. */
static int destroy_group(const struct launch_options *o, struct doapi *api, const char *name,
			 struct doapi_droplet **l, size_t n)
{
	_cleanup_strv_ char **gone = NULL, **tags = NULL;
	int ex = 0;

	if (!o->force) {
		char line[16] = "";

		fprintf(stderr, "Destroy group %s, its %zu droplets:", name, n);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %s (%s)", l[i]->id, l[i]->name ? l[i]->name : "");
		fprintf(stderr, "? [y/N] ");
		if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
			fprintf(stderr, "not destroyed\n");
			return DOAGENT_EXIT_FAILURE;
		}
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *cause = NULL;
		int r = doapi_droplet_delete(api, l[i]->id, &cause);

		if (r < 0) {
			launch_err("destroying droplet %s (%s): %s", l[i]->id, l[i]->name ? l[i]->name : "",
				   launch_cause_or(cause, r));
			ex = launch_api_exit(r);
		} else {
			printf("droplet %s (%s) destroyed\n", l[i]->id, l[i]->name ? l[i]->name : "");
			if (strv_extend(&gone, l[i]->id) < 0 ||
			    (!strv_contains(tags, launch_tag_of(l[i])) && strv_extend(&tags, launch_tag_of(l[i])) < 0)) {
				launch_err("out of memory");
				return DOAGENT_EXIT_FAILURE;
			}
		}
	}
	for (char **t = tags; t && *t; t++) {
		int r = alerts_destroy(api, *t, NULL, gone);

		ex = ex ? ex : r;
	}
	if (ex == 0)
		printf("group %s destroyed\n", name);
	return ex;
}

static int exec(const struct launch_options *o, char **argv)
{
	_cleanup_free_ char *cause = NULL, *tag = NULL;
	struct doapi_volume **vols = NULL;
	struct doapi_droplet *d = NULL, **nodes = NULL;
	struct doapi *api;
	size_t n = 0, n_nodes = 0;
	int r, ex = 0;

	if (!o->force && !isatty(STDIN_FILENO)) {
		launch_err("destroy: not asking on a non-terminal; use --force");
		return DOAGENT_EXIT_USAGE;
	}
	api = launch_api_open(o);
	if (!api)
		return DOAGENT_EXIT_USAGE;
	ex = group_nodes(api, argv[0], &nodes, &n_nodes);
	r = ex ? 0 : launch_resolve(api, argv[0], &d);
	if (ex == 0 && r == 0 && n_nodes > 0) {
		if (d) {
			launch_err("both group %s and droplet %s (%s) have that name: destroy the droplet by its id", argv[0],
				   d->id, argv[0]);
			ex = DOAGENT_EXIT_FAILURE;
		} else {
			ex = destroy_group(o, api, argv[0], nodes, n_nodes);
		}
	}
	doapi_droplets_free(nodes, n_nodes);
	if (ex || n_nodes > 0 || r < 0) {
		doapi_droplet_free(d);
		doapi_free(api);
		return r < 0 ? -r : ex;
	}
	if (!d) {
		printf("droplet %s: already gone\n", argv[0]);
		if (o->delete_volumes && !(ex = volumes_of(api, NULL, NULL, argv[0], &vols, &n)))
			ex = settle_volumes(o, api, vols, n, NULL, NULL);
		r = alerts_destroy(api, NULL, argv[0], NULL);
		ex = ex ? ex : r;
		doapi_volumes_free(vols, n);
		doapi_free(api);
		return ex;
	}
	if (!o->force && !confirm(d)) {
		doapi_droplet_free(d);
		doapi_free(api);
		return DOAGENT_EXIT_FAILURE;
	}
	if (launch_tag_of(d) && !(tag = strdup(launch_tag_of(d))))
		ex = DOAGENT_EXIT_FAILURE;
	if (!ex)
		ex = volumes_of(api, d, tag, NULL, &vols, &n);
	if (!ex) {
		r = doapi_droplet_delete(api, d->id, &cause);
		if (r < 0) {
			launch_err("destroying droplet %s: %s", d->id, launch_cause_or(cause, r));
			ex = launch_api_exit(r);
		} else {
			printf("droplet %s destroyed\n", d->id);
			ex = settle_volumes(o, api, vols, n, tag, d->id);
			r = tag ? alerts_destroy(api, tag, NULL, (char *const[]){ d->id, NULL }) : 0;
			ex = ex ? ex : r;
		}
	}
	doapi_volumes_free(vols, n);
	doapi_droplet_free(d);
	doapi_free(api);
	return ex;
}

const struct cmd_entry cmd_destroy_entry = {
	.name = "destroy",
	.usage = "ID|NAME [--force] [--delete-volumes]",
	.n_args = 1,
	.exec = exec,
};

/*
 * status NAME: the nodes of the group NAME, found by its tag doagent-group:NAME as
 * libcluster_droplet finds its nodes (or the one droplet NAME), each checked from here
 * as a client reaches it (nodecheck.h): TCP to its public address, else its private one;
 * TLS, verified against the group's certificate; AUTH, PING; INFO, judged as doagent
 * --status judges it (health.h). The password, port and certificate come from create's
 * record of the launch (record.h), never from the command line. One line a node and its
 * health under it, then the verdict: exit 1 when the group is unhealthy (a node's
 * health failing makes it so; a warning does not).
 */
#include "autoconfig.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "doagent.h"
#include "group.h"
#include "nodecheck.h"
#include "payload.h"
#include "record.h"
#include "strv.h"

/* What create's record of a launch says: how to reach and trust its droplets. */
struct launch_info {
	char *launch_id;
	bool have;			/* the record was read: p is filled */
	char *why_not;			/* else why not */
	struct payload p;
	unsigned nodes;			/* the group's, from the record (0: not a group) */
};

struct status {
	struct doapi_droplet **droplets;
	size_t n;
	struct launch_info *launches;
	size_t n_launches;
	struct nodecheck_member *members;
};

static void status_done(struct status *st)
{
	for (size_t i = 0; i < st->n_launches; i++) {
		free(st->launches[i].launch_id);
		free(st->launches[i].why_not);
		payload_done(&st->launches[i].p);
	}
	free(st->launches);
	for (size_t i = 0; st->members && i < st->n; i++) {
		nodecheck_node_done(&st->members[i].node);
		free(st->members[i].state);
	}
	free(st->members);
	doapi_droplets_free(st->droplets, st->n);
}

/* The record of launch lid, read once: NULL only on ENOMEM. */
static struct launch_info *launch_info(struct status *st, const char *lid)
{
	_cleanup_free_ char *cause = NULL, *path = NULL;
	struct launch_info *l;
	struct record r;
	int k;

	for (size_t i = 0; i < st->n_launches; i++)
		if (strcmp(st->launches[i].launch_id, lid) == 0)
			return &st->launches[i];
	l = reallocarray(st->launches, st->n_launches + 1, sizeof *l);
	if (!l)
		return NULL;
	st->launches = l;
	l = &st->launches[st->n_launches++];
	*l = (struct launch_info){ .launch_id = strdup(lid) };
	if (!l->launch_id)
		return NULL;
	k = record_load(lid, &r, &cause);
	if (k < 0) {
		path = record_path(lid, NULL);
		if (k == -ENOENT && asprintf(&l->why_not, "no record of launch %s here (%s): create ran elsewhere",
					     lid, path ? path : "?") < 0)
			l->why_not = NULL;
		else if (k != -ENOENT)
			l->why_not = strdup(launch_cause_or(cause, k));
		return l->why_not ? l : NULL;
	}
	l->nodes = r.nodes;
	path = record_path(lid, NULL);
	/* the record's user data, checked again as the agent reads it */
	if (payload_replace(&l->p, path ? path : "the record", TAKE_PTR(r.user_data)) == 0)
		l->have = true;
	else if (asprintf(&l->why_not, "the record of launch %s holds user data that is not valid", lid) < 0)
		l->why_not = NULL;
	record_done(&r);
	return l->have || l->why_not ? l : NULL;
}

static int by_name(const void *a, const void *b)
{
	const struct doapi_droplet *x = *(struct doapi_droplet *const *)a, *y = *(struct doapi_droplet *const *)b;

	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* The nodes: those tagged with the group's tag, else the droplet named name. 0 with
 * st->droplets (st->n of them, 1 for a droplet), or an exit status. */
static int find(struct doapi *api, const char *name, bool *ret_group, struct status *st)
{
	_cleanup_free_ char *tag = group_name_valid(name) ? group_tag(name) : NULL, *cause = NULL;
	struct doapi_droplet *d = NULL;
	int r;

	if (tag) {
		r = doapi_droplets_by_tag(api, tag, &st->droplets, &st->n, &cause);
		if (r < 0) {
			launch_err("listing droplets tagged %s: %s", tag, launch_cause_or(cause, r));
			return launch_api_exit(r);
		}
	}
	*ret_group = st->n > 0;
	if (st->n > 0) {
		qsort(st->droplets, st->n, sizeof *st->droplets, by_name);
		return 0;
	}
	r = launch_resolve(api, name, &d);
	if (r < 0)
		return -r;
	if (!d) {
		launch_err("no group %s (no droplet is tagged %s%s) and no droplet of that name", name,
			   GROUP_TAG_PREFIX, name);
		return DOAGENT_EXIT_FAILURE;
	}
	st->droplets = calloc(1, sizeof *st->droplets);
	if (!st->droplets) {
		doapi_droplet_free(d);
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	st->droplets[0] = d;
	st->n = 1;
	return 0;
}

/* Check every node; *ret_expected: how many the record says there are (0: unknown). */
static int check(struct status *st, size_t *ret_expected, bool *ret_verify_all)
{
	bool verify_all = true;

	*ret_expected = 0;
	st->members = calloc(st->n, sizeof *st->members);
	if (!st->members)
		return -ENOMEM;
	for (size_t i = 0; i < st->n; i++) {
		const struct doapi_droplet *d = st->droplets[i];
		struct nodecheck_member *m = &st->members[i];
		const char *tag = launch_tag_of(d);
		struct launch_info *l = NULL;

		m->name = d->name ? d->name : d->id;
		m->private_ipv4 = d->private_ipv4;
		if (tag && !(l = launch_info(st, tag + strlen(LAUNCH_TAG_PREFIX))))
			return -ENOMEM;
		if (l && l->nodes > *ret_expected)
			*ret_expected = l->nodes;
		if (!d->status || strcmp(d->status, "active") != 0) {
			m->why_not = "the droplet is not active";
		} else if (!tag) {
			m->why_not = "it has no launch tag, so no record of its password";
		} else if (!l->have) {
			m->why_not = l->why_not;
		}
		if (m->why_not) {
			if (health_unchecked(m->why_not, &m->node.health) < 0)
				return -ENOMEM;
		} else {
			const struct nodecheck_target t = {
				.public_ipv4 = d->public_ipv4,
				.private_ipv4 = d->private_ipv4,
				.port = l->p.port,
				.tls = l->p.tls,
				.ca_pem = l->p.config.tls_certificate,
				.password = l->p.password,
				.min_replicas_to_write = l->p.config.replication_group ? CONFIG_GROUP_MIN_REPLICAS_TO_WRITE : 0,
				.timeout_ms = NODECHECK_TIMEOUT_MS,
			};

			verify_all = verify_all && (!t.tls || t.ca_pem);
			m->checked = true;
			nodecheck_run(&t, &m->node);
		}
	}
	*ret_verify_all = verify_all;
	return 0;
}

static void size_text(unsigned long long b, char *out, size_t size)
{
	static const char units[] = "BKMGT";
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, size, "%lluB", b);
	else
		snprintf(out, size, "%.1f%c", v, units[u]);
}

/* Only for a node that answered INFO. */
static const char *role_name(const struct nodecheck_node *n)
{
	return strcmp(n->health.info.role, "master") == 0 ? "primary" : "replica";
}

/* Its link to its primary, for a replica that answered INFO; else NULL. */
static const char *link_of(const struct nodecheck_node *n, bool answered)
{
	return answered && strcmp(n->health.info.role, "slave") == 0 ? n->health.info.master_link_status : NULL;
}

static const char *tls_state(const struct nodecheck_member *m, const struct launch_info *l)
{
	if (!m->checked || m->node.step <= NODECHECK_TLS)
		return "-";
	if (l && !l->p.tls)
		return "off";
	return m->node.verified ? "verified" : "unverified";
}

static const struct launch_info *info_of(const struct status *st, const struct doapi_droplet *d)
{
	const char *tag = launch_tag_of(d);

	for (size_t i = 0; tag && i < st->n_launches; i++)
		if (strcmp(st->launches[i].launch_id, tag + strlen(LAUNCH_TAG_PREFIX)) == 0)
			return st->launches[i].have ? &st->launches[i] : NULL;
	return NULL;
}

static void print_text(const struct status *st, const char *name, bool group, bool healthy, bool verify_all,
		       char **problems, char **warnings)
{
	printf("%-16s %-24s %-8s %-5s %-16s %-22s %-10s %-8s %s\n", "NODE", "ADDRESS", "ROLE", "LINK", "LAG", "MEMORY",
	       "TLS", "HEALTH", "STATE");
	for (size_t i = 0; i < st->n; i++) {
		const struct nodecheck_member *m = &st->members[i];
		const struct nodecheck_node *n = &m->node;
		const struct health_info *h = &n->health.info;
		const struct launch_info *l = info_of(st, st->droplets[i]);
		char addr[80] = "-", lag[48] = "-", mem[64] = "-", used[16], max[16];
		bool answered = m->checked && n->step == NODECHECK_DONE;
		const char *link = link_of(n, answered);

		if (n->address[0] && l)
			snprintf(addr, sizeof addr, "%s:%u%s", n->address, l->p.port, n->via_private ? " (private)" : "");
		if (m->lag_bytes >= 0 || m->lag_s >= 0)
			snprintf(lag, sizeof lag, "%lldB, %llds", m->lag_bytes < 0 ? 0 : m->lag_bytes, m->lag_s < 0 ? 0 : m->lag_s);
		if (answered) {
			size_text(h->used_memory, used, sizeof used);
			size_text(h->maxmemory, max, sizeof max);
			if (h->maxmemory)
				snprintf(mem, sizeof mem, "%s/%s %.0f%%", used, max, health_memory_percent(h));
			else
				snprintf(mem, sizeof mem, "%s (no limit)", used);
		}
		printf("%-16s %-24s %-8s %-5s %-16s %-22s %-10s %-8s %s\n", m->name, addr, answered ? role_name(n) : "-",
		       link ? link : "-", lag, mem, tls_state(m, l),
		       n->health.checked ? health_verdict_name(n->health.verdict) : "-", m->state ? m->state : "?");
		health_print(&n->health, "    ", stdout);
	}
	if (!verify_all)
		printf("TLS: not verified: the certificate is the droplet's own self-signed one, which create never saw (the SHA-256 of the one shown is in -o json; doagent --status on the droplet shows its own)\n");
	printf("%s %s: %s\n", group ? "group" : "droplet", name, healthy ? "healthy" : "UNHEALTHY");
	for (char **p = problems; p && *p; p++)
		printf("  problem: %s\n", *p);
	for (char **w = warnings; w && *w; w++)
		printf("  warning: %s\n", *w);
}

static json_object *strv_json(char **l)
{
	json_object *a = json_object_new_array();

	for (; a && l && *l; l++)
		json_object_array_add(a, json_object_new_string(*l));
	return a;
}

static json_object *int_or_null(long long v)
{
	return v < 0 ? NULL : json_object_new_int64(v);
}

static void print_json(const struct status *st, const char *name, bool group, bool healthy, char **problems,
		       char **warnings)
{
	_cleanup_json_ json_object *j = json_object_new_object();
	json_object *nodes = json_object_new_array();

	for (size_t i = 0; i < st->n; i++) {
		const struct nodecheck_member *m = &st->members[i];
		const struct nodecheck_node *n = &m->node;
		const struct launch_info *l = info_of(st, st->droplets[i]);
		bool answered = m->checked && n->step == NODECHECK_DONE;
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_string(st->droplets[i]->id));
		json_object_object_add(o, "name", json_object_new_string(m->name));
		json_object_object_add(o, "address", n->address[0] ? json_object_new_string(n->address) : NULL);
		json_object_object_add(o, "port", l ? json_object_new_int((int)l->p.port) : NULL);
		json_object_object_add(o, "via", n->address[0] ? json_object_new_string(n->via_private ? "private" : "public") : NULL);
		json_object_object_add(o, "tls", json_object_new_string(tls_state(m, l)));
		json_object_object_add(o, "certificate_sha256", n->fingerprint[0] ? json_object_new_string(n->fingerprint) : NULL);
		json_object_object_add(o, "role", answered ? json_object_new_string(role_name(n)) : NULL);
		json_object_object_add(o, "link", link_of(n, answered) ? json_object_new_string(link_of(n, answered)) : NULL);
		json_object_object_add(o, "lag_bytes", int_or_null(m->lag_bytes));
		json_object_object_add(o, "lag_seconds", int_or_null(m->lag_s));
		json_object_object_add(o, "state", json_object_new_string(m->state ? m->state : "?"));
		/* as doagent --status --json has it */
		json_object_object_add(o, "health", health_to_json(&n->health));
		json_object_array_add(nodes, o);
	}
	json_object_object_add(j, group ? "group" : "droplet", json_object_new_string(name));
	json_object_object_add(j, "healthy", json_object_new_boolean(healthy));
	json_object_object_add(j, "nodes", nodes);
	json_object_object_add(j, "problems", strv_json(problems));
	json_object_object_add(j, "warnings", strv_json(warnings));
	puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int exec(const struct launch_options *o, char **argv)
{
	_cleanup_strv_ char **problems = NULL, **warnings = NULL;
	struct status st = { 0 };
	struct doapi *api = launch_api_open(o);
	size_t expected = 0;
	bool group = false, verify_all = true;
	int ex;

	if (!api)
		return DOAGENT_EXIT_USAGE;
	ex = find(api, argv[0], &group, &st);
	doapi_free(api);
	if (ex == 0 && (check(&st, &expected, &verify_all) < 0 ||
			nodecheck_judge(st.members, st.n, group ? expected : 1, &problems, &warnings) < 0)) {
		launch_err("out of memory");
		ex = DOAGENT_EXIT_FAILURE;
	}
	if (ex == 0) {
		if (o->json)
			print_json(&st, argv[0], group, !problems, problems, warnings);
		else
			print_text(&st, argv[0], group, !problems, verify_all, problems, warnings);
		ex = problems ? DOAGENT_EXIT_FAILURE : 0;
	}
	status_done(&st);
	return ex;
}

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.usage = "NAME [-o text|json]",
	.n_args = 1,
	.exec = exec,
};

/* A replication group as doagent-launch makes it: see group.h. */
#include "autoconfig.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doagent.h"
#include "group.h"
#include "paths.h"
#include "tls.h"

bool group_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= 60 && name[0] >= 'a' && name[0] <= 'z' && name[n - 1] != '-' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

char *group_tag(const char *name)
{
	char *t = NULL;

	return asprintf(&t, GROUP_TAG_PREFIX "%s", name) < 0 ? NULL : t;
}

char *group_node_name(const char *name, size_t i)
{
	char *t = NULL;

	return asprintf(&t, "%s-%zu", name, i) < 0 ? NULL : t;
}

unsigned group_quorum(size_t n)
{
	return (unsigned)(n / 2 + 1);
}

const char *group_of(const struct doapi_droplet *d)
{
	for (char **t = d->tags; *t; t++)
		if (strncmp(*t, GROUP_TAG_PREFIX, strlen(GROUP_TAG_PREFIX)) == 0 &&
		    group_name_valid(*t + strlen(GROUP_TAG_PREFIX)))
			return *t + strlen(GROUP_TAG_PREFIX);
	return NULL;
}

int group_make_pair(const char *name, char **ret_cert, char **ret_key)
{
	_cleanup_free_ char *cause = NULL;
	_cleanup_erase_ char *key = NULL;
	int r = tls_make_key(&key, &cause);

	if (r == 0)
		r = tls_make_group_certificate(key, name, ret_cert, &cause);
	if (r < 0) {
		launch_err("the group's certificate: %s", launch_cause_or(cause, r));
		return DOAGENT_EXIT_FAILURE;
	}
	*ret_key = TAKE_PTR(key);
	return 0;
}

static const char *role_of(size_t i)
{
	return i == 0 ? "primary" : "standby";
}

static void print_json(const struct group_shown *g)
{
	_cleanup_json_ json_object *j = json_object_new_object();
	json_object *nodes = json_object_new_array(), *sentinels = json_object_new_array();
	const char *text;

	for (size_t i = 0; i < g->n_nodes; i++) {
		const struct doapi_droplet *d = g->nodes[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_string(d->id));
		json_object_object_add(o, "name", json_object_new_string(d->name ? d->name : ""));
		json_object_object_add(o, "role", json_object_new_string(role_of(i)));
		json_object_object_add(o, "status", json_object_new_string(d->status ? d->status : ""));
		json_object_object_add(o, "public_ipv4", d->public_ipv4 ? json_object_new_string(d->public_ipv4) : NULL);
		json_object_object_add(o, "private_ipv4", d->private_ipv4 ? json_object_new_string(d->private_ipv4) : NULL);
		json_object_array_add(nodes, o);
		if (d->private_ipv4) {
			char s[64];

			snprintf(s, sizeof s, "%s:%d", d->private_ipv4, SENTINEL_PORT);
			json_object_array_add(sentinels, json_object_new_string(s));
		}
	}
	json_object_object_add(j, "group", json_object_new_string(g->name));
	json_object_object_add(j, "master_name", json_object_new_string(g->name));
	json_object_object_add(j, "quorum", json_object_new_int((int)g->quorum));
	json_object_object_add(j, "nodes", nodes);
	json_object_object_add(j, "sentinels", sentinels);
	json_object_object_add(j, "certificate", g->cert_path ? json_object_new_string(g->cert_path) : NULL);
	json_object_object_add(j, "certificate_sha256", g->fingerprint ? json_object_new_string(g->fingerprint) : NULL);
	if (g->fw_id)
		json_object_object_add(j, "firewall_id", json_object_new_string(g->fw_id));
	if (g->conn)
		json_object_object_add(j, "connection", json_object_new_string(g->conn));
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	puts(text);
	if (g->conn) {
		/* they held the password: erase json-c's copies */
		json_object *c = json_object_object_get(j, "connection");

		explicit_bzero((char *)text, strlen(text));
		explicit_bzero((char *)json_object_get_string(c), (size_t)json_object_get_string_len(c));
	}
}

void group_print(const struct launch_options *o, const struct group_shown *g)
{
	if (o->json) {
		print_json(g);
		return;
	}
	printf("group:        %s (a primary and %zu standbys; quorum %u)\n", g->name,
	       g->n_nodes ? g->n_nodes - 1 : 0, g->quorum);
	for (size_t i = 0; i < g->n_nodes; i++) {
		const struct doapi_droplet *d = g->nodes[i];

		printf("node:         %s %s %s %s, public %s, private %s\n", d->id, d->name ? d->name : "",
		       role_of(i), d->status ? d->status : "?", d->public_ipv4 ? d->public_ipv4 : "-",
		       d->private_ipv4 ? d->private_ipv4 : "-");
	}
	if (g->fw_id)
		printf("firewall:     %s\n", g->fw_id);
	printf("master name:  %s\n", g->name);
	printf("sentinels:   ");
	for (size_t i = 0; i < g->n_nodes; i++)
		if (g->nodes[i]->private_ipv4)
			printf(" %s:%d", g->nodes[i]->private_ipv4, SENTINEL_PORT);
	printf(" (TLS; private addresses: from the VPC)\n");
	if (g->cert_path)
		printf("certificate:  %s%s%s%s\n", g->cert_path, g->fingerprint ? " (SHA-256 " : "",
		       g->fingerprint ? g->fingerprint : "", g->fingerprint ? ")" : "");
	if (g->conn)
		printf("connection:   %s\n", g->conn);
}
